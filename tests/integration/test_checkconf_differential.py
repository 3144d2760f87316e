"""zonesync check-conf against the real named-checkconf, on the same files.

Each snippet is written to a temporary directory and given to both; the
verdict, the zone list (`-l`) and, for errors, BIND's message must agree.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from zonesync.config import load_config
from zonesync.errors import ConfigError

WARNING = re.compile(r"\S+:\d+: ")
SECRET = "c2VjcmV0LXZhbHVlLTEyMzQ="
SNIPPETS = {
    "secondary-basic": 'zone "example.com" { type secondary; primaries { 192.0.2.1; }; };',
    "legacy-spellings": (
        "masters up { 192.0.2.1; };\n"
        'zone "example.com" { type slave; masters { up; }; file "db"; };'
    ),
    "views-keys": (
        f'key "a" {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n'
        f'key "b" {{ algorithm hmac-sha1; secret "{SECRET}"; }};\n'
        'view "one" { match-clients { key "a"; }; '
        'zone "x" { type secondary; primaries { 192.0.2.1 key "a"; }; }; };\n'
        'view "two" { match-clients { key "b"; any; }; '
        'zone "x" { type secondary; primaries { 192.0.2.1 key "b"; }; }; };'
    ),
    "in-view": (
        'view "a" { zone "x" { type primary; file "x.db"; }; };\n'
        'view "b" { zone "x" { in-view "a"; }; };'
    ),
    "names-as-written": (
        'zone "UPPER.Example.NET." { type secondary; primaries { 192.0.2.1; }; };\n'
        'zone "a\\.b.example" { type secondary; primaries { 192.0.2.1; }; };\n'
        'zone "a.b.example" in { type secondary; primaries { 192.0.2.1; }; };'
    ),
    "server-keys-kludge": (
        f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n'
        'server 192.0.2.1 { keys { "k" }; };'
    ),
    "class-without-views": 'zone "a" ch { type hint; file "h"; };',
    "class-in-view": 'view "v" ch { zone "a" { type hint; file "h"; }; };',
    "names-ignore-case": (
        "acl Inside { 10/8; };\nprimaries Up { 192.0.2.1; };\n"
        "primaries up2 { UP; };\noptions { allow-query { INSIDE; }; };\n"
        'zone "a" { type secondary; primaries { up2; }; };'
    ),
    "list-duplicate-by-case": "primaries P { 192.0.2.1; };\nprimaries p { 192.0.2.2; };",
    "truncated-hmac": f'key "t" {{ algorithm hmac-sha512-256; secret "{SECRET}"; }};',
    "nested-acls": (
        "acl a { 10/8; !10.1/16; };\nacl b { a; { key k; 192.0.2.0/24; }; };\n"
        f'key k {{ algorithm hmac-md5; secret "{SECRET}"; }};\n'
        "options { allow-transfer { b; }; allow-notify { !a; any; }; };"
    ),
    "duplicate-zone": (
        'zone "x" { type secondary; primaries { 192.0.2.1; }; };\n'
        'zone "X." { type secondary; primaries { 192.0.2.1; }; };'
    ),
    "missing-primaries": 'zone "x" { type secondary; };',
    "empty-primaries": 'zone "x" { type secondary; primaries { }; };',
    "undefined-list": 'zone "x" { type secondary; primaries { nowhere; }; };',
    "writeable-file": (
        'zone "x" { type secondary; file "f"; primaries { 192.0.2.1; }; };\n'
        'zone "y" { type secondary; file "f"; primaries { 192.0.2.1; }; };'
    ),
    "undefined-acl": "options { allow-transfer { nobody; }; };",
    "bad-secret": 'key k { algorithm hmac-sha256; secret "@@"; };',
    "unknown-algorithm": f'key k {{ algorithm hmac-sha3; secret "{SECRET}"; }};',
    "zone-outside-views": (
        'view "v" { };\nzone "x" { type secondary; primaries { 192.0.2.1; }; };'
    ),
    "missing-semicolon": 'options { }\nzone "x" { type secondary; };',
    "unbalanced": "options {\n",
    "unknown-option": "options { no-such-option yes; };",
    "misplaced-option": "options { type secondary; };",
    "bad-boolean": "options { request-ixfr maybe; };",
    "bad-integer": "options { max-refresh-time soon; };",
    "redefined": "options { transfers-in 5; transfers-in 6; };",
    "include-missing": 'include "nowhere.conf";',
    "directory-missing": 'options { directory "nowhere"; };',
}


def run_named_checkconf(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    checkconf = require_tool("named-checkconf")
    return subprocess.run(
        [checkconf, *args, "named.conf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_same_verdict_zone_list_and_message_as_named_checkconf(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / "named.conf").write_text(SNIPPETS[name] + "\n")
    bind = run_named_checkconf(tmp_path, "-l")
    try:
        config = load_config("named.conf", cwd=tmp_path)
    except ConfigError as err:
        ours = [str(p) for p in err.problems]
        assert bind.returncode == 1, f"BIND accepts, zonesync says {ours}"
        bind_errors = [
            line for line in bind.stdout.splitlines() + bind.stderr.splitlines() if line
        ]
        assert bind_errors[0] in ours
        return
    assert bind.returncode == 0, (
        f"zonesync accepts, BIND says {bind.stdout}{bind.stderr}"
    )
    # named-checkconf prints warnings (file:line: text) before the zone list.
    zone_lines = [line for line in bind.stdout.splitlines() if not WARNING.match(line)]
    assert config.zone_list() == zone_lines
