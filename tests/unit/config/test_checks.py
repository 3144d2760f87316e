"""Semantic checks (`checks.py`): text in, BIND's exact problems out.

Every expected message below was produced by named-checkconf 9.18.49 on
the same text (file name `t.conf`).
"""

from __future__ import annotations

import pytest

from zonesync.config.checks import check_semantics
from zonesync.config.grammar import Block, Statement, Word, parse_text

KB = "See https://kb.isc.org/docs/dnssec-policy-requires-dynamic-dns-or-inline-signing"
INLINE_PRIMARY = (
    "'inline-signing yes;' must also be configured explicitly for zones using "
    "dnssec-policy without a configured 'allow-update' or 'update-policy'. " + KB
)
INLINE_SECONDARY = (
    "'inline-signing yes;' must also be configured explicitly for zones using "
    "dnssec-policy. " + KB
)


def check(text: str) -> list[str]:
    return [str(problem) for problem in check_semantics(parse_text(text, "t.conf"))]


def one(text: str) -> str:
    found = check(text)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------
# dnssec-policy and zones


def test_policy_needs_inline_signing_on_a_primary() -> None:
    assert check('zone "a" { type primary; file "a"; dnssec-policy default; };') == [
        f"t.conf:1: {INLINE_PRIMARY}"
    ]


def test_policy_needs_inline_signing_on_a_secondary() -> None:
    text = (
        'zone "a" { type secondary; primaries { 192.0.2.1; }; dnssec-policy default; };'
    )
    assert check(text) == [f"t.conf:1: {INLINE_SECONDARY}"]


def test_policy_is_inherited_from_options_and_views() -> None:
    text = """options { dnssec-policy default; };
view v {
    zone "a" { type primary; file "a"; };
    zone "b" { type forward; forwarders { 192.0.2.1; }; };
    zone "c" { type primary; file "c"; dnssec-policy none; };
};
"""
    # Logged where the inherited policy is written.
    assert check(text) == [f"t.conf:1: {INLINE_PRIMARY}"]


@pytest.mark.parametrize(
    "extra",
    [
        "inline-signing yes;",
        "allow-update { any; };",
        "allow-update { };",
        "update-policy local;",
    ],
)
def test_policy_with_signing_or_dynamic_dns_is_fine(extra: str) -> None:
    text = f'zone "a" {{ type primary; file "a"; dnssec-policy default; {extra} }};'
    assert check(text) == []


@pytest.mark.parametrize(
    "acl", ["none;", "!any;", "none; none;", "none; any;", "!{ any; };"]
)
def test_allow_update_none_is_not_dynamic_dns(acl: str) -> None:
    text = f'zone "a" {{ type primary; file "a"; dnssec-policy insecure; allow-update {{ {acl} }}; }};'
    assert check(text) == [f"t.conf:1: {INLINE_PRIMARY}"]


@pytest.mark.parametrize(
    "acl", ["any; none;", "!none;", "{ none; };", "none; 192.0.2.1;"]
)
def test_allow_update_that_may_match_is_dynamic_dns(acl: str) -> None:
    text = f'zone "a" {{ type primary; file "a"; dnssec-policy default; allow-update {{ {acl} }}; }};'
    assert check(text) == []


def test_allow_update_through_a_named_acl_counts_as_dynamic_dns() -> None:
    text = 'acl n { none; }; zone "a" { type primary; file "a"; dnssec-policy default; allow-update { n; }; };'
    assert check(text) == []


def test_allow_update_inherited_from_options_counts() -> None:
    text = 'options { allow-update { any; }; }; zone "a" { type primary; file "a"; dnssec-policy default; };'
    assert check(text) == []


def test_undefined_policy() -> None:
    text = 'zone "a" {\n type primary; file "a"; inline-signing yes;\n dnssec-policy "nosuch";\n};'
    assert check(text) == [
        "t.conf:1: zone 'a': option 'dnssec-policy nosuch' has no matching dnssec-policy config"
    ]


def test_policy_names_are_case_sensitive() -> None:
    text = 'dnssec-policy "Foo" { }; zone "a" { type primary; file "a"; inline-signing yes; dnssec-policy foo; };'
    assert check(text) == [
        "t.conf:1: zone 'a': option 'dnssec-policy foo' has no matching dnssec-policy config"
    ]


