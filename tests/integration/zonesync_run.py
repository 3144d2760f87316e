"""zonesync for the integration tests: config, daemon, captured log, process.

`run_daemon()` starts `Daemon.run()` as a task with the test's own shutdown
event, waits for `daemon.ready`, and captures every record of the `zonesync`
logger at DEBUG into a `LogWatcher`, so tests wait on BIND-worded lines.
The daemon modules are imported when a daemon starts, not when this module
loads, so the harness self-tests run before (or without) the daemon.
`zonesync_process()` runs the `zonesync run` command instead, its stderr
in a `LogWatcher`, for what only a process shows (signals, exit status).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dns.asyncquery
import dns.flags
import dns.message
import dns.opcode
import dns.rrset

from tests.integration.named import HOST, LogWatcher, TsigKey, free_port

if TYPE_CHECKING:
    from zonesync.daemon import Daemon

READY_TIMEOUT_SECONDS = 10.0  # the API promises ready within this
STOP_TIMEOUT_SECONDS = 5.0  # the API promises run() returns within this
EXIT_SECONDS = 5.0  # SIGTERM to exit, as `zonesync run` promises
RUNNING_TIMEOUT_SECONDS = 20.0  # a new interpreter imports zonesync first


# -- zonesync's own named.conf --------------------------------------------------


def primaries_clause(
    primaries: Sequence[tuple[int, TsigKey | None]], host: str = HOST
) -> str:
    """`primaries { 127.0.0.1 port P [key "k"]; ... };` in the given order."""
    entries = " ".join(
        f"{host} port {port}" + (f' key "{key.name}"' if key else "") + ";"
        for port, key in primaries
    )
    return f"primaries {{ {entries} }};"


def secondary_zone(
    name: str,
    primaries: Sequence[tuple[int, TsigKey | None]],
    *,
    file: str | None = None,
    clauses: str = "",
) -> str:
    """A `zone` statement of type secondary for zonesync's named.conf."""
    file = file or f"{name}.db"
    return (
        f'zone "{name}" {{ type secondary; file "{file}"; '
        f"{primaries_clause(primaries)} {clauses} }};"
    )


