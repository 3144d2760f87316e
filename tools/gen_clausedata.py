"""Generate zonesync/config/clausedata.py from BIND 9.18's own grammar documentation.

Sources (installed by Debian's bind9 and bind9-doc packages):

- ``/usr/share/doc/bind9/options.gz``: the grammar of every top-level
  statement and of ``options`` and ``view``, as printed by BIND's
  ``cfg_print_grammar`` (``named-checkconf``'s grammar printer).
- ``/usr/share/doc/bind9-doc/arm/reference.html``: the ARM's per-zone-type
  grammars, one ``<pre>`` block per type (``zone <string> [ <class> ] {
  type primary; ... }``).

The documentation is generated from BIND's parser tables, but it leaves out
what BIND does not print (``zone`` itself, the ``masters`` synonym, clauses
that only remain to say "no longer exists") and renders a few types in a way
that loses detail. CORRECTIONS and ADDITIONS below put that back; every entry
was checked against ``named-checkconf`` 9.18.49 (Debian 12).

Usage: ``python3 tools/gen_clausedata.py [OPTIONS_GZ REFERENCE_HTML]``
writes ``zonesync/config/clausedata.py`` and formats it with ruff (from the
running interpreter's environment, or PATH) so that it is byte-stable.
"""

from __future__ import annotations

import gzip
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

OPTIONS_GZ = Path("/usr/share/doc/bind9/options.gz")
REFERENCE_HTML = Path("/usr/share/doc/bind9-doc/arm/reference.html")
OUTPUT = Path(__file__).resolve().parents[1] / "zonesync" / "config" / "clausedata.py"

# Documentation comments -> our flag words.
FLAG_WORDS = {
    "may occur multiple times": "multi",
    "deprecated": "deprecated",
    "obsolete": "obsolete",
    "not configured": "not-configured",
    "test only": "test-only",
    "experimental": "experimental",
    "ancient": "ancient",
}

# Zone type names the parser accepts besides the ARM's.
ZONE_TYPE_SYNONYMS = {"master": "primary", "slave": "secondary"}

# Clauses that named-checkconf 9.18.49 rejects with "option 'X' no longer
# exists" (BIND's CFG_CLAUSEFLAG_ANCIENT; the grammar printer omits them).
# Found by trying historical clause names in each context.
ANCIENT = {
    "namedconf": ["lwres"],
    "options": [
        "acache-cleaning-interval",
        "acache-enable",
        "additional-from-auth",
        "additional-from-cache",
        "allow-v6-synthesis",
        "cache-file",
        "cleaning-interval",
        "deallocate-on-exit",
        "dnssec-enable",
        "dnssec-lookaside",
        "fake-iquery",
        "fetch-glue",
        "filter-aaaa",
        "filter-aaaa-on-v4",
        "filter-aaaa-on-v6",
        "geoip-use-ecs",
        "has-old-clients",
        "host-statistics",
        "host-statistics-max",
        "maintain-ixfr-base",
        "max-acache-size",
        "max-ixfr-log-size",
        "min-roots",
        "multiple-cnames",
        "named-xfer",
        "nosit-udp-size",
        "queryport-pool-ports",
        "queryport-pool-updateinterval",
        "request-sit",
        "rfc2308-type1",
        "serial-queries",
        "sit-secret",
        "statistics-interval",
        "topology",
        "treat-cr-as-space",
        "use-id-pool",
        "use-ixfr",
        "use-queryport-pool",
    ],
    "view": [
        "acache-cleaning-interval",
        "acache-enable",
        "additional-from-auth",
        "additional-from-cache",
        "allow-v6-synthesis",
        "cache-file",
        "cleaning-interval",
        "dnssec-enable",
        "dnssec-lookaside",
        "fetch-glue",
        "filter-aaaa",
        "filter-aaaa-on-v4",
        "filter-aaaa-on-v6",
        "maintain-ixfr-base",
        "max-acache-size",
        "max-ixfr-log-size",
        "min-roots",
        "nosit-udp-size",
        "queryport-pool-ports",
        "queryport-pool-updateinterval",
        "request-sit",
        "rfc2308-type1",
        "topology",
        "use-queryport-pool",
    ],
    "zone": [
        "ixfr-base",
        "ixfr-tmp-file",
        "maintain-ixfr-base",
        "max-ixfr-log-size",
        "pubkey",
    ],
    "server": ["request-sit", "support-ixfr"],
}

