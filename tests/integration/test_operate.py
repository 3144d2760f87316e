"""Operating zonesync like a DNS daemon, against a real BIND primary.

Reconfig (`Daemon.reload()`, and SIGHUP to `zonesync run`), a real scrape
of the metrics endpoint checked by `promtool check metrics`, the control
verbs against a running daemon, JSON logs and systemd's sd_notify protocol.
As in test_replication.py every wait is on a log line (zonesync's or
named's) or a message, each with a deadline; traffic stays on 127.0.0.1 and
every process is stopped by PID. The zones' timers are an hour, so nothing
happens in a test but what it asks for.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import dns.name
import pytest
from click.testing import CliRunner, Result
from prometheus_client.parser import text_string_to_metric_families

import zonesync
from tests.conftest import require_tool
from tests.integration.named import (
    HOST,
    LogWatcher,
    NamedPrimary,
    TsigKey,
    free_port,
    make_zone,
    zone_records,
)
from tests.integration.replication_support import (
    LABEL,
    ORIGIN,
    XFR_SECONDS,
    MakePrimary,
    apply_failed_line,
    assert_in_order,
    signed_zone_conf,
    start_primary,
    start_signed_primary,
    xfr_line,
    zone_line,
)
from tests.integration.zonesync_run import (
    EXIT_SECONDS,
    RUNNING_TIMEOUT_SECONDS,
    RunningDaemon,
    Secondary,
    ZonesyncProcess,
    run_argv,
    run_daemon,
    secondary_zone,
    send_notify,
    zonesync_command,
)
from zonesync.cli import main
from zonesync.errors import ControlError

HOUR = 3600  # REFRESH and RETRY of every zone here: no refresh by itself
RELOAD_SECONDS = 10.0
MESSAGE_SECONDS = 10.0  # an sd_notify datagram, a control or HTTP round trip
CLI_SECONDS = 30.0

A, B, C, D = "a.example", "b.example", "c.example", "d.example"
OTHER = "other.example"
SUMMARY = (
    r"^reloading configuration succeeded: 1 zone\(s\) added, 1 removed,"
    r" 1 changed, 1 unchanged$"
)
RELOAD_FAILED = r"^reloading configuration failed: the running one stays$"


def label(zone: str) -> str:
    """The zone as BIND names it in logs (no views here)."""
    return f"{zone}/IN"


def quiet_zone(name: str, serial: int = 1, hosts: int | Iterable[int] = 3) -> str:
    """Zone text whose REFRESH and RETRY outlast any test."""
    return make_zone(name, serial, hosts=hosts, refresh=HOUR, retry=HOUR)


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the line of `text` holding `needle`."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the text")


# -- the control verbs, in a worker thread while the loop serves -----------------------


async def cli(control: Path, *args: str) -> Result:
    """`zonesync ARGS --control CONTROL` through click's CliRunner."""
    runner = CliRunner()
    async with asyncio.timeout(CLI_SECONDS):
        return await asyncio.to_thread(
            runner.invoke,
            main,
            [*args, "--control", str(control)],
            catch_exceptions=False,
        )


async def run_command(*args: str) -> tuple[int, str, str]:
    """The installed `zonesync` command as a process: status, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        zonesync_command(),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(CLI_SECONDS):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def ok(result: Result) -> str:
    """A verb that succeeded: exit 0, nothing on stderr; its stdout."""
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


def failed(result: Result) -> str:
    """A verb that failed: exit 1, no traceback, one line on stderr; that line."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.endswith("\n")
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.rstrip("\n")


# -- the metrics endpoint --------------------------------------------------------------


