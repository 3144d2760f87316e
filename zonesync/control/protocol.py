"""The control channel's wire format: one JSON object per line.

A request names a command and, for the zone commands, a zone and maybe a
view::

    {"command": "refresh", "zone": "example.com", "view": null, "wait": false}

The reply says whether it worked, with a result or an error::

    {"ok": true, "result": ...}
    {"ok": false, "error": "zone 'nosuch.example': not found"}

JSON escapes every control character, so an encoded object never holds a
newline and one line is one message. An error is one line of text, except
a failed reload's, which lists every config problem as `file:line: message`
lines. This module parses and formats; it does not know what a command does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from zonesync.errors import ControlError

# A request is a command and a zone name (at most 1,004 bytes of escaped
# text); 64 KiB leaves room and still bounds what one connection can make the
# daemon hold.
MAX_REQUEST_BYTES = 64 * 1024

# `zones` on a very large fleet: about 500 bytes per zone, so this allows
# some 100,000 zones.
MAX_REPLY_BYTES = 64 * 1024 * 1024

_REQUEST_FIELDS = frozenset({"command", "zone", "view", "wait"})


@dataclass(frozen=True, slots=True)
class Request:
    """One command sent to the daemon."""

    command: str
    zone: str | None = None
    view: str | None = None
    wait: bool = False

    def to_line(self) -> bytes:
        """The request as one line of JSON, newline included."""
        return _to_line(
            {
                "command": self.command,
                "zone": self.zone,
                "view": self.view,
                "wait": self.wait,
            }
        )

    @classmethod
    def from_line(cls, line: bytes) -> Request:
        """Parse one request line; raises ControlError saying what is wrong."""
        if len(line) > MAX_REQUEST_BYTES:
            raise ControlError(f"request longer than {MAX_REQUEST_BYTES} bytes")
        obj = _from_line(line, "request")
        unknown = sorted(set(obj) - _REQUEST_FIELDS)
        if unknown:
            raise ControlError(f"bad request: unknown field '{unknown[0]}'")
        command = obj.get("command")
        if not isinstance(command, str) or not command:
            raise ControlError("bad request: 'command' must be a non-empty string")
        zone = _optional_str(obj, "zone")
        view = _optional_str(obj, "view")
        wait = obj.get("wait", False)
        if not isinstance(wait, bool):
            raise ControlError("bad request: 'wait' must be true or false")
        return cls(command, zone, view, wait)


@dataclass(frozen=True, slots=True)
class Reply:
    """The daemon's answer: a JSON result, or an error for people to read."""

    ok: bool
    result: object = None
    error: str = ""

    @classmethod
    def success(cls, result: object) -> Reply:
        """A reply carrying `result` (any JSON value)."""
        return cls(True, result)

    @classmethod
    def failure(cls, error: str) -> Reply:
        """A reply saying why the command failed."""
        return cls(False, None, error)

    def to_line(self) -> bytes:
        """The reply as one line of JSON, newline included.

        Raises:
            TypeError, ValueError: the result is not plain JSON data.
        """
        if self.ok:
            return _to_line({"ok": True, "result": self.result})
        return _to_line({"ok": False, "error": self.error})

    @classmethod
    def from_line(cls, line: bytes) -> Reply:
        """Parse one reply line; raises ControlError if it is not a reply."""
        obj = _from_line(line, "reply")
        ok = obj.get("ok")
        if ok is True:
            return cls.success(obj.get("result"))
        error = obj.get("error")
        if ok is False and isinstance(error, str):
            return cls.failure(error)
        raise ControlError("bad reply from zonesync: not a reply object")


def _to_line(obj: dict[str, object]) -> bytes:
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.encode("ascii") + b"\n"


def _from_line(line: bytes, what: str) -> dict[str, object]:
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, ValueError) as err:
        # json.JSONDecodeError is a ValueError.
        raise ControlError(f"bad {what}: not JSON ({err})") from None
    except RecursionError:
        # Deeply nested arrays exhaust the parser's stack before it fails.
        raise ControlError(f"bad {what}: nested too deeply") from None
    if not isinstance(obj, dict):
        raise ControlError(f"bad {what}: not a JSON object")
    return obj


def _optional_str(obj: dict[str, object], field: str) -> str | None:
    value = obj.get(field)
    if value is None or isinstance(value, str):
        return value
    raise ControlError(f"bad request: '{field}' must be a string or null")
