"""Metrics: drive the events and a fake snapshot, read the registry."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.metrics_support import NOW, ZONE
from zonesync.errors import FailureReason
from zonesync.metrics import Metrics
from zonesync.server.notify_in import NotifyResult
from zonesync.transfer.events import (
    FallbackReason,
    SoaResult,
    TransferOutcome,
    TsigError,
    ZoneEvents,
)

OTHER = dataclasses.replace(ZONE, view="inside", zone="example.org")
LABELS = {"view": "_default", "zone": "example.com"}


class Fake:
    """The zones and transfer slots the metrics read at scrape time."""

    def __init__(self, *zones):
        self.zones = list(zones)
        self.running = 0
        self.queued = 0

    def snapshot(self):
        return tuple(self.zones)

    def transfers(self):
        return self.running, self.queued


def make(*zones, **kwargs):
    registry = CollectorRegistry()
    fake = Fake(*zones)
    metrics = Metrics(registry, fake.snapshot, fake.transfers, **kwargs)
    return registry, fake, metrics


TRANSFER = TransferOutcome(
    view="_default",
    zone="example.com",
    primary="192.0.2.1#53",
    key="xfr-key",
    requested="ixfr",
    actual="ixfr",
    serial_from=2026112101,
    serial_to=2026112102,
    messages=1,
    records=7,
    bytes=420,
    duration_seconds=0.042,
    reason=None,
)


def outcome(**overrides):
    return dataclasses.replace(TRANSFER, **overrides)


def names(registry):
    """Every sample name in the registry's exposition."""
    return {s.name for family in registry.collect() for s in family.samples}


def family_names(registry):
    """Every family as exposed (counters with _total)."""
    return {
        f.name + "_total" if f.type == "counter" else f.name for f in registry.collect()
    }


def test_metrics_is_a_zone_events():
    _, _, metrics = make()
    events: ZoneEvents = metrics  # mypy checks the Protocol
    assert events is metrics


def test_the_exported_families_are_the_reviewed_list():
    registry, _, _ = make(ZONE, bind_compat=True)
    assert family_names(registry) == {
        "zonesync_soa_queries_total",
        "zonesync_ixfr_fallbacks_total",
        "zonesync_notifies_received_total",
        "zonesync_tsig_errors_total",
        "zonesync_transfer_duration_seconds",
        "zonesync_build",  # exported as zonesync_build_info
        "zonesync_transfers_running",
        "zonesync_transfers_queued",
        "zonesync_config_reload_success",
        "zonesync_config_reload_timestamp_seconds",
        "zonesync_zone_serial",
        "zonesync_zone_primary_serial",
        "zonesync_zone_refresh_timestamp_seconds",
        "zonesync_zone_transfer_timestamp_seconds",
        "zonesync_zone_next_refresh_timestamp_seconds",
        "zonesync_zone_expiry_timestamp_seconds",
        "zonesync_zone_expire_seconds",
        "zonesync_zone_expired",
        "zonesync_zone_records",
        "zonesync_zone_bytes",
        "zonesync_transfers_total",
        "zonesync_transfer_failures_total",
        "zonesync_transfer_received_bytes_total",
        "bind_zone_serial",
        "bind_zone_transfer_success_total",
        "bind_zone_transfer_failure_total",
    }


@pytest.mark.parametrize(
    ("name", "label", "values"),
    [
        (
            "zonesync_soa_queries_total",
            "result",
            [*SoaResult, *FailureReason],
        ),
        ("zonesync_ixfr_fallbacks_total", "reason", list(FallbackReason)),
        ("zonesync_notifies_received_total", "result", list(NotifyResult)),
        ("zonesync_tsig_errors_total", "error", list(TsigError)),
        ("zonesync_transfer_duration_seconds_count", "type", ["axfr", "ixfr"]),
    ],
)
def test_counters_of_known_labels_start_at_zero(name, label, values):
    registry, _, _ = make()
    for value in values:
        assert registry.get_sample_value(name, {label: str(value)}) == 0.0, value