def test_options_that_conflict_with_a_policy() -> None:
    text = """zone "a" {
  type primary; file "a"; dnssec-policy default; inline-signing yes;
  auto-dnssec maintain;
  dnssec-dnskey-kskonly yes;
  dnssec-secure-to-insecure yes;
  update-check-ksk yes;
  dnssec-update-mode maintain;
  sig-validity-interval 10;
  dnskey-sig-validity 5;
};"""
    assert check(text) == [
        "t.conf:3: 'auto-dnssec maintain;' cannot be configured if dnssec-policy is also set",
        "t.conf:4: dnssec-dnskey-kskonly: cannot be configured if dnssec-policy is also set",
        "t.conf:5: dnssec-secure-to-insecure: cannot be configured if dnssec-policy is also set",
        "t.conf:6: update-check-ksk: cannot be configured if dnssec-policy is also set",
        "t.conf:7: dnssec-update-mode: cannot be configured if dnssec-policy is also set",
        "t.conf:8: sig-validity-interval: cannot be configured if dnssec-policy is also set",
        "t.conf:9: dnskey-sig-validity: cannot be configured if dnssec-policy is also set",
    ]


def test_policy_none_still_conflicts_with_signature_validity_options() -> None:
    text = 'zone "a" { type primary; file "a"; dnssec-policy none; sig-validity-interval 10; };'
    assert check(text) == [
        "t.conf:1: sig-validity-interval: cannot be configured if dnssec-policy is also set"
    ]


def test_auto_dnssec_needs_dynamic_dns_or_inline_signing() -> None:
    assert check('zone "a" { type primary; file "a"; auto-dnssec maintain; };') == [
        "t.conf:1: 'auto-dnssec maintain;' requires dynamic DNS or inline-signing to be configured for the zone"
    ]
    text = (
        'zone "a" { type secondary; primaries { 192.0.2.1; }; auto-dnssec maintain; };'
    )
    assert check(text) == [
        "t.conf:1: 'auto-dnssec maintain;' requires inline-signing to be configured for the zone"
    ]


def test_secondary_signing_options_need_inline_signing() -> None:
    text = """zone "a" { type secondary; primaries { 192.0.2.1; };
  sig-signing-type 1; dnssec-dnskey-kskonly yes; dnssec-loadkeys-interval 10; update-check-ksk yes; };"""
    assert check(text) == [
        "t.conf:2: sig-signing-type: 1 out of range [65280..65535]",
        "t.conf:2: dnssec-dnskey-kskonly: requires inline-signing when used in secondary zone",
        "t.conf:2: dnssec-loadkeys-interval: requires inline-signing when used in secondary zone",
        "t.conf:2: update-check-ksk: requires inline-signing when used in secondary zone",
    ]


def test_key_directory_shared_with_another_policy() -> None:
    text = """options { key-directory "/tmp"; };
view v { zone "a" { type primary; file "a"; dnssec-policy default; inline-signing yes; }; };
view w { zone "A." { type primary; file "b"; dnssec-policy insecure; inline-signing yes; }; };
"""
    assert check(text) == [
        "t.conf:3: key-directory 'a//tmp' already in use by zone a with policy default: t.conf:2"
    ]


# ---------------------------------------------------------------------------
# dnssec-policy definitions


def test_builtin_policy_names_cannot_be_redefined() -> None:
    assert one('dnssec-policy "default" { };') == (
        "t.conf:1: dnssec-policy name may not be 'insecure', 'none', or 'default' "
        "(which are built-in policies)"
    )


def test_duplicate_policy() -> None:
    assert check('dnssec-policy "p" { };\ndnssec-policy "p" { };') == [
        "t.conf:2: dnssec-policy: duplicately named policy found 'p'"
    ]


def test_policies_are_not_checked_when_there_are_views() -> None:
    assert check('dnssec-policy "p" { nsec3param iterations 151; }; view v { };') == []


