"""BIND 9.18's typed grammar: text in, named-checkconf's problems out.

Every expected message below is the one named-checkconf 9.18.49 prints for
the statement concerned (BIND stops at a file's first parse error; we report
the first problem of each top-level statement). Texts expected to pass are
accepted by named-checkconf as a whole.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import pytest

from tests.conftest import require_file
from zonesync.config import clauses
from zonesync.config.clausedata import CLAUSES, ZONE_TYPES
from zonesync.config.grammar import parse_text

ROOT = Path(__file__).resolve().parents[3]


def problems(text: str) -> list[str]:
    return [str(p) for p in clauses.check_grammar(parse_text(text, "named.conf"))]


def test_accepts_a_typical_secondary_config() -> None:
    text = """
key "k1" { algorithm hmac-sha256; secret "aGVsbG8="; };
primaries upstream { 192.0.2.1; 2001:db8::1 port 5300 key "k1"; };
masters legacy port 5300 { 192.0.2.9; };
acl trusted { 10.0.0.0/8; !192.168/16; key k1; { localhost; }; };
options {
    directory "/var/cache/bind";
    recursion no;
    allow-transfer port 53 transport tcp { trusted; };
    notify explicit;
    also-notify { upstream; 192.0.2.7 port 53; };
    max-cache-size 10%;
    max-journal-size 10m;
    max-zone-ttl unlimited;
    dnssec-validation true;
    listen-on port 5300 { 127.0.0.1; };
    query-source address * port 0;
    transfer-source 192.0.2.53 port 0;
};
logging {
    channel c { file "log" versions 3 size 10m; severity debug 3; print-time iso8601; };
    category default { c; };
};
view "other" {
    zone "shared.example" { type secondary; primaries { upstream; }; };
};
view "internal" IN {
    match-clients { key "k1"; };
    zone "example.com" {
        type secondary;
        file "internal/example.com.db";
        primaries port 53 { upstream; 192.0.2.3 key k1; };
        max-transfer-time-in 60;
    };
    zone "legacy.example" { type slave; masters { legacy; }; };
    zone "shared.example" { in-view "other"; };
};
"""
    assert problems(text) == []


def test_clause_names_are_case_insensitive() -> None:
    assert problems("OPTIONS { Recursion YES; };") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("frobnicator;", "named.conf:1: unknown option 'frobnicator'"),
        ("options { frobnicate yes; };", "named.conf:1: unknown option 'frobnicate'"),
        # A zone-only clause is unknown in options, an options-only one in zones.
        ('options { file "x"; };', "named.conf:1: unknown option 'file'"),
        (
            'zone "x" { type primary; file "x"; pid-file "y"; };',
            "named.conf:1: unknown option 'pid-file'",
        ),
        ('options { key "k"; };', "named.conf:1: unknown option 'key'"),
        ("dns64 64:ff9b::/96 { };", "named.conf:1: unknown option 'dns64'"),
        (
            "options { " + "a" * 40 + " 1; };",
            "named.conf:1: unknown option '" + "a" * 30 + "...'",
        ),
    ],
)
def test_unknown_options(text: str, message: str) -> None:
    assert problems(text) == [message]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("options { use-id-pool yes; };", "option 'use-id-pool' no longer exists"),
        ("options { fetch-glue no; };", "option 'fetch-glue' no longer exists"),
        ("options { dnssec-enable yes; };", "option 'dnssec-enable' no longer exists"),
        ("lwres { };", "option 'lwres' no longer exists"),
        (
            'zone "x" { type primary; file "x"; maintain-ixfr-base yes; };',
            "option 'maintain-ixfr-base' no longer exists",
        ),
        (
            "options { dnsrps-enable yes; };",
            "option 'dnsrps-enable' was not enabled at compile time",
        ),
    ],
)
def test_options_bind_only_rejects(text: str, message: str) -> None:
    assert problems(text) == [f"named.conf:1: {message}"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("recursion maybe", "boolean expected near 'maybe'"),
        ('recursion "yes"', "boolean expected near '\"'"),
        ("recursion", "boolean expected near ';'"),
        ("recursion { yes; }", "boolean expected near '{'"),
        ("edns-udp-size abc", "expected number near 'abc'"),
        ("edns-udp-size 08", "expected number near '08'"),
        ("edns-udp-size 4294967296", "out of range "),
        ("max-cache-ttl 1x", "expected ISO 8601 duration or TTL value near '1x'"),
        (
            "max-cache-ttl PT1.5H",
            "expected ISO 8601 duration or TTL value near 'PT1.5H'",
        ),
        ("max-cache-ttl P1W2D", "expected ISO 8601 duration or TTL value near 'P1W2D'"),
        ("max-zone-ttl 8000w", "duration or TTL out of range near '8000w'"),
        (
            "lmdb-mapsize unlimited",
            "expected integer and optional unit near 'unlimited'",
        ),
        (
            "max-cache-size 10q",
            "expected integer and optional unit or percent near '10q'",
        ),
        ("max-ixfr-ratio 10", "expected percentage near '10'"),
        ("directory /var/x", "expected quoted string near '/'"),
        ("forward sideways", "'sideways' unexpected"),
        ('forward "first"', "expected unquoted string near '\"'"),
        ("allow-query 10.0.0.1", "'{' expected near '10.0.0.1'"),
        (
            "allow-query { 10.0.0.1/8; }",
            "'10.0.0.1/8': address/prefix length mismatch '8'",
        ),
        ("allow-query { 10.0.0.0/33; }", "invalid prefix length '33'"),
        ("allow-query { 127.1; }", "incomplete IPv4 address or prefix near ';'"),
        ("allow-query { 10.0.0.0/x; }", "expected prefix length near 'x'"),
        ("allow-query { 10.0.0.1 10.0.0.2; }", "missing ';' before '10.0.0.2'"),
        ("notify-source foo", "expected IPv4 address or '*' near 'foo'"),
        ("notify-source-v6 10.0.0.1", "expected IPv6 address or '*' near '10.0.0.1'"),
        ("notify-source 10.0.0.1 port 99999", "port number out of range near '99999'"),
        ("notify-source 10.0.0.1 port 1 port 2", "expected at most one port"),
        ("query-source address 1.2.3.4 foo", "expected 'address' or 'port' near 'foo'"),
        ("listen-on tls x port 53 { any; }", "unexpected 'port'"),
        ("recursion yes no", "missing ';' before 'no'"),
    ],
)
def test_value_errors_in_options(value: str, message: str) -> None:
    assert problems(f"options {{ {value}; }};") == [f"named.conf:1: {message}"]


@pytest.mark.parametrize(
    ("zone_body", "message"),
    [
        (
            "type static-stub; server-addresses { 192.0.2.0/24; };",
            "missing ';' before '/'",
        ),
        (
            "type static-stub; server-addresses { 192.0.2.1 port 53; };",
            "missing ';' before 'port'",
        ),
        ('type "master"; file "x";', "expected unquoted string near '\"'"),
        ("type bogus;", "'bogus' unexpected"),
        (
            'type primary; file "x"; update-policy foo;',
            "parsing failed: unexpected token",
        ),
        (
            'type primary; file "x"; update-policy { grant x name; };',
            "expected string near ';'",
        ),
        (
            "type secondary; primaries { 192.0.2.1 dscp 4; };",
            "missing ';' before 'dscp'",
        ),
    ],
)
def test_value_errors_in_zones(zone_body: str, message: str) -> None:
    assert problems(f'zone "x" {{ {zone_body} }};') == [f"named.conf:1: {message}"]


def test_remote_list_header_takes_port_not_key() -> None:
    text = "primaries p key k { 192.0.2.1; };"
    assert problems(text) == ["named.conf:1: '{' expected near 'key'"]


def test_a_clause_given_twice() -> None:
    assert problems("options { notify yes; NOTIFY no; };") == [
        "named.conf:1: 'notify' redefined near 'NOTIFY'"
    ]
    assert problems("options { };\noptions { };") == [
        "named.conf:2: 'options' redefined near 'options'"
    ]
    # Multi-valued clauses may repeat; so may zones.
    assert problems("options { listen-on { any; }; listen-on { none; }; };") == []


def test_structural_errors() -> None:
    assert problems('zone "x" { "type" master; };') == [
        "named.conf:1: '}' expected near '\"'"
    ]
    assert problems('"options" { };') == ["named.conf:1: syntax error near '\"'"]
    assert problems("options x { };") == ["named.conf:1: '{' expected near 'x'"]


def test_lines_are_those_of_the_offending_token() -> None:
    text = 'options {\n  directory "/tmp";\n  notify\n    maybe;\n};\n'
    assert problems(text) == ["named.conf:4: boolean expected near 'maybe'"]


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        (
            'zone "dummy" { type master; file "x"; request-ixfr no; };',
            "option 'request-ixfr' is not allowed in 'master' zone 'dummy'",
        ),
        (
            'zone "e" { type primary; file "x"; primaries { 192.0.2.1; }; };',
            "option 'primaries' is not allowed in 'primary' zone 'e'",
        ),
        (
            'zone "e" { type stub; primaries { 192.0.2.1; }; notify no; };',
            "option 'notify' is not allowed in 'stub' zone 'e'",
        ),
        (
            'zone "." { type mirror; parental-agents { 192.0.2.1; }; };',
            "option 'parental-agents' is not allowed in 'mirror' zone '.'",
        ),
        ('zone "e" { file "e.db"; };', "zone 'e': type not present"),
        (
            'zone "e" { type redirect; file "e.db"; };',
            'redirect zones must be called "."',
        ),
    ],
)
def test_zone_type_checks(zone: str, message: str) -> None:
    assert problems(zone) == [f"named.conf:1: {message}"]


def test_zone_type_synonyms_and_in_view() -> None:
    text = """
