import logging

import pytest

from zonesync.config.loader import load_config
from zonesync.transfer.manager import ZoneManager, endpoints_for, parse_source

SECRET = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def config(tmp_path, text):
    path = tmp_path / "named.conf"
    path.write_text(f'options {{ directory "{tmp_path}"; }};\n' + text)
    return load_config(str(path))


def test_masterfile_format_raw_is_refused_and_the_others_run(tmp_path, caplog):
    cfg = config(
        tmp_path,
        'zone "bad.example" { type secondary; file "bad.db"; masterfile-format raw;'
        " primaries { 192.0.2.1; }; };\n"
        'zone "good.example" { type secondary; file "good.db";'
        " primaries { 192.0.2.1; }; };\n",
    )
    with caplog.at_level(logging.ERROR):
        manager = ZoneManager(cfg, tmp_path / "state")
    assert [z.zone for z in manager.snapshot()] == ["good.example"]
    assert caplog.messages == [
        "zone bad.example/IN: masterfile-format raw is not supported (zonesync "
        "writes text zone files); zone not loaded"
    ]


def test_endpoints_keep_order_ports_keys_and_lists(tmp_path):
    cfg = config(
        tmp_path,
        f'key "k1" {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n'
        f'key "k2" {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n'
        "primaries upstream port 5300 { 192.0.2.1; 192.0.2.2 port 5301 key k1; };\n"
        "server 192.0.2.3 { keys { k2; }; request-ixfr no; transfer-source 192.0.2.53; };\n"
        'zone "example.com" { type secondary; file "e.db";'
        " primaries { upstream; 192.0.2.3; }; transfer-source 192.0.2.99 port 1053; };\n",
    )
    zone = next(cfg.secondary_zones())
    got = [
        (e.text, e.key.name.to_text() if e.key else None, e.source, e.request_ixfr)
        for e in endpoints_for(zone, cfg)
    ]
    assert got == [
        ("192.0.2.1#5300", None, ("192.0.2.99", 1053), True),
        ("192.0.2.2#5301", "k1.", ("192.0.2.99", 1053), True),
        # the server statement's key, source and request-ixfr win
        ("192.0.2.3#53", "k2.", ("192.0.2.53", 0), False),
    ]


@pytest.mark.parametrize(
    ("text", "v6", "source"),
    [
        ("*", False, None),
        ("* port *", False, None),
        ("* port 5353", False, ("0.0.0.0", 5353)),
        ("* port 5353", True, ("::", 5353)),
        ("address 192.0.2.1 port 53 dscp 4", False, ("192.0.2.1", 53)),
        ("192.0.2.1", False, ("192.0.2.1", 0)),
    ],
)
def test_parse_source(text, v6, source):
    assert parse_source(text, v6) == source


def test_tls_primaries_are_skipped_with_an_error(tmp_path, caplog):
    cfg = config(
        tmp_path,
        'zone "tls.example" { type secondary; file "t.db";'
        " primaries { 192.0.2.1 tls ephemeral; }; };\n"
        'zone "mixed.example" { type secondary; file "m.db";'
        " primaries { 192.0.2.1 tls ephemeral; 192.0.2.2; }; };\n",
    )
    with caplog.at_level(logging.ERROR):
        manager = ZoneManager(cfg, tmp_path / "state")
    assert [z.zone for z in manager.snapshot()] == ["mixed.example"]
    assert [
        e.text
        for e in manager.zones[("_default", next(iter(manager.zones))[1])].endpoints
    ] == ["192.0.2.2#53"]
    assert caplog.messages == [
        "zone tls.example/IN: primary 192.0.2.1#53: zone transfer over TLS is not supported yet; skipped",
        "zone tls.example/IN: no usable primaries; zone not loaded",
        "zone mixed.example/IN: primary 192.0.2.1#53: zone transfer over TLS is not supported yet; skipped",
    ]