def _http_get(address: tuple[str, int], path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(*address, timeout=MESSAGE_SECONDS)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


async def http_get(address: tuple[str, int] | None, path: str) -> tuple[int, str]:
    """GET `path` from the metrics endpoint: status and body."""
    assert address is not None, "the metrics endpoint is not running"
    return await asyncio.to_thread(_http_get, address, path)


async def scrape(address: tuple[str, int] | None) -> str:
    """GET /metrics; it must answer 200."""
    status, text = await http_get(address, "/metrics")
    assert status == 200, text
    return text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly `labels`, or None."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


def family_names(text: str) -> set[str]:
    """Every sample name in an exposition."""
    return {
        found.name
        for family in text_string_to_metric_families(text)
        for found in family.samples
    }


def promtool_check(text: str) -> None:
    """`promtool check metrics` accepts the exposition."""
    check = subprocess.run(
        [require_tool("promtool"), "check", "metrics"],
        input=text.encode(),
        capture_output=True,
        timeout=CLI_SECONDS,
        check=False,
    )
    assert check.returncode == 0, (check.stdout + check.stderr).decode()


def zone_labels(zone: str = ORIGIN) -> dict[str, str]:
    """The labels of a per-zone family for `zone` in the default view."""
    return {"view": "_default", "zone": zone}


# -- `zonesync run` as a process -------------------------------------------------------


async def _pump_json(running: ZonesyncProcess, stream: asyncio.StreamReader) -> None:
    """Like ZonesyncProcess.pump, for JSON lines: the watcher gets `message`."""
    while line := await stream.readline():
        text = line.decode("utf-8", "replace").rstrip("\n")
        running.raw.append(text)
        try:
            message = json.loads(text)["message"]
        except (ValueError, KeyError, TypeError):
            message = text  # not a JSON object: the test's checks will say so
        running.log.feed(str(message))


@asynccontextmanager
async def zonesync_run(
    secondary: Secondary,
    *,
    control: Path | None = None,
    log_format: str = "text",
    environment: dict[str, str] | None = None,
) -> AsyncIterator[ZonesyncProcess]:
    """`zonesync run --debug` on `secondary` with metrics on a free port.

    Yields once it logs `running: `; SIGKILLed (by PID) at the end of the
    block if it still runs. The control socket is `control`, or one in
    `secondary.root`. NOTIFY_SOCKET is only what `environment` says.
    """
    port = free_port()
    argv = [
        *run_argv(secondary.conf_path, secondary.state_dir, port, debug=True),
        "--metrics",
        f"{HOST}:0",
        "--control",
        str(control or secondary.root / "control"),
        "--log-format",
        log_format,
    ]
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    env.update(environment or {})
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C to pytest is not zonesync's
        env=env,
    )
    assert process.stderr is not None
    running = ZonesyncProcess(process, port, LogWatcher(f"zonesync PID {process.pid}"))
    pump = _pump_json if log_format == "json" else ZonesyncProcess.pump
    running.pumping = asyncio.create_task(pump(running, process.stderr))
    try:
        await running.log.wait_for(r"^running: ", RUNNING_TIMEOUT_SECONDS)
        yield running
    finally:
        if process.returncode is None:
            process.kill()  # by PID
        await running.wait_exit(EXIT_SECONDS)


async def metrics_address(zs: ZonesyncProcess) -> tuple[str, int]:
    """Where `zonesync run` serves metrics (it logs the port it bound)."""
    match = await zs.log.wait_for(
        rf"^metrics on {re.escape(HOST)}#(\d+)$", RUNNING_TIMEOUT_SECONDS
    )
    return (HOST, int(match.group(1)))


async def terminate(zs: ZonesyncProcess) -> None:
    """SIGTERM (by PID): exit status 0 and no traceback."""
    zs.process.send_signal(signal.SIGTERM)
    status = await zs.wait_exit(EXIT_SECONDS)
    assert status == 0, zs.stderr_text()
    assert "Traceback" not in zs.stderr_text()


# -- 1. reconfig -----------------------------------------------------------------------


async def start_reconfig_primaries(
    make_primary: MakePrimary,
) -> tuple[NamedPrimary, NamedPrimary]:
    """`first` serves a, b, c and d (serial 1); `second` serves b at serial 2."""
    first = make_primary()
    for zone in (A, B, C, D):
        first.add_zone(zone, quiet_zone(zone))
    await first.start()
    second = make_primary()
    second.add_zone(B, quiet_zone(B, 2, hosts=5))
    await second.start()
    return first, second


def config_before(first: NamedPrimary) -> str:
    """a, b and c from `first`."""
    return "\n".join(secondary_zone(zone, [(first.port, None)]) for zone in (A, B, C))


def config_after(first: NamedPrimary, second: NamedPrimary) -> str:
    """a gone, b from `second`, c byte-identical on another line, d new."""
    return "\n".join(
        [
            "// b.example moved to another primary; c.example is untouched",
            secondary_zone(B, [(second.port, None)]),
            "// d.example is new",
            secondary_zone(D, [(first.port, None)]),
            secondary_zone(C, [(first.port, None)]),
        ]
    )


