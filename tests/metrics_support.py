"""A zone snapshot to feed the metrics with, shared by the metrics tests."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from zonesync.metrics import Metrics
from zonesync.transfer.snapshot import ZoneSnapshot

NOW = 1_800_000_000.0
ZONE = ZoneSnapshot(
    view="_default",
    zone="example.com",
    serial=2026112101,
    loaded=True,
    expired=False,
    refreshing=False,
    last_refresh_at=NOW - 60,
    last_transfer_at=NOW - 3600,
    next_refresh_at=NOW + 300,
    expires_at=NOW + 86400,
    primary="192.0.2.1#53",
    primary_serial=2026112102,
    failures=0,
    last_error=None,
    records=120,
    size_bytes=5210,
    expire_seconds=1209600,
)


def exported_names() -> set[str]:
    """Every sample name zonesync exports, read from a real registry."""
    registry = CollectorRegistry()
    metrics = Metrics(registry, lambda: (ZONE,), lambda: (0, 0))
    metrics.config_reloaded(True, NOW)
    return {sample.name for family in registry.collect() for sample in family.samples}