def test_signature_timings() -> None:
    text = """dnssec-policy "p" { signatures-validity P10D; signatures-validity-dnskey P10D;
  signatures-refresh P9D; signatures-jitter P11D; };"""
    assert check(text) == [
        "t.conf:1: dnssec-policy: policy 'p' signatures-refresh must be at most 90% of the signatures-validity-dnskey",
        "t.conf:1: dnssec-policy: policy 'p' signatures-jitter cannot be larger than signatures-validity-dnskey",
        "t.conf:1: dnssec-policy: policy 'p' signatures-refresh must be at most 90% of the signatures-validity",
        "t.conf:1: dnssec-policy: policy 'p' signatures-jitter cannot be larger than signatures-validity",
    ]


def test_signatures_refresh_default_validity_dnskey() -> None:
    # 90% of the default P14D is 1088640 seconds.
    assert (
        check(
            'dnssec-policy "p" { signatures-validity P100D; signatures-refresh PT1088639S; };'
        )
        == []
    )
    assert one(
        'dnssec-policy "p" { signatures-validity P100D; signatures-refresh PT1088640S; };'
    ) == (
        "t.conf:1: dnssec-policy: policy 'p' signatures-refresh must be at most 90% of the signatures-validity-dnskey"
    )


@pytest.mark.parametrize(
    ("keys", "ok"),
    [
        ("csk lifetime P10D algorithm 13;", False),
        ("csk lifetime P11D algorithm 13;", True),
        (
            "ksk lifetime PT93600S algorithm 13; zsk lifetime unlimited algorithm 13;",
            False,
        ),
        (
            "ksk lifetime PT93601S algorithm 13; zsk lifetime unlimited algorithm 13;",
            True,
        ),
    ],
)
def test_key_lifetime_must_cover_a_rollover(keys: str, ok: bool) -> None:
    found = check(f'dnssec-policy "p" {{ keys {{ {keys} }}; }};')
    expected = (
        []
        if ok
        else [
            "t.conf:1: dnssec-policy: key lifetime is shorter than the time it takes to do a rollover"
        ]
    )
    assert found == expected


def test_key_algorithms_and_lengths() -> None:
    assert one(
        'dnssec-policy "p" { keys { csk lifetime unlimited algorithm foo; }; };'
    ) == ("t.conf:1: dnssec-policy: bad algorithm foo")
    assert one(
        'dnssec-policy "p" { keys { csk lifetime unlimited algorithm rsasha256 1023; }; };'
    ) == (
        "t.conf:1: dnssec-policy: key with algorithm rsasha256 has invalid key length 1023"
    )
    assert (
        check(
            'dnssec-policy "p" { keys { csk lifetime unlimited algorithm ECDSA256; }; };'
        )
        == []
    )


def test_both_roles_per_algorithm() -> None:
    text = (
        'dnssec-policy "p" {\n keys {\n  ksk lifetime unlimited algorithm 13;\n };\n};'
    )
    assert check(text) == [
        "t.conf:2: dnssec-policy: algorithm 13 requires both KSK and ZSK roles"
    ]


def test_nsec3() -> None:
    assert one('dnssec-policy "p" { nsec3param iterations 151; };') == (
        "t.conf:1: dnssec-policy: nsec3 iterations value 151 out of range"
    )
    assert one('dnssec-policy "p" { nsec3param iterations 0 salt-length 256; };') == (
        "t.conf:1: dnssec-policy: nsec3 salt length 256 too high"
    )
    text = 'dnssec-policy "p" { keys { csk lifetime unlimited algorithm rsasha1; }; nsec3param; };'
    assert (
        one(text)
        == "t.conf:1: dnssec-policy: cannot use nsec3 with algorithm 'RSASHA1'"
    )


# ---------------------------------------------------------------------------
# update-policy


def test_update_policy_rules() -> None:
    text = """zone "a" { type primary; file "a"; update-policy {
  grant x self y;
  grant * krb5-selfsub TXT;
  grant k subdomain TXT;
  grant k wildcard b.example;
  grant k name x "ptr(10 )";
  grant k name x FOO;
  grant a..b self .;
  grant k zonesub TXT;
}; };"""
    assert check(text) == [
        "t.conf:2: identity and name fields are not the same",
        "t.conf:3: name field not set to placeholder value '.'",
        "t.conf:4: missing name field type 'TXT' found",
        "t.conf:5: 'b.example' is not a wildcard",
        "t.conf:6: '(10 )' is not a valid count",
        "t.conf:7: 'FOO' is not a valid type",
        "t.conf:8: 'a..b' is not a valid name",
    ]


