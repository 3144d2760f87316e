"""The loader: named.conf text in, model or BIND-worded problems out."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dns.name
import dns.rdataclass
import dns.tsig
import pytest

from zonesync.config import load_config
from zonesync.config.model import Config, Source, ZoneType
from zonesync.errors import ConfigError

SECRET = "c2VjcmV0LXZhbHVlLTEyMzQ="


def load(tmp_path: Path, text: str) -> Config:
    (tmp_path / "named.conf").write_text(text)
    return load_config("named.conf", cwd=tmp_path)


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "named.conf").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config("named.conf", cwd=tmp_path)
    return [str(p) for p in info.value.problems]


def test_secondary_zone_with_inherited_options(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    config = load(
        tmp_path,
        f"""
key "xfr" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
primaries upstream port 5300 {{ 192.0.2.1; 192.0.2.2 port 53 key "xfr"; }};
options {{
    directory "cache";
    max-refresh-time 3600;
    allow-notify {{ 198.51.100.0/24; }};
    transfers-in 20;
}};
zone "Example.COM" {{
    type slave;
    file "db.example";
    masters {{ upstream; 2001:db8::1; }};
    min-retry-time 60;
    allow-query {{ any; }};
}};
""",
    )
    (zone,) = config.zones
    assert zone.name == dns.name.from_text("example.com")
    assert zone.type is ZoneType.SECONDARY
    assert zone.type_text == "slave"
    assert zone.rdclass == dns.rdataclass.IN
    assert zone.view == "_default"
    assert zone.file == tmp_path / "cache" / "db.example"
    assert [(str(p.address), p.port, p.key) for p in zone.primaries] == [
        ("192.0.2.1", 5300, None),
        ("192.0.2.2", 53, "xfr"),
        ("2001:db8::1", None, None),
    ]
    assert zone.settings["max-refresh-time"].value == 3600
    assert zone.settings["max-refresh-time"].source is Source.OPTIONS
    assert zone.settings["min-retry-time"].value == 60
    assert zone.settings["min-retry-time"].source is Source.ZONE
    assert zone.settings["max-transfer-time-in"].value == 120
    assert zone.settings["max-transfer-time-in"].source is Source.DEFAULT
    assert zone.ignored == ("allow-query",)
    allow_notify = zone.setting("allow-notify")
    assert allow_notify.match(ipaddress.ip_address("198.51.100.7"))  # type: ignore[attr-defined]
    assert not allow_notify.match(ipaddress.ip_address("192.0.2.7"))  # type: ignore[attr-defined]
    assert config.server_settings["transfers-in"].value == 20
    assert config.server_settings["transfers-per-ns"].value == 2
    key = config.keys["xfr."]
    assert key.algorithm == dns.tsig.HMAC_SHA256
    assert SECRET not in repr(key)
    assert config.zone_list() == ["Example.COM IN _default slave"]


def test_views_with_key_match_clients_and_view_inheritance(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        f"""
key "int" {{ algorithm hmac-sha512; secret "{SECRET}"; }};
options {{ request-ixfr yes; }};
view "internal" {{
    match-clients {{ key "int"; !192.0.2.9; 192.0.2.0/24; }};
    request-ixfr no;
    zone "example.com" {{ type secondary; primaries {{ 192.0.2.1 key "int"; }}; }};
}};
view "external" chaos {{
    zone "example.com" {{ type secondary; primaries {{ 192.0.2.1; }}; }};
}};
""",
    )
    internal, external = config.views
    assert [z.view for z in config.zones] == ["internal", "external"]
    assert internal.zones[0].settings["request-ixfr"].value is False
    assert internal.zones[0].settings["request-ixfr"].source is Source.VIEW
    assert internal.zones[0].file is None  # memory only, as BIND does
    assert external.zones[0].settings["request-ixfr"].source is Source.OPTIONS
    assert external.rdclass == dns.rdataclass.CH
    key = dns.name.from_text("int")
    match = internal.match_clients
    assert match.match(ipaddress.ip_address("203.0.113.1"), key)
    assert not match.match(ipaddress.ip_address("192.0.2.9"))
    assert match.match(ipaddress.ip_address("192.0.2.10"))
    assert not match.match(ipaddress.ip_address("203.0.113.1"))
    assert config.zone_list() == [
        "example.com IN internal secondary",
        "example.com CH external secondary",
    ]


def test_nested_acls_and_negated_nested_list(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
acl inner { 10.0.0.0/8; };
acl outer { !10.1.0.0/16; inner; };
options { allow-transfer { !{ outer; }; any; }; };
zone "a" { type secondary; primaries { 192.0.2.1; }; };
""",
    )
    acl = config.acls["outer"].elements
    acls = {name: a.elements for name, a in config.acls.items()}
    assert acl.match(ipaddress.ip_address("10.2.0.1"), acls=acls)
    assert not acl.match(ipaddress.ip_address("10.1.0.1"), acls=acls)
    (zone,) = config.zones
    transfer = zone.setting("allow-transfer")
    assert not transfer.match(ipaddress.ip_address("10.2.0.1"), acls=acls)  # type: ignore[attr-defined]
    # outer denies 10.1/16: a denying nested list is no match, so `any` allows.
    assert transfer.match(ipaddress.ip_address("10.1.0.1"), acls=acls)  # type: ignore[attr-defined]


