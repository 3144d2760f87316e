"""Per-zone state that survives a restart: timers, health, the last primary.

One small JSON file per (view, zone) in the state directory, replaced
atomically (`atomic.py`: temporary file, rename), so a crash of the process
leaves either the old state or the new one. It is not fsynced: the zone
file is the truth and is synced; the state only refines the timers, and a
cold start of 1,000 zones spent a fifth of its time syncing it (issue 5).
After a power loss a state file may be missing, empty or old: one that
cannot be used is logged and ignored, and one for another serial than the
zone file's is not used; the zone then starts as BIND does, from the zone
file's mtime.

Everything here blocks; the daemon calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.name

from zonesync.names import name_text
from zonesync.store.atomic import AtomicFile, store_error

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


def state_path(state_dir: Path, view: str, zone: dns.name.Name) -> Path:
    """The state file of `zone` in `view`: `<view>@<zone>.json` in `state_dir`.

    The zone is lower-cased (names differing only in case are one zone); the
    view keeps its case, as BIND compares view names exactly.
    """
    # Lower-cased text is the text of the canonical name: the escapes
    # (\DDD, \.) hold no letters.
    zone_text = name_text(zone, omit_final_dot=True).lower() or "."
    return state_dir / f"{_escape(view)}@{_escape(zone_text)}.json"


def journal_path(state_dir: Path, view: str, zone: dns.name.Name) -> Path:
    """The IXFR journal of `zone` in `view`: the state file's name, `.jnl`.

    In the state directory, not beside the zone file, where BIND would load
    it as its own journal (`<file>.jnl`).
    """
    return state_path(state_dir, view, zone).with_suffix(".jnl")


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


def dump_state(path: Path, state: ZoneState) -> None:
    """Store `state` at `path` atomically, creating the directory if needed."""
    data = {"version": STATE_VERSION, **dataclasses.asdict(state)}
    text = json.dumps(data, indent=1, allow_nan=False) + "\n"
    directory = path.parent
    try:
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as err:
        raise store_error("creating state directory", directory, err, path) from err
    with AtomicFile(path, 0o640, sync_action="writing", durable=False) as out:
        out.write(text)
        out.publish()