def write_reconfig(
    secondary: Secondary, first: NamedPrimary, second: NamedPrimary
) -> None:
    """Rewrite zonesync's config as `config_after` (checking that c moved)."""
    before = secondary.conf_path.read_text()
    after = secondary.write(config_after(first, second)).read_text()
    c_statement = secondary_zone(C, [(first.port, None)])
    assert line_of(before, c_statement) != line_of(after, c_statement)


async def assert_reconfigured(
    log: LogWatcher, mark: int, first: NamedPrimary, first_mark: int
) -> None:
    """The reload's log: the summary, d transferred, b restarted, c left alone."""
    await log.wait_for(SUMMARY, RELOAD_SECONDS, mark)
    await log.wait_for(zone_line(r"transferred serial 1$", label(D)), XFR_SECONDS, mark)
    # b restarts: its file (serial 1, from `first`) is loaded again.
    await log.wait_for(zone_line(r"loaded serial 1$", label(B)), XFR_SECONDS, mark)
    assert log.search(zone_line(r"Transfer started\.$", label(C)), mark) is None
    assert log.search(zone_line(r"loaded serial", label(C)), mark) is None
    assert first.log.search(rf"transfer of '{re.escape(label(C))}'", first_mark) is None


def bad_config(good: str) -> str:
    """`good` with a syntax error on its last line."""
    return (
        good + 'zone "e.example" { type secondary; file "e.db" '
        "primaries { 127.0.0.1; }; };\n"
    )


def by_zone(zs: RunningDaemon) -> dict[str, tuple[object, ...]]:
    """What a failed reload must not change: the zones, their serials and state."""
    return {
        s.zone: (s.view, s.serial, s.loaded, s.expired, s.primary)
        for s in zs.daemon.snapshot()
    }