def test_in_view_zone_is_listed_as_bind_lists_it(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
view a { zone "x" { type primary; file "x.db"; }; };
view b { zone "x" { in-view a; }; };
""",
    )
    assert config.zone_list() == ["x IN a primary", "x IN b in-view a"]
    assert list(config.secondary_zones()) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'zone "a" { type secondary; primaries { 1.2.3.4; }; };\n'
            'zone "A." { type secondary; primaries { 1.2.3.4; }; };\n',
            [
                "named.conf:2: zone 'a': already exists previous definition: named.conf:1"
            ],
        ),
        (
            'zone "a" { type secondary; };\n',
            ["named.conf:1: zone 'a': missing 'primaries' entry"],
        ),
        (
            'zone "a" { type secondary; primaries { }; };\n',
            ["named.conf:1: zone 'a': empty 'primaries' entry"],
        ),
        (
            'zone "a" { type secondary; primaries { nolist; }; };\n',
            ["named.conf:1: unable to find primaries list 'nolist'"],
        ),
        (
            'zone "a" { type secondary; primaries { 1.2.3.4 tls t; }; };\n',
            ["named.conf:1: tls 't' is not defined"],
        ),
        (
            'zone "a" { type primary; };\n',
            ["named.conf:1: zone 'a': missing 'file' entry"],
        ),
        (
            'zone "a" { type secondary; file "f"; primaries { 1.2.3.4; }; };\n'
            'zone "b" { type primary; file "f"; };\n',
            ["named.conf:2: writeable file 'f': already in use: named.conf:1"],
        ),
        (
            "options { allow-query { nope; }; };\n",
            ["named.conf:1: undefined ACL 'nope'"],
        ),
        (
            "acl a { any; };\nacl a { none; };\n",
            [
                "named.conf:2: attempt to redefine acl 'a' previous definition: named.conf:1"
            ],
        ),
        (
            f'key k {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n'
            f'key K. {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n',
            [
                "named.conf:2: key 'K.': already exists previous definition: named.conf:1"
            ],
        ),
        (
            f'key k {{ algorithm hmac-foo; secret "{SECRET}"; }};\n',
            ["named.conf:1: unknown algorithm 'hmac-foo'"],
        ),
        (
            'key k { algorithm hmac-sha256; secret "not base64!"; };\n',
            ["named.conf:1: bad secret 'bad base64 encoding'"],
        ),
        (
            "key k { algorithm hmac-sha256; };\n",
            ["named.conf:1: key 'k' must have both 'secret' and 'algorithm' defined"],
        ),
        (
            "primaries p { 1.2.3.4; };\nmasters p { 1.2.3.5; };\n",
            [
                "named.conf:2: masters list 'p' is duplicated: also defined at named.conf:1"
            ],
        ),
        (
            "view v { };\nzone a { type secondary; primaries { 1.2.3.4; }; };\n",
            ["named.conf:2: when using 'view' statements, all zones must be in views"],
        ),
        (
            "view v { };\nview v { };\n",
            [
                "named.conf:2: view 'v': already exists previous definition: named.conf:1"
            ],
        ),
        (
            'view v { zone a ch { type hint; file "h"; }; };\n',
            ["named.conf:1: zone 'a': class 'ch' does not match view/default class"],
        ),
        (
            "view v { zone a { in-view w; }; };\n",
            [
                "named.conf:1: 'in-view' zone 'a' does not exist in view 'w', "
                "or view 'w' is not yet defined"
            ],
        ),
        (
            'server 192.0.2.1 { keys "nokey"; };\n',
            ["named.conf:1: unknown key 'nokey'"],
        ),
        (
            'view "_default" { };\n',
            ["named.conf:1: attempt to redefine builtin view '_default'"],
        ),
        (
            "acl a { nosuch; };\nacl b { a; };\noptions { allow-query { b; }; };\n",
            ["named.conf:1: undefined ACL 'nosuch'"],
        ),
    ],
)
def test_problems_are_worded_as_named_checkconf(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    assert problems(tmp_path, text) == expected


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        'zone "a" { type secondary; };\nzone "b" { type primary; };\n'
        "options { allow-query { nope; }; };\n",
    )
    assert found == [
        "named.conf:3: undefined ACL 'nope'",
        "named.conf:1: zone 'a': missing 'primaries' entry",
        "named.conf:2: zone 'b': missing 'file' entry",
    ]


def test_unused_acl_and_builtin_view_names_in_other_classes_are_accepted(
    tmp_path: Path,
) -> None:
    config = load(
        tmp_path,
        'acl unused { nosuch; };\nview "_default" ch { };\nview "_bind" in { };\n',
    )
    assert [v.name for v in config.views] == ["_default", "_bind"]


def test_tabs_do_not_shift_line_numbers(tmp_path: Path) -> None:
    text = 'options {\n\tdirectory\t".";\n};\n\n\tzone\t"a" {\ttype\tsecondary; };\n'
    assert problems(tmp_path, text) == [
        "named.conf:5: zone 'a': missing 'primaries' entry"
    ]


def test_acl_list_and_tls_names_ignore_case_as_in_bind(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "acl Inside { 10/8; };\ntls T { };\nprimaries Up { 192.0.2.1 tls t; };\n"
        "options { allow-transfer { INSIDE; }; };\n"
        'zone "a" { type secondary; primaries { up; }; };\n',
    )
    (zone,) = config.zones
    assert [(str(p.address), p.tls) for p in zone.primaries] == [("192.0.2.1", "t")]
    acls = {name: acl.elements for name, acl in config.acls.items()}
    transfer = zone.setting("allow-transfer")
    assert transfer.match(ipaddress.ip_address("10.1.2.3"), acls=acls)  # type: ignore[attr-defined]
    assert problems(tmp_path, "acl A { any; };\nacl a { none; };\n") == [
        "named.conf:2: attempt to redefine acl 'a' previous definition: named.conf:1"
    ]


def test_hint_and_redirect_zones_do_not_clash_with_others(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        'zone "." { type hint; file "root.hint"; };\n'
        'zone "." { type redirect; file "redirect.db"; };\n'
        'zone "." { type secondary; primaries { 192.0.2.1; }; };\n',
    )
    assert [z.type for z in config.zones] == [
        ZoneType.HINT,
        ZoneType.REDIRECT,
        ZoneType.SECONDARY,
    ]


def test_primaries_list_cycle_is_accepted_and_bounded(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "primaries a { 192.0.2.1; b; };\nprimaries b { a; 192.0.2.2; };\n"
        'zone "z" { type secondary; primaries { a; }; };\n',
    )
    (zone,) = config.zones
    addresses = [str(p.address) for p in zone.primaries]
    assert addresses[:2] == ["192.0.2.1", "192.0.2.2"]
    assert len(addresses) < 100
