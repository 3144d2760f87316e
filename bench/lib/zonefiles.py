"""Reading the zone files the secondaries write: record count, serial, waits.

The three servers write different text: BIND one RR per line with the owner
left out after the first, `$ORIGIN` lines and a multi-line SOA in
parentheses; Knot one absolute RR per line; zonesync one RR per line after a
comment and `$ORIGIN`. `count_records` counts RRs in all three: a line is an
RR unless it is blank, a comment, a `$` directive, or inside parentheses
opened on an earlier line (quoted text and comments are ignored when
looking for parentheses).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from lib.process import POLL_SECONDS, Deadline

_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _depth_change(line: bytes) -> int:
    """Parentheses opened minus closed on one line, outside quotes and comments."""
    if b'"' in line:
        line = _QUOTED.sub(b"", line)
    line = line.split(b";", 1)[0]
    return line.count(b"(") - line.count(b")")


def count_records(path: Path) -> int:
    """How many RRs the zone file at `path` holds."""
    count = 0
    depth = 0
    with path.open("rb") as file:
        for line in file:
            if depth > 0:
                depth += _depth_change(line)
                continue
            stripped = line.strip()
            if not stripped or stripped[0] in b";$":
                continue
            count += 1
            if b"(" in line or b")" in line:
                depth = max(_depth_change(line), 0)
    return count


def file_serial(path: Path) -> int | None:
    """The SOA serial of the zone file at `path` (the SOA comes first in all three)."""
    try:
        with path.open("rb") as file:
            head = file.read(8192)
    except FileNotFoundError:
        return None
    words: list[bytes] = []
    for line in head.splitlines():
        line = _QUOTED.sub(b"", line).split(b";", 1)[0]
        words.extend(line.replace(b"(", b" ").replace(b")", b" ").split())
    try:
        at = words.index(b"SOA")
        return int(words[at + 3])  # SOA mname rname serial
    except (ValueError, IndexError):
        return None


@dataclass(frozen=True)
class FileSeen:
    """A zone file that reached its expected record count, and when it was seen."""

    path: Path
    seen_at: float
    records: int
    size_bytes: int


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def wait_file_complete(path: Path, records: int, deadline: Deadline) -> FileSeen:
    """Poll until `path` holds `records` RRs; the time it was first seen so.

    The time is taken when a new version of the file (inode, size, mtime) is
    first seen, before it is counted; a version with the wrong count is
    ignored and polling goes on.
    """
    last: tuple[int, int, int] | None = None
    while True:
        signature = _signature(path)
        if signature is not None and signature != last:
            seen_at = time.monotonic()
            last = signature
            count = count_records(path)
            if count == records:
                return FileSeen(path, seen_at, count, signature[1])
        deadline.check(f"{path}: last count {count if last else 'no file'}")
        time.sleep(POLL_SECONDS)


def wait_files_complete(
    paths: list[Path], records: int, deadline: Deadline, interval: float = 0.01
) -> float:
    """Poll until every file in `paths` holds `records` RRs; when the last was seen.

    Meant for many small files: each is counted once it appears (and again
    only if it changes while still short).
    """
    pending = {path.name: path for path in paths}
    directories = {path.parent for path in paths}
    last_seen = 0.0
    while pending:
        now = time.monotonic()
        for directory in directories:
            with os.scandir(directory) as entries:
                names = [entry.name for entry in entries if entry.name in pending]
            for name in names:
                path = pending[name]
                if count_records(path) == records:
                    del pending[name]
                    last_seen = now
        if not pending:
            break
        deadline.check(f"{len(pending)} of {len(paths)} zone files still missing")
        time.sleep(interval)
    return last_seen


def wait_serial(path: Path, serial: int, deadline: Deadline) -> float:
    """Poll until the zone file's SOA serial is `serial`; when that was seen."""
    while True:
        now = time.monotonic()
        if file_serial(path) == serial:
            return now
        deadline.check()
        time.sleep(POLL_SECONDS)