def test_allow_update_and_update_policy() -> None:
    text = 'zone "a" { type primary; file "a"; allow-update { any; }; update-policy local; };'
    assert (
        one(text)
        == "t.conf:1: zone 'a': 'allow-update' is ignored when 'update-policy' is present"
    )


# ---------------------------------------------------------------------------
# Zones: in-view, mirror, static-stub, dialup, sources, forwarding


def test_in_view_with_other_options() -> None:
    text = """view a { zone "x" { type primary; file "x"; }; zone "y" { type primary; file "y"; }; };
view b {
  zone "x" { in-view a; forward only; forwarders { 192.0.2.1; }; };
  zone "y" { in-view a; notify yes; };
};"""
    assert check(text) == [
        "t.conf:4: zone 'y': 'in-view' used with incompatible zone options"
    ]


def test_mirror_zones() -> None:
    assert one('zone "." { type mirror; notify yes; };') == (
        "t.conf:1: zone '.': mirror zones can only be used with 'notify no;' or 'notify explicit;'"
    )
    assert one('options { recursion no; }; zone "." { type mirror; };') == (
        "t.conf:1: zone '.': mirror zones cannot be used if recursion is disabled"
    )
    assert (
        check(
            'options { allow-recursion { any; }; }; zone "." { type mirror; notify explicit; };'
        )
        == []
    )


def test_static_stub_names_and_addresses() -> None:
    text = """zone "example" { type static-stub;
  server-addresses { 192.0.2.1; fe80::1%eth0; };
  server-names { "ns.example"; "ns.other"; "a..b"; }; };"""
    assert check(text) == [
        "t.conf:2: scoped address is not allowed for static stub server-addresses",
        "t.conf:1: server-name 'ns.example' must not be a subdomain of zone name 'example'",
        "t.conf:1: server-name 'a..b' is not a valid name",
    ]


def test_dialup_types() -> None:
    text = """zone "a" { type primary; file "a"; dialup passive; };
zone "b" { type stub; primaries { 192.0.2.1; }; dialup notify; };
zone "c" { type stub; primaries { 192.0.2.1; }; dialup yes; };"""
    assert check(text) == [
        "t.conf:1: dialup type 'passive' is not allowed in 'primary' zone 'a'",
        "t.conf:2: dialup type 'notify' is not allowed in 'stub' zone 'b'",
    ]


def test_sources_may_not_use_the_dns_port() -> None:
    text = """options { port 5300; transfer-source * port 5300; query-source address * port 5300; };
zone "a" { type secondary; primaries { 192.0.2.1; }; notify-source 192.0.2.2 port 5300; };
zone "b" { type secondary; primaries { 192.0.2.1; }; transfer-source 192.0.2.2 port 0; };"""
    assert check(text) == [
        "t.conf:1: 'query-source' cannot specify the DNS listener port (5300)",
        "t.conf:1: 'transfer-source' cannot specify the DNS listener port (5300)",
        "t.conf:2: 'notify-source' cannot specify the DNS listener port (5300)",
    ]


def test_forwarding() -> None:
    text = """options { forwarders { 192.0.2.1; }; };
zone "." { type forward; forwarders { 192.0.2.2; }; };
zone "b" { type forward; forward first; };"""
    assert check(text) == [
        "t.conf:2: forwarders declared in root zone and in general configuration: t.conf:1",
        "t.conf:3: no matching 'forwarders' statement",
    ]


def test_refresh_and_retry_limits_may_not_be_zero() -> None:
    text = (
        "options { max-retry-time 0; };\nview a { };\nview b { min-refresh-time 0; };"
    )
    assert check(text) == [
        "t.conf:1: 'max-retry-time' must not be zero",
        "t.conf:1: 'max-retry-time' must not be zero",
        "t.conf:3: 'min-refresh-time' must not be zero",
    ]


def test_dlz_and_database() -> None:
    text = 'zone "a" { type primary; database "rbt"; dlz "x"; file "a"; };'
    assert one(text) == "t.conf:1: zone 'a': cannot specify both 'dlz' and 'database'"


