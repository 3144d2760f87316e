"""zonesync against a real BIND primary: transfers, NOTIFY, TSIG, failures.

Every wait is on a log line (zonesync's, captured in-process, or named's), with
a deadline; regexes follow BIND 9.18's wording (STYLE §5). Only 127.0.0.1.
The zone label is `example.com/IN` and the primary `127.0.0.1#PORT`, as BIND
prints them. The helpers shared with test_replication_edges.py are in
replication_support.py.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import time
from pathlib import Path

import dns.flags
import dns.opcode
import dns.rcode
import pytest

from tests.integration.named import HOST, NamedPrimary, TsigKey, free_port, make_zone
from tests.integration.replication_support import (
    LABEL,
    ORIGIN,
    XFR_SECONDS,
    MakePrimary,
    apply_failed_line,
    assert_in_order,
    assert_no_secret,
    assert_same_zone,
    journal_file,
    rewritten_line,
    served_line,
    signed_zone_conf,
    start_primary,
    start_signed_primary,
    xfr_line,
    zone_line,
)
from tests.integration.zonesync_run import (
    EXIT_SECONDS,
    Secondary,
    run_argv,
    run_daemon,
    secondary_zone,
    send_notify,
    zonesync_process,
)

FAILOVER_SECONDS = 60.0  # the dead primary may cost a whole SOA query timeout
EXPIRY_SECONDS = 30.0
BIG_XFR_SECONDS = 180.0  # 200k records through dnspython
SLACK_SECONDS = 2.0
HOOK_SECONDS = 10.0  # a hook that copies or touches one file


# -- regexes in BIND's wording ------------------------------------------------------


def failure_line(primary: NamedPrimary, label: str = LABEL) -> str:
    """The start of a refresh or transfer failure line about `primary`."""
    return (
        rf"^(zone {re.escape(label)}: refresh: failure trying primary"
        rf" {re.escape(primary.address)} |"
        rf"transfer of '{re.escape(label)}' from {re.escape(primary.address)}: )"
    )


def refused_line(primary: NamedPrimary, label: str = LABEL) -> str:
    """REFUSED, at the SOA query or at the transfer (BIND logs both shapes)."""
    p = re.escape(primary.address)
    lab = re.escape(label)
    return (
        rf"^(zone {lab}: refresh: unexpected rcode \(REFUSED\) from primary {p} "
        rf"|transfer of '{lab}' from {p}: (failed while receiving responses"
        rf"|Transfer status): REFUSED$)"
    )


def hook_done_line(hook: str, program: str) -> str:
    """zonesync's DEBUG line when a hook (`on-update`, `on-expire`) exited 0."""
    return zone_line(rf"{hook} hook: {re.escape(program)} done$")


# -- 1. first AXFR ------------------------------------------------------------------


