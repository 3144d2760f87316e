"""Every Prometheus metric zonesync exports, defined in one place (STYLE §6).

Two kinds of source feed one `CollectorRegistry`:

- Events (SOA queries, transfers, NOTIFYs, ...) arrive through `Metrics`, which
  implements the zones' `ZoneEvents` seam. Families without a zone label are
  ordinary prometheus-client counters and histograms, initialised at start for
  every label value we know, so they read 0 rather than missing.
- Per-zone state comes from a custom collector that calls `snapshot()` at
  scrape time. Scrapes run on the HTTP server's thread, so the collector only
  reads the immutable snapshot tuple and this module's own lock-guarded
  counts, never an asyncio object. A zone that leaves the snapshot vanishes
  from the next scrape with no cleanup code; that includes its per-zone
  counters, which the same collector exports for the zones in the snapshot.

`per_zone=False` (`--metrics-per-zone off`) drops every `{view,zone}` family;
the per-zone counters then become plain counters without those labels.
`bind_compat=True` adds the bind_exporter names its dashboards query.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

import zonesync
from zonesync.errors import FailureReason
from zonesync.server.notify_in import NotifyResult
from zonesync.transfer.events import (
    FallbackReason,
    SoaResult,
    TransferOutcome,
    TsigError,
)
from zonesync.transfer.snapshot import ZoneSnapshot
from zonesync.transfer.xfrin import XfrKind

# Transfers take from about 10 ms (a small zone on a LAN) to the 120 minutes
# of BIND's default max-transfer-time-in; past 10 minutes the +Inf bucket
# (with _sum and _count) says enough.
TRANSFER_DURATION_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)

TRANSFER_TYPES = ("axfr", "ixfr")
TRANSFER_RESULTS = ("success", "failure")
SOA_RESULTS: tuple[str, ...] = (*SoaResult, *FailureReason)

_ZONE = ("view", "zone")

_Family = GaugeMetricFamily | CounterMetricFamily


def transfer_type(outcome: TransferOutcome) -> str:
    """The `type` label of a transfer: what the primary actually sent.

    An AXFR-style reply to an IXFR is `axfr` (the whole zone came); an IXFR
    reply that says "up to date", or a failure before any reply, counts as
    the type that was asked for.
    """
    if outcome.actual in (XfrKind.AXFR, XfrKind.AXFR_STYLE):
        return "axfr"
    if outcome.actual == XfrKind.IXFR:
        return "ixfr"
    return "ixfr" if outcome.requested == "ixfr" else "axfr"


@dataclass(slots=True)
class _ZoneCounts:
    """One zone's event counters, exported by the collector."""

    transfers: collections.Counter[tuple[str, str]] = field(
        default_factory=collections.Counter
    )
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    received_bytes: int = 0


