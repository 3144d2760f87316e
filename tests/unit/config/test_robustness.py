"""Bad input gets a ConfigError, never another exception (no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonesync.config import load_config
from zonesync.errors import ConfigError

# Words that make the loader and the checks take their many branches:
# statement and clause names of every context, values of every type, and
# the punctuation of the syntax.
VOCABULARY = [
    "options", "view", "zone", "key", "acl", "primaries", "masters", "server",
    "tls", "http", "logging", "controls", "dnssec-policy", "trust-anchors",
    "include", "directory", "type", "secondary", "slave", "primary", "master",
    "mirror", "stub", "static-stub", "forward", "hint", "redirect", "in-view",
    "file", "allow-transfer", "allow-notify", "also-notify", "notify",
    "transfer-source", "request-ixfr", "max-refresh-time", "masterfile-format",
    "algorithm", "secret", "hmac-sha256", "hmac-sha256-128", "port", "tls",
    "match-clients", "key", "any", "none", "localhost", "!", "yes", "no",
    "explicit", "raw", "text", "default", "unlimited", "in", "ch", "class00",
    "1", "0", "65536", "-1", "1w2d", "P1D", "10m", "192.0.2.1", "10/8",
    "2001:db8::/32", "::1", "a..b", "example.com", ".", "*", '"q"', '"a\\"b"',
    '"c2VjcmV0"', "{", "}", ";", ";", ";", "{", "}", "/*", "*/", "#", "//",
    "\n", "dns64", "rate-limit", "catalog-zones", "update-policy", "grant",
    "listen-on", "inline-signing", "dnssec-policy", "parental-agents",
]  # fmt: skip


@settings(
    max_examples=300,
    derandomize=True,  # the same inputs on every run: CI stays repeatable
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=60))
def test_any_token_soup_is_a_config_or_a_config_error(
    tmp_path: Path, tokens: list[str]
) -> None:
    (tmp_path / "named.conf").write_text(" ".join(tokens) + "\n")
    problems = []
    try:
        load_config("named.conf", cwd=tmp_path)
    except ConfigError as err:
        problems = [str(p) for p in err.problems]
        assert problems, "a ConfigError always lists its problems"
    for problem in problems:
        assert problem.startswith(("named.conf:", "open: "))


ZONE = 'zone "{name}" {{ type secondary; primaries {{ 192.0.2.1; }}; {extra} }};'


@settings(max_examples=200, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters='"\\\n'), max_size=30
    ),
    st.sampled_from(["", 'file "f";', "notify explicit;", "masters { x; };"]),
)
def test_odd_zone_names_never_crash(tmp_path: Path, name: str, extra: str) -> None:
    (tmp_path / "named.conf").write_text(ZONE.format(name=name, extra=extra) + "\n")
    try:
        config = load_config("named.conf", cwd=tmp_path)
    except ConfigError:
        return
    assert len(list(config.zones)) == 1


def test_binary_garbage_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "named.conf").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConfigError):
        load_config("named.conf", cwd=tmp_path)
