import logging

import dns.name
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


ZONE_A = (
    'zone "a.example" { type secondary; file "a.db"; primaries { 192.0.2.1; }; };\n'
)
ZONE_B = (
    'zone "b.example" { type secondary; file "b.db"; primaries { 192.0.2.1; }; };\n'
)
ZONE_C = (
    'zone "c.example" { type secondary; file "c.db"; primaries { 192.0.2.1; }; };\n'
)


async def test_apply_config_adds_removes_restarts_and_keeps(tmp_path):
    manager = ZoneManager(config(tmp_path, ZONE_A + ZONE_B), tmp_path / "state")
    before = dict(manager.zones)
    # a comment line shifts every zone; b changes its primary; a goes; c comes
    new = config(
        tmp_path,
        "# moved down a line\n"
        + ZONE_B.replace("192.0.2.1", "192.0.2.2")
        + ZONE_C
        + ZONE_A.replace("a.example", "a.example").replace("a.db", "a.db"),
    )
    summary = await manager.apply_config(new)
    assert (summary.added, summary.removed, summary.changed, summary.unchanged) == (
        1,
        0,
        1,
        1,
    )
    keys = {zone.config.name.to_text(): zone for zone in manager.zones.values()}
    assert keys["a.example."] is next(
        z for z in before.values() if z.config.name.to_text() == "a.example."
    )
    assert keys["b.example."] is not next(
        z for z in before.values() if z.config.name.to_text() == "b.example."
    )
    summary = await manager.apply_config(config(tmp_path, ZONE_C))
    assert (summary.added, summary.removed, summary.changed, summary.unchanged) == (
        0,
        2,
        0,
        1,
    )


async def test_changed_server_limits_restart_every_zone(tmp_path):
    manager = ZoneManager(config(tmp_path, ZONE_A), tmp_path / "state")
    path = tmp_path / "named.conf"
    path.write_text(
        f'options {{ directory "{tmp_path}"; transfers-in 3; }};\n' + ZONE_A
    )
    summary = await manager.apply_config(load_config(str(path)))
    assert summary.changed == 1
    assert manager.limits.values == (3, 2, 20)


def test_zones_are_found_by_name_in_any_case(tmp_path):
    manager = ZoneManager(
        config(tmp_path, ZONE_A.replace('"a.example"', '"A.Example"')),
        tmp_path / "state",
    )
    zone = manager.find("_default", dns.name.from_text("a.EXAMPLE"))
    assert zone is not None
    assert zone.config.name.to_text() == "A.Example."
    assert (
        manager.notify_zone("_default", dns.name.from_text("A.EXAMPLE.")) is zone.config
    )
    assert manager.find("_default", dns.name.from_text("a.example.org")) is None
    assert manager.find("other", dns.name.from_text("a.example")) is None