class Metrics:
    """zonesync's metrics: a `ZoneEvents` for the zones, plus daemon events.

    Every method is cheap, thread-safe and never raises. Events name a zone
    by the same view and zone text as its `ZoneSnapshot` ("example.com", no
    final dot): per-zone counters are exported for the zones in the snapshot.

    Args:
        registry: where every family is registered; tests pass a fresh one.
        snapshot: the zones' state now (`ZoneManager.snapshot()`). Called on
            the HTTP server's thread at scrape time, so it must only read
            state that is safe to read from another thread.
        transfers: (running, queued) transfers now; called like `snapshot`.
        per_zone: export the `{view,zone}` families.
        bind_compat: also export bind_exporter's zone serial and transfer
            counters.
        version: the `version` label of `zonesync_build_info`.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        snapshot: Callable[[], tuple[ZoneSnapshot, ...]],
        transfers: Callable[[], tuple[int, int]],
        per_zone: bool = True,
        bind_compat: bool = False,
        version: str = zonesync.__version__,
    ) -> None:
        self.per_zone = per_zone
        self.bind_compat = bind_compat
        self._lock = threading.Lock()
        self._zones: dict[tuple[str, str], _ZoneCounts] = {}
        self._reload_ok: bool | None = None
        self._reload_at: float | None = None

        self._soa_queries = Counter(
            "zonesync_soa_queries_total",
            "SOA queries to primaries, by result (newer, up_to_date, older, "
            "or the failure reason).",
            ["result"],
            registry=registry,
        )
        self._ixfr_fallbacks = Counter(
            "zonesync_ixfr_fallbacks_total",
            "IXFRs retried as AXFR, by reason.",
            ["reason"],
            registry=registry,
        )
        self._notifies = Counter(
            "zonesync_notifies_received_total",
            "NOTIFY messages received, by result.",
            ["result"],
            registry=registry,
        )
        self._tsig_errors = Counter(
            "zonesync_tsig_errors_total",
            "TSIG failures on SOA queries and transfers, by error.",
            ["error"],
            registry=registry,
        )
        self._duration = Histogram(
            "zonesync_transfer_duration_seconds",
            "Duration of successful transfers, by the type the primary sent.",
            ["type"],
            buckets=TRANSFER_DURATION_BUCKETS,
            registry=registry,
        )
        # Exported as zonesync_build_info{version="..."} 1.
        build = Info("zonesync_build", "zonesync version.", registry=registry)
        build.info({"version": version})
        for soa in SOA_RESULTS:
            self._soa_queries.labels(soa)
        for fallback in FallbackReason:
            self._ixfr_fallbacks.labels(fallback.value)
        for notify in NotifyResult:
            self._notifies.labels(notify.value)
        for tsig in TsigError:
            self._tsig_errors.labels(tsig.value)
        for kind in TRANSFER_TYPES:
            self._duration.labels(kind)

        # Without per-zone families these are plain counters; with them the
        # collector exports them from self._zones, for the zones it sees.
        self._transfers: Counter | None = None
        self._failures: Counter | None = None
        self._received_bytes: Counter | None = None
        if not per_zone:
            self._transfers = Counter(
                "zonesync_transfers_total",
                _TRANSFERS_HELP,
                ["type", "result"],
                registry=registry,
            )
            self._failures = Counter(
                "zonesync_transfer_failures_total",
                _FAILURES_HELP,
                ["reason"],
                registry=registry,
            )
            self._received_bytes = Counter(
                "zonesync_transfer_received_bytes_total",
                _RECEIVED_BYTES_HELP,
                registry=registry,
            )
            for kind in TRANSFER_TYPES:
                for result in TRANSFER_RESULTS:
                    self._transfers.labels(kind, result)
            for reason in FailureReason:
                self._failures.labels(reason.value)

        self._bind_success: Counter | None = None
        self._bind_failure: Counter | None = None
        if bind_compat:
            # bind_exporter's names (its XfrSuccess/XfrFail server counters).
            self._bind_success = Counter(
                "bind_zone_transfer_success_total",
                "Number of successful zone transfers.",
                registry=registry,
            )
            self._bind_failure = Counter(
                "bind_zone_transfer_failure_total",
                "Number of failed zone transfers.",
                registry=registry,
            )

        registry.register(_StateCollector(self, snapshot, transfers))

    # -- ZoneEvents ------------------------------------------------------------

    def soa_query(
        self, view: str, zone: str, result: SoaResult | FailureReason
    ) -> None:
        """Count one SOA query by its result."""
        self._soa_queries.labels(result.value).inc()

    def transfer(self, outcome: TransferOutcome) -> None:
        """Count one transfer attempt, its bytes, and a success's duration."""
        kind = transfer_type(outcome)
        result = outcome.outcome
        if self._transfers is not None and self._received_bytes is not None:
            self._transfers.labels(kind, result).inc()
            self._received_bytes.inc(outcome.bytes)
        else:
            with self._lock:
                counts = self._zone(outcome.view, outcome.zone)
                counts.transfers[kind, result] += 1
                counts.received_bytes += outcome.bytes
        if outcome.reason is None:
            self._duration.labels(kind).observe(outcome.duration_seconds)
        bind = self._bind_success if outcome.reason is None else self._bind_failure
        if bind is not None:
            bind.inc()

    def refresh_failed(self, view: str, zone: str, reason: FailureReason) -> None:
        """Count one failed refresh (every primary tried) by its last reason."""
        if self._failures is not None:
            self._failures.labels(reason.value).inc()
            return
        with self._lock:
            self._zone(view, zone).failures[reason.value] += 1

    def ixfr_fallback(self, view: str, zone: str, reason: FallbackReason) -> None:
        """Count one IXFR retried as AXFR."""
        self._ixfr_fallbacks.labels(reason.value).inc()

    def tsig_error(self, view: str, zone: str, error: TsigError) -> None:
        """Count one TSIG failure."""
        self._tsig_errors.labels(error.value).inc()

    # -- daemon events ---------------------------------------------------------

    def notify_received(self, result: NotifyResult) -> None:
        """Count one NOTIFY by what became of it."""
        self._notifies.labels(result.value).inc()

    def config_reloaded(self, ok: bool, at: float) -> None:
        """Record a configuration load: the first at start, then each reload.

        `at` is Unix seconds. The timestamp gauge keeps the time of the last
        load that succeeded, the config in force (as Prometheus's own
        `prometheus_config_last_reload_success_timestamp_seconds`).
        """
        with self._lock:
            self._reload_ok = ok
            if ok:
                self._reload_at = at

    # -- for the collector -----------------------------------------------------

    def _zone(self, view: str, zone: str) -> _ZoneCounts:
        counts = self._zones.get((view, zone))
        if counts is None:
            counts = self._zones[view, zone] = _ZoneCounts()
        return counts


