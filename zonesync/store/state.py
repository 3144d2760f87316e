"""Per-zone state that survives a restart: timers, health, the last primary.

Every zone's state is in one file per state directory, `zones.state`: one
JSON line per save, `{"zone": "<view>@<zone>", "version": 1, ...}`, the
last line of a zone winning. A save appends its line with one write and no
fsync; a start reads the file once. (Until issue 5 it was one small file
per zone, replaced by a rename: a new inode per save, and 10,000 files to
open at a restart.) The file is rewritten with only the last line of each
zone (atomically, `atomic.py`) when it holds more than twice as many lines
as zones.

A crash of the process leaves every line written whole or not at all; a
save that fails part way (a full disk) is cut back off. After a power loss
the end of the file may be missing or torn: a line that cannot be read is
logged and skipped, and a zone whose line was lost starts as BIND does,
from the zone file's mtime, as does a zone whose state is for another
serial than its file's. The zone file is the truth and is synced; the state
only refines the timers.

The one-file-per-zone state of earlier versions (`<view>@<zone>.json`) is
still read for a zone the log does not hold, and removed once the zone's
state is in the log.

Everything here blocks. The daemon reads the file in a thread at start,
and saves on its event loop: a save is one small write, as a log line is.
A rewrite is one write of the lines kept in memory (a few MB for 100,000
zones), in a thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.name

from zonesync.errors import StoreError
from zonesync.names import name_text
from zonesync.store.atomic import AtomicFile, remove_stale_temp_files, store_error

log = logging.getLogger(__name__)

STATE_VERSION = 1
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
# Well under NAME_MAX (255 bytes) with room for the temporary file's affixes.
_MAX_PART = 100
# A text `_escape` keeps as it is.
_KEPT = re.compile(r"[a-z0-9_][a-z0-9\-_.]*")


@dataclass(frozen=True, slots=True)
class ZoneState:
    """What zonesync remembers about one zone between runs."""

    serial: int | None = None
    last_refresh_at: float | None = None  # last successful SOA check or transfer
    last_transfer_at: float | None = None
    expires_at: float | None = None
    primary: str | None = None  # "192.0.2.1#53", last used successfully
    failures: int = 0  # consecutive failed refreshes
    last_error: str | None = None
    expired: bool = False


def _escape(text: str) -> str:
    """`text` as a file name part: [a-z0-9-_.] kept, anything else `%XX`.

    A leading `.` or `-` is escaped too (no hidden files, no options), and a
    part that would be too long is cut and ended with `~` and a hash of the
    whole text; `~` is never kept, so the result stays unambiguous.
    """
    if len(text) <= _MAX_PART and _KEPT.fullmatch(text):
        return text  # the common case, at start once per zone
    out = []
    for i, char in enumerate(text):
        if char in _SAFE and not (i == 0 and char in ".-"):
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    escaped = "".join(out)
    if len(escaped) > _MAX_PART:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        escaped = f"{escaped[: _MAX_PART - 33]}~{digest[:32]}"
    return escaped


def state_key(view: str, zone: dns.name.Name) -> str:
    """The name of `zone` in `view` in the state directory: `<view>@<zone>`.

    The zone is lower-cased (names differing only in case are one zone); the
    view keeps its case, as BIND compares view names exactly. The key of
    the state log, and the stem of the zone's journal (and of its old
    state file).
    """
    # Lower-cased text is the text of the canonical name: the escapes
    # (\DDD, \.) hold no letters.
    zone_text = name_text(zone, omit_final_dot=True).lower() or "."
    return f"{_escape(view)}@{_escape(zone_text)}"


def state_path(state_dir: Path, view: str, zone: dns.name.Name) -> Path:
    """The old per-zone state file: `<view>@<zone>.json` in `state_dir`."""
    return state_dir / f"{state_key(view, zone)}.json"


def journal_path(state_dir: Path, view: str, zone: dns.name.Name) -> Path:
    """The IXFR journal of `zone` in `view`: `<view>@<zone>.jnl`.

    In the state directory, not beside the zone file, where BIND would load
    it as its own journal (`<file>.jnl`).
    """
    return journal_file(state_dir, state_key(view, zone))


def journal_file(state_dir: Path, key: str) -> Path:
    """The IXFR journal of the zone whose `state_key` is `key`."""
    return state_dir / f"{key}.jnl"


def _optional(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{key}: {value!r} is not a {kind}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key}: {value!r} is not finite")
    return value


def _from_json(data: object) -> ZoneState:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("version") != STATE_VERSION:
        raise ValueError(f"unknown version {data.get('version')!r}")
    serial = _optional(data, "serial", int)
    if serial is not None and not 0 <= serial < 2**32:
        raise ValueError(f"serial: {serial} is out of range")
    failures = _optional(data, "failures", int) or 0
    if failures < 0:
        raise ValueError(f"failures: {failures} is negative")
    expired = data.get("expired", False)
    if not isinstance(expired, bool):
        raise ValueError(f"expired: {expired!r} is not a boolean")
    seconds = (int, float)
    return ZoneState(
        serial=serial,
        last_refresh_at=_optional(data, "last_refresh_at", seconds),
        last_transfer_at=_optional(data, "last_transfer_at", seconds),
        expires_at=_optional(data, "expires_at", seconds),
        primary=_optional(data, "primary", str),
        failures=failures,
        last_error=_optional(data, "last_error", str),
        expired=expired,
    )


def load_state(path: Path) -> ZoneState | None:
    """The state stored at `path`; None if missing or unusable (with a warning)."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        log.warning("ignoring state file %s: %s", path, err.strerror or err)
        return None
    try:
        return _from_json(json.loads(text))
    except ValueError as err:  # json.JSONDecodeError and UnicodeDecodeError too
        log.warning("ignoring state file %s: %s", path, err)
        return None


