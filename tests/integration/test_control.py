"""The control channel end to end: a ControlServer on a socket, the CLI verbs.

The server runs on the test's event loop with a fake daemon behind it; each
CLI call runs in a worker thread (CliRunner) or as a real process, so the
loop keeps answering while the blocking client waits. No sleeps: a test
waits on the fake's events, each under a deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import dns.name
import pytest
from click.testing import CliRunner, Result

import zonesync.control.server
from tests.unit.control.fakes import FakeTarget, snapshot
from zonesync.cli import main
from zonesync.control.protocol import MAX_REQUEST_BYTES, Reply, Request
from zonesync.control.server import ControlServer
from zonesync.errors import ZoneSyncError
from zonesync.transfer.snapshot import ZoneSnapshot

DEADLINE_SECONDS = 10


def zones() -> tuple[ZoneSnapshot, ...]:
    return (
        snapshot("example.com", "_default"),
        snapshot("split.example", "inside"),
        snapshot(
            "split.example",
            "outside",
            serial=None,
            loaded=False,
            failures=2,
            last_error="refresh: timed out",
            last_refresh_at=None,
            last_transfer_at=None,
            expires_at=None,
        ),
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    # The directory does not exist yet: start() makes it.
    return tmp_path / "run" / "control"


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget(zones=zones())


@pytest.fixture
async def server(path: Path, target: FakeTarget) -> AsyncIterator[ControlServer]:
    server = await ControlServer.start(path, target)
    yield server
    await server.close()


async def cli(*args: str) -> Result:
    """Run `zonesync ARGS` in a worker thread while the loop serves."""
    return await asyncio.to_thread(
        CliRunner().invoke, main, list(args), catch_exceptions=False
    )


def one_error_line(result: Result, text: str) -> None:
    """Exit code 1, no traceback, `text` as the only line on stderr."""
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr == text + "\n"
    assert result.stdout == ""


def socket_mode(path: Path) -> int | None:
    """The permission bits of the socket file at `path`; None if there is none."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    assert stat.S_ISSOCK(mode)
    return stat.S_IMODE(mode)