# ---------------------------------------------------------------------------
# ACLs: geoip and allow-transfer


def test_geoip_databases_and_types() -> None:
    text = """options {
  allow-query { geoip db region region "CA"; };
  allow-query-cache { geoip area 831; geoip netspeed 1; };
  allow-recursion { geoip country USA; };
  blackhole { geoip db country country AU; geoip city "x"; };
};"""
    assert check(text) == [
        "t.conf:2: database 'region' is not defined for GeoIP2",
        "t.conf:3: type 'area' is unavailable in GeoIP2 databases",
        "t.conf:4: three-letter country codes are unavailable in GeoIP2 databases",
    ]


def test_acl_key_names_and_postal_codes() -> None:
    text = """options {
  allow-query { key "a..b"; geoip area 1; };
  allow-query-cache { geoip postal "1234567"; };
  blackhole { geoip db city postalcode "123456"; key "ok"; };
};"""
    assert check(text) == [
        "t.conf:2: key name 'a..b' is not a valid domain name",
        "t.conf:3: geoiop postal code (1234567) too long",
    ]


def test_allow_update_that_cannot_be_expanded() -> None:
    text = """options {
  allow-update
  { geoip netspeed 1; };
};
zone "a" { type primary; file "a"; };"""
    # BIND expands allow-update twice: once as a zone ACL, once for DDNS.
    assert check(text) == [
        "t.conf:3: type 'netspeed' is unavailable in GeoIP2 databases",
        "t.conf:3: type 'netspeed' is unavailable in GeoIP2 databases",
        "t.conf:3: acl expansion failed: failure",
    ]


def test_unused_acls_are_not_expanded() -> None:
    assert check("acl g { geoip area 1; };") == []
    assert check("options { allow-transfer transport udp { any; }; };") == []


def test_named_acls_are_expanded_where_used() -> None:
    text = 'acl g { geoip area 1; };\nzone "a" { type primary; file "a"; allow-transfer { g; }; };'
    assert check(text) == ["t.conf:1: type 'area' is unavailable in GeoIP2 databases"]


def test_inherited_zone_acls_are_checked_for_each_zone() -> None:
    text = """options { allow-transfer port 853 transport udp { any; }; };
zone "a" { type primary; file "a"; };
zone "b" { type primary; file "b"; allow-transfer port 65535 transport http { any; }; };
zone "c" { type primary; file "c"; };"""
    udp = (
        "t.conf:1: 'udp' is not a valid transport protocol for zone transfers. "
        "Please specify either 'tcp' or 'tls'"
    )
    assert check(text) == [
        udp,
        "t.conf:3: port value '65535' is out of range",
        "t.conf:3: 'http' is not a valid transport protocol for zone transfers. "
        "Please specify either 'tcp' or 'tls'",
        udp,
    ]


# ---------------------------------------------------------------------------
# Options


def test_ports() -> None:
    assert check("options { port 70000; tls-port 65535; http-port 80; };") == [
        "t.conf:1: port '70000' out of range",
        "t.conf:1: port '65535' out of range",
    ]


def test_intervals_and_cache_ttls() -> None:
    text = """options {
  max-transfer-time-in 40321;
  interface-interval 1d;
  min-cache-ttl 91;
  max-ncache-ttl 8d;
};"""
    assert check(text) == [
        "t.conf:3: interface-interval '86400' is out of range (0..40320)",
        "t.conf:2: max-transfer-time-in '40321' is out of range (0..40320)",
        "t.conf:4: min-cache-ttl '91' is out of range (0..90)",
        "t.conf:5: max-ncache-ttl '691200' is out of range (0..604800)",
    ]


def test_signature_validity_interval() -> None:
    assert check("options { sig-validity-interval 5000; };") == [
        "t.conf:1: sig-validity-interval '5000' is out of range (1..3660)"
    ]
    assert check("options { sig-validity-interval 7 169; };") == [
        "t.conf:1: validity interval (7 days) less than re-signing interval (169 hours)"
    ]
    assert check("options { sig-validity-interval 7 168; };") == []