@dataclass
class Secondary:
    """zonesync's side of a test: its named.conf, zone directory and state."""

    root: Path
    named_checkconf: str  # the binary, from require_tool("named-checkconf")

    def __post_init__(self) -> None:
        self.zones_dir.mkdir(parents=True, exist_ok=True)

    @property
    def conf_path(self) -> Path:
        """zonesync's named.conf."""
        return self.root / "named.conf"

    @property
    def zones_dir(self) -> Path:
        """The `directory` of zonesync's named.conf: the zone files go here."""
        return self.root / "zones"

    @property
    def state_dir(self) -> Path:
        """zonesync's state directory."""
        return self.root / "state"

    def zone_file(self, name: str = "example.com", file: str | None = None) -> Path:
        """Where zonesync writes zone `name` (`file` as given in its config)."""
        return self.zones_dir / (file or f"{name}.db")

    def write(self, body: str, options: str = "") -> Path:
        """Write named.conf: options (short timer clamps) plus `body`.

        BIND clamps SOA timers to min-refresh-time/min-retry-time (default
        300/500 s); the tests use timers of seconds, so lower the clamps.
        The result is checked with named-checkconf: what zonesync reads
        must be valid BIND.
        """
        text = (
            "options {\n"
            f'\tdirectory "{self.zones_dir}";\n'
            "\tmin-refresh-time 1;\n"
            "\tmin-retry-time 1;\n"
            + "".join(f"\t{line}\n" for line in options.splitlines() if line.strip())
            + "};\n"
            + body
            + "\n"
        )
        self.conf_path.write_text(text)
        check = subprocess.run(
            [self.named_checkconf, str(self.conf_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, (
            f"named-checkconf rejects the test's config:\n{check.stdout}{check.stderr}"
            f"\n{text}"
        )
        return self.conf_path

    def temp_files(self) -> list[Path]:
        """Leftover temporary files (`.*.tmp`, `*.tmp`) in the zone directory."""
        return sorted({*self.zones_dir.rglob(".*.tmp"), *self.zones_dir.rglob("*.tmp")})


# -- log capture ----------------------------------------------------------------


class LogCapture(logging.Handler):
    """Every `zonesync` log record as a line (the message) in a `LogWatcher`.

    `emit` may run in worker threads (`asyncio.to_thread`); the watcher wakes
    the waiting test with `call_soon_threadsafe`. Levels are kept beside the
    lines, and `full_text()` includes tracebacks, for the secrets check.
    """

    def __init__(self, name: str = "zonesync") -> None:
        super().__init__(logging.DEBUG)
        self.watcher = LogWatcher(name)
        self.records: list[tuple[str, str]] = []  # (levelname, message)
        self._texts: list[str] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record and wake the waiters."""
        try:
            message = record.getMessage()
            text = f"{record.levelname} {record.name}: {message}"
            if record.exc_info:
                text += "\n" + self._formatter.formatException(record.exc_info)
            if record.stack_info:
                text += "\n" + record.stack_info
        except Exception:  # noqa: BLE001 - as logging.Handler does: report, go on
            self.handleError(record)
            return
        self.records.append((record.levelname, message))
        self._texts.append(text)
        self.watcher.feed(message)

    def full_text(self) -> str:
        """Every record with level, logger and traceback."""
        return "\n".join(self._texts)

    def levels_of(self, pattern: str) -> list[str]:
        """The levels of the records whose message matches `pattern`."""
        regex = re.compile(pattern)
        return [level for level, message in self.records if regex.search(message)]


@asynccontextmanager
async def captured_log(name: str = "zonesync") -> AsyncIterator[LogCapture]:
    """Capture logger `name` at DEBUG for the duration."""
    logger = logging.getLogger(name)
    capture = LogCapture(name)
    old_level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.setLevel(old_level)


# -- the daemon -----------------------------------------------------------------


@dataclass
class RunningDaemon:
    """A `Daemon` running in this event loop, with its captured log."""

    daemon: Daemon
    task: asyncio.Task[Any]
    shutdown: asyncio.Event
    capture: LogCapture
    stop_seconds: float | None = None

    @property
    def log(self) -> LogWatcher:
        """The captured `zonesync` log lines (messages only)."""
        return self.capture.watcher

    @property
    def address(self) -> tuple[str, int]:
        """The first bound listen address (UDP and TCP share it)."""
        return self.daemon.listen_addresses[0]

    def snapshot(self, zone: str = "example.com", view: str = "_default") -> Any:
        """The `ZoneSnapshot` of one zone; fails if the manager lacks it."""
        found = [
            snap
            for snap in self.daemon.manager.snapshot()
            if snap.zone == zone and snap.view == view
        ]
        assert len(found) == 1, f"no single snapshot for {zone} in view {view}: {found}"
        return found[0]

    async def wait_for_log(
        self, pattern: str | re.Pattern[str], seconds: float, since: int = 0
    ) -> re.Match[str]:
        """Wait for a zonesync log line matching `pattern`."""
        if self.task.done():
            self.task.result()  # raise what killed run()
            raise AssertionError("Daemon.run() returned before the line came")
        return await self.log.wait_for(pattern, seconds, since)

    async def stop(self) -> None:
        """Set the shutdown event; run() must return within 5 s, without error."""
        if self.stop_seconds is not None:
            return
        self.shutdown.set()
        started = time.monotonic()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
                await asyncio.shield(self.task)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self.task
            raise AssertionError(
                f"Daemon.run() did not return within {STOP_TIMEOUT_SECONDS} s"
                " of the shutdown event"
            ) from None
        finally:
            self.stop_seconds = time.monotonic() - started


@asynccontextmanager
async def run_daemon(
    secondary: Secondary,
    *,
    listen: tuple[tuple[str, int], ...] | None = ((HOST, 0),),
    on_update: str | None = None,
    on_expire: str | None = None,
    metrics: tuple[str, int] | None = None,
    metrics_per_zone: bool = True,
    metrics_bind_compat: bool = False,
    control: Path | None = None,
) -> AsyncIterator[RunningDaemon]:
    """Run zonesync on `secondary`'s config until the block ends.

    Yields once `daemon.ready` is set (listeners bound, every zone task
    started); on the way out sets the shutdown event and requires run() to
    return within 5 s. `metrics` and `control` are off unless given (the
    metrics port may be 0: `daemon.metrics_address` has the one bound).
    """
    from zonesync.daemon import Daemon
    from zonesync.settings import Settings

    settings = Settings(
        config_path=secondary.conf_path,
        state_dir=secondary.state_dir,
        listen=listen,
        on_update=on_update,
        on_expire=on_expire,
        metrics=metrics,
        metrics_per_zone=metrics_per_zone,
        metrics_bind_compat=metrics_bind_compat,
        control=control,
    )
    async with captured_log() as capture:
        daemon = Daemon(settings)
        shutdown = asyncio.Event()
        task = asyncio.create_task(daemon.run(shutdown), name="zonesync-daemon")
        running = RunningDaemon(daemon, task, shutdown, capture)
        ready = asyncio.create_task(daemon.ready.wait())
        try:
            done, _ = await asyncio.wait(
                {ready, task},
                timeout=READY_TIMEOUT_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if task in done and ready not in done:
                task.result()
                raise AssertionError("Daemon.run() returned before it was ready")
            if ready not in done:
                raise AssertionError(
                    f"daemon.ready not set within {READY_TIMEOUT_SECONDS} s;"
                    f" log:\n{capture.watcher.tail()}"
                )
            yield running
        finally:
            ready.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await ready
            await running.stop()


# -- zonesync as a process ---------------------------------------------------------

# `zonesync run` logs `<date> <time> <LEVEL> <message>` when not under journald.
_STDERR_PREFIX = re.compile(
    r"^\d{2}-\w{3}-\d{4} \d{2}:\d{2}:\d{2} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)


def zonesync_command() -> str:
    """The `zonesync` script of this virtualenv."""
    beside = Path(sys.executable).with_name("zonesync")
    if beside.exists():
        return str(beside)
    found = shutil.which("zonesync")
    assert found is not None, "the zonesync command is not installed (pip install -e .)"
    return found


def run_argv(
    conf_path: Path, state_dir: Path, port: int, *, debug: bool = False
) -> list[str]:
    """`zonesync run` on a config and state directory, listening on 127.0.0.1."""
    argv = [
        zonesync_command(),
        "run",
        "-c",
        str(conf_path),
        "--state-dir",
        str(state_dir),
        "--listen",
        f"{HOST}:{port}",
        # never the machine-wide defaults (127.0.0.1:9853, /run/zonesync/control)
        "--metrics",
        f"{HOST}:0",
        "--control",
        str(state_dir.parent / f"{state_dir.name}.control"),
    ]
    return [*argv, "--debug"] if debug else argv


@dataclass
class ZonesyncProcess:
    """`zonesync run` as a child process, its stderr as log lines."""

    process: asyncio.subprocess.Process
    port: int  # its NOTIFY listener on 127.0.0.1
    log: LogWatcher  # the messages, date and level cut off
    raw: list[str] = field(default_factory=list)  # stderr as written
    pumping: asyncio.Task[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens for NOTIFY."""
        return (HOST, self.port)

    def stderr_text(self) -> str:
        """Everything it wrote on stderr."""
        return "\n".join(self.raw)

    async def pump(self, stream: asyncio.StreamReader) -> None:
        """Copy stderr line by line until EOF."""
        while line := await stream.readline():
            text = line.decode("utf-8", "replace").rstrip("\n")
            self.raw.append(text)
            self.log.feed(_STDERR_PREFIX.sub("", text))

    async def wait_exit(self, seconds: float) -> int:
        """Wait for the process to exit and its stderr to end; its status."""
        async with asyncio.timeout(seconds):
            status = await self.process.wait()
            if self.pumping is not None:
                await self.pumping
        return status


@asynccontextmanager
async def zonesync_process(
    secondary: Secondary, *, debug: bool = True
) -> AsyncIterator[ZonesyncProcess]:
    """Run `zonesync run` on `secondary` until it logs `running: `.

    At the end of the block it is SIGKILLed (by PID) if it still runs.
    """
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *run_argv(secondary.conf_path, secondary.state_dir, port, debug=debug),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C to pytest is not zonesync's
    )
    assert process.stderr is not None
    running = ZonesyncProcess(process, port, LogWatcher(f"zonesync PID {process.pid}"))
    running.pumping = asyncio.create_task(running.pump(process.stderr))
    try:
        await running.log.wait_for(r"^running: ", RUNNING_TIMEOUT_SECONDS)
        yield running
    finally:
        if process.returncode is None:
            process.kill()  # by PID, as Popen does
        await running.wait_exit(EXIT_SECONDS)


# -- DNS messages to zonesync ----------------------------------------------------


async def send_notify(
    address: tuple[str, int],
    zone: str = "example.com",
    serial: int | None = None,
    *,
    key: TsigKey | None = None,
    seconds: float = 5.0,
) -> dns.message.Message:
    """Send a NOTIFY as a primary does (AA, SOA in the answer) from 127.0.0.1.

    zonesync accepts NOTIFY from any address of the zone's primaries (BIND
    compares the address only, not the port), so this one, sent from
    127.0.0.1 and any port, counts as from the primary.
    """
    query = dns.message.make_query(f"{zone}.", "SOA", flags=dns.flags.AA)
    query.set_opcode(dns.opcode.NOTIFY)
    if serial is not None:
        query.answer.append(
            dns.rrset.from_text(
                f"{zone}.",
                0,
                "IN",
                "SOA",
                f"ns1.{zone}. hostmaster.{zone}. {serial} 3600 600 86400 60",
            )
        )
    if key is not None:
        query.use_tsig(key.keyring(), keyname=key.name)
    host, port = address
    return await dns.asyncquery.udp(
        query, host, timeout=seconds, port=port, source=HOST
    )