# Where the documentation renders a type so that detail is lost, the syntax
# as named-checkconf 9.18.49 parses it: (context, clause, documented syntax,
# corrected syntax). The generator fails if the documented text changes.
_SRC4 = "( <ipv4_address> | * )"
_SRC6 = "( <ipv6_address> | * )"
_SRC_TAIL = " [ port ( <integer> | * ) ] [ dscp <integer> ]"
_REMOTE_HEAD = "[ port <integer> ]  {"
_REMOTE_HEAD_DSCP = "[ port <integer> ] [ dscp <integer> ] {"
CORRECTIONS: list[tuple[str, str, str, str]] = []


def _source_corrections() -> None:
    """The *-source clauses take `port` (deprecated) and `dscp` (obsolete)."""
    sources = [
        "notify-source",
        "transfer-source",
        "alt-transfer-source",
        "parental-source",
    ]
    for ctx in ("options", "view", "zone", "server"):
        for name in sources:
            CORRECTIONS.append((ctx, name, _SRC4, _SRC4 + _SRC_TAIL))
            CORRECTIONS.append((ctx, name + "-v6", _SRC6, _SRC6 + _SRC_TAIL))
        # query-source: `address`, `port` and `dscp` in any order, or a
        # plain address with port and dscp.
        CORRECTIONS.append(
            (
                ctx,
                "query-source",
                "[ address ] " + _SRC4,
                "[ address ] " + _SRC4 + _SRC_TAIL,
            )
        )
        CORRECTIONS.append(
            (
                ctx,
                "query-source-v6",
                "[ address ] " + _SRC6,
                "[ address ] " + _SRC6 + _SRC_TAIL,
            )
        )


_source_corrections()

# Remote-server lists (primaries, also-notify, parental-agents) accept an
# obsolete `dscp` after the list's port; forwarders accept it in the header
# and after each address; dual-stack-servers after a server name only.
_FWD = "[ port <integer> ]  { ( <ipv4_address> | <ipv6_address> ) [ port <integer> ]; ... }"
_FWD_FIXED = (
    "[ port <integer> ] [ dscp <integer> ] "
    "{ ( <ipv4_address> | <ipv6_address> ) [ port <integer> ] [ dscp <integer> ]; ... }"
)
_DSS = (
    "[ port <integer> ] { ( <quoted_string> [ port <integer> ] | "
    "<ipv4_address> [ port <integer> ] | <ipv6_address> [ port <integer> ] ); ... }"
)
_DSS_FIXED = (
    "[ port <integer> ] { ( <quoted_string> [ port <integer> ] [ dscp <integer> ] | "
    "<ipv4_address> [ port <integer> ] | <ipv6_address> [ port <integer> ] ); ... }"
)
for _ctx in ("options", "view", "zone"):
    CORRECTIONS.append((_ctx, "forwarders", _FWD, _FWD_FIXED))
for _ctx in ("options", "view"):
    CORRECTIONS.append((_ctx, "dual-stack-servers", _DSS, _DSS_FIXED))
    # `dnssec-validation` takes any boolean (`true`, `1`, ...) or `auto`.
    CORRECTIONS.append(
        (_ctx, "dnssec-validation", "( yes | no | auto )", "( auto | <boolean> )")
    )
    # `listen-on` also takes an obsolete `dscp` among its keyword fields.
    for _name in ("listen-on", "listen-on-v6"):
        CORRECTIONS.append(
            (
                _ctx,
                _name,
                "[ port <integer> ] [ tls <string> ] [ http <string> ] { <address_match_element>; ... }",
                "[ port <integer> ] [ dscp <integer> ] [ tls <string> ] [ http <string> ] "
                "{ <address_match_element>; ... }",
            )
        )
# In a response-policy zone, `policy cname` takes a domain name and
# `tcp-only` takes nothing (the documentation prints the domain after the
# whole list).
_RPZ_POLICY = "policy ( cname | disabled | drop | given | no-op | nodata | nxdomain | passthru | tcp-only <quoted_string> )"
_RPZ_POLICY_FIXED = "policy ( cname <string> | disabled | drop | given | no-op | nodata | nxdomain | passthru | tcp-only )"
# catalog-zones also accepts `default-masters`, a synonym of
# `default-primaries`.
_CATZ_PRIMARIES = (
    "[ default-primaries [ port <integer> ]  { ( <remote-servers> | "
    "<ipv4_address> [ port <integer> ] | <ipv6_address> [ port <integer> ] ) "
    "[ key <string> ] [ tls <string> ]; ... } ]"
)
# BIND prints unquoted-only strings (cfg_type_ustring) as <string> too; where
# named-checkconf 9.18.49 rejects a quoted string ("expected unquoted string
# near '\"'"), the syntax says <unquoted_string>.
_RRSET_ORDER = (
    "[ class <string> ] [ type <string> ] [ name <quoted_string> ] <string> <string>"
)
_RRSET_ORDER_FIXED = (
    "[ class <unquoted_string> ] [ type <unquoted_string> ] [ name <quoted_string> ] "
    "<unquoted_string> <unquoted_string>"
)
_KASP_ALGORITHM = "algorithm <string>"
_KASP_ALGORITHM_FIXED = "algorithm <unquoted_string>"
# In update-policy, the name field is required unless the match type is
# `zonesub`; the documentation shows it as optional. `<matchname>` is that
# field (see clauses.py).
_GRANT_NAME = "[ <string> ] <rrtypelist>"
_GRANT_NAME_FIXED = "<matchname> <rrtypelist>"