STATE_LOG = "zones.state"
# Rewrite the log when it holds more than twice as many lines as zones,
# and at least this many.
_COMPACT_LINES = 1024


class StateLog:
    """The state of every zone of one state directory (see the module's doc).

    Thread-safe. The file is read at the first `get` or `save`; the last
    line of each zone is kept, for the rewrite.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / STATE_LOG
        self._lock = threading.Lock()
        self._states: dict[str, ZoneState] | None = None  # None: not read yet
        self._texts: dict[str, bytes] = {}  # the last line of each zone
        self._legacy: set[str] = set()  # keys with an old per-zone file
        self._lines = 0  # lines in the file
        self._made = False  # the directory exists
        # Kept open between saves (an open and a close were a third of one);
        # the rewrite replaces the file, so it closes this one.
        self._fd = -1

    def get(self, key: str) -> ZoneState | None:
        """The last state saved for `key`; None if none is usable."""
        with self._lock:
            states = self._read()
            state = states.get(key)
            if state is None and key in self._legacy:
                state = load_state(self.directory / f"{key}.json")
                if state is not None:
                    states[key] = state
            return state

    def save(self, key: str, state: ZoneState) -> bool:
        """Append `state` as the last of `key`; StoreError if it cannot be.

        A failed save leaves the file as it was. One small write: the daemon
        calls it on its event loop, as it writes its log. Returns whether
        the file is due to be rewritten (`compact`, O(zones): in a thread).
        """
        line = _line(key, state)
        with self._lock:
            states = self._read()
            fd = self._fd if self._fd >= 0 else self._open()
            try:
                end = os.fstat(fd).st_size
                try:
                    _write_all(fd, line)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, end)  # no torn line before the next
                    raise
            except OSError as err:
                self._close()  # opened again at the next save
                raise store_error("writing", self.path, err) from err
            states[key] = state
            self._texts[key] = line
            self._lines += 1
            if key in self._legacy:
                self._legacy.discard(key)
                with contextlib.suppress(OSError):
                    (self.directory / f"{key}.json").unlink()
            return self._due()

    def compact(self) -> None:
        """Rewrite the file with the last line of each zone, if it is due."""
        with self._lock:
            self._read()
            if self._due():
                self._compact()

    def _due(self) -> bool:
        return self._lines > max(2 * len(self._texts), _COMPACT_LINES)

    def _open(self) -> int:
        if not self._made:
            try:
                self.directory.mkdir(mode=0o750, parents=True, exist_ok=True)
            except OSError as err:
                action = "creating state directory"
                raise store_error(action, self.directory, err, self.path) from err
            self._made = True
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            self._fd = os.open(self.path, flags, 0o640)
        except OSError as err:
            raise store_error("writing", self.path, err) from err
        return self._fd

    def _close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1

    def close(self) -> None:
        """Close the file; a later save opens it again."""
        with self._lock:
            self._close()

    def _read(self) -> dict[str, ZoneState]:
        """The states in the file, read once (the lock is held)."""
        if self._states is not None:
            return self._states
        states: dict[str, ZoneState] = {}
        self._states = states
        try:
            with os.scandir(self.directory) as entries:
                names = [entry.name for entry in entries]
        except FileNotFoundError:
            return states
        except OSError as err:
            reason = err.strerror or err
            log.warning("ignoring state directory %s: %s", self.directory, reason)
            return states
        self._legacy = {name[:-5] for name in names if name.endswith(".json")}
        if STATE_LOG not in names:
            return states
        with contextlib.suppress(StoreError):
            remove_stale_temp_files(self.path)
        try:
            data = self.path.read_bytes()
        except OSError as err:
            log.warning("ignoring state file %s: %s", self.path, err.strerror or err)
            return states
        lines = data.splitlines()
        bad = 0
        first_bad = ""
        for number, text in enumerate(lines, 1):
            try:
                key, state = _parse_line(text)
            except ValueError as err:
                bad += 1
                first_bad = first_bad or f"line {number}: {err}"
                continue
            states[key] = state
            self._texts[key] = text + b"\n"
        self._lines = len(lines)
        if bad:
            log.warning(
                "state file %s: %d line(s) ignored (%s)", self.path, bad, first_bad
            )
        if self._due() or bad:
            try:
                self._compact()
            except StoreError as err:
                log.warning("state file %s not rewritten: %s", self.path, err)
        return states

    def _compact(self) -> None:
        """Rewrite the file with the last line of each zone (the lock is held).

        One join and one write: a save waiting for the lock on the event
        loop waits milliseconds, not a serialization of every state.
        """
        with AtomicFile(self.path, 0o640, sync_action="writing", durable=False) as out:
            out.write(b"".join(self._texts.values()).decode())
            out.publish()
        self._close()  # the old file's
        self._lines = len(self._texts)


_FIELDS = tuple(field.name for field in dataclasses.fields(ZoneState))


def _line(key: str, state: ZoneState) -> bytes:
    # Not dataclasses.asdict(): it copies each value deeply, two thirds of a save.
    data = {"zone": key, "version": STATE_VERSION}
    for name in _FIELDS:
        data[name] = getattr(state, name)
    return (json.dumps(data, allow_nan=False) + "\n").encode()


def _parse_line(text: bytes) -> tuple[str, ZoneState]:
    data = json.loads(text)  # ValueError: JSONDecodeError, UnicodeDecodeError
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    key = data.pop("zone", None)
    if not isinstance(key, str) or not key:
        raise ValueError("no zone")
    return key, _from_json(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