async def test_first_axfr(make_primary: MakePrimary, secondary: Secondary) -> None:
    primary = await start_primary(
        make_primary, make_zone(ORIGIN, 1, hosts=5, refresh=3600, expire=1209600)
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    started_at = time.time()

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
        done_at = time.time()
        assert_in_order(
            zs.log,
            [
                zone_line(r"Transfer started\.$"),
                xfr_line(primary, r"connected using 127\.0\.0\.1#\d+$"),
                xfr_line(primary, r"got nonincremental response$"),
                xfr_line(primary, r"Transfer status: success$"),
                # BIND counts every record received, both SOAs included: 9.
                xfr_line(
                    primary,
                    r"Transfer completed: 1 messages, 9 records, \d+ bytes,"
                    r" \d+\.\d{3} secs \(\d+ bytes/sec\) \(serial 1\)$",
                ),
                zone_line(r"transferred serial 1$"),
            ],
        )
        # The first message is in before it can tell AXFR from IXFR.
        assert_in_order(
            zs.log,
            [
                xfr_line(primary, r"connected using "),
                xfr_line(primary, r"received message 1$"),
                xfr_line(primary, r"Transfer status: success$"),
            ],
        )
        assert zs.capture.levels_of(xfr_line(primary, r"received message")) == ["DEBUG"]
        assert_same_zone(secondary.zone_file(ORIGIN), primary)
        await primary.wait_for_log(
            r"transfer of 'example\.com/IN': AXFR ended: .* \(serial 1\)$", XFR_SECONDS
        )

        snap = zs.snapshot()
        assert (snap.view, snap.zone) == ("_default", ORIGIN)
        assert snap.serial == 1
        assert snap.loaded
        assert not snap.expired
        assert snap.primary == primary.address
        assert snap.failures == 0
        assert snap.last_error is None
        assert snap.last_refresh_at is not None
        assert (
            started_at - SLACK_SECONDS
            <= snap.last_refresh_at
            <= done_at + SLACK_SECONDS
        )
        # BIND: the next refresh at 75-100 % of REFRESH; expiry EXPIRE after it.
        assert snap.next_refresh_at is not None
        assert (
            snap.last_refresh_at + 0.75 * 3600 - SLACK_SECONDS
            <= snap.next_refresh_at
            <= snap.last_refresh_at + 3600 + SLACK_SECONDS
        )
        assert snap.expires_at is not None
        assert abs(snap.expires_at - (snap.last_refresh_at + 1209600)) <= SLACK_SECONDS
        assert zs.capture.levels_of(r"^transfer of .*: Transfer status: success$") == [
            "INFO"
        ]


# -- 2. IXFR after the primary's own NOTIFY --------------------------------------------


async def test_ixfr_after_primary_notify(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    notify_port = free_port()  # the primary must know where to NOTIFY
    primary = await start_primary(
        make_primary,
        make_zone(ORIGIN, 1, hosts=range(6)),
        notify="explicit",
        options="ixfr-from-differences yes;",
        clauses=f"also-notify {{ {HOST} port {notify_port}; }};",
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))

    async with run_daemon(secondary, listen=((HOST, notify_port),)) as zs:
        assert (HOST, notify_port) in zs.daemon.listen_addresses
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)

        mark, primary_mark = zs.log.mark(), primary.log.mark()
        # Delete host3, add host6 and host7, change nothing else.
        primary.update_zone(ORIGIN, make_zone(ORIGIN, 2, hosts=[0, 1, 2, 4, 5, 6, 7]))
        await primary.reload()

        await zs.wait_for_log(
            zone_line(r"notify from 127\.0\.0\.1#\d+: serial 2"), XFR_SECONDS, mark
        )
        await zs.wait_for_log(zone_line(r"transferred serial 2$"), XFR_SECONDS, mark)
        # Durable in the journal first; the zone file is rewritten after.
        await zs.wait_for_log(rewritten_line(1, 2), XFR_SECONDS, mark)
        assert_in_order(
            zs.log,
            [
                zone_line(r"Transfer started\.$"),
                xfr_line(primary, r"got incremental response$"),
                xfr_line(primary, r"Transfer status: success$"),
                xfr_line(primary, r"Transfer completed: .*\(serial 2\)$"),
                zone_line(r"transferred serial 2$"),
                rewritten_line(1, 2),
            ],
            mark,
        )
        assert zs.log.search(r"retrying with AXFR", mark) is None
        await primary.wait_for_log(
            r"transfer of 'example\.com/IN': IXFR started \(serial 1 -> 2\)",
            XFR_SECONDS,
            primary_mark,
        )
        await primary.wait_for_log(
            r"transfer of 'example\.com/IN': IXFR ended: .*\(serial 2\)$",
            XFR_SECONDS,
            primary_mark,
        )
        assert_same_zone(secondary.zone_file(ORIGIN), primary)
        assert zs.snapshot().serial == 2


# -- 3. NOTIFY-triggered refresh; a stale NOTIFY transfers nothing -------------------------