def test_per_zone_counters_start_at_zero_for_every_zone():
    registry, _, _ = make(ZONE, OTHER)
    for zone in (ZONE, OTHER):
        labels = {"view": zone.view, "zone": zone.zone}
        for kind in ("axfr", "ixfr"):
            for result in ("success", "failure"):
                value = registry.get_sample_value(
                    "zonesync_transfers_total",
                    labels | {"type": kind, "result": result},
                )
                assert value == 0.0
        for reason in FailureReason:
            value = registry.get_sample_value(
                "zonesync_transfer_failures_total", labels | {"reason": reason}
            )
            assert value == 0.0
        value = registry.get_sample_value(
            "zonesync_transfer_received_bytes_total", labels
        )
        assert value == 0.0


def test_build_info():
    registry, _, _ = make(version="1.2.3")
    assert registry.get_sample_value("zonesync_build_info", {"version": "1.2.3"}) == 1


def test_soa_queries_by_result():
    registry, _, metrics = make(ZONE)
    metrics.soa_query("_default", "example.com", SoaResult.UP_TO_DATE)
    metrics.soa_query("_default", "example.com", SoaResult.UP_TO_DATE)
    metrics.soa_query("_default", "example.com", FailureReason.TIMEOUT)
    get = registry.get_sample_value
    assert get("zonesync_soa_queries_total", {"result": "up_to_date"}) == 2
    assert get("zonesync_soa_queries_total", {"result": "timeout"}) == 1
    assert get("zonesync_soa_queries_total", {"result": "newer"}) == 0


@pytest.mark.parametrize(
    ("requested", "actual", "kind"),
    [
        ("axfr", "axfr", "axfr"),
        ("ixfr", "ixfr", "ixfr"),
        ("ixfr", "axfr-style ixfr", "axfr"),
        ("ixfr", "up to date", "ixfr"),
        ("ixfr", None, "ixfr"),
        ("axfr", None, "axfr"),
    ],
)
def test_transfer_type_is_what_the_primary_sent(requested, actual, kind):
    registry, _, metrics = make(ZONE)
    metrics.transfer(outcome(requested=requested, actual=actual))
    value = registry.get_sample_value(
        "zonesync_transfers_total", LABELS | {"type": kind, "result": "success"}
    )
    assert value == 1
    assert (
        registry.get_sample_value(
            "zonesync_transfer_duration_seconds_count", {"type": kind}
        )
        == 1
    )


def test_successful_transfer_counts_bytes_and_duration():
    registry, _, metrics = make(ZONE)
    metrics.transfer(outcome(bytes=420, duration_seconds=0.042))
    metrics.transfer(outcome(bytes=80, duration_seconds=3.0))
    get = registry.get_sample_value
    assert (
        get("zonesync_transfers_total", LABELS | {"type": "ixfr", "result": "success"})
        == 2
    )
    assert get("zonesync_transfer_received_bytes_total", LABELS) == 500
    assert get("zonesync_transfer_duration_seconds_count", {"type": "ixfr"}) == 2
    assert get("zonesync_transfer_duration_seconds_sum", {"type": "ixfr"}) == 3.042
    bucket = {"type": "ixfr", "le": "0.05"}
    assert get("zonesync_transfer_duration_seconds_bucket", bucket) == 1


def test_failed_transfer_counts_bytes_but_no_duration():
    registry, _, metrics = make(ZONE)
    metrics.transfer(
        outcome(
            requested="axfr",
            actual="axfr",
            bytes=1000,
            duration_seconds=120.0,
            reason=FailureReason.TIMEOUT,
        )
    )
    get = registry.get_sample_value
    assert (
        get("zonesync_transfers_total", LABELS | {"type": "axfr", "result": "failure"})
        == 1
    )
    assert get("zonesync_transfer_received_bytes_total", LABELS) == 1000
    assert get("zonesync_transfer_duration_seconds_count", {"type": "axfr"}) == 0
    # A failed transfer attempt is not a failed refresh: that has its own event.
    assert get("zonesync_transfer_failures_total", LABELS | {"reason": "timeout"}) == 0


def test_failures_count_failed_refreshes_by_reason():
    registry, _, metrics = make(ZONE, OTHER)
    metrics.refresh_failed("_default", "example.com", FailureReason.REFUSED)
    metrics.refresh_failed("_default", "example.com", FailureReason.TOO_LARGE)
    metrics.refresh_failed("_default", "example.com", FailureReason.REFUSED)
    get = registry.get_sample_value
    name = "zonesync_transfer_failures_total"
    assert get(name, LABELS | {"reason": "refused"}) == 2
    assert get(name, LABELS | {"reason": "too-large"}) == 1
    other = {"view": "inside", "zone": "example.org", "reason": "refused"}
    assert get(name, other) == 0


