"""A ControlTarget without a daemon, for the control channel's tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import dns.name

from zonesync.errors import ControlError
from zonesync.transfer.snapshot import ZoneSnapshot

# 2026-11-21T10:00:00Z
NOW = 1795255200.0


def snapshot(
    zone: str = "example.com", view: str = "_default", **kwargs: object
) -> ZoneSnapshot:
    """A loaded zone's snapshot; keyword arguments override fields."""
    fields: dict[str, object] = {
        "view": view,
        "zone": zone,
        "serial": 2026112101,
        "loaded": True,
        "expired": False,
        "refreshing": False,
        "last_refresh_at": NOW,
        "last_transfer_at": NOW - 60,
        "next_refresh_at": NOW + 3600,
        "expires_at": NOW + 1209600,
        "primary": "192.0.2.1#53",
        "primary_serial": 2026112101,
        "failures": 0,
        "last_error": None,
        "records": 120,
        "size_bytes": 5210,
        "expire_seconds": 1209600,
    }
    fields.update(kwargs)
    return ZoneSnapshot(**fields)  # type: ignore[arg-type]  # test data


@dataclass
class FakeTarget:
    """Records every call; `refresh(wait=True)` can be held until released."""

    zones: tuple[ZoneSnapshot, ...] = ()
    calls: list[tuple[object, ...]] = field(default_factory=list)
    refresh_error: str | None = None
    reload_problems: tuple[str, ...] = ()
    status_error: Exception | None = None
    # Set when a refresh with wait=True starts; it returns once `release`
    # is set (when `hold` is true).
    hold: bool = False
    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def status(self) -> dict[str, object]:
        if self.status_error is not None:
            raise self.status_error
        return {
            "version": "0.1.0",
            "pid": 4242,
            "uptime_seconds": 12.5,
            "config": Path("/etc/bind/named.conf"),
            "zones": len(self.zones),
            "last_reload_at": NOW,
            "last_reload_ok": True,
        }

    def snapshot(self) -> tuple[ZoneSnapshot, ...]:
        return self.zones

    async def refresh(
        self, zone: dns.name.Name, view: str, force_axfr: bool, wait: bool
    ) -> str:
        self.calls.append(("refresh", zone, view, force_axfr, wait))
        if wait and self.hold:
            self.waiting.set()
            await self.release.wait()
        if self.refresh_error is not None:
            raise ControlError(self.refresh_error)
        text = zone.to_text(omit_final_dot=True)
        if wait:
            return f"zone {text}/IN: transferred serial 2026112102"
        return f"zone {text}/IN: refresh queued"

    async def notify(self, zone: dns.name.Name, view: str) -> str:
        self.calls.append(("notify", zone, view))
        return f"zone {zone.to_text(omit_final_dot=True)}/IN: sending notifies"

    async def reload(self) -> str:
        self.calls.append(("reload",))
        if self.reload_problems:
            raise ControlError("\n".join(self.reload_problems))
        return "configuration reloaded: 2 zones"