_TRANSFERS_HELP = (
    "Transfer attempts, by the type the primary sent (an AXFR-style IXFR "
    "is axfr) and result."
)
_FAILURES_HELP = (
    "Refreshes that failed at every primary, by the reason of the last failure."
)
_RECEIVED_BYTES_HELP = "Bytes received in transfers, failed ones included."

# (name, help, the ZoneSnapshot field it reads); a None field is no sample.
_ZONE_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("zonesync_zone_serial", "Serial of the zone held.", "serial"),
    (
        "zonesync_zone_primary_serial",
        "Serial last seen at a primary.",
        "primary_serial",
    ),
    (
        "zonesync_zone_refresh_timestamp_seconds",
        "When the zone was last refreshed successfully (SOA check or transfer).",
        "last_refresh_at",
    ),
    (
        "zonesync_zone_transfer_timestamp_seconds",
        "When the last transfer of the zone completed.",
        "last_transfer_at",
    ),
    (
        "zonesync_zone_next_refresh_timestamp_seconds",
        "When the next refresh is scheduled.",
        "next_refresh_at",
    ),
    (
        "zonesync_zone_expiry_timestamp_seconds",
        "When the zone's data expires unless refreshed.",
        "expires_at",
    ),
    (
        "zonesync_zone_expire_seconds",
        "The zone's SOA EXPIRE interval, as clamped.",
        "expire_seconds",
    ),
    ("zonesync_zone_records", "Records in the zone held.", "records"),
    ("zonesync_zone_bytes", "Size of the zone held, in bytes.", "size_bytes"),
)


