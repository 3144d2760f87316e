"""What the replication tests share: example.com, BIND-worded regexes, checks.

test_replication.py and test_replication_edges.py run zonesync against a
real BIND primary serving example.com. The zone label is `example.com/IN`
and a primary `127.0.0.1#PORT`, as BIND prints them; the regexes follow
BIND 9.18's wording (STYLE §5).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.integration.named import (
    LogWatcher,
    NamedPrimary,
    TsigKey,
    make_zone,
    zone_records,
)
from tests.integration.zonesync_run import RunningDaemon, Secondary, secondary_zone

ORIGIN = "example.com"
LABEL = "example.com/IN"
XFR_SECONDS = 20.0  # one small transfer, including a SOA query first

MakePrimary = Callable[..., NamedPrimary]


# -- regexes in BIND's wording ---------------------------------------------------------


def zone_line(message: str, label: str = LABEL) -> str:
    """`zone <label>: <message>` (message is a regex)."""
    return rf"^zone {re.escape(label)}: {message}"


def xfr_line(primary: NamedPrimary | str, message: str, label: str = LABEL) -> str:
    """`transfer of '<label>' from <primary>: <message>` (message is a regex)."""
    address = primary if isinstance(primary, str) else primary.address
    return rf"^transfer of '{re.escape(label)}' from {re.escape(address)}: {message}"


def rewritten_line(old: int, new: int, label: str = LABEL) -> str:
    """zonesync's line once the zone file holds the journaled IXFRs (issue 5)."""
    return zone_line(rf"zone file rewritten: serial {old} to {new}, ", label)


def apply_failed_line(serial: int, back_to: int, label: str = LABEL) -> str:
    """zonesync's line when journaled IXFRs do not apply to the zone file."""
    return zone_line(
        rf"journaled IXFR to serial {serial} does not apply to the zone file: .*;"
        rf" journal discarded, back to serial {back_to}, retrying with AXFR$",
        label,
    )


def served_line(client: str, message: str) -> str:
    """named's `<client> (example.com): transfer of 'example.com/IN': <message>`.

    Both are regexes. named names the client `client @0x... ADDRESS#PORT`,
    with `/key NAME` after the port when the request was signed.
    """
    return rf"{client} \(example\.com\): transfer of 'example\.com/IN': {message}"


def assert_in_order(log: LogWatcher, patterns: list[str], since: int = 0) -> None:
    """Each pattern matches a line, each after the previous one's line."""
    position = since
    for pattern in patterns:
        index = log.index(pattern, position)
        assert index is not None, (
            f"no line matching {pattern!r} after line {position}; log:\n"
            + "\n".join(log.lines(since))
        )
        position = index + 1


# -- the primary and zonesync's config ---------------------------------------------------


async def start_primary(
    make_primary: MakePrimary,
    text: str,
    *,
    clauses: str = "",
    keys: tuple[TsigKey, ...] = (),
    **kwargs: object,
) -> NamedPrimary:
    """A started primary serving example.com with `text`."""
    primary = make_primary(**kwargs)
    for key in keys:
        primary.add_key(key)
    primary.add_zone(ORIGIN, text, clauses=clauses)
    await primary.start()
    return primary


async def start_signed_primary(make_primary: MakePrimary, key: TsigKey) -> NamedPrimary:
    """A started primary serving example.com (serial 1) only to `key`'s transfers."""
    return await start_primary(
        make_primary,
        make_zone(ORIGIN, 1),
        keys=(key,),
        clauses=f'allow-transfer {{ key "{key.name}"; }};',
    )


def signed_zone_conf(primary: NamedPrimary, key: TsigKey) -> str:
    """zonesync's config: `key` declared, example.com from `primary` signed with it."""
    return key.statement() + "\n" + secondary_zone(ORIGIN, [(primary.port, key)])


# -- checks -----------------------------------------------------------------------------


def assert_same_zone(
    path: Path, primary: NamedPrimary, view: str | None = None, origin: str = ORIGIN
) -> None:
    """zonesync's zone file holds exactly the primary's records (dnspython)."""
    assert path.exists(), f"{path} was not written"
    assert zone_records(path, origin) == zone_records(
        primary.zone_path(origin, view), origin
    )


def journal_file(
    secondary: Secondary, origin: str = ORIGIN, view: str = "_default"
) -> Path:
    """Where zonesync journals IXFRs of `origin` not yet in its zone file."""
    import dns.name

    from zonesync.store.state import journal_path

    return journal_path(secondary.state_dir, view, dns.name.from_text(origin))


def assert_no_secret(zs: RunningDaemon, *keys: TsigKey) -> None:
    """No TSIG secret appears anywhere in zonesync's log (tracebacks included)."""
    text = zs.capture.full_text()
    for key in keys:
        assert key.secret not in text, f"the secret of TSIG key {key.name} was logged"