def dead_socket(path: Path) -> None:
    """Leave a socket file that nothing listens on, as a killed zonesync does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
    assert stat.S_ISSOCK(path.lstat().st_mode)


# -- the socket ----------------------------------------------------------------


async def test_socket_is_0660_in_a_new_0750_directory(
    server: ControlServer, path: Path
) -> None:
    assert socket_mode(path) == 0o660
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750 & ~umask


async def test_close_removes_the_socket_file(path: Path, target: FakeTarget) -> None:
    server = await ControlServer.start(path, target)
    assert socket_mode(path) == 0o660
    await server.close()
    assert socket_mode(path) is None
    await server.close()  # twice is harmless


async def test_a_stale_socket_is_replaced(path: Path, target: FakeTarget) -> None:
    dead_socket(path)
    result = await cli("status", "--control", str(path))
    one_error_line(result, f"zonesync is not running (nothing listens on {path})")
    server = await ControlServer.start(path, target)
    try:
        result = await cli("zones", "--json", "--control", str(path))
        assert result.exit_code == 0
        assert socket_mode(path) == 0o660
    finally:
        await server.close()


async def test_a_live_socket_is_never_taken_over(
    server: ControlServer, path: Path, target: FakeTarget
) -> None:
    with pytest.raises(ZoneSyncError) as info:
        await ControlServer.start(path, target)
    assert str(info.value) == f"control socket {path} is in use by another zonesync"
    # The first server still answers.
    result = await cli("status", "--control", str(path), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["pid"] == 4242


async def test_a_file_that_is_not_a_socket_is_left_alone(
    path: Path, target: FakeTarget
) -> None:
    path.parent.mkdir()
    await asyncio.to_thread(path.write_text, "precious\n")
    with pytest.raises(ZoneSyncError) as info:
        await ControlServer.start(path, target)
    assert str(info.value) == f"control socket {path}: exists and is not a socket"
    assert await asyncio.to_thread(path.read_text) == "precious\n"


# -- the verbs -----------------------------------------------------------------


async def test_not_running(path: Path) -> None:
    for args in (
        ["status"],
        ["zones", "--json"],
        ["zonestatus", "example.com"],
        ["refresh", "example.com", "--wait"],
        ["retransfer", "example.com"],
        ["notify", "example.com"],
        ["reload"],
    ):
        result = await cli(*args, "--control", str(path))
        one_error_line(result, f"zonesync is not running (no control socket at {path})")


async def test_status(server: ControlServer, path: Path) -> None:
    result = await cli("status", "--control", str(path))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "version: 0.1.0",
        "pid: 4242",
        "uptime_seconds: 12.5",
        "config: /etc/bind/named.conf",
        "zones: 3",
        "last_reload: 2026-11-21T10:00:00Z",
        "last_reload_ok: yes",
    ]


async def test_zones_json(server: ControlServer, path: Path) -> None:
    result = await cli("zones", "--json", "--control", str(path))
    assert result.exit_code == 0
    assert result.stderr == ""
    listed = json.loads(result.stdout)
    assert [(z["zone"], z["view"], z["serial"], z["state"]) for z in listed] == [
        ("example.com", "_default", 2026112101, "loaded"),
        ("split.example", "inside", 2026112101, "loaded"),
        ("split.example", "outside", None, "failing"),
    ]
    for key in ("last_refresh", "next_refresh", "expires", "primary", "last_error"):
        assert key in listed[0]
    assert listed[0]["expires"] == "2026-12-05T10:00:00Z"
    assert listed[2]["last_error"] == "refresh: timed out"


async def test_zones_table(server: ControlServer, path: Path) -> None:
    result = await cli("zones", "--control", str(path))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[:4] for line in lines] == [
        ["ZONE", "VIEW", "SERIAL", "STATE"],
        ["example.com", "_default", "2026112101", "loaded"],
        ["split.example", "inside", "2026112101", "loaded"],
        ["split.example", "outside", "-", "failing"],
    ]
    assert lines[1].split() == [
        "example.com",
        "_default",
        "2026112101",
        "loaded",
        "2026-11-21T10:00:00Z",
        "2026-11-21T11:00:00Z",
        "2026-12-05T10:00:00Z",
        "192.0.2.1#53",
        "-",
    ]
    assert lines[3].endswith("192.0.2.1#53  refresh: timed out")
    # Columns line up under their titles.
    for title in ("LAST REFRESH", "PRIMARY", "LAST ERROR"):
        column = lines[0].index(title)
        assert all(line[column - 1] == " " for line in lines[1:])


async def test_zonestatus(server: ControlServer, path: Path) -> None:
    result = await cli("zonestatus", "EXAMPLE.com.", "--control", str(path))
    assert result.exit_code == 0
    assert "zone: example.com" in result.stdout.splitlines()
    assert "size_bytes: 5210" in result.stdout.splitlines()
    assert "expired: no" in result.stdout.splitlines()
    assert "last_error: -" in result.stdout.splitlines()
    result = await cli(
        "zonestatus",
        "split.example",
        "--view",
        "outside",
        "--json",
        "--control",
        str(path),
    )
    assert result.exit_code == 0
    status = json.loads(result.stdout)
    assert (status["view"], status["state"], status["failures"]) == (
        "outside",
        "failing",
        2,
    )


async def test_unknown_zone_and_ambiguous_view(
    server: ControlServer, path: Path, target: FakeTarget
) -> None:
    control = ("--control", str(path))
    one_error_line(
        await cli("zonestatus", "nosuch.example", *control),
        "zone 'nosuch.example': not found",
    )
    one_error_line(
        await cli("refresh", "example.com", "--view", "inside", *control),
        "zone 'example.com' in view 'inside': not found",
    )
    one_error_line(
        await cli("retransfer", "split.example", "--wait", *control),
        "zone 'split.example' is in several views (inside, outside): "
        "choose one with --view",
    )
    assert target.calls == []


async def test_refresh_retransfer_notify_reload(
    server: ControlServer, path: Path, target: FakeTarget
) -> None:
    control = ("--control", str(path))
    result = await cli("refresh", "example.com", *control)
    assert (result.exit_code, result.stdout) == (
        0,
        "zone example.com/IN: refresh queued\n",
    )
    result = await cli("retransfer", "split.example", "--view", "inside", *control)
    assert result.exit_code == 0
    result = await cli("notify", "split.example", "--view", "outside", *control)
    assert result.stdout == "zone split.example/IN: sending notifies\n"
    result = await cli("reload", *control)
    assert result.stdout == "configuration reloaded: 2 zones\n"
    split = dns.name.from_text("split.example")
    assert target.calls == [
        ("refresh", dns.name.from_text("example.com"), "_default", False, False),
        ("refresh", split, "inside", True, False),
        ("notify", split, "outside"),
        ("reload",),
    ]


async def test_refresh_wait_returns_when_the_transfer_ends(
    server: ControlServer, path: Path, target: FakeTarget
) -> None:
    target.hold = True
    call = asyncio.create_task(
        cli("retransfer", "example.com", "--wait", "--control", str(path))
    )
    async with asyncio.timeout(DEADLINE_SECONDS):
        await target.waiting.wait()
    assert not call.done()
    target.release.set()
    async with asyncio.timeout(DEADLINE_SECONDS):
        result = await call
    assert result.exit_code == 0
    assert result.stdout == "zone example.com/IN: transferred serial 2026112102\n"
    assert target.calls == [
        ("refresh", dns.name.from_text("example.com"), "_default", True, True)
    ]


async def test_refresh_wait_that_fails_exits_1_saying_why(
    server: ControlServer, path: Path, target: FakeTarget
) -> None:
    target.refresh_error = (
        "transfer of 'example.com/IN' from 192.0.2.1#53: "
        "failed while receiving responses: timed out"
    )
    result = await cli("refresh", "example.com", "--wait", "--control", str(path))
    one_error_line(result, target.refresh_error)


async def test_refresh_wait_gives_up_after_its_timeout(
    server: ControlServer, path: Path, target: FakeTarget
) -> None:
    target.hold = True
    result = await cli(
        "refresh", "example.com", "--wait", "--timeout", "0.2", "--control", str(path)
    )
    one_error_line(result, "no answer from zonesync within 0.2 seconds")
    # The server still answers others while that refresh is held.
    assert (await cli("status", "--control", str(path))).exit_code == 0


async def test_reload_problems_one_per_line(
    server: ControlServer, path: Path, target: FakeTarget
) -> None:
    target.reload_problems = (
        "/etc/bind/named.conf:14: missing ';' before '}'",
        "zones.conf:3: zone 'example.com': primaries: unknown key 'xfr'",
    )
    result = await cli("reload", "--control", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == list(target.reload_problems)


async def test_an_internal_error_is_answered_and_logged(
    server: ControlServer,
    path: Path,
    target: FakeTarget,
    caplog: pytest.LogCaptureFixture,
) -> None:
    target.status_error = RuntimeError("boom")
    with caplog.at_level(logging.ERROR, "zonesync.control"):
        result = await cli("status", "--control", str(path))
    one_error_line(result, "internal error (see zonesync's log)")
    assert "Traceback" in caplog.text
    assert "RuntimeError: boom" in caplog.text
    target.status_error = None
    assert (await cli("status", "--control", str(path))).exit_code == 0


# -- the connection ------------------------------------------------------------


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes
) -> Reply:
    writer.write(line)
    async with asyncio.timeout(DEADLINE_SECONDS):
        await writer.drain()
        return Reply.from_line(await reader.readline())


async def test_several_requests_on_one_connection(
    server: ControlServer, path: Path
) -> None:
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        assert (await exchange(reader, writer, Request("zones").to_line())).ok
        reply = await exchange(reader, writer, b"{not json\n")
        assert reply.error.startswith("bad request: not JSON")
        reply = await exchange(
            reader, writer, Request("zonestatus", "x.example").to_line()
        )
        assert reply == Reply.failure("zone 'x.example': not found")
        # A last request without its newline is still answered at end of input.
        writer.write(b'{"command": "status"}')
        writer.write_eof()
        async with asyncio.timeout(DEADLINE_SECONDS):
            assert Reply.from_line(await reader.readline()).ok
            assert await reader.read() == b""
    finally:
        writer.close()
        await writer.wait_closed()


async def test_an_over_long_request_ends_the_connection(
    server: ControlServer, path: Path
) -> None:
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        writer.write(b"x" * (MAX_REQUEST_BYTES + 10))
        async with asyncio.timeout(DEADLINE_SECONDS):
            reply = Reply.from_line(await reader.readline())
            assert reply == Reply.failure(
                f"request longer than {MAX_REQUEST_BYTES} bytes"
            )
            assert await reader.read() == b""
    finally:
        writer.close()
        await writer.wait_closed()
    result = await cli("status", "--control", str(path))
    assert result.exit_code == 0


async def test_an_idle_connection_is_closed(
    server: ControlServer, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zonesync.control.server, "READ_TIMEOUT_SECONDS", 0.1)
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            assert await reader.read() == b""
    finally:
        writer.close()
        await writer.wait_closed()


async def test_close_ends_a_waiting_client(path: Path, target: FakeTarget) -> None:
    target.hold = True
    server = await ControlServer.start(path, target)
    try:
        call = asyncio.create_task(
            cli("refresh", "example.com", "--wait", "--control", str(path))
        )
        async with asyncio.timeout(DEADLINE_SECONDS):
            await target.waiting.wait()
    finally:
        async with asyncio.timeout(DEADLINE_SECONDS):
            await server.close()
    async with asyncio.timeout(DEADLINE_SECONDS):
        result = await call
    one_error_line(result, "zonesync closed the connection without answering")
    assert socket_mode(path) is None


# -- the real command ----------------------------------------------------------


async def run_zonesync(*args: str) -> tuple[int, str, str]:
    """Run the installed `zonesync` entry point as a process."""
    process = await asyncio.create_subprocess_exec(
        Path(sys.executable).parent / "zonesync",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(DEADLINE_SECONDS * 3):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_installed_command(server: ControlServer, path: Path) -> None:
    code, out, err = await run_zonesync("zones", "--json", "--control", str(path))
    assert (code, err) == (0, "")
    assert [z["zone"] for z in json.loads(out)] == [
        "example.com",
        "split.example",
        "split.example",
    ]
    code, out, err = await run_zonesync(
        "refresh", "nosuch.example", "--control", str(path)
    )
    assert (code, out, err) == (1, "", "zone 'nosuch.example': not found\n")
    missing = path.parent / "nothing-here"
    code, out, err = await run_zonesync("status", "--control", str(missing))
    assert (code, out) == (1, "")
    assert err == f"zonesync is not running (no control socket at {missing})\n"
