"""zonesync against a real BIND primary: the edges of replication.

TSIG algorithms, keys from `server` statements, transfer-source, named
primaries lists, serials going backwards, unsupported zones, max-records,
a killed or stopped zonesync in the middle of a transfer, NOTIFYs queued
during a transfer, memory-only zones and IPv6. As in test_replication.py,
every wait is on a log line (zonesync's or named's) with a deadline, the
regexes follow BIND 9.18's wording (STYLE §5), and traffic stays on the
loopback addresses. The helpers shared with test_replication.py are in
replication_support.py.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import dns.name
import dns.rcode
import pytest

from tests.integration.named import (
    HOST,
    NamedPrimary,
    TsigKey,
    free_port,
    host_address,
    make_zone,
    text_records,
    zone_records,
)
from tests.integration.replication_support import (
    LABEL,
    ORIGIN,
    XFR_SECONDS,
    MakePrimary,
    assert_in_order,
    assert_no_secret,
    assert_same_zone,
    served_line,
    signed_zone_conf,
    start_primary,
    start_signed_primary,
    xfr_line,
    zone_line,
)
from tests.integration.zonesync_run import (
    EXIT_SECONDS,
    RunningDaemon,
    Secondary,
    ZonesyncProcess,
    primaries_clause,
    run_daemon,
    secondary_zone,
    send_notify,
    zonesync_process,
)
from zonesync.store.memory import MemoryZone

BIG_XFR_SECONDS = 120.0  # BIG_HOSTS records through dnspython
# Big enough that a transfer runs for seconds (about 3 s here, 2 cores), so a
# test can act on its first messages and still be in the middle of it; small
# enough that the file stays well within a minute. 200k records take 12 s.
BIG_HOSTS = 50_000


# -- regexes in BIND's wording --------------------------------------------------------


def soa_query_line(zone: str = ORIGIN) -> str:
    """named's query log line for an SOA query of `zone` (`querylog yes;`)."""
    return rf"\): query: {re.escape(zone)} IN SOA "


# Any refresh or transfer failure of example.com, as BIND words them.
FAILURE = (
    rf"^(zone {re.escape(LABEL)}: refresh: (failure trying|unexpected rcode|retry limit)"
    rf"|transfer of '{re.escape(LABEL)}' from \S+:"
    r" failed (while receiving responses|to connect))"
)


async def wait_success(
    zs: RunningDaemon,
    success: str,
    seconds: float = XFR_SECONDS,
    since: int = 0,
    primary: NamedPrimary | None = None,
) -> None:
    """Wait for `success`; fail at once, with the line, if a failure comes first.

    The failure message shows zonesync's log, and the primary's if given.
    """
    match = await zs.wait_for_log(f"{success}|{FAILURE}", seconds, since)
    if re.search(success, match.string):
        return
    message = f"failed instead of {success!r}:\n{match.string}\nlog:\n{zs.log.tail()}"
    if primary is not None:
        message += f"\nnamed's log:\n{primary.log.tail(10)}"
    raise AssertionError(message)


async def expect_signed_axfr(
    zs: RunningDaemon, primary: NamedPrimary, secondary: Secondary
) -> None:
    """Serial 1 comes by an AXFR signed with key `k`, as both logs say."""
    await wait_success(
        zs, zone_line(r"transferred serial 1: TSIG 'k'$"), primary=primary
    )
    await primary.wait_for_log(
        served_line("/key k", r"AXFR started: TSIG k \(serial 1\)$"), XFR_SECONDS
    )
    assert_same_zone(secondary.zone_file(ORIGIN), primary)


# -- 1. TSIG algorithms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithm",
    [
        "hmac-md5",
        "hmac-sha1",
        "hmac-sha224",
        "hmac-sha256",
        "hmac-sha384",
        "hmac-sha512",
    ],
)
async def test_tsig_algorithm(
    make_primary: MakePrimary, secondary: Secondary, algorithm: str
) -> None:
    key = TsigKey.generate("k", algorithm)
    primary = await start_signed_primary(make_primary, key)
    secondary.write(signed_zone_conf(primary, key))

    async with run_daemon(secondary) as zs:
        await expect_signed_axfr(zs, primary, secondary)
        assert_no_secret(zs, key)


