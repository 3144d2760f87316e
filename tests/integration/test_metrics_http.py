"""The metrics endpoint over real HTTP on loopback, checked by promtool."""

from __future__ import annotations

import dataclasses
import gzip
import http.client
import logging
import socket
import subprocess

import pytest
from prometheus_client import CollectorRegistry

from tests.conftest import require_tool
from tests.metrics_support import NOW, ZONE
from zonesync.errors import FailureReason, ZoneSyncError
from zonesync.metrics import Metrics
from zonesync.metrics_http import MetricsServer
from zonesync.server.notify_in import NotifyResult
from zonesync.transfer.events import (
    FallbackReason,
    SoaResult,
    TransferOutcome,
    TsigError,
)

NEVER_LOADED = dataclasses.replace(
    ZONE,
    zone=".",
    serial=None,
    loaded=False,
    last_refresh_at=None,
    last_transfer_at=None,
    expires_at=None,
    primary_serial=None,
    records=0,
    size_bytes=0,
    expire_seconds=None,
)
TRANSFER = TransferOutcome(
    view="_default",
    zone="example.com",
    primary="192.0.2.1#53",
    key="xfr-key",
    requested="ixfr",
    actual="axfr-style ixfr",
    serial_from=2026112100,
    serial_to=2026112101,
    messages=3,
    records=120,
    bytes=5210,
    duration_seconds=0.041,
    reason=None,
)


def populated(per_zone=True, bind_compat=True):
    """A registry with every family holding samples."""
    registry = CollectorRegistry()
    zones = (ZONE, NEVER_LOADED, dataclasses.replace(ZONE, view="inside"))
    metrics = Metrics(
        registry,
        lambda: zones,
        lambda: (1, 3),
        per_zone=per_zone,
        bind_compat=bind_compat,
    )
    metrics.soa_query("_default", "example.com", SoaResult.NEWER)
    metrics.soa_query("_default", "example.com", FailureReason.TIMEOUT)
    metrics.transfer(TRANSFER)
    metrics.transfer(
        dataclasses.replace(TRANSFER, actual=None, reason=FailureReason.REFUSED)
    )
    metrics.refresh_failed("_default", "example.com", FailureReason.REFUSED)
    metrics.ixfr_fallback("_default", "example.com", FallbackReason.RCODE)
    metrics.tsig_error("_default", "example.com", TsigError.BADSIG)
    metrics.notify_received(NotifyResult.ACCEPTED)
    metrics.config_reloaded(True, NOW)
    return registry


class Ready:
    def __init__(self):
        self.value = False

    def __call__(self):
        return self.value


@pytest.fixture
def ready():
    return Ready()


@pytest.fixture
def server(ready):
    started = MetricsServer.start("127.0.0.1", 0, populated(), ready)
    yield started
    started.close()


def get(server, path, headers=None, method="GET"):
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


def promtool_check(text):
    promtool = require_tool("promtool")
    return subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("per_zone", "bind_compat"), [(True, True), (True, False), (False, True)]
)
def test_a_scrape_passes_promtool(ready, per_zone, bind_compat):
    registry = populated(per_zone=per_zone, bind_compat=bind_compat)
    started = MetricsServer.start("127.0.0.1", 0, registry, ready)
    try:
        status, response, body = get(started, "/metrics")
    finally:
        started.close()
    assert status == 200
    assert response.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    assert b"zonesync_build_info{" in body
    assert (b'zonesync_zone_serial{view="_default",zone="example.com"}' in body) == (
        per_zone
    )
    result = promtool_check(body)
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, output
    assert output == "", output


def test_healthz_answers_ok(server):
    status, response, body = get(server, "/healthz")
    assert (status, body) == (200, b"ok\n")
    assert response.getheader("Content-Type") == "text/plain; charset=utf-8"


def test_readyz_follows_ready(server, ready):
    assert get(server, "/readyz")[::2] == (503, b"not ready\n")
    ready.value = True
    assert get(server, "/readyz")[::2] == (200, b"ready\n")


@pytest.mark.parametrize("path", ["/", "/metricsx", "/metrics/", "/favicon.ico"])
def test_other_paths_are_404(server, path):
    assert get(server, path)[0] == 404


def test_a_query_string_is_ignored(server):
    status, _, body = get(server, "/metrics?name[]=zonesync_zone_serial")
    assert status == 200
    assert b"zonesync_transfers_total{" in body


def test_head_sends_headers_only(server):
    status, response, body = get(server, "/metrics", method="HEAD")
    assert status == 200
    assert body == b""
    assert int(response.getheader("Content-Length")) > 0


def test_gzip_when_asked(server):
    plain = get(server, "/metrics")[2]
    status, response, body = get(server, "/metrics", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    unzipped = gzip.decompress(body)
    # The values are the same; only the _created timestamps could differ.
    assert unzipped.splitlines()[:5] == plain.splitlines()[:5]


def test_openmetrics_when_asked(server):
    status, response, body = get(
        server, "/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert status == 200
    assert response.getheader("Content-Type").startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_requests_are_not_logged_to_stderr(server, capfd):
    get(server, "/metrics")
    get(server, "/nothing")
    assert capfd.readouterr().err == ""


def test_a_failing_collector_is_a_500_and_the_server_carries_on(ready, caplog):
    class Broken:
        def collect(self):
            raise RuntimeError("collector broke")

    registry = CollectorRegistry()
    registry.register(Broken())
    started = MetricsServer.start("127.0.0.1", 0, registry, ready)
    try:
        with caplog.at_level(logging.ERROR, logger="zonesync.metrics_http"):
            assert get(started, "/metrics")[0] == 500
        assert get(started, "/healthz")[0] == 200
    finally:
        started.close()
    assert "metrics: /metrics failed" in caplog.messages


def test_a_port_in_use_is_one_clear_error(server, ready):
    host, port = server.address
    with pytest.raises(ZoneSyncError) as info:
        MetricsServer.start(host, port, CollectorRegistry(), ready)
    assert str(info.value) == f"metrics on 127.0.0.1#{port}: Address already in use"


def test_close_frees_the_port(ready):
    started = MetricsServer.start("127.0.0.1", 0, CollectorRegistry(), ready)
    port = started.address[1]
    assert get(started, "/healthz")[0] == 200
    started.close()
    started.close()  # a second close does nothing
    with pytest.raises(ConnectionRefusedError):
        get(started, "/healthz")
    again = MetricsServer.start("127.0.0.1", port, CollectorRegistry(), ready)
    try:
        assert again.address == ("127.0.0.1", port)
        assert get(again, "/healthz")[0] == 200
    finally:
        again.close()


def ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_loopback(ready):
    started = MetricsServer.start("::1", 0, populated(), ready)
    try:
        assert started.address[0] == "::1"
        status, _, body = get(started, "/metrics")
    finally:
        started.close()
    assert status == 200
    assert b"zonesync_zone_serial{" in body
