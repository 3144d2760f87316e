"""Checks of self-contained statements: tls, http, logging, controls,
plugins, response-policy and catalog-zones.

Each function copies one routine of BIND 9.18's lib/isccfg/check.c (named
in its docstring) or of a BIND plugin, with the wording named-checkconf
9.18.49 prints.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from zonesync.config.checks_acl import AclTable
from zonesync.config.checks_util import (
    Opts,
    Problems,
    block,
    block_opts,
    end_line,
    format_name,
    parse_name,
    text,
    where,
    word_set,
)
from zonesync.config.grammar import Block, GrammarError, Statement, Word, parse_text

# ---------------------------------------------------------------------------
# tls and http (check_tls_definitions, check_httpservers)

_TLS_PROTOCOLS = {"tlsv1.2": 1, "tlsv1.3": 2}
# OpenSSL 3 cipher-string keywords that select at least one cipher; a list
# whose rules name none of them selects nothing, which BIND rejects. Names
# of single suites are recognised by their shape (a cautious guess: an
# unknown suite name is taken as valid).
_CIPHER_WORDS = word_set(
    """
    ALL COMPLEMENTOFALL COMPLEMENTOFDEFAULT DEFAULT HIGH eNULL NULL aNULL kRSA
    aRSA RSA kDHE kEDH DH DHE EDH ADH kEECDH kECDHE ECDH ECDHE EECDH AECDH aDSS
    DSS aECDSA ECDSA TLSv1.2 TLSv1.0 SSLv3 TLSv1 AES128 AES256 AES AESGCM
    AESCCM AESCCM8 ARIA128 ARIA256 ARIA CAMELLIA128 CAMELLIA256 CAMELLIA
    CHACHA20 MD5 SHA1 SHA SHA256 SHA384 PSK kPSK kECDHEPSK kDHEPSK kRSAPSK
    aPSK SUITEB128 SUITEB128ONLY SUITEB192 CBC kSRP aSRP SRP
    """
)
_CIPHER_SUITE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)+")


def _cipher_list_valid(ciphers: str) -> bool:
    """Whether OpenSSL could select at least one cipher (a cautious guess)."""
    for rule in re.split(r"[:, ;]+", ciphers):
        if not rule or rule[0] in "!-+@":
            continue
        rule = rule.split("@", 1)[0]
        parts = rule.split("+")
        if (
            parts
            and all(
                part in _CIPHER_WORDS or _CIPHER_SUITE.fullmatch(part) for part in parts
            )
            and not rule.startswith("TLS_")
        ):
            return True
    return False


def check_tls_definitions(statements: Sequence[Statement], problems: Problems) -> None:
    """Check `tls` blocks: reserved names, duplicates, files, protocols, ciphers."""
    seen: dict[str, Block | Statement] = {}
    for statement in statements:
        name = text(statement)
        body = block(statement)
        if name is None:
            continue
        at: Block | Statement = body if body is not None else statement
        if name.lower() in ("ephemeral", "none"):
            problems.add(at, f"tls clause name '{name}' is reserved for internal use")
        elif name.lower() in seen:
            first = seen[name.lower()]
            problems.add(
                at,
                f"tls clause '{name}' is duplicated: also defined at {first.file}:{first.line}",
            )
        else:
            seen[name.lower()] = at
        opts = block_opts(statement)
        if ("key-file" in opts) != ("cert-file" in opts):
            problems.add(
                at,
                f"tls '{name}': 'cert-file' and 'key-file' must both be specified, or both omitted",
            )
        protocols = block(opts.get("protocols"))
        if protocols is not None:
            mask = 0
            for entry in protocols.statements:
                version = entry.items[0] if entry.items else None
                if not isinstance(version, Word):
                    continue
                bit = _TLS_PROTOCOLS.get(version.text.lower())
                if bit is None:
                    problems.add(
                        version, f"'{version.text}' is not a valid TLS protocol version"
                    )
                    continue
                if mask & bit:
                    # Logged as a warning, but it fails the check.
                    problems.add(
                        version,
                        f"'{version.text}' is specified more than once in '{name}'",
                    )
                mask |= bit
            if mask == 0:
                problems.add(
                    at,
                    f"tls '{name}' does not contain any valid TLS protocol versions definitions",
                )
        ciphers = opts.get("ciphers")
        cipher_text = text(ciphers)
        if (
            ciphers is not None
            and cipher_text is not None
            and not _cipher_list_valid(cipher_text)
        ):
            problems.add(
                where(ciphers),
                f"'ciphers' in the 'tls' clause '{name}' is not a valid cipher list string",
            )


_PCHAR = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]")


def http_path_valid(path: str) -> bool:
    """`isc_nm_http_path_isvalid()`: an RFC 3986 path-absolute."""
    if not path.startswith("/") or path.startswith("//"):
        return False
    i = 0
    while i < len(path):
        ch = path[i]
        if ch == "%":
            following = path[i + 1 : i + 3]
            if any(c not in "0123456789abcdefABCDEF" for c in following):
                return False
            i += 1 + len(following)
            continue
        if not _PCHAR.fullmatch(ch):
            return False
        i += 1
    return True


def check_http_definitions(statements: Sequence[Statement], problems: Problems) -> None:
    """Check `http` blocks: the reserved name, duplicates, endpoint paths."""
    seen: dict[str, Block | Statement] = {}
    for statement in statements:
        name = text(statement)
        if name is None:
            continue
        body = block(statement)
        at: Block | Statement = body if body is not None else statement
        if name.lower() == "default":
            problems.add(
                at,
                f"'http' name cannot be '{name}' (which is a built-in configuration)",
            )
        elif name.lower() in seen:
            first = seen[name.lower()]
            problems.add(
                at,
                f"http '{name}' is duplicated: also defined at {first.file}:{first.line}",
            )
        else:
            seen[name.lower()] = at
        endpoints = block_opts(statement).get("endpoints")
        endpoint_list = block(endpoints)
        if endpoints is None or endpoint_list is None:
            continue
        for entry in endpoint_list.statements:
            path = entry.items[0] if entry.items else None
            if isinstance(path, Word) and not http_path_valid(path.text):
                problems.add(
                    endpoint_list,
                    f"endpoint '{path.text}' is not a valid absolute HTTP path",
                )


# ---------------------------------------------------------------------------
# logging (check_logging)

LOG_CATEGORIES = word_set(
    """
    default general sslkeylog notify database security dnssec resolver xfer-in
    xfer-out dispatch lame-servers delegation-only edns-disabled rpz rpz-
    passthru rate-limit cname spill dnstap zoneload nsid config client network
    update queries unmatched update-security query-errors trust-anchor-telemetry
    serve-stale _placeholder
    """
)
_DEFAULT_CHANNELS = ("default_syslog", "default_stderr", "default_debug", "null")


def check_logging(logging: Statement, problems: Problems) -> None:
    """Channels need exactly one destination; categories and channels must exist."""
    opts = block_opts(logging)
    channels = set(_DEFAULT_CHANNELS)
    for channel in opts.all("channel"):
        name = text(channel)
        if name is None:
            continue
        copts = block_opts(channel)
        present = sum(
            1 for kind in ("file", "syslog", "null", "stderr") if kind in copts
        )
        if present != 1:
            at = block(channel) or channel
            problems.add(
                at,
                f"channel '{name}': exactly one of file, syslog, null, and stderr must be present",
            )
        channels.add(name.lower())
    for category in opts.all("category"):
        name = text(category)
        if name is None:
            continue
        if name not in LOG_CATEGORIES:
            problems.add(category, f"undefined category: '{name}'")
        destinations = block(category)
        for entry in destinations.statements if destinations is not None else ():
            channel_word = entry.items[0] if entry.items else None
            if (
                isinstance(channel_word, Word)
                and channel_word.text.lower() not in channels
            ):
                problems.add(channel_word, f"undefined channel: '{channel_word.text}'")


# ---------------------------------------------------------------------------
# controls (check_controls)


def check_controls(
    controls: Sequence[Statement],
    key_names: frozenset[str],
    acls: AclTable,
    problems: Problems,
) -> None:
    """Expand `inet ... allow` lists; every control key must be a top-level key.

    Control keys are compared as written, ignoring case (`rndckey_exists()`):
    unlike TSIG key names, "foo." is not "foo".
    """
    for statement in controls:
        body = block(statement)
        for control in body.statements if body is not None else ():
            kind = control.keyword
            if kind not in ("inet", "unix"):
                continue
            blocks = [item for item in control.items if isinstance(item, Block)]
            words = [item for item in control.items if isinstance(item, Word)]
            lowered = [item.text.lower() for item in words]
            if kind == "inet" and "allow" in lowered and blocks:
                acls.expand(blocks[0], problems)
            if "keys" not in lowered or not blocks:
                continue
            for entry in blocks[-1].statements:
                key = entry.items[0] if entry.items else None
                if isinstance(key, Word) and key.text.lower() not in key_names:
                    problems.add(key, f"unknown key '{key.text}'")


# ---------------------------------------------------------------------------
# Plugins (check_one_plugin and the filter plugins' own checks)

# The plugins a BIND 9.18 package installs, and where (named-checkconf
# fails on any other module it cannot load).
PLUGIN_DIR = "/usr/lib/x86_64-linux-gnu/bind"
KNOWN_PLUGINS = frozenset({"filter-aaaa.so", "filter-a.so"})


def check_plugin(statement: Statement, acls: AclTable, problems: Problems) -> None:
    """Check one `plugin query "module" { ... };` statement.

    named-checkconf loads the module and runs its own check. BIND 9.18
    ships two modules, filter-aaaa and filter-a; any other module, or one
    named by a path that does not exist, fails to load.
    """
    words = [item for item in statement.items if isinstance(item, Word)]
    if len(words) < 3:
        return
    module = words[2].text
    path = module if "/" in module else f"{PLUGIN_DIR}/{module}"
    base = path.rsplit("/", 1)[-1]
    params = block(statement)
    body = _plugin_body(params)
    line = end_line(statement) if body is None else body[1]
    failed = f"{path}: plugin check failed: failure"
    loadable = base in KNOWN_PLUGINS and (
        path == f"{PLUGIN_DIR}/{base}" or Path(path).is_file()
    )
    if not loadable:
        problems.add_at(statement.file, line, failed)
        return
    if params is None:
        return
    family = "aaaa" if base == "filter-aaaa.so" else "a"
    if body is None:
        statements, offset = params.statements, params.line
    else:
        try:
            statements = parse_text(body[0], statement.file)
        except GrammarError as err:
            problems.add_at(statement.file, 0, err.problem.message)
            problems.add_at(statement.file, line, failed)
            return
        offset = 1
    outcome = _check_filter_params(
        statements, family, line - offset, acls, statement.file, problems
    )
    if outcome is not None:
        problems.add_at(statement.file, line, f"{path}: plugin check failed: {outcome}")


def _plugin_body(params: Block | None) -> tuple[str, int] | None:
    """The raw text of a plugin's parameters and the line of its closing brace.

    The grammar keeps a plugin block it cannot parse as one quoted word.
    """
    if params is None or len(params.statements) != 1:
        return None
    only = params.statements[0]
    if len(only.items) != 1 or only.keyword:
        return None
    raw = only.items[0]
    if not isinstance(raw, Word) or not raw.quoted:
        return None
    return raw.text, params.line + raw.text.count("\n")


def _check_filter_params(
    statements: Sequence[Statement],
    family: str,
    base_line: int,
    acls: AclTable,
    file: str,
    problems: Problems,
) -> str | None:
    """filter-aaaa.c / filter-a.c `check_syntax()`; the failure text, or None.

    The module parses its parameters from a copy of the block's text: BIND
    prints "none" as the file and counts lines from the plugin's end.
    """
    names = (f"filter-{family}", f"filter-{family}-on-v4", f"filter-{family}-on-v6")
    for entry in statements:
        if entry.keyword not in names:
            first = entry.items[0] if entry.items else None
            shown = first.text if isinstance(first, Word) else ""
            problems.add_at(file, 0, f"unknown option '{shown}'")
            return "failure"
    opts = Opts(statements)
    acl_statement = opts.get(f"filter-{family}")
    acl = block(acl_statement)
    if acl_statement is None or acl is None:
        return None
    where_line = base_line + acl_statement.line
    if not acls.expand(acl, problems):
        if acls.undefined is not None:
            problems.add_at("none", where_line, f"undefined ACL '{acls.undefined}'")
            return "not found"
        return "failure"
    on = [text(opts.get(f"filter-{family}-on-v{version}")) for version in (4, 6)]
    enabled = any(
        value is not None and value.lower() not in ("no", "false", "0") for value in on
    )
    none = acls.is_none(acl)
    pair = "v6 or filter-a-on-v4" if family == "a" else "v4 or filter-aaaa-on-v6"
    either = f"filter-{family}-on-{pair}"
    if enabled and none:
        message = f"\"filter-{family}\" is 'none;' but either {either} is enabled"
    elif not enabled and not none:
        message = f'"filter-{family}" is set but neither {either} is enabled'
    else:
        return None
    problems.add_at("none", where_line, message)
    return "failure"


# ---------------------------------------------------------------------------
# response-policy and catalog-zones (check_rpz_catz, check_catz)


def _zone_list(statement: Statement) -> list[Statement]:
    body = block(statement)
    if body is None:
        return []
    return [
        entry
        for entry in body.statements
        if entry.keyword == "zone" and len(entry.items) > 1
    ]


def check_rpz_catz(
    kind: str,
    statement: Statement,
    view_name: str | None,
    zone_types: dict[tuple[bytes, ...], str],
    problems: Problems,
) -> None:
    """Each listed zone must be a primary or secondary zone of the view."""
    suffix = f" for view {view_name}" if view_name is not None else ""
    for count, entry in enumerate(_zone_list(statement), start=1):
        name_word = entry.items[1]
        if not isinstance(name_word, Word):
            continue
        if kind == "response-policy zone" and count > 64:
            problems.add(
                name_word,
                f"more than 64 response policy zones in view '{view_name or ''}'",
            )
            return
        name = parse_name(name_word.text)
        if name is None:
            problems.add(name_word, f"bad domain name '{name_word.text}'")
            continue
        if zone_types.get(name, "") not in ("primary", "master", "secondary", "slave"):
            problems.add(
                name_word,
                f"{kind} '{name_word.text}'{suffix} is not a primary or secondary zone",
            )


def check_catz(statement: Statement, view_name: str | None, problems: Problems) -> None:
    """Catalog zones: no duplicates, not both default-primaries and -masters."""
    suffix = f" for view {view_name}" if view_name is not None else ""
    seen: dict[tuple[bytes, ...], Word] = {}
    for entry in _zone_list(statement):
        name_word = entry.items[1]
        if not isinstance(name_word, Word):
            continue
        name = parse_name(name_word.text)
        if name is None:
            problems.add(entry, f"bad domain name '{name_word.text}'")
            continue
        if name in seen:
            first = seen[name]
            problems.add(
                name_word,
                f"catalog zone '{format_name(name_word.text)}': already added here {first.file}:{first.line}",
            )
            continue
        seen[name] = name_word
        keywords = {
            item.text.lower() for item in entry.items[2:] if isinstance(item, Word)
        }
        if "default-primaries" in keywords and "default-masters" in keywords:
            problems.add(
                name_word,
                f"catalog zone '{name_word.text}'{suffix}: 'default-primaries' and 'default-masters' can not be both defined",
            )
            return