class _StateCollector:
    """Exports what is read at scrape time: zones, transfer queue, config."""

    def __init__(
        self,
        metrics: Metrics,
        snapshot: Callable[[], tuple[ZoneSnapshot, ...]],
        transfers: Callable[[], tuple[int, int]],
    ) -> None:
        self._metrics = metrics
        self._snapshot = snapshot
        self._transfers = transfers

    def describe(self) -> Iterable[Metric]:
        """The families, without samples: registering must not scrape."""
        return list(self._families().values())

    def collect(self) -> Iterable[Metric]:
        """Everything read now."""
        metrics = self._metrics
        families = self._families()
        running, queued = self._transfers()
        families["zonesync_transfers_running"].add_metric([], running)
        families["zonesync_transfers_queued"].add_metric([], queued)
        with metrics._lock:
            reload_ok, reload_at = metrics._reload_ok, metrics._reload_at
        if reload_ok is not None:
            families["zonesync_config_reload_success"].add_metric(
                [], 1 if reload_ok else 0
            )
        if reload_at is not None:
            families["zonesync_config_reload_timestamp_seconds"].add_metric(
                [], reload_at
            )
        if metrics.per_zone:
            self._collect_zones(families)
        return list(families.values())

    def _collect_zones(self, families: dict[str, _Family]) -> None:
        metrics = self._metrics
        zones: list[tuple[ZoneSnapshot, _ZoneCounts | None]] = []
        seen: set[tuple[str, str]] = set()
        snapshot = self._snapshot()  # outside the lock: events must not wait
        with metrics._lock:
            for zone in snapshot:
                key = (zone.view, zone.zone)
                # One series per (view, zone): a second class of the same name
                # would clash, so only the first is exported.
                if key in seen:
                    continue
                seen.add(key)
                counts = metrics._zones.get(key)
                if counts is not None:
                    counts = _ZoneCounts(
                        collections.Counter(counts.transfers),
                        collections.Counter(counts.failures),
                        counts.received_bytes,
                    )
                zones.append((zone, counts))
        transfers = families["zonesync_transfers_total"]
        failures = families["zonesync_transfer_failures_total"]
        received = families["zonesync_transfer_received_bytes_total"]
        expired = families["zonesync_zone_expired"]
        bind_serial = families.get("bind_zone_serial")
        for zone, counts in zones:
            labels = [zone.view, zone.zone]
            for name, _help, attr in _ZONE_GAUGES:
                value = getattr(zone, attr)
                if value is not None:
                    families[name].add_metric(labels, value)
            expired.add_metric(labels, 1 if zone.expired else 0)
            if bind_serial is not None and zone.serial is not None:
                bind_serial.add_metric(labels, zone.serial)
            counts = counts or _ZoneCounts()
            for kind in TRANSFER_TYPES:
                for result in TRANSFER_RESULTS:
                    transfers.add_metric(
                        [*labels, kind, result], counts.transfers[kind, result]
                    )
            for reason in FailureReason:
                failures.add_metric(
                    [*labels, reason.value], counts.failures[reason.value]
                )
            received.add_metric(labels, counts.received_bytes)

    def _families(self) -> dict[str, _Family]:
        """Empty families, in exposition order."""
        families: list[_Family] = [
            GaugeMetricFamily(
                "zonesync_transfers_running", "Transfers in progress.", labels=[]
            ),
            GaugeMetricFamily(
                "zonesync_transfers_queued",
                "Transfers waiting for a free slot (transfers-in limits).",
                labels=[],
            ),
            GaugeMetricFamily(
                "zonesync_config_reload_success",
                "Whether the last configuration load succeeded (1) or not (0).",
                labels=[],
            ),
            GaugeMetricFamily(
                "zonesync_config_reload_timestamp_seconds",
                "When the configuration in force was loaded.",
                labels=[],
            ),
        ]
        if self._metrics.per_zone:
            families += [
                GaugeMetricFamily(name, help_text, labels=_ZONE)
                for name, help_text, _attr in _ZONE_GAUGES
            ]
            families += [
                GaugeMetricFamily(
                    "zonesync_zone_expired",
                    "Whether the zone has expired (1) or not (0).",
                    labels=_ZONE,
                ),
                CounterMetricFamily(
                    "zonesync_transfers_total",
                    _TRANSFERS_HELP,
                    labels=[*_ZONE, "type", "result"],
                ),
                CounterMetricFamily(
                    "zonesync_transfer_failures_total",
                    _FAILURES_HELP,
                    labels=[*_ZONE, "reason"],
                ),
                CounterMetricFamily(
                    "zonesync_transfer_received_bytes_total",
                    _RECEIVED_BYTES_HELP,
                    labels=_ZONE,
                ),
            ]
            if self._metrics.bind_compat:
                families.append(
                    GaugeMetricFamily(
                        "bind_zone_serial",
                        "Zone serial number.",
                        labels=["view", "zone_name"],
                    )
                )
        return {_exported_name(family): family for family in families}


def _exported_name(family: _Family) -> str:
    # CounterMetricFamily drops `_total` from .name; key by the exported name.
    return family.name + "_total" if family.type == "counter" else family.name