def _rewrite_text(ctx: str, name: str, syntax: str) -> str:
    """Apply the substring corrections that are not tied to one clause."""
    if name == "response-policy":
        syntax = _require_replace(syntax, _RPZ_POLICY, _RPZ_POLICY_FIXED)
    if name == "catalog-zones":
        primaries = _CATZ_PRIMARIES.replace(_REMOTE_HEAD, _REMOTE_HEAD_DSCP)
        masters = primaries.replace("default-primaries", "default-masters")
        syntax = _require_replace(syntax, _CATZ_PRIMARIES, f"{primaries} {masters}")
    if name == "rrset-order":
        syntax = _require_replace(syntax, _RRSET_ORDER, _RRSET_ORDER_FIXED)
    if ctx == "dnssec-policy" and name == "keys":
        syntax = _require_replace(syntax, _KASP_ALGORITHM, _KASP_ALGORITHM_FIXED)
    if name == "update-policy":
        syntax = _require_replace(syntax, _GRANT_NAME, _GRANT_NAME_FIXED)
    if name in ("primaries", "masters", "also-notify", "parental-agents"):
        syntax = _require_replace(syntax, _REMOTE_HEAD, _REMOTE_HEAD_DSCP)
    return syntax


def _require_replace(text: str, old: str, new: str) -> str:
    if old not in text:
        raise SystemExit(f"documented syntax changed; expected {old!r} in {text!r}")
    return text.replace(old, new)


# Clauses named-checkconf 9.18.49 accepts that the documentation does not
# print: (context, clause, syntax, flags).
_ZONE_STATEMENT = "<string> [ <class> ] { @zone }"
ADDITIONS: list[tuple[str, str, str, str]] = [
    # The grammar printer leaves `zone` out of the top level and of `view`.
    ("namedconf", "zone", _ZONE_STATEMENT, "multi"),
    ("view", "zone", _ZONE_STATEMENT, "multi"),
]

# The documentation was printed by a build without dnstap; Debian's 9.18.49
# has it, so these clauses are accepted (DNSRPS really is not compiled in).
COMPILED_IN = [
    "dnstap",
    "dnstap-identity",
    "dnstap-output",
    "dnstap-version",
    "fstrm-set-buffer-hint",
    "fstrm-set-flush-timeout",
    "fstrm-set-input-queue-size",
    "fstrm-set-output-notify-threshold",
    "fstrm-set-output-queue-model",
    "fstrm-set-output-queue-size",
    "fstrm-set-reopen-interval",
]

# Where BIND reads a clause's optional keyword fields in any order, which the
# documentation does not show: "kv" (cfg_parse_kv_tuple: after the first
# field, fields in any order, an unknown word is "unexpected 'X'"),
# "any-order" (dnstap-output's parse_dtout: "unexpected token near 'X'") and
# "any-order-lax" (the channel file's parse_logfile: an unknown word ends
# the field list and is skipped).
ORDERING = {
    ("options", "listen-on"): "kv",
    ("options", "listen-on-v6"): "kv",
    ("options", "allow-transfer"): "kv",
    ("view", "allow-transfer"): "kv",
    ("zone", "allow-transfer"): "kv",
    ("options", "response-policy"): "kv",
    ("view", "response-policy"): "kv",
    ("options", "catalog-zones"): "kv",
    ("view", "catalog-zones"): "kv",
    ("options", "dnstap-output"): "any-order",
    ("channel", "file"): "any-order-lax",
}

# Zone types, as the parser's enum accepts them.
ZONE_TYPE_ENUM = (
    "( primary | master | secondary | slave | mirror | delegation-only | "
    "forward | hint | redirect | static-stub | stub )"
)