def test_fallbacks_tsig_errors_and_notifies():
    registry, _, metrics = make(ZONE)
    metrics.ixfr_fallback("_default", "example.com", FallbackReason.APPLY)
    metrics.tsig_error("_default", "example.com", TsigError.BADTIME)
    metrics.tsig_error("_default", "example.com", TsigError.BADTIME)
    metrics.notify_received(NotifyResult.NOT_PRIMARY)
    get = registry.get_sample_value
    assert get("zonesync_ixfr_fallbacks_total", {"reason": "apply"}) == 1
    assert get("zonesync_ixfr_fallbacks_total", {"reason": "rcode"}) == 0
    assert get("zonesync_tsig_errors_total", {"error": "BADTIME"}) == 2
    assert get("zonesync_notifies_received_total", {"result": "not_primary"}) == 1
    assert get("zonesync_notifies_received_total", {"result": "accepted"}) == 0


def test_zone_gauges_read_the_snapshot_at_scrape_time():
    registry, fake, _ = make(ZONE)
    get = registry.get_sample_value
    assert get("zonesync_zone_serial", LABELS) == 2026112101
    fake.zones = [dataclasses.replace(ZONE, serial=2026112102)]
    assert get("zonesync_zone_serial", LABELS) == 2026112102
    assert get("zonesync_zone_primary_serial", LABELS) == 2026112102
    assert get("zonesync_zone_refresh_timestamp_seconds", LABELS) == NOW - 60
    assert get("zonesync_zone_transfer_timestamp_seconds", LABELS) == NOW - 3600
    assert get("zonesync_zone_next_refresh_timestamp_seconds", LABELS) == NOW + 300
    assert get("zonesync_zone_expiry_timestamp_seconds", LABELS) == NOW + 86400
    assert get("zonesync_zone_expire_seconds", LABELS) == 1209600
    assert get("zonesync_zone_expired", LABELS) == 0
    assert get("zonesync_zone_records", LABELS) == 120
    assert get("zonesync_zone_bytes", LABELS) == 5210


def test_unknown_values_are_omitted_and_expired_is_always_there():
    never = dataclasses.replace(
        ZONE,
        serial=None,
        loaded=False,
        last_refresh_at=None,
        last_transfer_at=None,
        next_refresh_at=None,
        expires_at=None,
        primary=None,
        primary_serial=None,
        records=0,
        size_bytes=0,
        expire_seconds=None,
    )
    registry, _, _ = make(never, bind_compat=True)
    get = registry.get_sample_value
    for name in (
        "zonesync_zone_serial",
        "zonesync_zone_primary_serial",
        "zonesync_zone_refresh_timestamp_seconds",
        "zonesync_zone_transfer_timestamp_seconds",
        "zonesync_zone_next_refresh_timestamp_seconds",
        "zonesync_zone_expiry_timestamp_seconds",
        "zonesync_zone_expire_seconds",
    ):
        assert get(name, LABELS) is None, name
    assert (
        get("bind_zone_serial", {"view": "_default", "zone_name": "example.com"})
        is None
    )
    assert get("zonesync_zone_expired", LABELS) == 0
    assert get("zonesync_zone_records", LABELS) == 0
    assert get("zonesync_zone_bytes", LABELS) == 0


def test_expired_zone_reads_one():
    registry, _, _ = make(dataclasses.replace(ZONE, expired=True, loaded=False))
    assert registry.get_sample_value("zonesync_zone_expired", LABELS) == 1


def test_a_zone_leaving_the_snapshot_vanishes_from_the_next_scrape():
    registry, fake, metrics = make(ZONE, OTHER)
    metrics.transfer(outcome())
    metrics.refresh_failed("_default", "example.com", FailureReason.NETWORK)
    fake.zones = [OTHER]
    text = generate_latest(registry).decode()
    assert 'zone="example.com"' not in text
    assert 'zone="example.org"' in text
    # Back in the config, its counters carry on (a counter never goes down).
    fake.zones = [ZONE, OTHER]
    get = registry.get_sample_value
    assert (
        get("zonesync_transfers_total", LABELS | {"type": "ixfr", "result": "success"})
        == 1
    )


