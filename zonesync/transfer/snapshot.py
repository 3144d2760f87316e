"""What a zone shows the outside: its snapshot, and how a requested refresh ended.

Immutable values, safe to read from any thread (the metrics endpoint reads
snapshots from its own).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ZoneSnapshot:
    """One zone's state at a moment; immutable, safe to read from any thread."""

    view: str
    zone: str
    serial: int | None
    loaded: bool
    expired: bool
    refreshing: bool
    last_refresh_at: float | None
    last_transfer_at: float | None
    next_refresh_at: float | None
    expires_at: float | None
    primary: str | None
    primary_serial: int | None
    failures: int
    last_error: str | None
    records: int
    size_bytes: int
    expire_seconds: int | None = None  # the clamped EXPIRE interval

    @property
    def state(self) -> str:
        """One word: loaded, refreshing, expired, failing or loading."""
        if self.expired:
            return "expired"
        if self.refreshing:
            return "refreshing"
        if self.loaded:
            return "loaded"
        return "failing" if self.failures else "loading"


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """How a requested refresh ended: for `zonesync refresh --wait`."""

    ok: bool
    transferred: bool
    message: str