async def test_reload_applies_a_new_config(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    first, second = await start_reconfig_primaries(make_primary)
    secondary.write(config_before(first))

    async with run_daemon(secondary) as zs:
        for zone in (A, B, C):
            await zs.wait_for_log(
                zone_line(r"transferred serial 1$", label(zone)), XFR_SECONDS
            )
        # A refresh that ends settles c's timers (the transfer's bookkeeping
        # ends after its log line).
        c_name = dns.name.from_text(C)
        assert await zs.daemon.refresh(c_name, "_default", False, True) == (
            f"zone {label(C)}: up to date (serial 1)"
        )
        c_before = zs.snapshot(C)
        assert c_before.next_refresh_at is not None

        write_reconfig(secondary, first, second)
        mark, first_mark = zs.log.mark(), first.log.mark()
        summary = await zs.daemon.reload()
        assert summary == (
            "reloading configuration succeeded: 1 zone(s) added, 1 removed,"
            " 1 changed, 1 unchanged"
        )
        await assert_reconfigured(zs.log, mark, first, first_mark)

        assert {s.zone for s in zs.daemon.snapshot()} == {B, C, D}
        assert secondary.zone_file(A).exists(), "a removed zone's file must stay"
        c_after = zs.snapshot(C)
        assert c_after.next_refresh_at == c_before.next_refresh_at
        assert c_after.last_refresh_at == c_before.last_refresh_at
        assert c_after.serial == 1
        # b now comes from `second`, which has serial 2.
        b_name = dns.name.from_text(B)
        assert await zs.daemon.refresh(b_name, "_default", False, True) == (
            f"zone {label(B)}: transferred serial 2"
        )
        assert zs.snapshot(B).primary == second.address
        assert zs.daemon.registry.get_sample_value(
            "zonesync_config_reload_success"
        ) == (1)

        # A syntax error: the running config stays, every problem is logged.
        good = secondary.conf_path.read_text()
        secondary.conf_path.write_text(bad_config(good))
        problem = (
            f"{secondary.conf_path}:{good.count(chr(10)) + 1}:"
            " missing ';' before 'primaries'"
        )
        loaded_at = zs.daemon.registry.get_sample_value(
            "zonesync_config_reload_timestamp_seconds"
        )
        before = by_zone(zs)
        mark = zs.log.mark()
        with pytest.raises(ControlError) as error:
            await zs.daemon.reload()
        assert str(error.value) == f"reloading configuration failed:\n{problem}"
        assert_in_order(zs.log, [rf"^{re.escape(problem)}$", RELOAD_FAILED], mark)
        assert zs.capture.levels_of(rf"^{re.escape(problem)}$") == ["ERROR"]
        assert zs.log.search(r"^reloading configuration succeeded", mark) is None
        assert by_zone(zs) == before
        registry = zs.daemon.registry
        assert registry.get_sample_value("zonesync_config_reload_success") == 0
        assert (
            registry.get_sample_value("zonesync_config_reload_timestamp_seconds")
            == loaded_at
        )
        # The zones still run.
        assert await zs.daemon.refresh(c_name, "_default", False, True) == (
            f"zone {label(C)}: up to date (serial 1)"
        )
        assert zs.log.search(zone_line(r"Transfer started\.$", label(C)), mark) is None

        # Fixed again: nothing to change.
        secondary.conf_path.write_text(good)
        assert await zs.daemon.reload() == (
            "reloading configuration succeeded: 0 zone(s) added, 0 removed,"
            " 0 changed, 3 unchanged"
        )
        assert registry.get_sample_value("zonesync_config_reload_success") == 1


async def test_sighup_reloads_zonesync_run(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    first, second = await start_reconfig_primaries(make_primary)
    secondary.write(config_before(first))
    control = secondary.root / "control"

    async with zonesync_run(secondary, control=control) as zs:
        address = await metrics_address(zs)
        for zone in (A, B, C):
            await zs.log.wait_for(
                zone_line(r"transferred serial 1$", label(zone)), XFR_SECONDS
            )
        assert ok(await cli(control, "refresh", C, "--wait")) == (
            f"zone {label(C)}: up to date (serial 1)\n"
        )
        c_before = json.loads(ok(await cli(control, "zonestatus", C, "--json")))
        assert c_before["next_refresh"] is not None

        write_reconfig(secondary, first, second)
        mark, first_mark = zs.log.mark(), first.log.mark()
        zs.process.send_signal(signal.SIGHUP)
        await assert_reconfigured(zs.log, mark, first, first_mark)

        zones = json.loads(ok(await cli(control, "zones", "--json")))
        assert sorted(z["zone"] for z in zones) == [B, C, D]
        c_after = next(z for z in zones if z["zone"] == C)
        for field in ("serial", "last_refresh", "next_refresh", "expires"):
            assert c_after[field] == c_before[field], field
        assert secondary.zone_file(A).exists(), "a removed zone's file must stay"

        # Two problems: each logged as file:line: message; the config stays.
        good = secondary.conf_path.read_text()
        end = good.count("\n")
        conf = secondary.conf_path
        conf.write_text(
            good
            + 'zone "e.example" { type secondary; file "e.db"; };\n'
            + secondary_zone(C, [(first.port, None)], file="c2.db")
            + "\n"
        )
        mark = zs.log.mark()
        zs.process.send_signal(signal.SIGHUP)
        await zs.log.wait_for(RELOAD_FAILED, RELOAD_SECONDS, mark)
        assert_in_order(
            zs.log,
            [
                rf"^{re.escape(str(conf))}:{end + 1}: zone 'e\.example':"
                r" missing 'primaries' entry$",
                rf"^{re.escape(str(conf))}:{end + 2}: zone 'c\.example':"
                rf" already exists previous definition: {re.escape(str(conf))}:\d+$",
                RELOAD_FAILED,
            ],
            mark,
        )
        assert zs.process.returncode is None
        still = json.loads(ok(await cli(control, "zones", "--json")))
        assert [(z["zone"], z["serial"]) for z in still] == [
            (z["zone"], z["serial"]) for z in zones
        ]
        text = await scrape(address)
        assert sample(text, "zonesync_config_reload_success") == 0
        await terminate(zs)


# -- 2. metrics ------------------------------------------------------------------------


async def test_metrics_scrape_of_a_running_daemon(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = await start_primary(make_primary, quiet_zone(ORIGIN, 7, hosts=4))
    # First from a primary that accepts the connection and never answers:
    # the zone is not tried until the transfer's wait for a first reply
    # ends (15 s, as an SOA query's), so /readyz must say 503.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as mute:
        mute.bind((HOST, 0))
        mute.listen()
        mute_port = mute.getsockname()[1]
        secondary.write(secondary_zone(ORIGIN, [(mute_port, None)]))

        async with run_daemon(
            secondary, metrics=(HOST, 0), metrics_bind_compat=True
        ) as zs:
            address = zs.daemon.metrics_address
            assert address is not None
            assert address[0] == HOST
            assert address[1] != 0
            assert (await http_get(address, "/healthz"))[0] == 200
            status, _ = await http_get(address, "/readyz")
            assert status == 503
            text = await scrape(address)
            promtool_check(text)
            assert sample(text, "zonesync_zone_serial", **zone_labels()) is None
            assert sample(text, "zonesync_zone_expired", **zone_labels()) == 0

            secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
            mark = zs.log.mark()
            assert await zs.daemon.reload() == (
                "reloading configuration succeeded: 0 zone(s) added, 0 removed,"
                " 1 changed, 0 unchanged"
            )
            await zs.wait_for_log(
                zone_line(r"transferred serial 7$"), XFR_SECONDS, mark
            )

            status, _ = await http_get(address, "/readyz")
            assert status == 200
            text = await scrape(address)
            promtool_check(text)
            zone = zone_labels()
            assert sample(text, "zonesync_zone_serial", **zone) == 7
            assert sample(text, "zonesync_zone_primary_serial", **zone) == 7
            assert sample(text, "zonesync_zone_expired", **zone) == 0
            records = len(zone_records(secondary.zone_file(ORIGIN), ORIGIN))
            assert sample(text, "zonesync_zone_records", **zone) == records
            assert sample(
                text, "zonesync_transfers_total", **zone, type="axfr", result="success"
            ) == (1)
            assert sample(
                text, "zonesync_transfers_total", **zone, type="axfr", result="failure"
            ) == (0)
            # Nothing was held: the transfer came without an SOA query.
            assert sample(text, "zonesync_soa_queries_total", result="newer") == 0
            assert sample(text, "zonesync_config_reload_success") == 1
            assert (
                sample(text, "zonesync_build_info", version=zonesync.__version__) == 1
            )
            assert (
                sample(text, "bind_zone_serial", view="_default", zone_name=ORIGIN) == 7
            )
            assert sample(text, "bind_zone_transfer_success_total") == 1
            count = sample(
                text, "zonesync_transfer_duration_seconds_count", type="axfr"
            )
            assert count == 1

    # Again, loaded from disk, without the per-zone families.
    async with run_daemon(secondary, metrics=(HOST, 0), metrics_per_zone=False) as zs:
        await zs.wait_for_log(zone_line(r"loaded serial 7$"), XFR_SECONDS)
        status, _ = await http_get(zs.daemon.metrics_address, "/readyz")
        assert status == 200
        text = await scrape(zs.daemon.metrics_address)
        promtool_check(text)
        names = family_names(text)
        assert not {n for n in names if n.startswith("zonesync_zone_")}, names
        assert "bind_zone_serial" not in names
        # Plain counters now (this run transferred nothing).
        assert (
            sample(text, "zonesync_transfers_total", type="axfr", result="success") == 0
        )
        assert "zonesync_soa_queries_total" in names


async def test_metrics_count_tsig_errors(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    key = TsigKey.generate("k")
    primary = await start_signed_primary(make_primary, key)
    # Same name, another secret: the primary answers BADSIG.
    secondary.write(signed_zone_conf(primary, key.with_new_secret()))

    async with run_daemon(secondary, metrics=(HOST, 0)) as zs:
        # Nothing held: the first refresh is the AXFR itself, no SOA query.
        await zs.wait_for_log(
            zone_line(rf"refresh failed: {re.escape(primary.address)}: .*BADSIG"),
            XFR_SECONDS,
        )
        text = await scrape(zs.daemon.metrics_address)
        assert sample(text, "zonesync_tsig_errors_total", error="BADSIG") == 1
        assert sample(text, "zonesync_tsig_errors_total", error="BADKEY") == 0
        assert sample(text, "zonesync_soa_queries_total", result="tsig") == 0
        assert (
            sample(
                text, "zonesync_transfer_failures_total", **zone_labels(), reason="tsig"
            )
            == 1
        )
        status, _ = await http_get(zs.daemon.metrics_address, "/readyz")
        assert status == 200, "a zone tried once counts as ready"


async def test_metrics_count_an_ixfr_fallback(
    make_primary: MakePrimary, secondary: Secondary
) -> None:
    primary = await start_primary(
        make_primary,
        quiet_zone(ORIGIN, 1, hosts=range(5)),
        options="ixfr-from-differences yes;",
    )
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    path = secondary.zone_file(ORIGIN)

    async with run_daemon(secondary) as zs:
        await zs.wait_for_log(zone_line(r"transferred serial 1$"), XFR_SECONDS)
    # host3 goes from zonesync's copy, behind its back (mtime kept) ...
    stat = path.stat()
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not re.match(r"host3(\.example\.com\.)?\s", line)]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    # ... so serial 2's IXFR, which deletes host3, cannot apply.
    primary.update_zone(ORIGIN, quiet_zone(ORIGIN, 2, hosts=[0, 1, 2, 4, 5]))
    await primary.reload()

    async with run_daemon(secondary, metrics=(HOST, 0)) as zs:
        await zs.wait_for_log(zone_line(r"loaded serial 1$"), XFR_SECONDS)
        text = await scrape(zs.daemon.metrics_address)
        assert sample(text, "zonesync_ixfr_fallbacks_total", reason="apply") == 0
        mark = zs.log.mark()
        await send_notify(zs.address, ORIGIN, 2)
        # Journaled, then found not to apply when the file is rewritten.
        await zs.wait_for_log(apply_failed_line(2, 1), XFR_SECONDS, mark)
        failed = zs.log.index(apply_failed_line(2, 1), mark)
        assert failed is not None
        await zs.wait_for_log(zone_line(r"transferred serial 2$"), XFR_SECONDS, failed)
        text = await scrape(zs.daemon.metrics_address)
        assert sample(text, "zonesync_ixfr_fallbacks_total", reason="apply") == 1
        assert sample(text, "zonesync_ixfr_fallbacks_total", reason="rcode") == 0
        zone = zone_labels()
        # The IXFR itself was received whole; what failed was applying it.
        assert sample(
            text, "zonesync_transfers_total", **zone, type="ixfr", result="success"
        ) == (1)
        assert sample(
            text, "zonesync_transfers_total", **zone, type="ixfr", result="failure"
        ) == (0)
        assert sample(
            text, "zonesync_transfers_total", **zone, type="axfr", result="success"
        ) == (1)
        assert sample(text, "zonesync_zone_serial", **zone) == 2


# -- 3. the control verbs --------------------------------------------------------------


@dataclass
class BindSecondary(NamedPrimary):
    """A BIND secondary of example.com from the primary on port `upstream`."""

    upstream: int = 0

    def config_text(self) -> str:
        """The primary's config plus the secondary zone."""
        return super().config_text() + (
            f'zone "{ORIGIN}" {{ type secondary; '
            f'file "{self.directory / "example.com.secondary.db"}"; '
            f"primaries {{ {HOST} port {self.upstream}; }}; }};\n"
        )


async def test_control_verbs_against_a_running_daemon(
    make_primary: MakePrimary, secondary: Secondary, tmp_path: Path
) -> None:
    primary = make_primary()
    primary.add_zone(ORIGIN, quiet_zone(ORIGIN, 1))
    primary.add_zone(OTHER, quiet_zone(OTHER, 1))
    await primary.start()
    secondary.write(
        "\n".join(
            secondary_zone(zone, [(primary.port, None)]) for zone in (ORIGIN, OTHER)
        )
    )
    control = tmp_path / "control"
    async with run_daemon(secondary, control=control) as zs:
        for zone in (ORIGIN, OTHER):
            await zs.wait_for_log(
                zone_line(r"transferred serial 1$", label(zone)), XFR_SECONDS
            )
        await check_verbs(zs, control, primary)
    # Stopped: its socket is gone.
    assert failed(await cli(control, "status")) == (
        f"zonesync is not running (no control socket at {control})"
    )
    code, out, err = await run_command("status", "--control", "/nonexistent")
    assert (code, out) == (1, "")
    assert err == "zonesync is not running (no control socket at /nonexistent)\n"


async def check_verbs(zs: RunningDaemon, control: Path, primary: NamedPrimary) -> None:
    """Every verb, in an order that needs no sleeping."""
    zones = json.loads(ok(await cli(control, "zones", "--json")))
    assert [(z["zone"], z["view"], z["serial"], z["state"]) for z in zones] == [
        (ORIGIN, "_default", 1, "loaded"),
        (OTHER, "_default", 1, "loaded"),
    ]
    table = ok(await cli(control, "zones")).splitlines()
    assert table[0].split()[:4] == ["ZONE", "VIEW", "SERIAL", "STATE"]
    assert table[1].split()[:4] == [ORIGIN, "_default", "1", "loaded"]
    # The real command, as an operator runs it.
    code, out, err = await run_command("zones", "--json", "--control", str(control))
    assert (code, err) == (0, "")
    assert [z["zone"] for z in json.loads(out)] == [ORIGIN, OTHER]

    fields = ok(await cli(control, "zonestatus", ORIGIN)).splitlines()
    assert "serial: 1" in fields
    assert "state: loaded" in fields
    assert f"primary: {primary.address}" in fields
    status = ok(await cli(control, "status")).splitlines()
    for line in ("zones: 2", "loaded: 2", "expired: 0", f"pid: {os.getpid()}"):
        assert line in status, status

    # The refresh --wait ends after the queued one (it waits for a refresh
    # that starts after it asked).
    assert ok(await cli(control, "refresh", ORIGIN)) == (
        f"zone {LABEL}: refresh queued\n"
    )
    assert ok(await cli(control, "refresh", ORIGIN, "--wait")) == (
        f"zone {LABEL}: up to date (serial 1)\n"
    )

    assert failed(await cli(control, "notify", OTHER)) == (
        f"zone {label(OTHER)}: no also-notify targets"
    )

    # A new serial at the primary: refresh --wait transfers it.
    primary.update_zone(ORIGIN, quiet_zone(ORIGIN, 2, hosts=5))
    await primary.reload()
    assert ok(await cli(control, "refresh", ORIGIN, "--wait")) == (
        f"zone {LABEL}: transferred serial 2\n"
    )

    # retransfer: a full AXFR of the same serial.
    mark, primary_mark = zs.log.mark(), primary.log.mark()
    assert ok(await cli(control, "retransfer", ORIGIN, "--wait")) == (
        f"zone {LABEL}: transferred serial 2\n"
    )
    await primary.wait_for_log(
        r"transfer of 'example\.com/IN': AXFR started \(serial 2\)",
        XFR_SECONDS,
        primary_mark,
    )
    assert primary.log.search(r"IXFR started", primary_mark) is None
    assert zs.log.search(xfr_line(primary, r"got nonincremental response$"), mark)

    assert failed(await cli(control, "refresh", "nosuch.example")) == (
        "zone 'nosuch.example': not found"
    )
    assert ok(await cli(control, "reload")) == (
        "reloading configuration succeeded: 0 zone(s) added, 0 removed,"
        " 0 changed, 2 unchanged\n"
    )

    # The primary is gone: refresh --wait says why and exits 1.
    await asyncio.to_thread(primary.stop)
    why = failed(await cli(control, "refresh", ORIGIN, "--wait"))
    assert re.fullmatch(
        rf"zone {re.escape(LABEL)}: refresh failed: "
        rf"{re.escape(primary.address)}: connection refused",
        why,
    ), why
    assert zs.snapshot().serial == 2


async def test_notify_verb_reaches_a_bind_secondary(
    make_primary: MakePrimary, secondary: Secondary, named_bin: str, tmp_path: Path
) -> None:
    primary = await start_primary(make_primary, quiet_zone(ORIGIN, 1))
    # The also-notify target: a BIND secondary of the same primary.
    target = BindSecondary(
        tmp_path / "bind-secondary", named_bin, upstream=primary.port
    )
    try:
        await target.start()
        await target.wait_for_log(
            r"zone example\.com/IN: transferred serial 1$", XFR_SECONDS
        )
        # Serial 2, told to no one (`notify no`): the BIND secondary keeps 1.
        primary.update_zone(ORIGIN, quiet_zone(ORIGIN, 2, hosts=5))
        await primary.reload()
        secondary.write(
            secondary_zone(
                ORIGIN,
                [(primary.port, None)],
                clauses=f"also-notify {{ {HOST} port {target.port}; }};",
            )
        )
        control = tmp_path / "control"
        async with run_daemon(secondary, control=control) as zs:
            await zs.wait_for_log(zone_line(r"transferred serial 2$"), XFR_SECONDS)
            mark = target.log.mark()
            assert ok(await cli(control, "notify", ORIGIN)) == (
                f"zone {LABEL}: NOTIFY sent to 1 target(s), all acknowledged\n"
            )
            # BIND heard a NOTIFY for serial 2 and fetches it.
            await target.wait_for_log(
                r"zone example\.com/IN: notify from 127\.0\.0\.1#\d+: serial 2$",
                XFR_SECONDS,
                mark,
            )
            await target.wait_for_log(
                r"zone example\.com/IN: transferred serial 2$", XFR_SECONDS, mark
            )
    finally:
        target.stop()


# -- 4. JSON logs ----------------------------------------------------------------------


TRANSFER_FIELDS = {
    "zone",
    "view",
    "primary",
    "key",
    "requested",
    "actual",
    "serial_from",
    "serial_to",
    "messages",
    "records",
    "bytes",
    "duration_seconds",
    "outcome",
    "reason",
}


async def test_json_log_lines(make_primary: MakePrimary, secondary: Secondary) -> None:
    key = TsigKey.generate("k")
    primary = await start_signed_primary(make_primary, key)
    secondary.write(signed_zone_conf(primary, key))

    async with zonesync_run(secondary, log_format="json") as zs:
        await zs.log.wait_for(
            zone_line(r"transferred serial 1: TSIG 'k'$"), XFR_SECONDS
        )
        await terminate(zs)

    records: list[dict[str, object]] = []
    for line in zs.raw:
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert {"ts", "level", "logger", "message"} <= record.keys(), line
        records.append(record)
    assert any(r["level"] == "DEBUG" for r in records)
    transfers = [r for r in records if "outcome" in r]
    assert len(transfers) == 1, transfers
    transfer = transfers[0]
    assert transfer.keys() >= TRANSFER_FIELDS
    completed = re.fullmatch(
        rf"transfer of '{re.escape(LABEL)}' from {re.escape(primary.address)}:"
        r" Transfer completed: (\d+) messages, (\d+) records, (\d+) bytes, .*"
        r"\(serial 1\)",
        str(transfer["message"]),
    )
    assert completed, transfer["message"]
    assert transfer["level"] == "INFO"
    assert {k: transfer[k] for k in TRANSFER_FIELDS - {"duration_seconds"}} == {
        "zone": ORIGIN,
        "view": "_default",
        "primary": primary.address,
        "key": "k",
        "requested": "axfr",
        "actual": "axfr",
        "serial_from": None,
        "serial_to": 1,
        "messages": int(completed.group(1)),
        "records": int(completed.group(2)),
        "bytes": int(completed.group(3)),
        "outcome": "success",
        "reason": None,
    }
    duration = transfer["duration_seconds"]
    assert isinstance(duration, float)
    assert 0 < duration < XFR_SECONDS
    assert key.secret not in zs.stderr_text()


# -- 5. sd_notify ----------------------------------------------------------------------


async def next_state(sock: socket.socket) -> str:
    """The next datagram zonesync sent to the NOTIFY_SOCKET."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(MESSAGE_SECONDS):
        data = await loop.sock_recv(sock, 4096)
    return data.decode()


async def test_sd_notify(
    make_primary: MakePrimary, secondary: Secondary, tmp_path: Path
) -> None:
    primary = await start_primary(make_primary, quiet_zone(ORIGIN, 1))
    secondary.write(secondary_zone(ORIGIN, [(primary.port, None)]))
    path = tmp_path / "notify"

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setblocking(False)
        async with zonesync_run(
            secondary, environment={"NOTIFY_SOCKET": str(path)}
        ) as zs:
            assert await next_state(sock) == "READY=1"
            await zs.log.wait_for(zone_line(r"transferred serial 1$"), XFR_SECONDS)

            mark = zs.log.mark()
            zs.process.send_signal(signal.SIGHUP)
            assert await next_state(sock) == "RELOADING=1"
            assert await next_state(sock) == "READY=1"
            await zs.log.wait_for(
                r"^reloading configuration succeeded: 0 zone\(s\) added",
                RELOAD_SECONDS,
                mark,
            )

            # A reload that fails still ends with READY=1: the old config runs.
            good = secondary.conf_path.read_text()
            secondary.conf_path.write_text(bad_config(good))
            mark = zs.log.mark()
            zs.process.send_signal(signal.SIGHUP)
            assert await next_state(sock) == "RELOADING=1"
            assert await next_state(sock) == "READY=1"
            await zs.log.wait_for(RELOAD_FAILED, RELOAD_SECONDS, mark)

            zs.process.send_signal(signal.SIGTERM)
            assert await next_state(sock) == "STOPPING=1"
            assert await zs.wait_exit(EXIT_SECONDS) == 0
        with pytest.raises(BlockingIOError):
            sock.recv(4096)