masters m { 192.0.2.1; };
view w {
    zone "a" { type slave; masters { m; }; };
    zone "b" { type secondary; primaries { m; }; };
};
view v { zone "a" { in-view "w"; }; };
"""
    assert problems(text) == []


def test_list_name_with_key_is_a_check_error_in_some_zone_lists() -> None:
    lists = "primaries up { 192.0.2.1; };\nparental-agents pa { 192.0.2.2; };\n"
    # Not in a top-level list, nor in a mirror zone's primaries.
    accepted = """primaries other { up key k; };
zone "." { type mirror; primaries { up key k; }; };
"""
    assert problems(lists + accepted) == []
    for zone in (
        'zone "e" { type secondary; primaries { up key k; }; };',
        'zone "e" { type stub; masters { up tls k; }; };',
        'zone "e" { type primary; file "e"; parental-agents { pa key k; }; };',
    ):
        assert problems(lists + zone) == ["named.conf:3: unexpected token 'k'"]


def test_one_problem_per_statement_parse_problems_first() -> None:
    # named-checkconf itself stops at line 2, the first parse error.
    text = """zone "a" { type primary; file "a"; primaries { 192.0.2.1; }; };
zone "b" { type primary; file "b"; notify maybe; notify again; };
options { recursion 2; frob; };
zone "c" { file "c"; };
"""
    assert problems(text) == [
        "named.conf:2: boolean expected near 'maybe'",
        "named.conf:3: boolean expected near '2'",
        "named.conf:1: option 'primaries' is not allowed in 'primary' zone 'a'",
        "named.conf:4: zone 'c': type not present",
    ]


def test_statements_keep_their_own_file() -> None:
    main = parse_text("options { recursion no; };", "named.conf")
    other = parse_text('zone "x" { type primary; file "x"; bogus 1; };', "zones.conf")
    found = clauses.check_grammar([*main, *other])
    assert [str(p) for p in found] == ["zones.conf:1: unknown option 'bogus'"]


def test_clause_names() -> None:
    assert {"type", "file", "primaries", "masters", "in-view"} <= clauses.clause_names(
        "zone"
    )
    assert "maintain-ixfr-base" not in clauses.clause_names("zone")
    assert "file" not in clauses.clause_names("options")
    assert {"zone", "options", "view", "masters"} <= clauses.clause_names("namedconf")
    with pytest.raises(KeyError):
        clauses.clause_names("nowhere")


def test_every_clause_compiles() -> None:
    for ctx in CLAUSES:
        for name, (syntax, flags) in CLAUSES[ctx].items():
            zone_clause = name if ctx == "zone" else ""
            matcher = clauses._compile(syntax, frozenset(flags.split()), zone_clause)
            assert callable(matcher), name


def test_zone_types_cover_the_zone_clauses() -> None:
    known = set(ZONE_TYPES) | {"ixfr-base", "ixfr-tmp-file", "maintain-ixfr-base"}
    assert set(CLAUSES["zone"]) <= known | {"max-ixfr-log-size", "pubkey"}
    assert ZONE_TYPES["masters"] == ZONE_TYPES["primaries"]


OPTIONS_GZ = Path("/usr/share/doc/bind9/options.gz")
REFERENCE_HTML = Path("/usr/share/doc/bind9-doc/arm/reference.html")


def test_clause_data_matches_its_generator() -> None:
    require_file(OPTIONS_GZ, "bind9-doc")
    require_file(REFERENCE_HTML, "bind9-doc")
    spec = importlib.util.spec_from_file_location(
        "gen", ROOT / "tools" / "gen_clausedata.py"
    )
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with gzip.open(OPTIONS_GZ, "rt", encoding="utf-8") as f:
        options_text = f.read()
    contexts, zone_types = gen.build(options_text, REFERENCE_HTML.read_text("utf-8"))
    assert contexts == CLAUSES
    assert {k: tuple(v) for k, v in zone_types.items()} == ZONE_TYPES