async def test_notify_triggers_refresh(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    # REFRESH 3600: within the test only the NOTIFY can start a transfer.
    primary = await start_primary(
        make_primary, make_zone(ORIGIN, 1, refresh=3600, retry=600)
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
        next_refresh_at = zs.snapshot().next_refresh_at
        assert next_refresh_at is not None
        assert next_refresh_at > time.time() + 600

        primary.update_zone(ORIGIN, make_zone(ORIGIN, 2, hosts=4))
        await primary.reload()
        mark = zs.log.mark()
        reply = await send_notify(zs.address, ORIGIN, 2)
        assert reply.opcode() == dns.opcode.NOTIFY
        assert reply.flags & dns.flags.QR
        assert reply.rcode() == dns.rcode.NOERROR

        await zs.wait_for_log(
            zone_line(r"notify from 127\.0\.0\.1#\d+: serial 2$"), XFR_SECONDS, mark
        )
        await zs.wait_for_log(zone_line(r"transferred serial 2$"), XFR_SECONDS, mark)
        assert_same_zone(secondary.zone_file(ORIGIN), primary)

        # The same serial again, and an older one: up to date, no transfer.
        for serial in (2, 1):
            mark, primary_mark = zs.log.mark(), primary.log.mark()
            reply = await send_notify(zs.address, ORIGIN, serial)
            assert reply.rcode() == dns.rcode.NOERROR
            await zs.wait_for_log(
                zone_line(r"notify from 127\.0\.0\.1#\d+: zone is up to date$"),
                XFR_SECONDS,
                mark,
            )
            assert zs.log.search(zone_line(r"Transfer started\.$"), mark) is None
            assert primary.log.search(r"[AI]XFR started", primary_mark) is None
        assert zs.snapshot().serial == 2


# -- 4. TSIG --------------------------------------------------------------------------


async def test_tsig_good_key(make_primary: MakePrimary, secondary: Secondary) -> None:
    key = TsigKey.generate("k")
    primary = await start_signed_primary(make_primary, key)
    secondary.write(signed_zone_conf(primary, key))

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(
            zone_line(r"transferred serial 1: TSIG 'k'$"), XFR_SECONDS
        )
        await primary.wait_for_log(
            served_line("/key k", r"[AI]XFR.* started: TSIG k \(serial 1\)$"),
            XFR_SECONDS,
        )
        assert_same_zone(secondary.zone_file(ORIGIN), primary)
        assert_no_secret(zs, key)


async def test_tsig_wrong_secret_keeps_the_old_file(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    key = TsigKey.generate("k")
    primary = await start_signed_primary(make_primary, key)
    secondary.write(signed_zone_conf(primary, key))
    path = secondary.zone_file(ORIGIN)

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(
            zone_line(r"transferred serial 1: TSIG 'k'$"), XFR_SECONDS
        )
        before = path.read_bytes()

        # The primary's key changes (same name, another secret), and serial 2.
        rotated = key.with_new_secret()
        primary.add_key(rotated)
        primary.update_zone(ORIGIN, make_zone(ORIGIN, 2, hosts=7))
        await primary.reload()
        mark, primary_mark = zs.log.mark(), primary.log.mark()
        await send_notify(zs.address, ORIGIN, 2)

        await zs.wait_for_log(
            failure_line(primary) + r"(?=.*TSIG 'k').*BADSIG", XFR_SECONDS, mark
        )
        await primary.wait_for_log(
            r"TSIG k: tsig verify failure \(BADSIG\)", XFR_SECONDS, primary_mark
        )
        assert zs.log.search(zone_line(r"transferred serial 2"), mark) is None
        assert path.read_bytes() == before
        snap = zs.snapshot()
        assert snap.serial == 1
        assert snap.failures >= 1
        assert snap.last_error is not None
        assert_no_secret(zs, key, rotated)


async def test_tsig_unknown_key(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    key, stranger = TsigKey.generate("k"), TsigKey.generate("stranger")
    primary = await start_signed_primary(make_primary, key)
    secondary.write(signed_zone_conf(primary, stranger))

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(
            failure_line(primary) + r"(?=.*TSIG 'stranger').*BADKEY", XFR_SECONDS
        )
        await primary.wait_for_log(
            r"TSIG stranger: tsig verify failure \(BADKEY\)", XFR_SECONDS
        )
        assert not secondary.zone_file(ORIGIN).exists()
        snap = zs.snapshot()
        assert snap.serial is None
        assert not snap.loaded
        assert snap.failures >= 1
        assert_no_secret(zs, key, stranger)


async def test_unsigned_request_is_refused(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    key = TsigKey.generate("k")
    primary = await start_signed_primary(make_primary, key)
    # zonesync knows the key but its primaries entry does not use it.
    secondary.write(
        key.statement() + "\n" + secondary_zone(ORIGIN, [(primary.port, None)])
    )

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(refused_line(primary), XFR_SECONDS)
        await primary.wait_for_log(
            r"zone transfer 'example\.com/[AI]XFR/IN' denied", XFR_SECONDS
        )
        assert not secondary.zone_file(ORIGIN).exists()
        assert zs.snapshot().failures >= 1
        assert_no_secret(zs, key)


# -- 5. REFUSED ------------------------------------------------------------------------


async def test_refused(make_primary: MakePrimary, secondary: Secondary) -> None:
    primary = await start_primary(
        make_primary, make_zone(ORIGIN, 1), clauses="allow-transfer { none; };"
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(refused_line(primary), XFR_SECONDS)
        await primary.wait_for_log(
            r"zone transfer 'example\.com/AXFR/IN' denied", XFR_SECONDS
        )
        assert zs.log.search(zone_line(r"transferred serial")) is None
        assert not secondary.zone_file(ORIGIN).exists()
        assert secondary.temp_files() == []
        snap = zs.snapshot()
        assert not snap.loaded
        assert snap.serial is None
        assert snap.failures >= 1
        assert snap.last_error is not None
        assert "REFUSED" in snap.last_error


# -- 6. failover --------------------------------------------------------------------------


async def test_failover_to_the_next_primary(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    dead_port = free_port()  # nothing listens here
    dead = f"{HOST}#{dead_port}"
    primary = await start_primary(make_primary, make_zone(ORIGIN, 1))
    secondary.write(secondary_zone(ORIGIN, [(dead_port, None), (primary.port, None)]))

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), FAILOVER_SECONDS)
        assert_same_zone(secondary.zone_file(ORIGIN), primary)
        assert zs.snapshot().primary == primary.address
        # The dead primary came first and was tried first.
        tried = zs.log.index(re.escape(dead))
        done = zs.log.index(zone_line(r"transferred serial 1$"))
        assert tried is not None, "the first (dead) primary was never tried"
        assert done is not None
        assert tried < done
        assert zs.log.search(xfr_line(dead, r"Transfer status: success")) is None


@pytest.mark.slow
async def test_failover_from_a_silent_primary(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    # Bound but mute: UDP queries go unanswered, TCP connects and hangs.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute_udp,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as mute_tcp,
    ):
        mute_udp.bind((HOST, 0))
        mute_port = mute_udp.getsockname()[1]
        mute_tcp.bind((HOST, mute_port))
        mute_tcp.listen()
        mute = f"{HOST}#{mute_port}"
        primary = await start_primary(make_primary, make_zone(ORIGIN, 1))
        secondary.write(
            secondary_zone(ORIGIN, [(mute_port, None), (primary.port, None)])
        )

        async with run_daemon(secondary) as zs:
            await zs.wait_for_log(zone_line(r"transferred serial 1$"), FAILOVER_SECONDS)
            # Nothing held: the AXFR is asked at once, and the mute primary
            # gets as long to start its reply as an SOA query would have.
            assert_in_order(
                zs.log,
                [
                    xfr_line(
                        mute,
                        r"failed while receiving responses: timed out \(no reply\)$",
                    ),
                    zone_line(r"transferred serial 1$"),
                ],
            )
            assert zs.snapshot().primary == primary.address
            assert_same_zone(secondary.zone_file(ORIGIN), primary)


# -- 7. IXFR that cannot be applied: AXFR -------------------------------------------------


async def test_ixfr_that_does_not_apply_falls_back_to_axfr(
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

    # Behind zonesync's back, host3 goes from its copy (mtime kept).
    stat = path.stat()
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not re.match(r"host3(\.example\.com\.)?\s", line)]
    assert len(kept) == len(lines) - 1, "expected exactly one host3 line in the file"
    path.write_text("".join(kept))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    # Serial 2 deletes host3: the IXFR cannot apply to the edited copy.
    primary.update_zone(ORIGIN, make_zone(ORIGIN, 2, hosts=[0, 1, 2, 4, 5]))
    await primary.reload()

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"loaded serial 1$"), XFR_SECONDS)
        mark, primary_mark = zs.log.mark(), primary.log.mark()
        await send_notify(zs.address, ORIGIN, 2)
        # The IXFR is journaled (serial 2 durable); the rewrite finds the
        # deletion of host3 does not apply: back to serial 1, and an AXFR.
        await zs.wait_for_log(apply_failed_line(2, 1), XFR_SECONDS, mark)
        failed = zs.log.index(apply_failed_line(2, 1), mark)
        assert failed is not None
        await zs.wait_for_log(zone_line(r"transferred serial 2$"), XFR_SECONDS, failed)
        assert "WARNING" in zs.capture.levels_of(apply_failed_line(2, 1))
        assert_in_order(
            zs.log,
            [
                xfr_line(primary, r"got incremental response$"),
                zone_line(r"transferred serial 2$"),
                apply_failed_line(2, 1),
                zone_line(r"Transfer started\.$"),
                xfr_line(primary, r"got nonincremental response$"),
                zone_line(r"transferred serial 2$"),
            ],
            mark,
        )
        assert zs.log.search(rewritten_line(1, 2), mark) is None
        assert not journal_file(secondary).exists()
        assert_in_order(
            primary.log,
            [
                r"transfer of 'example\.com/IN': IXFR started \(serial 1 -> 2\)",
                r"transfer of 'example\.com/IN': AXFR started \(serial 2\)",
                r"transfer of 'example\.com/IN': AXFR ended: .*\(serial 2\)$",
            ],
            primary_mark,
        )
        assert_same_zone(path, primary)
        assert secondary.temp_files() == []


# -- 8. expiry -------------------------------------------------------------------------------


@pytest.mark.slow
async def test_expiry_and_recovery(
    make_primary: MakePrimary, secondary: Secondary, tmp_path: Path
) -> None:
    touch = shutil.which("touch")
    assert touch is not None
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    marker = hooks / "expired-example.com-_default-1"
    # REFRESH 1, RETRY 1, EXPIRE 3 (min-refresh-time/min-retry-time are 1).
    primary = await start_primary(
        make_primary, make_zone(ORIGIN, 1, refresh=1, retry=1, expire=3)
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))

    async with run_daemon(
        secondary, on_expire=f"{touch} {hooks}/expired-{{zone}}-{{view}}-{{serial}}"
    ) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
        expires_at = zs.snapshot().expires_at
        assert expires_at is not None
        assert expires_at <= time.time() + 3 + SLACK_SECONDS

        primary.kill()
        mark = zs.log.mark()
        await zs.wait_for_log(zone_line(r"expired$"), EXPIRY_SECONDS, mark)
        assert "WARNING" in zs.capture.levels_of(zone_line(r"expired$"))
        await zs.wait_for_log(hook_done_line("on-expire", touch), HOOK_SECONDS, mark)
        assert marker.exists(), f"the on-expire hook's {marker}"
        snap = zs.snapshot()
        assert snap.expired
        assert not marker.with_name("expired-example.com-_default-None").exists()

        mark = zs.log.mark()
        await primary.restart()
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), EXPIRY_SECONDS, mark)
        snap = zs.snapshot()
        assert not snap.expired
        assert snap.loaded
        assert snap.serial == 1
        assert_same_zone(secondary.zone_file(ORIGIN), primary)


