"""Server processes for the benchmarks: start, log with timestamps, sample, stop.

Every process is started with its own session, its stdout and stderr read by a
thread that stamps each line with `time.monotonic()` as it arrives, so a wait
on a log line gives the moment the line was written (to within a pipe read).
Processes are stopped by PID only: SIGTERM, a bounded wait, then SIGKILL.
Nothing waits without a deadline.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"
POLL_SECONDS = 0.005  # file and /proc polling; short, always under a deadline
STOP_SECONDS = 60.0  # SIGTERM to exit; a 1M-record BIND frees a lot of memory
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_handed_out: set[int] = set()


class BenchError(Exception):
    """A server failed, or a wait ran past its deadline."""


def free_port() -> int:
    """A port free on 127.0.0.1 for TCP and UDP, never handed out twice.

    Bind port 0, read it, close: named, knotd and zonesync need a port known
    before they start (tests/integration/named.py does the same).
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
    raise BenchError("no free port on 127.0.0.1 after 100 tries")


class Deadline:
    """A point in `time.monotonic()` time that waits must not pass."""

    def __init__(self, seconds: float, what: str) -> None:
        self.at = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def left(self) -> float:
        """Seconds until the deadline (negative after it)."""
        return self.at - time.monotonic()

    def check(self, tail: str = "") -> None:
        """Raise BenchError once the deadline has passed."""
        if time.monotonic() > self.at:
            extra = f"\n{tail}" if tail else ""
            raise BenchError(f"{self.what}: not done within {self.seconds:g} s{extra}")


class Log:
    """Lines of one process with the monotonic time each one arrived."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.times: list[float] = []
        self.closed = False
        self._cond = threading.Condition()

    def feed(self, line: str) -> None:
        """Add one line (from the reader thread)."""
        with self._cond:
            self.lines.append(line)
            self.times.append(time.monotonic())
            self._cond.notify_all()

    def close(self) -> None:
        """The process closed its output."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def mark(self) -> int:
        """The index after the last line so far."""
        with self._cond:
            return len(self.lines)

    def since(self, index: int) -> list[str]:
        """A copy of the lines from `index` on."""
        with self._cond:
            return self.lines[index:]

    def first(self, pattern: str, since: int = 0) -> float | None:
        """When the first line from `since` matching arrived; None if none has."""
        regex = re.compile(pattern)
        with self._cond:
            for line, at in zip(self.lines[since:], self.times[since:], strict=True):
                if regex.search(line):
                    return at
        return None

    def tail(self, count: int = 30) -> str:
        """The last lines, for error messages."""
        with self._cond:
            return "\n".join(self.lines[-count:])

    def count(self, pattern: str, since: int = 0) -> int:
        """How many lines from `since` match."""
        regex = re.compile(pattern)
        with self._cond:
            return sum(1 for line in self.lines[since:] if regex.search(line))

    def wait_for(
        self, pattern: str, deadline: Deadline, since: int = 0, count: int = 1
    ) -> tuple[re.Match[str], float]:
        """The `count`-th line from `since` matching, and when it arrived."""
        regex = re.compile(pattern)
        seen = 0
        index = since
        with self._cond:
            while True:
                while index < len(self.lines):
                    match = regex.search(self.lines[index])
                    if match is not None:
                        seen += 1
                        if seen >= count:
                            return match, self.times[index]
                    index += 1
                if self.closed:
                    raise BenchError(
                        f"{deadline.what}: the process exited\n"
                        + "\n".join(self.lines[-30:])
                    )
                left = deadline.left()
                if left <= 0:
                    raise BenchError(
                        f"{deadline.what}: {seen}/{count} lines matching "
                        f"{pattern!r} within {deadline.seconds:g} s\n"
                        + "\n".join(self.lines[-30:])
                    )
                self._cond.wait(min(left, 1.0))


@dataclass(frozen=True)
class Usage:
    """What a process used: CPU seconds (user + system) and peak RSS in bytes."""

    cpu_seconds: float
    peak_rss_bytes: int


def proc_usage(pid: int) -> Usage:
    """CPU so far (all threads, /proc/PID/stat) and peak RSS (VmHWM) of `pid`."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of proc(5); fields[0] is field 3.
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return Usage(cpu, proc_status_kb(pid, "VmHWM") * 1024)


def proc_status_kb(pid: int, key: str) -> int:
    """A `kB` figure of /proc/PID/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {key}")


class Process:
    """One server process: started now, its output in a timestamped `Log`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        cwd: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.log = Log()
        self.rusage: Usage | None = None
        self.exit_status: int | None = None
        self._log_file = log_path.open("a", encoding="utf-8")
        self.started_at = time.monotonic()
        self._popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C to the bench is not the server's
        )
        self.pid = self._popen.pid
        assert self._popen.stdout is not None
        self._reader = threading.Thread(
            target=self._read,
            args=(self._popen.stdout,),
            name=f"{name}-{self.pid}",
            daemon=True,
        )
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self._log_file.write(line + "\n")
                self.log.feed(line)
        finally:
            stream.close()
            self._log_file.close()
            self.log.close()

    @property
    def running(self) -> bool:
        """Whether the process has not been reaped yet."""
        return self.exit_status is None

    def usage(self) -> Usage:
        """CPU and peak RSS so far, read from /proc while it runs."""
        return proc_usage(self.pid)

    def rss_bytes(self) -> int:
        """The resident set size right now."""
        return proc_status_kb(self.pid, "VmRSS") * 1024

    def stop(self, seconds: float = STOP_SECONDS) -> Usage:
        """SIGTERM by PID, wait (SIGKILL after `seconds`), reap with wait4."""
        if self.exit_status is None:
            os.kill(self.pid, signal.SIGTERM)  # not reaped yet: the PID is still its
            deadline = Deadline(seconds, f"{self.name} to exit")
            while True:
                pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
                if pid == self.pid:
                    break
                if deadline.left() <= 0:
                    os.kill(self.pid, signal.SIGKILL)
                    pid, status, rusage = os.wait4(self.pid, 0)
                    break
                time.sleep(POLL_SECONDS * 4)
            self.exit_status = os.waitstatus_to_exitcode(status)
            self._popen.returncode = self.exit_status  # reaped here, not by Popen
            self.rusage = Usage(
                rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss * 1024
            )
            # The reader closes the pipe and the log file at end of output.
            self._reader.join(STOP_SECONDS)
        assert self.rusage is not None
        return self.rusage

    def wait_for(
        self, pattern: str, deadline: Deadline, since: int = 0, count: int = 1
    ) -> tuple[re.Match[str], float]:
        """Wait for a log line; see `Log.wait_for`."""
        return self.log.wait_for(pattern, deadline, since, count)

    def wait_idle_rss(self, deadline: Deadline, interval: float = 0.25) -> int:
        """RSS once it holds still: two samples `interval` apart within 1 %."""
        last = self.rss_bytes()
        while deadline.left() > 0:
            time.sleep(interval)
            now = self.rss_bytes()
            if abs(now - last) <= last * 0.01:
                return now
            last = now
        return last
