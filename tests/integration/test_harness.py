"""The harness itself: named serves AXFR/IXFR to dnspython, with and without TSIG.

These run without zonesync's daemon, so the harness is known to work before
the tests that use it can pass.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import dns.asyncquery
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.xfr
import dns.zone
import pytest

from tests.integration.named import (
    HOST,
    LogWatcher,
    NamedPrimary,
    TsigKey,
    free_port,
    make_zone,
    text_records,
    zone_records,
)
from tests.integration.zonesync_run import Secondary, captured_log, secondary_zone

TIMEOUT = 10.0
ORIGIN = "example.com"


async def axfr(
    primary: NamedPrimary,
    zone: str | dns.zone.Zone = ORIGIN,
    key: TsigKey | None = None,
) -> dns.zone.Zone:
    """Transfer a zone from the primary with dnspython.

    A zone name gets an AXFR into a new zone; a `dns.zone.Zone` that holds a
    version gets an IXFR from its serial, applied to it.
    """
    result = dns.zone.Zone(zone, relativize=False) if isinstance(zone, str) else zone
    query, _ = dns.xfr.make_query(
        result,
        serial=None if isinstance(zone, str) else 0,
        keyring=key.keyring() if key else None,
        keyname=dns.name.from_text(key.name) if key else None,
        keyalgorithm=key.algorithm if key else dns.tsig.default_algorithm,
    )
    await dns.asyncquery.inbound_xfr(
        HOST, result, query=query, port=primary.port, timeout=TIMEOUT, lifetime=TIMEOUT
    )
    return result


def records(zone: dns.zone.Zone) -> set[tuple[str, int, str, str]]:
    return {
        (name.to_text(), ttl, dns.rdatatype.to_text(rdata.rdtype), rdata.to_text())
        for name, ttl, rdata in zone.iterate_rdatas()
    }


async def test_free_ports_differ() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20


async def test_log_watcher_wakes_from_another_thread() -> None:
    watcher = LogWatcher("test")
    watcher.feed("before")
    mark = watcher.mark()
    waiting = asyncio.create_task(
        watcher.wait_for(r"^zone (\S+): ready$", TIMEOUT, mark)
    )
    await asyncio.sleep(0)  # let the waiter register before the line comes
    thread = threading.Thread(target=watcher.feed, args=("zone example.com/IN: ready",))
    thread.start()
    match = await waiting
    thread.join()
    assert match.group(1) == "example.com/IN"
    # An old line does not satisfy a wait that starts after it.
    with pytest.raises(AssertionError, match="no line matching"):
        await watcher.wait_for("before", 0.05, since=mark)
    assert (await watcher.wait_for("before", 0.05)).group(0) == "before"


async def test_captured_log_records_worker_threads() -> None:
    import logging

    async with captured_log() as capture:
        log = logging.getLogger("zonesync.test")
        waiting = asyncio.create_task(
            capture.watcher.wait_for("from a thread", TIMEOUT)
        )
        await asyncio.to_thread(log.debug, "line %s", "from a thread")
        await waiting
    assert capture.records == [("DEBUG", "line from a thread")]


async def test_axfr_without_and_with_tsig(
    make_primary: Callable[..., NamedPrimary],
) -> None:
    key = TsigKey.generate("k")
    primary = make_primary()
    primary.add_key(key)
    primary.add_zone(ORIGIN, make_zone(ORIGIN, 1, hosts=5))
    primary.add_zone(
        "example.net",
        make_zone("example.net", 7, hosts=2),
        clauses=f'allow-transfer {{ key "{key.name}"; }};',
    )
    await primary.start()

    got = await axfr(primary)
    assert records(got) == zone_records(primary.zone_path(ORIGIN), ORIGIN)
    await primary.wait_for_log(
        r"transfer of 'example\.com/IN': AXFR ended: \d+ messages, 9 records,"
        r" .*\(serial 1\)$",
        TIMEOUT,
    )

    got = await axfr(primary, "example.net", key)
    assert records(got) == zone_records(primary.zone_path("example.net"), "example.net")
    await primary.wait_for_log(
        r"/key k \(example\.net\): transfer of 'example\.net/IN':"
        r" AXFR started: TSIG k \(serial 7\)$",
        TIMEOUT,
    )

    # Without the key: REFUSED, and named says why.
    with pytest.raises(dns.xfr.TransferError) as refused:
        await axfr(primary, "example.net")
    assert refused.value.rcode == dns.rcode.REFUSED
    await primary.wait_for_log(r"zone transfer 'example\.net/AXFR/IN' denied", TIMEOUT)

    # A wrong secret: BADSIG, an unknown key name: BADKEY.
    with pytest.raises(dns.tsig.PeerBadSignature):
        await axfr(primary, "example.net", key.with_new_secret())
    await primary.wait_for_log(r"TSIG k: tsig verify failure \(BADSIG\)", TIMEOUT)
    with pytest.raises(dns.tsig.PeerBadKey):
        await axfr(primary, "example.net", TsigKey.generate("nobody"))
    await primary.wait_for_log(r"TSIG nobody: tsig verify failure \(BADKEY\)", TIMEOUT)
    assert key.secret not in primary.log_text()


async def test_update_reload_ixfr_kill_restart(
    make_primary: Callable[..., NamedPrimary],
) -> None:
    primary = make_primary(options="ixfr-from-differences yes;")
    primary.add_zone(ORIGIN, make_zone(ORIGIN, 1, hosts=5))
    await primary.start()
    held = await axfr(primary)

    # Two quick updates in a row both load (the harness moves the mtime on).
    for serial, hosts in ((2, [0, 1, 2, 4, 5]), (3, [0, 1, 2, 4, 5, 6])):
        primary.update_zone(ORIGIN, make_zone(ORIGIN, serial, hosts=hosts))
        await primary.reload()

    mark = primary.log.mark()
    await axfr(primary, held)
    await primary.wait_for_log(
        r"transfer of 'example\.com/IN': IXFR started \(serial 1 -> 3\)", TIMEOUT, mark
    )
    await primary.wait_for_log(
        r"transfer of 'example\.com/IN': IXFR ended", TIMEOUT, mark
    )
    assert records(held) == zone_records(primary.zone_path(ORIGIN), ORIGIN)
    assert ("host3.example.com.", 300, "A", "10.0.0.3") not in records(held)

    old_pid = primary.pid
    assert old_pid is not None
    primary.kill()
    await primary.wait_for_log(r"^\[harness\] named exited with status -9$", TIMEOUT)
    await primary.restart()
    assert primary.pid not in (None, old_pid)
    got = await axfr(primary)
    assert records(got) == zone_records(primary.zone_path(ORIGIN), ORIGIN)

    primary.stop()
    await primary.wait_for_log(r"^\[harness\] named exited with status 0$", TIMEOUT)


async def test_views_by_key(make_primary: Callable[..., NamedPrimary]) -> None:
    internal, external = TsigKey.generate("int"), TsigKey.generate("ext")
    primary = make_primary()
    primary.add_views_by_key(internal, external)
    for view in ("internal", "external"):
        primary.add_zone(
            ORIGIN,
            make_zone(ORIGIN, 1, extra=[f'view IN TXT "{view}"']),
            view=view,
        )
    await primary.start()
    await primary.wait_for_log(
        r"zone example\.com/IN/internal: loaded serial 1$", TIMEOUT
    )

    for key, view in ((internal, "internal"), (external, "external")):
        got = await axfr(primary, key=key)
        assert ("view.example.com.", 300, "TXT", f'"{view}"') in records(got)

    primary.update_zone(ORIGIN, make_zone(ORIGIN, 2), view="external")
    await primary.reload()
    assert primary.log.search(r"zone example\.com/IN/external: loaded serial 2$")


async def test_named_start_failure_is_reported(
    make_primary: Callable[..., NamedPrimary],
) -> None:
    primary = make_primary(options="no-such-option yes;")
    with pytest.raises(AssertionError, match="named failed to start"):
        await primary.start()
    assert primary.pid is None


def test_make_zone_round_trips() -> None:
    text = make_zone(ORIGIN, 42, hosts=[1, 3], refresh=1, retry=2, expire=3)
    got = text_records(text, ORIGIN)
    assert ("host3.example.com.", 300, "A", "10.0.0.3") in got
    assert ("host2.example.com.", 300, "A", "10.0.0.2") not in got
    soa = [r for r in got if r[2] == "SOA"]
    assert soa == [
        (
            "example.com.",
            300,
            "SOA",
            "ns1.example.com. hostmaster.example.com. 42 1 2 3 60",
        )
    ]


def test_secondary_config_is_checked(secondary: Secondary) -> None:
    secondary.write(secondary_zone(ORIGIN, [(5300, None)]))
    with pytest.raises(AssertionError, match="named-checkconf rejects"):
        secondary.write('zone "example.com" { type secondary; };')