def test_cookie_secrets() -> None:
    text = """options {
  cookie-secret "0123456789abcdef0123456789abcdef";
  cookie-secret "0123";
  cookie-secret "xyz";
  cookie-secret "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef00";
};"""
    assert check(text) == [
        "t.conf:3: SipHash-2-4 cookie-secret must be 128 bits",
        "t.conf:4: cookie-secret: invalid hex string",
        "t.conf:5: cookie-secret: too long",
    ]


def test_dnstap_and_fstrm() -> None:
    text = """options {
  dnstap-output unix "/tmp/x" size 10M;
  fstrm-set-buffer-hint 1023;
  fstrm-set-input-queue-size 513;
  fstrm-set-output-notify-threshold 0;
};"""
    assert check(text) == [
        "t.conf:3: fstrm-set-buffer-hint '1023' out of range (1024..65536)",
        "t.conf:4: fstrm-set-input-queue-size '513' not a power-of-2",
        "t.conf:5: fstrm-set-output-notify-threshold out of range (0 < 1)",
        "t.conf:2: dnstap-output size cannot be set with mode unix",
    ]


def test_dnstap_needs_an_output() -> None:
    assert check("options { dnstap { all; }; };") == [
        "t.conf:1: 'dnstap-output' must be set if 'dnstap' is set"
    ]
    assert (
        check('options { dnstap-output file "x"; }; view v { dnstap { all; }; };') == []
    )


def test_miscellaneous_option_limits() -> None:
    text = """options {
  lmdb-mapsize 1048575;
  nta-lifetime 8d;
  max-ixfr-ratio 0%;
  check-names primary warn;
  check-names master fail;
  empty-server "a..b";
};"""
    assert check(text) == [
        "t.conf:7: empty-server: invalid name 'a..b'",
        "t.conf:3: 'nta-lifetime' cannot exceed one week",
        "t.conf:2: 'lmdb-mapsize 1048575' is too small",
        "t.conf:4: 'ixfr-max-ratio' must be a nonzero percentage or 'unlimited')",
        "t.conf:5: 'check-names' cannot take both 'primary' and 'master'",
    ]


def test_max_query_restarts() -> None:
    text = "options { max-query-restarts 0; };\nview v { max-query-restarts 256; };"
    assert check(text) == [
        "t.conf:1: 'max-query-restarts' is out of range 1..255)",
        "t.conf:2: 'max-query-restarts' is out of range 1..255)",
    ]


def test_listeners() -> None:
    text = """tls t { };
options {
  listen-on port 65535 tls t http h { any; };
  listen-on http default { any; };
  listen-on-v6 tls ephemeral http default { any; };
};"""
    assert check(text) == [
        "t.conf:3: http 'h' is not defined",
        "t.conf:3: port value '65535' is out of range",
        "t.conf:4: http must specify a 'tls' statement, 'tls ephemeral', or 'tls none'",
    ]


def test_dns64() -> None:
    text = """options {
  dns64 ::/0 { };
  dns64 64:ff9b:0:0:100::/96 { };
  dns64 64:ff9b::/96 { suffix ::1; };
  dns64 64:ff9b::/64 { suffix ::100:0:0:0; };
};"""
    assert check(text) == [
        "t.conf:2: dns64 prefix ::/0 length is not 32/40/48/56/64/96",
        "t.conf:3: dns64 prefix 64:ff9b:0:0:100::/96 bits [64..71] must be zero",
        "t.conf:4: bad suffix '::1' leading 16 octets not zeros",
        "t.conf:5: bad suffix '::100:0:0:0' leading 13 octets not zeros",
    ]


def test_rate_limit() -> None:
    text = """options { rate-limit {
  responses-per-second 1001;
  slip 11;
  window 3601;
  ipv4-prefix-length 33;
  ipv6-prefix-length 65;
  min-table-size 10;
  max-table-size 9;
}; };"""
    assert check(text) == [
        "t.conf:8: max-table-size 9 < min-table-size 10",
        "t.conf:2: responses-per-second 1001 > 1000",
        "t.conf:3: slip 11 > 10",
        "t.conf:4: window 3601 < 1 or > 3600",
        "t.conf:5: invalid 'ipv4-prefix-length 33'",
        "t.conf:6: ipv6-prefix-length 65 < 16 or > 64",
    ]


