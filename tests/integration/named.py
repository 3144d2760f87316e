"""A real BIND primary for the integration tests: config, zone files, process, log.

`NamedPrimary` writes a `named.conf` and zone files into a directory of its own
and runs `named -g` (foreground, log on stderr) on 127.0.0.1 and a free port.
A reader thread copies named's stderr into `named.log` and into a `LogWatcher`,
so tests wait on named's own lines (`loaded serial 2`, `AXFR ended`) instead of
sleeping. Every process is stopped by PID; nothing here ever signals by name.

Checked against Debian's bind9 9.18: `running` ends startup and every reload;
a reloaded zone logs `zone example.com/IN: loaded serial N` *after* that
`running` (`example.com/IN/<view>` in a view other than `_default`); transfers
out log `transfer of 'example.com/IN': AXFR started (serial N)`,
`AXFR ended: ...`, `IXFR started (serial 1 -> 2)`, `IXFR ended: ...` and,
when no journal can answer, `AXFR-style IXFR started`/`ended`.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import dns.name
import dns.rdatatype
import dns.tsig
import dns.zone

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 30.0  # a 200k-record zone loads in a few seconds
RELOAD_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
TAIL_LINES = 40

_handed_out: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1 for both TCP and UDP right now.

    Bind port 0, read the port and close: named (and zonesync's NOTIFY
    listener, when a primary must know it in advance) need a port chosen
    before they start. A port is never handed out twice in one session.
    """
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((HOST, 0))
            port = int(tcp.getsockname()[1])
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port on 127.0.0.1 after 100 tries")


# -- log watching -------------------------------------------------------------


@dataclass(eq=False)
class _Waiter:
    regex: re.Pattern[str]
    since: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[re.Match[str]]


def _resolve(future: asyncio.Future[re.Match[str]], match: re.Match[str]) -> None:
    if not future.done():
        future.set_result(match)


