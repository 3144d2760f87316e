"""zonesync's IXFR journal against a real BIND primary (issue 5).

An IXFR is durable once journaled and the state saved (`transferred serial
N`); the zone file is rewritten after, and only then does on-update run. A
journal left by a stop before the rewrite is replayed at the next start.
Every wait is on a log line with a deadline; only 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone

from tests.integration.named import HOST, free_port, make_zone, zone_serial
from tests.integration.replication_support import (
    ORIGIN,
    XFR_SECONDS,
    MakePrimary,
    assert_in_order,
    assert_same_zone,
    journal_file,
    rewritten_line,
    start_primary,
    xfr_line,
    zone_line,
)
from tests.integration.zonesync_run import (
    Secondary,
    run_daemon,
    secondary_zone,
    send_notify,
)
from zonesync.store.records import IxfrDelta
from zonesync.store.state import STATE_LOG
from zonesync.store.zonefile import FileZone

HOOK_SECONDS = 10.0  # a hook that copies one file


class FilesAtLine(logging.Handler):
    """Reads zonesync's files the moment a log line matches `pattern`.

    The handler runs in the emitting code, so what it reads is what was on
    disk when the line was logged, whatever runs after.
    """

    def __init__(self, pattern: str, *paths: Path) -> None:
        super().__init__(logging.DEBUG)
        self._regex = re.compile(pattern)
        self._paths = paths
        self.seen: list[str | None] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.seen is None and self._regex.search(record.getMessage()):
            self.seen = [p.read_text() if p.exists() else None for p in self._paths]


def hook_done_line(program: str) -> str:
    return zone_line(rf"on-update hook: {re.escape(program)} done$")


async def test_ixfr_is_durable_before_the_zone_file_is_rewritten(
    make_primary: MakePrimary, secondary: Secondary, tmp_path: Path
) -> None:
    cp = shutil.which("cp")
    assert cp is not None
    copy = tmp_path / "copy.db"
    notify_port = free_port()
    primary = await start_primary(
        make_primary,
        make_zone(ORIGIN, 1, hosts=range(6), refresh=3600, retry=600),
        notify="explicit",
        options="ixfr-from-differences yes;",
        clauses=f"also-notify {{ {HOST} port {notify_port}; }};",
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    path = secondary.zone_file(ORIGIN)
    journal = journal_file(secondary)
    state = secondary.state_dir / STATE_LOG
    at_durable = FilesAtLine(zone_line(r"transferred serial 2$"), path, journal, state)
    logger = logging.getLogger("zonesync.transfer.secondary")
    logger.addHandler(at_durable)
    try:
        async with run_daemon(
            secondary,
            listen=((HOST, notify_port),),
            on_update=f"{cp} {{file}} {copy}",
        ) as zs:
            await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
            await zs.wait_for_log(hook_done_line(cp), HOOK_SECONDS)
            mark = zs.log.mark()
            # Delete host3, add host6 and host7.
            primary.update_zone(
                ORIGIN, make_zone(ORIGIN, 2, hosts=[0, 1, 2, 4, 5, 6, 7])
            )
            await primary.reload()
            await zs.wait_for_log(hook_done_line(cp), XFR_SECONDS, mark)
            assert_in_order(
                zs.log,
                [
                    xfr_line(primary, r"got incremental response$"),
                    zone_line(r"transferred serial 2$"),
                    rewritten_line(1, 2),
                    hook_done_line(cp),
                ],
                mark,
            )
            assert zs.snapshot().serial == 2
            assert zs.snapshot().records == len(path.read_text().splitlines()) - 2
    finally:
        logger.removeHandler(at_durable)

    # When serial 2 was declared durable: the state and the journal held it,
    # the zone file did not yet.
    assert at_durable.seen is not None
    file_then, journal_then, state_then = at_durable.seen
    assert file_then is not None
    assert zone_serial(file_then) == 1
    assert journal_then is not None
    assert re.search(r"^- host3\.example\.com\. \d+ IN A ", journal_then, re.M)
    assert re.search(r"^\+ host7\.example\.com\. \d+ IN A ", journal_then, re.M)
    assert state_then is not None
    saved = [json.loads(line) for line in state_then.splitlines()]
    last = [line for line in saved if line["zone"] == "_default@example.com"][-1]
    assert last["serial"] == 2
    # After: the file is the primary's serial 2, the journal gone, and the
    # hook (which tells the serving daemon to load the file) saw serial 2.
    assert_same_zone(path, primary)
    assert not journal.exists()
    assert zone_serial(copy.read_text()) == 2
    await primary.wait_for_log(
        r"transfer of 'example\.com/IN': IXFR ended: .*\(serial 2\)$", XFR_SECONDS
    )


async def test_restart_replays_a_pending_journal_without_a_transfer(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = await start_primary(
        make_primary,
        make_zone(ORIGIN, 1, hosts=range(5), refresh=3600, retry=600),
        options="ixfr-from-differences yes;",
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    path = secondary.zone_file(ORIGIN)
    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)

    # The primary moves to serial 2 (host3 goes, host5 comes); zonesync's
    # copy gets the same change through its store, as if it had journaled
    # the IXFR and stopped before rewriting the file.
    primary.update_zone(ORIGIN, make_zone(ORIGIN, 2, hosts=[0, 1, 2, 4, 5]))
    await primary.reload()
    origin = dns.name.from_text(ORIGIN)
    old = [r for r in _records(path) if r[2].rdtype == dns.rdatatype.SOA]
    new = [
        r
        for r in _records(primary.zone_path(ORIGIN))
        if r[2].rdtype == dns.rdatatype.SOA
    ]
    host3 = [r for r in _records(path) if r[0].labels[0] == b"host3"]
    host5 = [
        r for r in _records(primary.zone_path(ORIGIN)) if r[0].labels[0] == b"host5"
    ]
    assert len(old) == len(new) == 1
    assert host3
    assert host5
    store = FileZone(origin, path)
    assert store.open_journal(journal_file(secondary), store.load()) is None
    store.commit_ixfr([IxfrDelta(old[0], tuple(host3), new[0], tuple(host5))])
    assert zone_serial(path.read_text()) == 1
    assert journal_file(secondary).exists()

    primary_mark = primary.log.mark()
    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"loaded serial 2$"), XFR_SECONDS)
        assert_in_order(
            zs.log,
            [
                zone_line(
                    r"zone file rewritten from the journal: serial 1 to 2"
                    r" \(1 sequence\(s\)\)$"
                ),
                zone_line(r"loaded serial 2$"),
            ],
        )
        assert_same_zone(path, primary)
        assert not journal_file(secondary).exists()
        assert zs.snapshot().serial == 2
        # The primary's NOTIFY for serial 2 finds the zone up to date.
        mark = zs.log.mark()
        await send_notify(zs.address, ORIGIN, 2)
        await zs.wait_for_log(
            zone_line(r"notify from 127\.0\.0\.1#\d+: zone is up to date$"),
            XFR_SECONDS,
            mark,
        )
        assert zs.log.search(zone_line(r"Transfer started\.$")) is None
    assert primary.log.search(r"[AI]XFR started", primary_mark) is None


def _records(path: Path) -> list[tuple[dns.name.Name, int, dns.rdata.Rdata]]:
    zone = dns.zone.from_file(str(path), ORIGIN, relativize=False)
    return list(zone.iterate_rdatas())