# -- 9. restart without re-transfer ---------------------------------------------------------


async def test_restart_does_not_transfer_again(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    retry = 3600  # nothing can happen by itself during the test
    primary = await start_primary(
        make_primary, make_zone(ORIGIN, 1, refresh=7200, retry=retry)
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    path = secondary.zone_file(ORIGIN)

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
    before = path.stat()
    primary_mark = primary.log.mark()

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"loaded serial 1$"), XFR_SECONDS)
        now = time.time()
        # The first refresh is scheduled before the load line is logged.
        snap = zs.snapshot()
        assert snap.serial == 1
        assert snap.loaded
        assert not snap.expired
        assert snap.next_refresh_at is not None
        assert (
            now + retry / 4 - SLACK_SECONDS
            <= snap.next_refresh_at
            <= now + retry + SLACK_SECONDS
        )
        after = path.stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
        assert zs.log.search(zone_line(r"Transfer started\.$")) is None
        assert primary.log.search(r"[AI]XFR started", primary_mark) is None


# -- 10. primary killed mid-transfer ------------------------------------------------------------


@pytest.mark.slow
async def test_primary_killed_mid_transfer(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    # RETRY 2: after the failure zonesync tries again soon; no journal on the
    # primary, so the big version goes as a full (AXFR-style) transfer.
    primary = await start_primary(
        make_primary, make_zone(ORIGIN, 1, hosts=10, refresh=3600, retry=2)
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    path = secondary.zone_file(ORIGIN)
    big_hosts = 200_000

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
        before = path.read_bytes()

        primary.update_zone(
            ORIGIN,
            make_zone(ORIGIN, 2, hosts=big_hosts, refresh=3600, retry=2),
            serial=2,
        )
        await primary.reload()
        mark = zs.log.mark()
        first_message = asyncio.create_task(
            zs.wait_for_log(
                xfr_line(primary, r"received message \d+$"), XFR_SECONDS, mark
            )
        )
        await send_notify(zs.address, ORIGIN, 2)
        await first_message
        primary.kill()

        await zs.wait_for_log(
            xfr_line(
                primary,
                r"(failed while receiving responses: .+"
                r"|Transfer status: (?!success$).+)$",
            ),
            XFR_SECONDS,
            mark,
        )
        assert zs.log.search(zone_line(r"transferred serial 2"), mark) is None, (
            "the transfer finished before named was killed; the test proves nothing"
        )
        assert path.read_bytes() == before
        assert secondary.temp_files() == []
        assert zs.snapshot().serial == 1

        mark = zs.log.mark()
        await primary.restart()
        await zs.wait_for_log(
            zone_line(r"transferred serial 2$"), BIG_XFR_SECONDS, mark
        )
        assert zs.snapshot().serial == 2
        text = path.read_text()
        assert re.search(rf"^host{big_hosts - 1}(\.example\.com\.)?\s", text, re.M)
        assert secondary.temp_files() == []


async def test_primary_behind_us_is_not_transferred(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = await start_primary(make_primary, make_zone(ORIGIN, 5, refresh=3600))
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    path = secondary.zone_file(ORIGIN)

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 5$"), XFR_SECONDS)
        before = path.read_bytes()
        primary.update_zone(ORIGIN, make_zone(ORIGIN, 4, hosts=9))
        await primary.reload()
        mark, primary_mark = zs.log.mark(), primary.log.mark()
        # A NOTIFY without a serial: zonesync must ask the primary's SOA.
        await send_notify(zs.address, ORIGIN, None)
        await zs.wait_for_log(
            zone_line(
                rf"serial number \(4\) received from primary"
                rf" {re.escape(primary.address)} < ours \(5\)$"
            ),
            XFR_SECONDS,
            mark,
        )
        assert zs.log.search(zone_line(r"Transfer started\.$"), mark) is None
        assert primary.log.search(r"[AI]XFR started", primary_mark) is None
        assert path.read_bytes() == before
        assert zs.snapshot().serial == 5


# -- 11. two views, told apart by TSIG key ----------------------------------------------------


async def test_views_by_key(make_primary: MakePrimary, secondary: Secondary) -> None:
    internal, external = TsigKey.generate("int"), TsigKey.generate("ext")
    primary = make_primary()
    primary.add_views_by_key(internal, external)
    primary.add_zone(
        ORIGIN,
        make_zone(ORIGIN, 1, hosts=3, extra=['view IN TXT "internal"']),
        view="internal",
        clauses='allow-transfer { key "int"; };',
    )
    primary.add_zone(
        ORIGIN,
        make_zone(ORIGIN, 5, hosts=6, extra=['view IN TXT "external"']),
        view="external",
        clauses='allow-transfer { key "ext"; };',
    )
    await primary.start()
    secondary.write(
        "\n".join(
            [
                internal.statement(),
                external.statement(),
                'view "internal" { match-clients { key "int"; };',
                secondary_zone(
                    ORIGIN, [(primary.port, internal)], file="example.com.internal.db"
                ),
                "};",
                'view "external" { match-clients { key "ext"; };',
                secondary_zone(
                    ORIGIN, [(primary.port, external)], file="example.com.external.db"
                ),
                "};",
            ]
        )
    )

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(
            zone_line(r"transferred serial 1: TSIG 'int'$", f"{LABEL}/internal"),
            XFR_SECONDS,
        )
        await zs.wait_for_log(
            zone_line(r"transferred serial 5: TSIG 'ext'$", f"{LABEL}/external"),
            XFR_SECONDS,
        )
        for view in ("internal", "external"):
            assert_same_zone(
                secondary.zone_file(ORIGIN, f"example.com.{view}.db"), primary, view
            )
        assert zs.snapshot(ORIGIN, "internal").serial == 1
        assert zs.snapshot(ORIGIN, "external").serial == 5
        assert_no_secret(zs, internal, external)


# -- hooks ------------------------------------------------------------------------------------


async def test_on_update_hook_gets_the_substitutions(
    make_primary: MakePrimary, secondary: Secondary, tmp_path: Path
) -> None:
    cp = shutil.which("cp")
    assert cp is not None
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    primary = await start_primary(make_primary, make_zone(ORIGIN, 1))
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    copy = hooks / "example.com__default_1.db"

    # No shell: `{file}` must be the zone file's full path for cp to find it.
    async with run_daemon(
        secondary, on_update=f"{cp} {{file}} {hooks}/{{zone}}_{{view}}_{{serial}}.db"
    ) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
        await zs.wait_for_log(hook_done_line("on-update", cp), HOOK_SECONDS)
        assert copy.exists(), f"the on-update hook's copy {copy}"
        assert copy.read_bytes() == secondary.zone_file(ORIGIN).read_bytes()


async def test_failing_hook_is_logged_and_not_fatal(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = await start_primary(make_primary, make_zone(ORIGIN, 1))
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))

    async with run_daemon(
        secondary, on_update="/nonexistent/zonesync-hook {zone} {serial}"
    ) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
        await zs.wait_for_log(r"/nonexistent/zonesync-hook", XFR_SECONDS)
        levels = zs.capture.levels_of(r"/nonexistent/zonesync-hook")
        assert set(levels) & {"WARNING", "ERROR"}, levels
        assert not zs.task.done()

        # Still replicating.
        primary.update_zone(ORIGIN, make_zone(ORIGIN, 2, hosts=5))
        await primary.reload()
        mark = zs.log.mark()
        await send_notify(zs.address, ORIGIN, 2)
        await zs.wait_for_log(zone_line(r"transferred serial 2$"), XFR_SECONDS, mark)
        assert_same_zone(secondary.zone_file(ORIGIN), primary)


# -- the command line ----------------------------------------------------------------------------


async def test_cli_run_and_sigterm(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = await start_primary(make_primary, make_zone(ORIGIN, 1))
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    async with zonesync_process(secondary, debug=False) as zs:
        await zs.log.wait_for(zone_line(r"transferred serial 1$"), XFR_SECONDS)
        assert_same_zone(secondary.zone_file(ORIGIN), primary)
        zs.process.send_signal(signal.SIGTERM)
        status = await zs.wait_exit(EXIT_SECONDS)
        assert status == 0, zs.stderr_text()
        assert "Traceback" not in zs.stderr_text()


async def test_cli_config_error(tmp_path: Path) -> None:
    conf = tmp_path / "named.conf"
    conf.write_text(
        f'options {{ directory "{tmp_path}"; }};\n'
        'zone "example.com" { type secondary; file "x.db";'
        " primaries { 127.0.0.1 port 5300; } };\n"
    )
    process = await asyncio.create_subprocess_exec(
        *run_argv(conf, tmp_path / "state", free_port()),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        _, err = await process.communicate()
    text = err.decode()
    assert process.returncode == 1, text
    assert re.search(
        rf"^{re.escape(str(conf))}:2: missing ';' before '}}'$", text, re.M
    ), text
    assert "Traceback" not in text
