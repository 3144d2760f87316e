"""What each control command does, against the daemon seen as a ControlTarget.

The commands and their names are rndc's (STYLE §2): `status`, `zones`,
`zonestatus`, `refresh`, `retransfer`, `notify` and `reload`. This module
decides and formats; the socket is `control/server.py`'s.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Protocol

import dns.exception
import dns.name

from zonesync.control.protocol import Reply, Request
from zonesync.errors import ControlError
from zonesync.transfer.snapshot import ZoneSnapshot

log = logging.getLogger(__name__)


class ControlTarget(Protocol):
    """The daemon as the control commands see it."""

    def status(self) -> dict[str, object]:
        """The daemon's state: version, pid, uptime_seconds, zone counts, ...

        A key ending in `_at` holds Unix seconds (or None); the reply turns
        it into ISO 8601 under the key without `_at`.
        """

    def snapshot(self) -> tuple[ZoneSnapshot, ...]:
        """Every zone's state now, in config order."""

    async def refresh(
        self, zone: dns.name.Name, view: str, force_axfr: bool, wait: bool
    ) -> str:
        """Wake the zone for a refresh (an AXFR whatever the serial if asked).

        With `wait`, return only when that refresh has ended. Returns what
        to tell the operator; raises ControlError for a zone no longer there
        or, with `wait`, a refresh that failed (the message says why).
        """

    async def notify(self, zone: dns.name.Name, view: str) -> str:
        """Send the zone's NOTIFYs to its also-notify list now."""

    async def reload(self) -> str:
        """Load the config again; raises ControlError listing every problem."""


async def handle_line(target: ControlTarget, line: bytes) -> bytes:
    """Answer one request line with one reply line; never raises.

    A bad request or a ControlError is an error reply. Anything else is a
    bug: it is logged with its traceback and the client reads "internal
    error", so one bad command never takes the control channel down.
    """
    try:
        request = Request.from_line(line)
        return Reply.success(await run_command(target, request)).to_line()
    except ControlError as err:
        return Reply.failure(str(err)).to_line()
    except Exception:
        log.exception("control: internal error answering %r", line[:200])
        return Reply.failure("internal error (see zonesync's log)").to_line()


async def run_command(target: ControlTarget, request: Request) -> object:
    """Run one request and return its JSON result; raises ControlError."""
    command = _COMMANDS.get(request.command)
    if command is None:
        raise ControlError(
            f"unknown command '{request.command}' (known: {', '.join(_COMMANDS)})"
        )
    takes_zone = request.command not in ("status", "zones", "reload")
    if takes_zone and not request.zone:
        raise ControlError(f"'{request.command}' needs a zone")
    if not takes_zone and (request.zone is not None or request.view is not None):
        raise ControlError(f"'{request.command}' takes no zone or view")
    if request.wait and request.command not in ("refresh", "retransfer"):
        raise ControlError(f"'{request.command}' takes no wait")
    return await command(target, request)


def snapshot_to_json(snapshot: ZoneSnapshot) -> dict[str, object]:
    """One zone as `zones` and `zonestatus` show it; times in ISO 8601 UTC."""
    return {
        "zone": snapshot.zone,
        "view": snapshot.view,
        "serial": snapshot.serial,
        "state": snapshot.state,
        "loaded": snapshot.loaded,
        "expired": snapshot.expired,
        "refreshing": snapshot.refreshing,
        "last_refresh": to_iso(snapshot.last_refresh_at),
        "last_transfer": to_iso(snapshot.last_transfer_at),
        "next_refresh": to_iso(snapshot.next_refresh_at),
        "expires": to_iso(snapshot.expires_at),
        "expire_seconds": snapshot.expire_seconds,
        "primary": snapshot.primary,
        "primary_serial": snapshot.primary_serial,
        "failures": snapshot.failures,
        "last_error": snapshot.last_error,
        "records": snapshot.records,
        "size_bytes": snapshot.size_bytes,
    }


def status_to_json(status: Mapping[str, object]) -> dict[str, object]:
    """The target's status with `*_at` Unix seconds as ISO 8601, paths as text."""
    result: dict[str, object] = {}
    for key, value in status.items():
        if key.endswith("_at") and (value is None or isinstance(value, int | float)):
            result[key.removesuffix("_at")] = to_iso(value)
        elif isinstance(value, Path):
            result[key] = str(value)
        else:
            result[key] = value
    return result


def to_iso(seconds: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC to the second (`2026-11-21T10:00:00Z`)."""
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def find_zone(
    snapshots: tuple[ZoneSnapshot, ...], zone: str, view: str | None
) -> tuple[dns.name.Name, ZoneSnapshot]:
    """The one zone a command names (compared as DNS names); raises ControlError.

    Without a view the zone must be in exactly one view, as rndc requires.
    Returns the zone's name as configured, and its snapshot.
    """
    try:
        name = dns.name.from_text(zone)
    except dns.exception.DNSException as err:
        raise ControlError(f"bad zone name '{zone}': {err}") from None
    text = (name.to_text(omit_final_dot=True) or ".").lower()
    found = [
        s
        for s in snapshots
        if s.zone.lower() == text and (view is None or s.view == view)
    ]
    shown = name.to_text(omit_final_dot=True) or "."
    if not found:
        where = f" in view '{view}'" if view is not None else ""
        raise ControlError(f"zone '{shown}'{where}: not found")
    if len(found) > 1:
        views = ", ".join(s.view for s in found)
        raise ControlError(
            f"zone '{shown}' is in several views ({views}): choose one with --view"
        )
    # The name as configured (its case), not as typed.
    return dns.name.from_text(found[0].zone), found[0]


async def _status(target: ControlTarget, request: Request) -> object:
    return status_to_json(target.status())


async def _zones(target: ControlTarget, request: Request) -> object:
    return [snapshot_to_json(s) for s in target.snapshot()]


async def _zonestatus(target: ControlTarget, request: Request) -> object:
    _, snapshot = _find(target, request)
    return snapshot_to_json(snapshot)


async def _refresh(target: ControlTarget, request: Request) -> object:
    name, snapshot = _find(target, request)
    return await target.refresh(name, snapshot.view, False, request.wait)


async def _retransfer(target: ControlTarget, request: Request) -> object:
    name, snapshot = _find(target, request)
    return await target.refresh(name, snapshot.view, True, request.wait)


async def _notify(target: ControlTarget, request: Request) -> object:
    name, snapshot = _find(target, request)
    return await target.notify(name, snapshot.view)


async def _reload(target: ControlTarget, request: Request) -> object:
    return await target.reload()


def _find(
    target: ControlTarget, request: Request
) -> tuple[dns.name.Name, ZoneSnapshot]:
    assert request.zone is not None  # run_command checked it
    return find_zone(target.snapshot(), request.zone, request.view)


_COMMANDS: dict[str, Callable[[ControlTarget, Request], Awaitable[object]]] = {
    "status": _status,
    "zones": _zones,
    "zonestatus": _zonestatus,
    "refresh": _refresh,
    "retransfer": _retransfer,
    "notify": _notify,
    "reload": _reload,
}