async def test_truncated_tsig_key_is_refused_clearly(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    # BIND signs hmac-sha256-128 as hmac-sha256 with a 16-byte MAC; zonesync
    # cannot yet, so it must say so rather than fail with a BADKEY riddle.
    key = TsigKey.generate("k", "hmac-sha256-128")
    primary = await start_signed_primary(make_primary, key)
    secondary.write(signed_zone_conf(primary, key))
    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(
            zone_line(
                r"refresh failed: 127\.0\.0\.1#\d+:"
                r" TSIG 'k': truncated algorithm hmac-sha256-128 is not supported"
                r" by zonesync$"
            ),
            XFR_SECONDS,
        )
        assert not secondary.zone_file(ORIGIN).exists()
        assert_no_secret(zs, key)


# -- 2. the key from a `server` statement ----------------------------------------------------


async def test_key_from_server_statement(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    key = TsigKey.generate("k")
    primary = await start_signed_primary(make_primary, key)
    # The primaries entry names no key; BIND takes it from the server statement.
    secondary.write(
        "\n".join(
            [
                key.statement(),
                f'server {HOST} {{ keys {{ "k"; }}; }};',
                secondary_zone(ORIGIN, [(primary.port, None)]),
            ]
        )
    )

    async with run_daemon(secondary) as zs:
        await expect_signed_axfr(zs, primary, secondary)


# -- 3. transfer-source ------------------------------------------------------------------------

SOURCE = "127.0.0.2"  # on Linux all of 127/8 is the loopback


async def start_source_only_primary(make_primary: MakePrimary) -> NamedPrimary:
    """A primary that transfers example.com to SOURCE only (SOA to anyone)."""
    return await start_primary(
        make_primary,
        make_zone(ORIGIN, 1),
        clauses=f"allow-transfer {{ {SOURCE}; }}; allow-query {{ any; }};",
    )


async def test_transfer_source_is_used(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = await start_source_only_primary(make_primary)
    secondary.write(
        secondary_zone(
            ORIGIN, [(primary.port, None)], clauses=f"transfer-source {SOURCE};"
        )
    )

    async with run_daemon(secondary) as zs:
        await wait_success(zs, zone_line(r"transferred serial 1$"))
        assert_in_order(
            zs.log,
            [
                zone_line(r"Transfer started\.$"),
                xfr_line(primary, rf"connected using {re.escape(SOURCE)}#\d+$"),
                zone_line(r"transferred serial 1$"),
            ],
        )
        await primary.wait_for_log(
            served_line(
                rf"client @\S+ {re.escape(SOURCE)}#\d+", r"AXFR started \(serial 1\)$"
            ),
            XFR_SECONDS,
        )
        assert_same_zone(secondary.zone_file(ORIGIN), primary)


async def test_without_transfer_source_is_refused(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = await start_source_only_primary(make_primary)
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(
            xfr_line(primary, r"failed while receiving responses: REFUSED$"),
            XFR_SECONDS,
        )
        await primary.wait_for_log(
            r"client @\S+ 127\.0\.0\.1#\d+ \(example\.com\):"
            r" zone transfer 'example\.com/AXFR/IN' denied$",
            XFR_SECONDS,
        )
        assert not secondary.zone_file(ORIGIN).exists()
        assert "REFUSED" in (zs.snapshot().last_error or "")


# -- 4. a named primaries list, a port per entry ------------------------------------------------


async def test_named_primaries_list_with_ports(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    dead_port = free_port()  # nothing listens here
    dead = f"{HOST}#{dead_port}"
    primary = await start_primary(make_primary, make_zone(ORIGIN, 1))
    secondary.write(
        "\n".join(
            [
                f"primaries upstream {{ {HOST} port {dead_port};"
                f" {HOST} port {primary.port}; }};",
                f'zone "{ORIGIN}" {{ type secondary; file "{ORIGIN}.db";'
                " primaries { upstream; }; };",
            ]
        )
    )

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
        # The dead entry came first and was tried first, with its own port.
        assert_in_order(
            zs.log,
            [
                # Nothing held: no SOA query, the AXFR itself is refused.
                xfr_line(dead, r"failed to connect: connection refused$"),
                zone_line(r"Transfer started\.$"),
                xfr_line(primary, r"connected using 127\.0\.0\.1#\d+$"),
                zone_line(r"transferred serial 1$"),
            ],
        )
        assert zs.snapshot().primary == primary.address
        assert_same_zone(secondary.zone_file(ORIGIN), primary)


# -- 5. a primary whose serial goes backwards -----------------------------------------------------


@pytest.mark.parametrize("multi_master", [False, True], ids=["single", "multi-master"])
async def test_serial_going_backwards_never_overwrites(
    make_primary: MakePrimary, secondary: Secondary, multi_master: bool
) -> None:
    # The query log shows each SOA query zonesync makes: the marker that the
    # refresh at serial 5 happened even when zonesync logs nothing about it.
    primary = await start_primary(
        make_primary, make_zone(ORIGIN, 10, hosts=4), options="querylog yes;"
    )
    clauses = "multi-master yes;" if multi_master else ""
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)], clauses=clauses))
    path = secondary.zone_file(ORIGIN)

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 10$"), XFR_SECONDS)
        before = path.read_bytes()

        primary.update_zone(ORIGIN, make_zone(ORIGIN, 5, hosts=2))
        await primary.reload()
        mark, primary_mark = zs.log.mark(), primary.log.mark()
        # A NOTIFY without a serial: a NOTIFY for 5 would be "up to date".
        reply = await send_notify(zs.address, ORIGIN, None)
        assert reply.rcode() == dns.rcode.NOERROR
        await primary.wait_for_log(soa_query_line(), XFR_SECONDS, primary_mark)
        behind = zone_line(
            rf"serial number \(5\) received from primary"
            rf" {re.escape(primary.address)} < ours \(10\)$"
        )
        if not multi_master:
            await zs.wait_for_log(behind, XFR_SECONDS, mark)
            assert zs.capture.levels_of(behind) == ["INFO"]
        assert path.read_bytes() == before
        assert zs.snapshot().serial == 10

        # A later refresh that transfers: every line of the one before is in.
        primary.update_zone(ORIGIN, make_zone(ORIGIN, 11, hosts=3))
        await primary.reload()
        await send_notify(zs.address, ORIGIN, 11)
        await wait_success(zs, zone_line(r"transferred serial 11$"), since=mark)
        assert len(primary.log.findall(soa_query_line(), primary_mark)) == 2
        assert len(zs.log.findall(zone_line(r"Transfer started\.$"), mark)) == 1
        assert len(zs.log.findall(behind, mark)) == (0 if multi_master else 1)
        if multi_master:
            assert zs.log.search(r"serial number \(5\)", mark) is None
        assert_same_zone(path, primary)


# -- 6. masterfile-format raw: that zone out, the others in ----------------------------------------


async def test_masterfile_format_raw_is_refused_alone(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = make_primary()
    primary.add_zone("good.example", make_zone("good.example", 1))
    primary.add_zone("bad.example", make_zone("bad.example", 1))
    await primary.start()
    secondary.write(
        "\n".join(
            [
                secondary_zone("good.example", [(primary.port, None)]),
                secondary_zone(
                    "bad.example",
                    [(primary.port, None)],
                    clauses="masterfile-format raw;",
                ),
            ]
        )
    )

    async with run_daemon(secondary) as zs:
        await wait_success(
            zs, zone_line(r"transferred serial 1$", "good.example/IN"), XFR_SECONDS
        )
        refused = zone_line(
            r"masterfile-format raw is not supported .*", "bad.example/IN"
        )
        # Logged while the config is read, before any zone starts.
        index = zs.log.index(refused)
        assert index is not None, zs.log.text()
        assert zs.capture.levels_of(refused) == ["ERROR"]
        assert [snap.zone for snap in zs.daemon.manager.snapshot()] == ["good.example"]
        assert zs.log.search(r"bad\.example", index + 1) is None
        assert_same_zone(
            secondary.zone_file("good.example"), primary, origin="good.example"
        )
        assert not secondary.zone_file("bad.example").exists()
        assert primary.log.search(r"transfer of 'bad\.example/IN'") is None


# -- 7. max-records ---------------------------------------------------------------------------


async def test_max_records(make_primary: MakePrimary, secondary: Secondary) -> None:
    # SOA, NS, ns1 and 47 hosts: 50 records.
    primary = await start_primary(make_primary, make_zone(ORIGIN, 1, hosts=47))
    secondary.write(
        secondary_zone(ORIGIN, [(primary.port, None)], clauses="max-records 10;")
    )
    path = secondary.zone_file(ORIGIN)

    async with run_daemon(secondary) as zs:
        too_many = xfr_line(
            primary,
            r"failed while receiving responses: .*too many records"
            r" \(must not exceed 10\)$",
        )
        await zs.wait_for_log(too_many, XFR_SECONDS)
        assert zs.capture.levels_of(too_many) == ["ERROR"]
        await zs.wait_for_log(
            xfr_line(primary, r"Transfer status: .*too many records"), XFR_SECONDS
        )
        assert zs.log.search(zone_line(r"transferred serial")) is None
        assert not path.exists()
        assert secondary.temp_files() == []
        snap = zs.snapshot()
        assert snap.serial is None
        assert snap.failures >= 1
        assert "too many records" in (snap.last_error or "")

        # Exactly the limit now (SOA, NS, ns1, 7 hosts): BIND refuses only more.
        primary.update_zone(ORIGIN, make_zone(ORIGIN, 2, hosts=7))
        await primary.reload()
        mark = zs.log.mark()
        await send_notify(zs.address, ORIGIN, 2)
        await wait_success(zs, zone_line(r"transferred serial 2$"), since=mark)
        assert_same_zone(path, primary)
        assert len(zone_records(path, ORIGIN)) == 10
        snap = zs.snapshot()
        assert snap.serial == 2
        assert snap.records == 10
        assert snap.failures == 0


# -- 8, 9. zonesync killed or stopped in the middle of a transfer -----------------------------------


def big_zone(serial: int) -> str:
    """Version `serial` of example.com with BIG_HOSTS hosts (REFRESH and RETRY long)."""
    return make_zone(ORIGIN, serial, hosts=BIG_HOSTS, refresh=3600, retry=600)


def small_zone(serial: int) -> str:
    """Version `serial` of example.com with a few hosts (REFRESH and RETRY long)."""
    return make_zone(ORIGIN, serial, hosts=5, refresh=3600, retry=600)


def file_records(path: Path) -> set[tuple[str, int, str, str]]:
    """The records of a zone file as zonesync writes it, without dnspython.

    zonesync writes one RR per line, `owner TTL CLASS TYPE rdata`, with
    absolute names (store/zonefile.py); reading 50k records this way takes
    a fraction of what dnspython's zone parser needs.
    """
    records = set()
    for line in path.read_text().splitlines():
        if not line or line.startswith((";", "$")):
            continue
        owner, ttl, _rdclass, rdtype, rdata = line.split(None, 4)
        records.add((owner, int(ttl), rdtype, rdata))
    return records


def big_zone_records(serial: int) -> set[tuple[str, int, str, str]]:
    """The records of `big_zone(serial)`, as `file_records` reads them."""
    return {
        (
            f"{ORIGIN}.",
            300,
            "SOA",
            f"ns1.{ORIGIN}. hostmaster.{ORIGIN}. {serial} 3600 600 1209600 60",
        ),
        (f"{ORIGIN}.", 300, "NS", f"ns1.{ORIGIN}."),
        (f"ns1.{ORIGIN}.", 300, "A", "127.0.0.1"),
        *((f"host{n}.{ORIGIN}.", 300, "A", host_address(n)) for n in range(BIG_HOSTS)),
    }


# zonesync logs `received message 2` only after message 1's records went to the
# writer, which creates the temporary file: from that line on the file exists
# and the transfer is surely in the middle (the big zone takes dozens).
MID_TRANSFER = r"received message 2$"


async def interrupt_big_transfer(
    make_primary: MakePrimary,
    secondary: Secondary,
    first: bool,
    interrupt: signal.Signals,
) -> tuple[NamedPrimary, ZonesyncProcess, bytes | None]:
    """Run `zonesync run` until the big version is mid-transfer, then signal it.

    `first`: the big version is the first transfer of the zone; otherwise a
    small version 1 comes first, then the primary moves to the big version 2
    and NOTIFYs. Returns the primary, the process (exited or exiting) and the
    zone file's bytes before the big transfer (None if there was no file).
    """
    primary = await start_primary(make_primary, big_zone(2) if first else small_zone(1))
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    path = secondary.zone_file(ORIGIN)
    before: bytes | None = None
    async with zonesync_process(secondary) as zs:
        if not first:
            await zs.log.wait_for(zone_line(r"transferred serial 1$"), XFR_SECONDS)
            before = path.read_bytes()
            primary.update_zone(ORIGIN, big_zone(2))
            await primary.reload()
        mark = zs.log.mark()
        if not first:
            await send_notify(zs.address, ORIGIN, 2)
        await zs.log.wait_for(xfr_line(primary, MID_TRANSFER), XFR_SECONDS, mark)
        zs.process.send_signal(interrupt)
        status = await zs.wait_exit(EXIT_SECONDS)
        assert zs.log.search(zone_line(r"transferred serial 2"), mark) is None, (
            "the transfer finished before the signal; the test proves nothing"
        )
        if interrupt is signal.SIGKILL:
            assert status == -signal.SIGKILL
    return primary, zs, before


@pytest.mark.slow
@pytest.mark.parametrize("first", [True, False], ids=["first-transfer", "second"])
async def test_kill_9_mid_transfer_then_restart(
    make_primary: MakePrimary, secondary: Secondary, first: bool
) -> None:
    _primary, _killed, before = await interrupt_big_transfer(
        make_primary, secondary, first, signal.SIGKILL
    )
    path = secondary.zone_file(ORIGIN)
    if first:
        assert not path.exists()
    else:
        assert path.read_bytes() == before
    # Killed with the writer open: its temporary file is still there.
    left = secondary.temp_files()
    assert len(left) == 1, left
    assert left[0].parent == path.parent

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(
            zone_line(r"removed 1 stale temporary file\(s\)$"), XFR_SECONDS
        )
        assert not left[0].exists()
        if not first:
            await zs.wait_for_log(zone_line(r"loaded serial 1$"), XFR_SECONDS)
            await send_notify(zs.address, ORIGIN, 2)
        await wait_success(zs, zone_line(r"transferred serial 2$"), BIG_XFR_SECONDS)
        assert zs.snapshot().serial == 2
        assert file_records(path) == big_zone_records(2)
        assert secondary.temp_files() == []


@pytest.mark.slow
async def test_sigterm_mid_transfer(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    _primary, zs, before = await interrupt_big_transfer(
        make_primary, secondary, False, signal.SIGTERM
    )
    assert zs.process.returncode == 0, zs.stderr_text()
    assert "Traceback" not in zs.stderr_text()
    assert_in_order(zs.log, [r"^shutting down$", r"^stopped$"])
    assert secondary.temp_files() == []
    assert secondary.zone_file(ORIGIN).read_bytes() == before


# -- 10. NOTIFYs during a transfer queue one more refresh ------------------------------------------


@pytest.mark.slow
async def test_notifies_during_a_transfer_queue_one_refresh(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    # The query log counts zonesync's SOA queries: one per refresh.
    primary = await start_primary(make_primary, big_zone(2), options="querylog yes;")
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    queued = zone_line(
        r"notify from 127\.0\.0\.1#\d+: refresh in progress, refresh check queued$"
    )
    up_to_date = zone_line(r"zone is up to date \(serial at ")

    async with run_daemon(secondary) as zs:
        # The first refresh starts at once: no file, no serial.
        await zs.wait_for_log(xfr_line(primary, r"received message 1$"), XFR_SECONDS)
        for _ in range(3):
            reply = await send_notify(zs.address, ORIGIN, 2)
            assert reply.rcode() == dns.rcode.NOERROR
        assert len(zs.log.findall(queued)) == 3
        assert zs.log.search(zone_line(r"transferred serial")) is None, (
            "the transfer ended before the NOTIFYs; the test proves nothing"
        )
        await wait_success(zs, zone_line(r"transferred serial 2$"), BIG_XFR_SECONDS)
        # The one queued check: the primary is still at 2.
        await zs.wait_for_log(up_to_date, XFR_SECONDS)

        # The marker: a change the next refresh must transfer. Were more
        # checks queued, they would run before it and show up in the counts.
        primary.update_zone(ORIGIN, small_zone(3))
        await primary.reload()
        mark = zs.log.mark()
        await send_notify(zs.address, ORIGIN, 3)
        await wait_success(zs, zone_line(r"transferred serial 3$"), since=mark)
        assert_in_order(
            zs.log,
            [
                zone_line(r"Transfer started\.$"),
                xfr_line(primary, r"received message 1$"),
                queued,
                queued,
                queued,
                zone_line(r"transferred serial 2$"),
                up_to_date,
                zone_line(r"notify from 127\.0\.0\.1#\d+: serial 3$"),
                zone_line(r"Transfer started\.$"),
                zone_line(r"transferred serial 3$"),
            ],
        )
        assert len(zs.log.findall(queued)) == 3
        assert len(zs.log.findall(up_to_date)) == 1
        assert len(zs.log.findall(zone_line(r"Transfer started\.$"))) == 2
        # The queued check and the marker's refresh; the first refresh had
        # nothing to compare and asked for the AXFR at once.
        assert len(primary.log.findall(soa_query_line())) == 2
        assert_same_zone(secondary.zone_file(ORIGIN), primary)


# -- 11. a zone without `file` ---------------------------------------------------------------------


async def test_zone_without_file_is_kept_in_memory(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    text = make_zone(ORIGIN, 7, hosts=5)
    primary = await start_primary(make_primary, text)
    secondary.write(
        f'zone "{ORIGIN}" {{ type secondary;'
        f" {primaries_clause([(primary.port, None)])} }};"
    )

    async with run_daemon(secondary) as zs:
        await wait_success(zs, zone_line(r"transferred serial 7$"))
        snap = zs.snapshot()
        assert snap.serial == 7
        assert snap.loaded
        assert snap.records == len(text_records(text, ORIGIN))
        assert list(secondary.zones_dir.rglob("*")) == []
        zone = zs.daemon.manager.find("_default", dns.name.from_text(ORIGIN))
        assert zone is not None
        assert isinstance(zone.store, MemoryZone)
        assert {
            (name.to_text(), ttl, rdata.to_text(origin=None, relativize=False))
            for name, ttl, rdata in zone.store.records
        } == {
            (owner, ttl, rdata)
            for owner, ttl, _type, rdata in text_records(text, ORIGIN)
        }


# -- 12. IPv6 loopback ---------------------------------------------------------------------------


async def test_ipv6_loopback_primary(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    port = free_port()  # free on 127.0.0.1; ::1 is checked by named's start
    primary = await start_primary(
        make_primary,
        make_zone(ORIGIN, 1),
        port=port,
        options=f"listen-on-v6 port {port} {{ ::1; }};",
    )
    secondary.write(
        f'zone "{ORIGIN}" {{ type secondary; file "{ORIGIN}.db";'
        f" primaries {{ ::1 port {port}; }}; }};"
    )
    v6 = f"::1#{port}"

    async with run_daemon(secondary) as zs:
        await wait_success(zs, zone_line(r"transferred serial 1$"))
        assert_in_order(
            zs.log,
            [
                zone_line(r"Transfer started\.$"),
                xfr_line(v6, r"connected using ::1#\d+$"),
                xfr_line(v6, r"Transfer status: success$"),
                zone_line(r"transferred serial 1$"),
            ],
        )
        await primary.wait_for_log(
            served_line(r"client @\S+ ::1#\d+", r"AXFR started \(serial 1\)$"),
            XFR_SECONDS,
        )
        assert zs.snapshot().primary == v6
        assert_same_zone(secondary.zone_file(ORIGIN), primary)