def test_servers() -> None:
    text = """server 192.0.2.0/24 { transfer-source-v6 ::1; };
server 192.0.2.0/24 { notify-source 192.0.2.1 port 53; };"""
    assert check(text) == [
        "t.conf:1: server '192.0.2.0/24': transfer-source-v6 not legal",
        "t.conf:2: server '192.0.2.0/24': already exists previous definition: t.conf:1",
        "t.conf:2: 'notify-source' cannot specify the DNS listener port (53)",
    ]


def test_rrset_order() -> None:
    text = 'options { rrset-order { class FOO type BAR name "a..b" order baz; type TYPE99 order cyclic; }; };'
    assert check(text) == [
        "t.conf:1: rrset-order: invalid class 'FOO'",
        "t.conf:1: rrset-order: invalid type 'BAR'",
        "t.conf:1: rrset-order: invalid name 'a..b'",
        "t.conf:1: rrset-order: invalid order 'baz'",
    ]


# ---------------------------------------------------------------------------
# Trust anchors


def test_static_and_initializing_keys_for_one_name() -> None:
    text = """trust-anchors {
  example. initial-ds 60724 5 1 "D74CF845955A0DFE604AF215E948E67D2EA94FF3";
  example. static-key 257 3 8 "AwEAAQ==";
};"""
    assert check(text) == [
        "t.conf:2: static and initializing keys cannot be used for the same domain. static key defined at t.conf:3"
    ]


def test_trust_anchor_values() -> None:
    text = """trust-anchors {
  a. initial-key 65536 3 8 "AwEAAQ==";
  b. static-key 257 3 8 "ABC=";
  c. initial-ds 1 8 2 "zz";
};"""
    assert check(text) == [
        "t.conf:2: flags too big: 65536",
        "t.conf:3: bad base64 encoding",
        "t.conf:4: bad hex encoding",
    ]


def test_managed_keys_with_trust_anchors() -> None:
    text = 'managed-keys { a. initial-key 257 3 8 "AwEAAQ=="; };\ntrust-anchors { b. initial-key 257 3 8 "AwEAAQ=="; };'
    assert check(text) == [
        "t.conf:1: use of managed-keys is not allowed when trust-anchors is also in use"
    ]


def test_static_root_anchor_with_validation_auto() -> None:
    text = """options { dnssec-validation auto; };
trust-anchors { . static-ds 1 8 2 "ABCD"; };
trusted-keys { . 257 3 8 "AwEAAQ=="; };"""
    # Every static root key is reported, not only the first.
    assert check(text) == [
        "t.conf:2: static trust anchor for root zone cannot be used with 'dnssec-validation auto'.",
        "t.conf:3: static trust anchor for root zone cannot be used with 'dnssec-validation auto'.",
    ]


# ---------------------------------------------------------------------------
# tls, http, logging, controls


def test_tls_definitions() -> None:
    text = """tls ephemeral { };
tls a { key-file "k"; };
tls A { protocols { TLSv1.2; TLSv1.4; }; ciphers "NOTACIPHER"; };
tls b { ciphers "HIGH:!aNULL"; protocols { TLSv1.3; }; };
tls c { protocols { TLSv1.2; TLSv1.2; }; ciphers "+HIGH"; };"""
    assert check(text) == [
        "t.conf:1: tls clause name 'ephemeral' is reserved for internal use",
        "t.conf:2: tls 'a': 'cert-file' and 'key-file' must both be specified, or both omitted",
        "t.conf:3: tls clause 'A' is duplicated: also defined at t.conf:2",
        "t.conf:3: 'TLSv1.4' is not a valid TLS protocol version",
        "t.conf:3: 'ciphers' in the 'tls' clause 'A' is not a valid cipher list string",
        "t.conf:5: 'TLSv1.2' is specified more than once in 'c'",
        "t.conf:5: 'ciphers' in the 'tls' clause 'c' is not a valid cipher list string",
    ]


def test_http_definitions() -> None:
    text = """http default { };
http a { endpoints { "/dns-query"; "dns-query"; "/a?b"; }; };
http A { };"""
    assert check(text) == [
        "t.conf:1: 'http' name cannot be 'default' (which is a built-in configuration)",
        "t.conf:2: endpoint 'dns-query' is not a valid absolute HTTP path",
        "t.conf:2: endpoint '/a?b' is not a valid absolute HTTP path",
        "t.conf:3: http 'A' is duplicated: also defined at t.conf:2",
    ]