def _flags(comment: str) -> str:
    words = []
    for part in comment.split(","):
        part = part.strip()
        if not part:
            continue
        if part not in FLAG_WORDS:
            raise SystemExit(f"unknown documentation flag {part!r}")
        words.append(FLAG_WORDS[part])
    return " ".join(words)


def _split_comment(line: str) -> tuple[str, str]:
    if "//" in line:
        body, comment = line.split("//", 1)
        return body.rstrip(), comment.strip()
    return line.rstrip(), ""


Clauses = dict[str, tuple[str, str]]


def parse_options(text: str) -> dict[str, Clauses]:
    """Parse options.gz into contexts: the top level ('namedconf') and every map."""
    contexts: dict[str, Clauses] = {}
    lines = [ln for ln in text.splitlines() if ln.strip()]
    pos = 0

    def block(ctx: str, depth: int) -> Clauses:
        nonlocal pos
        clauses: Clauses = {}
        while pos < len(lines):
            raw = lines[pos]
            indent = len(raw) - len(raw.lstrip("\t"))
            if indent < depth:
                break
            if indent > depth:
                raise SystemExit(f"unexpected indentation: {raw!r}")
            body, comment = _split_comment(raw.strip())
            if body.startswith("}"):
                break
            pos += 1
            name, _, rest = body.partition(" ")
            name = name.rstrip(";")
            if body.endswith("{"):
                head = rest[:-1].strip()
                inner = block(name, depth + 1)
                close, close_comment = _split_comment(lines[pos].strip())
                if not close.startswith("}"):
                    raise SystemExit(f"unclosed map {name!r}: {lines[pos]!r}")
                pos += 1
                _merge_context(contexts, name, inner)
                syntax = f"{head} {{ @{name} }}".strip()
                clauses[name] = (syntax, _flags(close_comment))
            else:
                if not body.endswith(";"):
                    raise SystemExit(f"clause without ';': {raw!r}")
                syntax = rest[: rest.rindex(";")].strip() if rest else ""
                clauses[name] = (re.sub(r"\s+;$", "", syntax), _flags(comment))
        return clauses

    top = block("namedconf", 0)
    if pos != len(lines):
        raise SystemExit(f"unparsed documentation from {lines[pos]!r}")
    _merge_context(contexts, "namedconf", top)
    return contexts


def _merge_context(contexts: dict[str, Clauses], name: str, clauses: Clauses) -> None:
    """Record a map's clauses; a map printed in two places must match."""
    if name in contexts and contexts[name] != clauses:
        raise SystemExit(f"context {name!r} documented twice, differently")
    contexts[name] = clauses


def parse_zone_grammars(text: str) -> tuple[Clauses, dict[str, list[str]]]:
    """The union of the ARM's per-type zone grammars, and each clause's types."""
    clauses: Clauses = {}
    types: dict[str, list[str]] = {}
    for pre in re.findall(r"<pre[^>]*>(.*?)</pre>", text, re.S):
        block = html.unescape(re.sub(r"<[^>]+>", "", pre))
        if not block.startswith("zone <string> [ <class> ] {"):
            continue
        lines = [ln.strip() for ln in block.splitlines()[1:] if ln.strip()]
        if lines[-1] != "};":
            raise SystemExit(f"unexpected zone grammar end: {lines[-1]!r}")
        ztype = "in-view"
        if lines[0].startswith("type "):
            ztype = lines[0][len("type ") : -1]
            lines = lines[1:]
        for line in lines[:-1]:
            body, comment = _split_comment(line)
            name, _, rest = body.partition(" ")
            syntax = rest[: rest.rindex(";")].strip()
            entry = (syntax, _flags(comment))
            if name in clauses and clauses[name] != entry:
                raise SystemExit(f"zone clause {name!r} differs between types")
            clauses[name] = entry
            types.setdefault(name, []).append(ztype)
        types.setdefault("type", []).append(ztype)
    types["type"] = [t for t in types["type"] if t != "in-view"]
    clauses["type"] = (ZONE_TYPE_ENUM, "")
    return clauses, types