def test_a_name_twice_in_one_view_is_exported_once():
    registry, _, _ = make(ZONE, dataclasses.replace(ZONE, serial=1))
    text = generate_latest(registry).decode()
    assert text.count("zonesync_zone_serial{") == 1
    assert registry.get_sample_value("zonesync_zone_serial", LABELS) == 2026112101


def test_per_zone_off_drops_zone_families_and_labels():
    registry, _, metrics = make(ZONE, per_zone=False, bind_compat=True)
    metrics.transfer(outcome())
    metrics.transfer(outcome(reason=FailureReason.TSIG, actual=None))
    metrics.refresh_failed("_default", "example.com", FailureReason.TSIG)
    assert not {n for n in names(registry) if n.startswith("zonesync_zone_")}
    assert "bind_zone_serial" not in names(registry)
    assert "zone=" not in generate_latest(registry).decode()
    get = registry.get_sample_value
    assert get("zonesync_transfers_total", {"type": "ixfr", "result": "success"}) == 1
    assert get("zonesync_transfers_total", {"type": "ixfr", "result": "failure"}) == 1
    assert get("zonesync_transfers_total", {"type": "axfr", "result": "success"}) == 0
    assert get("zonesync_transfer_failures_total", {"reason": "tsig"}) == 1
    assert get("zonesync_transfer_failures_total", {"reason": "store"}) == 0
    assert get("zonesync_transfer_received_bytes_total") == 840
    assert get("zonesync_transfers_running") == 0
    assert get("bind_zone_transfer_success_total") == 1


def test_bind_compat_exports_bind_exporter_names():
    registry, _, metrics = make(ZONE, bind_compat=True)
    get = registry.get_sample_value
    assert get("bind_zone_transfer_success_total") == 0
    assert get("bind_zone_transfer_failure_total") == 0
    metrics.transfer(outcome())
    metrics.transfer(outcome(reason=FailureReason.REFUSED, actual=None))
    metrics.transfer(outcome(reason=FailureReason.TIMEOUT))
    bind_labels = {"view": "_default", "zone_name": "example.com"}
    assert get("bind_zone_serial", bind_labels) == 2026112101
    assert get("bind_zone_transfer_success_total") == 1
    assert get("bind_zone_transfer_failure_total") == 2


def test_no_bind_names_without_bind_compat():
    registry, _, metrics = make(ZONE)
    metrics.transfer(outcome())
    assert not {n for n in names(registry) if n.startswith("bind_")}


def test_transfers_running_and_queued():
    registry, fake, _ = make()
    fake.running, fake.queued = 2, 5
    assert registry.get_sample_value("zonesync_transfers_running") == 2
    assert registry.get_sample_value("zonesync_transfers_queued") == 5


def test_config_reload_success_and_timestamp():
    registry, _, metrics = make()
    get = registry.get_sample_value
    assert get("zonesync_config_reload_success") is None
    assert get("zonesync_config_reload_timestamp_seconds") is None
    metrics.config_reloaded(True, NOW)
    assert get("zonesync_config_reload_success") == 1
    assert get("zonesync_config_reload_timestamp_seconds") == NOW
    # A failed reload keeps the config in force, and its load time.
    metrics.config_reloaded(False, NOW + 60)
    assert get("zonesync_config_reload_success") == 0
    assert get("zonesync_config_reload_timestamp_seconds") == NOW
    metrics.config_reloaded(True, NOW + 120)
    assert get("zonesync_config_reload_success") == 1
    assert get("zonesync_config_reload_timestamp_seconds") == NOW + 120


def test_registering_does_not_scrape():
    def snapshot():
        raise AssertionError("snapshot() called at registration")

    def transfers():
        raise AssertionError("transfers() called at registration")

    Metrics(CollectorRegistry(), snapshot, transfers, bind_compat=True)


def test_no_secret_error_text_or_primary_in_labels():
    zone = dataclasses.replace(
        ZONE, last_error="failed while receiving responses: connection reset"
    )
    registry, _, metrics = make(zone)
    metrics.transfer(outcome(key="secret-key-name", reason=FailureReason.TSIG))
    text = generate_latest(registry).decode()
    for word in ("connection reset", "192.0.2.1", "secret-key-name", "receiving"):
        assert word not in text


def test_the_same_names_register_twice_in_fresh_registries():
    make(ZONE, bind_compat=True)
    make(ZONE, bind_compat=True)
    make(ZONE, per_zone=False, bind_compat=True)