def test_logging() -> None:
    text = """logging {
  channel a { file "x"; syslog; };
  category General { A; Null; nosuch; };
};"""
    assert check(text) == [
        "t.conf:2: channel 'a': exactly one of file, syslog, null, and stderr must be present",
        "t.conf:3: undefined category: 'General'",
        "t.conf:3: undefined channel: 'nosuch'",
    ]


def test_control_keys() -> None:
    text = """key "rndc-key" { algorithm hmac-sha256; secret "aGVsbG8="; };
controls { inet 127.0.0.1 allow { localhost; } keys { "RNDC-KEY"; "rndc-key."; }; };"""
    assert check(text) == ["t.conf:2: unknown key 'rndc-key.'"]


# ---------------------------------------------------------------------------
# rpz, catalog zones, plugins


def test_response_policy_and_catalog_zones_must_be_primary_or_secondary() -> None:
    text = """view v {
  response-policy { zone "a"; zone "b"; };
  catalog-zones { zone "c"; zone "C."; };
  zone "a" { type primary; file "a"; };
  zone "b" { type hint; file "b"; };
  zone "c" { type secondary; primaries { 192.0.2.1; }; };
};"""
    assert check(text) == [
        "t.conf:2: response-policy zone 'b' for view v is not a primary or secondary zone",
        "t.conf:3: catalog zone 'C': already added here t.conf:3",
    ]


def test_plugins() -> None:
    text = """plugin query "nosuch.so";
plugin query "filter-aaaa.so" {
    filter-aaaa-on-v4 no;
    filter-aaaa { any; };
};"""
    assert check(text) == [
        "t.conf:1: /usr/lib/x86_64-linux-gnu/bind/nosuch.so: plugin check failed: failure",
        'none:7: "filter-aaaa" is set but neither filter-aaaa-on-v4 or filter-aaaa-on-v6 is enabled',
        "t.conf:5: /usr/lib/x86_64-linux-gnu/bind/filter-aaaa.so: plugin check failed: failure",
    ]


def test_plugins_must_be_in_views_when_there_are_views() -> None:
    text = 'plugin query "filter-aaaa.so" { filter-aaaa-on-v4 yes; };\nview v { };'
    assert check(text) == [
        "t.conf:1: when using 'view' statements, all plugins must be defined in views"
    ]


# ---------------------------------------------------------------------------
# Acceptance and robustness


def test_a_plain_secondary_config_is_accepted() -> None:
    text = """key "k" { algorithm hmac-sha256; secret "aGVsbG8="; };
primaries upstream { 192.0.2.1 key "k"; };
options { directory "/tmp"; recursion no; dnssec-validation auto; };
view "internal" {
  match-clients { key "k"; };
  zone "example.com" { type secondary; file "x"; primaries { upstream; }; };
};"""
    assert check(text) == []


def _shapes() -> list[Statement]:
    word = Word("x", False, "t.conf", 1)
    empty = Block((), "t.conf", 1)
    weird = Statement((word,), "t.conf", 1, "x")
    inner = Block((weird, Statement((empty,), "t.conf", 1, "")), "t.conf", 1)
    out = []
    for keyword in (
        "options",
        "view",
        "zone",
        "dnssec-policy",
        "tls",
        "http",
        "logging",
        "controls",
        "plugin",
        "trust-anchors",
        "server",
        "acl",
    ):
        head = Word(keyword, False, "t.conf", 1)
        for items in (
            (head,),
            (head, inner),
            (head, word, inner),
            (head, word, word, word),
        ):
            out.append(Statement(items, "t.conf", 1, keyword))
    return out


def test_odd_shapes_do_not_raise() -> None:
    check_semantics(_shapes())
    for option in (
        "rate-limit",
        "dns64",
        "listen-on",
        "sig-validity-interval",
        "dnstap-output",
    ):
        head = Word(option, False, "t.conf", 1)
        body = Block((Statement((head,), "t.conf", 1, option),), "t.conf", 1)
        options = Statement(
            (Word("options", False, "t.conf", 1), body), "t.conf", 1, "options"
        )
        check_semantics([options])