class LogWatcher:
    """Log lines fed from any thread, with waits woken by the matching line.

    `feed()` may run in a reader or worker thread: it wakes an asyncio waiter
    with `loop.call_soon_threadsafe`, never by polling. Positions (`mark()`)
    let a test wait only for lines logged after some point.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._waiters: list[_Waiter] = []

    def feed(self, line: str) -> None:
        """Add one line and wake the waiters it matches."""
        with self._lock:
            index = len(self._lines)
            self._lines.append(line)
            for waiter in list(self._waiters):
                if waiter.since > index:
                    continue
                match = waiter.regex.search(line)
                if match is not None:
                    self._waiters.remove(waiter)
                    waiter.loop.call_soon_threadsafe(_resolve, waiter.future, match)

    def mark(self) -> int:
        """The position after the last line so far."""
        with self._lock:
            return len(self._lines)

    def lines(self, since: int = 0) -> list[str]:
        """A copy of the lines from position `since`."""
        with self._lock:
            return self._lines[since:]

    def text(self) -> str:
        """Everything, one line each."""
        return "\n".join(self.lines())

    def tail(self, count: int = TAIL_LINES) -> str:
        """The last lines, for failure messages."""
        return "\n".join(self.lines()[-count:])

    def search(
        self, pattern: str | re.Pattern[str], since: int = 0
    ) -> re.Match[str] | None:
        """The first match among the lines from `since`, or None."""
        regex = re.compile(pattern)
        for line in self.lines(since):
            match = regex.search(line)
            if match is not None:
                return match
        return None

    def index(self, pattern: str | re.Pattern[str], since: int = 0) -> int | None:
        """The position of the first line from `since` matching, or None."""
        regex = re.compile(pattern)
        for offset, line in enumerate(self.lines(since)):
            if regex.search(line):
                return since + offset
        return None

    def findall(self, pattern: str | re.Pattern[str], since: int = 0) -> list[str]:
        """Every line from `since` that matches."""
        regex = re.compile(pattern)
        return [line for line in self.lines(since) if regex.search(line)]

    async def wait_for(
        self, pattern: str | re.Pattern[str], seconds: float, since: int = 0
    ) -> re.Match[str]:
        """Wait for a line from `since` matching `pattern`; fail after `seconds`."""
        regex = re.compile(pattern)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[re.Match[str]] = loop.create_future()
        with self._lock:
            for line in self._lines[since:]:
                match = regex.search(line)
                if match is not None:
                    return match
            waiter = _Waiter(regex, since, loop, future)
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(seconds):
                return await future
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: no line matching {regex.pattern!r} within {seconds} s;"
                f" last lines:\n{self.tail()}"
            ) from None
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)


# -- zone text ----------------------------------------------------------------


def host_address(index: int) -> str:
    """The A record data of host number `index` (up to 16M hosts)."""
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def make_zone(
    origin: str = "example.com",
    serial: int = 1,
    *,
    hosts: int | Iterable[int] = 3,
    refresh: int = 3600,
    retry: int = 600,
    expire: int = 1209600,
    minimum: int = 60,
    ttl: int = 300,
    extra: Iterable[str] = (),
) -> str:
    """A zone file: SOA with the given timers, one NS, and `hostN A` records.

    `hosts` is a count (host0 .. host{n-1}) or the host numbers to include,
    so a test can leave one out and make the next version delete it.
    `extra` lines go in as written (relative to the origin).
    """
    numbers = range(hosts) if isinstance(hosts, int) else hosts
    lines = [
        f"$ORIGIN {origin}.",
        f"$TTL {ttl}",
        f"@ IN SOA ns1 hostmaster {serial} {refresh} {retry} {expire} {minimum}",
        "@ IN NS ns1",
        "ns1 IN A 127.0.0.1",
    ]
    lines.extend(f"host{n} IN A {host_address(n)}" for n in numbers)
    lines.extend(extra)
    return "\n".join(lines) + "\n"


_SOA_SERIAL = re.compile(r"\bSOA\s+\S+\s+\S+\s+\(?\s*(\d+)", re.IGNORECASE)


def zone_serial(text: str) -> int:
    """The SOA serial in zone text as `make_zone` writes it (SOA on one line)."""
    match = _SOA_SERIAL.search(text)
    if match is None:
        raise ValueError("no SOA record with a serial in the zone text")
    return int(match.group(1))


Record = tuple[str, int, str, str]


def zone_records(path: Path, origin: str) -> set[Record]:
    """Every record of a zone file as (owner, ttl, type, rdata text), via dnspython."""
    zone = dns.zone.from_file(str(path), origin=origin, relativize=False)
    return {
        (name.to_text(), ttl, dns.rdatatype.to_text(rdata.rdtype), rdata.to_text())
        for name, ttl, rdata in zone.iterate_rdatas()
    }


def text_records(text: str, origin: str) -> set[Record]:
    """Like `zone_records`, from zone text."""
    zone = dns.zone.from_text(text, origin=origin, relativize=False)
    return {
        (name.to_text(), ttl, dns.rdatatype.to_text(rdata.rdtype), rdata.to_text())
        for name, ttl, rdata in zone.iterate_rdatas()
    }


# -- TSIG ---------------------------------------------------------------------


@dataclass(frozen=True)
class TsigKey:
    """A TSIG key as named.conf declares it."""

    name: str
    secret: str  # base64, as in named.conf
    algorithm: str = "hmac-sha256"

    @classmethod
    def generate(cls, name: str, algorithm: str = "hmac-sha256") -> TsigKey:
        """A key with a fresh random secret."""
        return cls(name, base64.b64encode(secrets.token_bytes(32)).decode(), algorithm)

    def with_new_secret(self) -> TsigKey:
        """The same name and algorithm with another random secret."""
        return TsigKey.generate(self.name, self.algorithm)

    def statement(self) -> str:
        """The `key` statement for named.conf."""
        return (
            f'key "{self.name}" {{ algorithm {self.algorithm}; '
            f'secret "{self.secret}"; }};'
        )

    def keyring(self) -> dict[dns.name.Name, dns.tsig.Key]:
        """A dnspython keyring holding this key."""
        key = dns.tsig.Key(self.name, self.secret, self.algorithm)
        return {key.name: key}


# -- the primary --------------------------------------------------------------


@dataclass
class PrimaryZone:
    """One zone the primary serves."""

    name: str
    view: str | None
    clauses: str  # extra zone clauses, e.g. "allow-transfer { key k; };"


@dataclass
class _Process:
    popen: subprocess.Popen[bytes]
    reader: threading.Thread
    log_file: IO[str]


@dataclass
class NamedPrimary:
    """A BIND primary on 127.0.0.1 and a free port, run by the test."""

    directory: Path
    named: str = "named"  # the binary; tests pass require_tool("named")
    options: str = ""  # extra `options` clauses
    notify: str = "no"  # the `notify` option; "explicit" with also-notify in a zone
    port: int = field(default_factory=free_port)
    keys: dict[str, TsigKey] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)  # name -> match-clients
    zones: list[PrimaryZone] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = LogWatcher(f"named on port {self.port}")
        self._process: _Process | None = None
        self._pending_loads: list[tuple[str, int]] = []

    # configuration

    @property
    def address(self) -> str:
        """The primary as BIND and zonesync print it: `127.0.0.1#PORT`."""
        return f"{HOST}#{self.port}"

    @property
    def conf_path(self) -> Path:
        """The named.conf this primary runs with."""
        return self.directory / "named.conf"

    @property
    def log_path(self) -> Path:
        """named's stderr, copied line by line."""
        return self.directory / "named.log"

    def add_key(self, key: TsigKey) -> None:
        """Declare a TSIG key (or replace one of the same name)."""
        self.keys[key.name] = key

    def add_view(self, name: str, match_clients: str) -> None:
        """Declare a view; `match_clients` is the list's inside, e.g. `key int;`."""
        self.views[name] = match_clients

    def add_views_by_key(self, internal: TsigKey, external: TsigKey) -> None:
        """Declare both keys and the views `internal` and `external`.

        `internal` takes the requests signed with key `internal`; `external`
        takes everything else (those signed with `external` included).
        """
        self.add_key(internal)
        self.add_key(external)
        self.add_view("internal", f'key "{internal.name}";')
        self.add_view("external", f'!key "{internal.name}"; any;')

    def add_zone(
        self, name: str, text: str, *, view: str | None = None, clauses: str = ""
    ) -> None:
        """Serve zone `name` (in `view`) with zone file `text`."""
        self.zones.append(PrimaryZone(name, view, clauses))
        self._write_zone_file(name, view, text)

    def zone_path(self, name: str, view: str | None = None) -> Path:
        """The zone file of zone `name` in `view`."""
        where = self.directory / view if view else self.directory
        return where / f"{name}.db"

    def config_text(self) -> str:
        """named.conf for the current keys, views and zones."""
        parts = [
            "options {",
            f'\tdirectory "{self.directory}";',
            "\tpid-file none;",
            "\tsession-keyfile none;",
            "\trecursion no;",
            "\tdnssec-validation no;",
            f"\tlisten-on port {self.port} {{ {HOST}; }};",
            "\tlisten-on-v6 { none; };",
            f"\tnotify {self.notify};",
            "\tnotify-delay 0;",
            # Small test zones: without this, an IXFR delta bigger than the
            # zone is served as AXFR-style IXFR (max-ixfr-ratio, default 100%).
            "\tmax-ixfr-ratio unlimited;",
            *(f"\t{line}" for line in self.options.splitlines() if line.strip()),
            "};",
            "controls { };",
        ]
        parts.extend(key.statement() for key in self.keys.values())
        if self.views:
            for view, match_clients in self.views.items():
                parts.append(f'view "{view}" {{')
                parts.append(f"\tmatch-clients {{ {match_clients} }};")
                parts.extend(
                    "\t" + self._zone_statement(zone)
                    for zone in self.zones
                    if zone.view == view
                )
                parts.append("};")
        else:
            parts.extend(self._zone_statement(zone) for zone in self.zones)
        return "\n".join(parts) + "\n"

    def _zone_statement(self, zone: PrimaryZone) -> str:
        path = self.zone_path(zone.name, zone.view)
        return f'zone "{zone.name}" {{ type primary; file "{path}"; {zone.clauses} }};'

    def write_config(self) -> None:
        """Write named.conf (named reads it on start and on reload)."""
        self.conf_path.write_text(self.config_text())

    def _write_zone_file(self, name: str, view: str | None, text: str) -> None:
        path = self.zone_path(name, view)
        path.parent.mkdir(parents=True, exist_ok=True)
        old_mtime_ns = path.stat().st_mtime_ns if path.exists() else 0
        path.write_text(text)
        # named reloads a zone only if the file's mtime is after the last load;
        # the kernel's coarse file times could put a quick rewrite before it.
        mtime_ns = max(time.time_ns(), old_mtime_ns + 1_000_000)
        os.utime(path, ns=(mtime_ns, mtime_ns))

    def update_zone(
        self,
        name: str,
        text: str,
        *,
        view: str | None = None,
        serial: int | None = None,
    ) -> None:
        """Rewrite a zone file; the next `reload()` waits for its new serial."""
        if serial is None:
            serial = zone_serial(text)
        self._write_zone_file(name, view, text)
        self._pending_loads.append((_zone_label(name, view), serial))

    # the process

    @property
    def pid(self) -> int | None:
        """named's PID while it runs."""
        if self._process is None or self._process.popen.poll() is not None:
            return None
        return self._process.popen.pid

    async def start(self, seconds: float = START_TIMEOUT_SECONDS) -> None:
        """Write the config, start named and wait for `running`."""
        if self.pid is not None:
            raise RuntimeError(f"named already runs as PID {self.pid}")
        self._reap()
        self.write_config()
        self._pending_loads.clear()
        mark = self.log.mark()
        await asyncio.to_thread(self._spawn)
        match = await self.log.wait_for(
            r" running$|^\[harness\] named exited", seconds, since=mark
        )
        if match.group(0).startswith("[harness]"):
            self._reap()
            raise AssertionError(f"named failed to start:\n{self.log.tail()}")

    def _spawn(self) -> None:
        log_file = self.log_path.open("a", encoding="utf-8")
        popen = subprocess.Popen(
            [self.named, "-g", "-c", str(self.conf_path), "-n", "1"],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C to pytest is not named's
        )
        assert popen.stderr is not None
        reader = threading.Thread(
            target=self._read,
            args=(popen, popen.stderr, log_file),
            name=f"named-{popen.pid}-stderr",
            daemon=True,
        )
        self._process = _Process(popen, reader, log_file)
        reader.start()

    def _read(
        self, popen: subprocess.Popen[bytes], stream: IO[bytes], log_file: IO[str]
    ) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            log_file.write(line + "\n")
            log_file.flush()
            self.log.feed(line)
        status = popen.wait()
        line = f"[harness] named exited with status {status}"
        log_file.write(line + "\n")
        log_file.flush()
        self.log.feed(line)

    async def reload(self, seconds: float = RELOAD_TIMEOUT_SECONDS) -> None:
        """SIGHUP: reread named.conf and changed zones; wait until loaded.

        Waits for `reloading configuration succeeded`, then for
        `zone <name>/IN[/<view>]: loaded serial N` of every `update_zone()`
        since the last reload.
        """
        pid = self.pid
        if pid is None:
            raise RuntimeError("named is not running")
        self.write_config()
        pending, self._pending_loads = self._pending_loads, []
        mark = self.log.mark()
        os.kill(pid, signal.SIGHUP)
        match = await self.log.wait_for(
            r"reloading configuration (succeeded|failed.*)$", seconds, since=mark
        )
        if match.group(1) != "succeeded":
            raise AssertionError(f"named reload failed:\n{self.log.tail()}")
        for label, serial in pending:
            match = await self.log.wait_for(
                rf"zone {re.escape(label)}: "
                rf"(loaded serial {serial}$|not loaded due to errors)",
                seconds,
                since=mark,
            )
            if match.group(1).startswith("not loaded"):
                raise AssertionError(
                    f"named could not load {label}:\n{self.log.tail()}"
                )

    def kill(self) -> None:
        """SIGKILL named (by PID) and reap it."""
        pid = self.pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        self._reap()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM named (by PID); SIGKILL it if it is still there after `timeout`."""
        pid = self.pid
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            assert self._process is not None
            try:
                self._process.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
        self._reap()

    async def restart(self, seconds: float = START_TIMEOUT_SECONDS) -> None:
        """Stop (if running) and start again on the same port and files."""
        await asyncio.to_thread(self.stop)
        await self.start(seconds)

    def _reap(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.popen.wait(STOP_TIMEOUT_SECONDS)
        process.reader.join(STOP_TIMEOUT_SECONDS)
        if process.popen.stderr is not None:
            process.popen.stderr.close()
        process.log_file.close()

    # the log

    def log_text(self) -> str:
        """Everything named logged, over all its runs."""
        return self.log.text()

    async def wait_for_log(
        self, pattern: str | re.Pattern[str], seconds: float, since: int = 0
    ) -> re.Match[str]:
        """Wait for a line of named's log matching `pattern`."""
        return await self.log.wait_for(pattern, seconds, since)


def _zone_label(name: str, view: str | None) -> str:
    return f"{name}/IN/{view}" if view else f"{name}/IN"