def build(
    options_text: str, reference_text: str
) -> tuple[dict[str, Clauses], dict[str, list[str]]]:
    contexts = parse_options(options_text)
    zone, zone_types = parse_zone_grammars(reference_text)
    contexts["zone"] = zone
    # `masters` is a synonym of `primaries`, at the top level and in zones.
    contexts["namedconf"]["masters"] = contexts["namedconf"]["primaries"]
    zone["masters"] = zone["primaries"]
    zone_types["masters"] = list(zone_types["primaries"])
    for ctx, name, syntax, flags in ADDITIONS:
        contexts[ctx][name] = (syntax, flags)
    for ctx, names in ANCIENT.items():
        for name in names:
            if name in contexts[ctx]:
                raise SystemExit(f"{ctx} {name} is documented but listed as ancient")
            contexts[ctx][name] = ("", "ancient")
    for clauses in contexts.values():
        for name in COMPILED_IN:
            if name in clauses:
                syntax, flags = clauses[name]
                words = [w for w in flags.split() if w != "not-configured"]
                clauses[name] = (syntax, " ".join(words))
    for ctx, name, old, new in CORRECTIONS:
        if name not in contexts[ctx]:
            continue
        syntax, flags = contexts[ctx][name]
        if syntax != old:
            raise SystemExit(f"documented syntax of {ctx} {name} changed: {syntax!r}")
        contexts[ctx][name] = (new, flags)
    for ctx, clauses in contexts.items():
        for name, (syntax, flags) in list(clauses.items()):
            clauses[name] = (_rewrite_text(ctx, name, syntax), flags)
    for (ctx, name), order in ORDERING.items():
        syntax, flags = contexts[ctx][name]
        contexts[ctx][name] = (syntax, f"{flags} {order}".strip())
    return contexts, zone_types


HEADER = '''\
"""BIND 9.18's named.conf grammar as data: context -> clause -> (syntax, flags).

GENERATED by tools/gen_clausedata.py; do not edit. Derived from the BIND 9.18
documentation (options.gz and the ARM's reference.html, as installed by
Debian's bind9 9.18.49 packages), which is (c) Internet Systems Consortium,
Inc. ("ISC"), MPL-2.0, with the corrections listed in the generator.

Syntax strings use BIND's grammar notation: `<type>` a value, `[ x ]`
optional, `( a | b )` one of, `{ x; ... }` a braced list, and `{ @ctx }` a
braced block of the clauses of context `ctx`. `zonesync.config.clauses`
compiles them into matchers. Two value names are not BIND's own:
`<unquoted_string>` (BIND prints it as <string>) and `<matchname>` (the name
field of an update-policy rule, absent after `zonesub`). Flags: multi (may
occur multiple times), deprecated, obsolete, ancient (rejected: "no longer
exists"), not-configured (rejected: not compiled in), test-only; and how
BIND orders optional keyword fields where that is not fixed: kv, any-order,
any-order-lax (see the generator).
"""

from __future__ import annotations

'''


def render(contexts: dict[str, Clauses], zone_types: dict[str, list[str]]) -> str:
    out = [HEADER]
    out.append("CLAUSES: dict[str, dict[str, tuple[str, str]]] = {\n")
    for ctx in sorted(contexts):
        out.append(f"    {ctx!r}: {{\n")
        for name in sorted(contexts[ctx]):
            syntax, flags = contexts[ctx][name]
            out.append(
                f"        {name!r}: (\n            {syntax!r},\n            {flags!r},\n        ),\n"
            )
        out.append("    },\n")
    out.append("}\n\n")
    out.append(
        "# Zone clause -> the zone types it is allowed in (BIND's CFG_ZONE_* flags).\n"
    )
    out.append("ZONE_TYPES: dict[str, tuple[str, ...]] = {\n")
    for name in sorted(zone_types):
        out.append(f"    {name!r}: {tuple(zone_types[name])!r},\n")
    out.append("}\n\n")
    out.append("# Zone type synonyms the parser accepts.\n")
    out.append(f"ZONE_TYPE_SYNONYMS: dict[str, str] = {ZONE_TYPE_SYNONYMS!r}\n")
    return "".join(out)


def main(argv: list[str]) -> int:
    options_path = Path(argv[1]) if len(argv) > 1 else OPTIONS_GZ
    reference_path = Path(argv[2]) if len(argv) > 2 else REFERENCE_HTML
    with gzip.open(options_path, "rt", encoding="utf-8") as f:
        options_text = f.read()
    reference_text = reference_path.read_text(encoding="utf-8")
    contexts, zone_types = build(options_text, reference_text)
    OUTPUT.write_text(render(contexts, zone_types), encoding="utf-8")
    ruff = Path(sys.executable).with_name("ruff")
    ruff_cmd = str(ruff) if ruff.exists() else shutil.which("ruff")
    if ruff_cmd is None:
        sys.stderr.write(
            f"wrote {OUTPUT}; ruff not found, format it before committing\n"
        )
        return 0
    subprocess.run([ruff_cmd, "format", "--quiet", str(OUTPUT)], check=True)
    sys.stderr.write(f"wrote {OUTPUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
