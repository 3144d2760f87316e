"""View-level checks of BIND 9.18's `check_viewconf()` (lib/isccfg/check.c).

Copies `check_dns64()`, `check_ratelimit()`, `check_forward()`,
`check_nonzero()`, `check_dual_stack()`, `check_order()`,
`check_servers()` and `check_dnstap()`, worded as named-checkconf 9.18.49
prints them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from zonesync.config.checks_options import Context, source_port
from zonesync.config.checks_util import (
    Opts,
    Problems,
    as_int,
    block,
    block_opts,
    is_rdata_type,
    parse_name,
    parse_prefix,
    text,
    value,
    where,
    word,
)
from zonesync.config.grammar import Block, Statement, Word


def check_dns64(
    statements: Sequence[Statement], ctx: Context, problems: Problems
) -> None:
    """Check `dns64` prefixes, their ACLs and suffixes (check_dns64)."""
    for statement in statements:
        raw = text(statement)
        parsed = parse_prefix(raw) if raw is not None else None
        if parsed is None:
            continue
        address, bits = parsed
        at: Block | Statement = block(statement) or statement
        shown = f"{address}/{bits}"
        if not isinstance(address, ipaddress.IPv6Address):
            problems.add(at, f"dns64 prefix {shown} must be IPv6")
            continue
        if address.packed[8] != 0:
            problems.add(at, f"dns64 prefix {shown} bits [64..71] must be zero")
            continue
        if bits not in (32, 40, 48, 56, 64, 96):
            problems.add(at, f"dns64 prefix {shown} length is not 32/40/48/56/64/96")
            continue
        opts = block_opts(statement)
        for name in ("clients", "exclude", "mapped"):
            acl = block(opts.get(name))
            if acl is not None:
                ctx.expand_acl(acl, problems)
        suffix = opts.get("suffix")
        suffix_text = text(suffix)
        if suffix is None or suffix_text is None:
            continue
        try:
            suffix_address = ipaddress.ip_address(suffix_text)
        except ValueError:
            continue
        if not isinstance(suffix_address, ipaddress.IPv6Address):
            problems.add(at, "dns64 requires a IPv6 suffix")
            continue
        count = bits // 8 + 4 + (1 if bits <= 64 else 0)
        if any(suffix_address.packed[:count]):
            problems.add(
                suffix,
                f"bad suffix '{suffix_address}' leading {count} octets not zeros",
            )


_RRL_RATES = (
    "responses-per-second",
    "referrals-per-second",
    "nodata-per-second",
    "nxdomains-per-second",
    "errors-per-second",
    "all-per-second",
)


def check_ratelimit(statement: Statement, ctx: Context, problems: Problems) -> None:
    """Check `rate-limit` ranges (check_ratelimit)."""
    opts = block_opts(statement)

    def get(name: str) -> tuple[Statement, int] | None:
        found = opts.get(name)
        number = as_int(value(found)) if found is not None else None
        return (found, number) if found is not None and number is not None else None

    min_entries = 500
    found = get("min-table-size")
    if found is not None:
        min_entries = max(found[1], 1)
    found = get("max-table-size")
    if found is not None and found[1] < min_entries:
        problems.add(
            where(found[0]), f"max-table-size {found[1]} < min-table-size {min_entries}"
        )
    for name in _RRL_RATES:
        found = get(name)
        if found is not None and found[1] > 1000:
            problems.add(where(found[0]), f"{name} {found[1]} > 1000")
    found = get("slip")
    if found is not None and found[1] > 10:
        problems.add(where(found[0]), f"slip {found[1]} > 10")
    found = get("window")
    if found is not None and not 1 <= found[1] <= 3600:
        problems.add(where(found[0]), f"window {found[1]} < 1 or > 3600")
    found = get("qps-scale")
    if found is not None and found[1] < 1:
        problems.add(where(found[0]), f"invalid 'qps-scale {found[1]}'")
    found = get("ipv4-prefix-length")
    if found is not None and not 8 <= found[1] <= 32:
        problems.add(where(found[0]), f"invalid 'ipv4-prefix-length {found[1]}'")
    found = get("ipv6-prefix-length")
    if found is not None and not 16 <= found[1] <= 64:
        problems.add(where(found[0]), f"ipv6-prefix-length {found[1]} < 16 or > 64")
    acl = block(opts.get("exempt-clients"))
    if acl is not None:
        ctx.expand_acl(acl, problems)


def check_forward(
    opts: Opts, root_forwarders: Statement | None, problems: Problems
) -> bool:
    """`forward` needs `forwarders`; a root zone may not repeat global ones."""
    forwarders = opts.get("forwarders")
    if forwarders is not None and root_forwarders is not None:
        problems.add(
            where(forwarders),
            f"forwarders declared in root zone and in general configuration: "
            f"{root_forwarders.file}:{root_forwarders.line}",
        )
        return False
    forward = opts.get("forward")
    if forward is not None and forwarders is None:
        problems.add(where(forward), "no matching 'forwarders' statement")
        return False
    return True


NONZERO = ("max-retry-time", "min-retry-time", "max-refresh-time", "min-refresh-time")


def check_nonzero(opts: Opts, problems: Problems) -> None:
    """Refresh and retry limits may not be zero (check_nonzero)."""
    for name in NONZERO:
        statement = opts.get(name)
        if statement is not None and as_int(value(statement)) == 0:
            problems.add(where(statement), f"'{name}' must not be zero")


def check_dual_stack(opts: Opts, problems: Problems) -> None:
    """Names and ports of `dual-stack-servers` (check_dual_stack)."""
    statement = opts.get("dual-stack-servers")
    servers = block(statement)
    if statement is None or servers is None:
        return
    for entry in servers.statements:
        first = word(entry, 0)
        if first is None or not first.quoted:
            continue
        if parse_name(first.text) is None:
            problems.add(first, f"bad name '{first.text}'")


_CLASSES = frozenset({"IN", "CH", "CHAOS", "HS", "HESIOD", "NONE", "ANY", "RESERVED0"})


def check_order(opts: Opts, problems: Problems) -> None:
    """Entries of `rrset-order` (check_order)."""
    statement = opts.get("rrset-order")
    entries = block(statement)
    if entries is None:
        return
    for entry in entries.statements:
        words = [item for item in entry.items if isinstance(item, Word)]
        lowered = [item.text.lower() for item in words]
        found: dict[str, Word] = {}
        for i, keyword in enumerate(lowered[:-1]):
            if keyword in ("class", "type", "name", "order") and keyword not in found:
                found[keyword] = words[i + 1]
        rdclass = found.get("class")
        if rdclass is not None and not _is_class(rdclass.text):
            problems.add(rdclass, f"rrset-order: invalid class '{rdclass.text}'")
        rdtype = found.get("type")
        if rdtype is not None and not is_rdata_type(rdtype.text):
            problems.add(rdtype, f"rrset-order: invalid type '{rdtype.text}'")
        name = found.get("name")
        if name is not None and parse_name(name.text) is None:
            problems.add(name, f"rrset-order: invalid name '{name.text}'")
        order = found.get("order")
        if order is not None and order.text.lower() not in (
            "fixed",
            "random",
            "cyclic",
            "none",
        ):
            problems.add(order, f"rrset-order: invalid order '{order.text}'")


def _is_class(raw: str) -> bool:
    upper = raw.upper()
    if upper in _CLASSES:
        return True
    return upper.startswith("CLASS") and upper[5:].isdigit() and int(upper[5:]) <= 65535


_SERVER_SOURCES = (
    ("transfer-source", "transfer-source-v6"),
    ("notify-source", "notify-source-v6"),
    ("parental-source", "parental-source-v6"),
    ("query-source", "query-source-v6"),
)


def check_servers(
    servers: Sequence[Statement], ctx: Context, problems: Problems
) -> None:
    """Sources, the listener port and duplicates of `server` (check_servers)."""
    parsed: list[tuple[Statement, str, str] | None] = []
    groups: dict[str, list[int]] = {}
    for index, statement in enumerate(servers):
        raw = text(statement)
        prefix = parse_prefix(raw) if raw is not None else None
        if prefix is None:
            parsed.append(None)
            continue
        address, bits = prefix
        family = "v4" if isinstance(address, ipaddress.IPv4Address) else "v6"
        key = f"{address}/{bits}"
        parsed.append((statement, key, family))
        groups.setdefault(key, []).append(index)
    for index, entry in enumerate(parsed):
        if entry is None:
            continue
        statement, key, family = entry
        opts = block_opts(statement)
        at: Block | Statement = block(statement) or statement
        for v4, v6 in _SERVER_SOURCES:
            wrong, right = (v6, v4) if family == "v4" else (v4, v6)
            if wrong in opts:
                problems.add(at, f"server '{key}': {wrong} not legal")
            source = opts.get(right)
            if source is not None and source_port(source) == ctx.dns_port:
                problems.add(
                    source,
                    f"'{right}' cannot specify the DNS listener port ({ctx.dns_port})",
                )
        for later in groups[key]:
            if later > index:
                later_statement = servers[later]
                later_at: Block | Statement = block(later_statement) or later_statement
                problems.add(
                    later_at,
                    f"server '{key}': already exists previous definition: {at.file}:{at.line}",
                )


def check_dnstap(view_opts: Opts | None, options: Opts, problems: Problems) -> None:
    """`dnstap` needs `dnstap-output` in options (check_dnstap)."""
    if "dnstap-output" in options:
        return
    statement = view_opts.get("dnstap") if view_opts is not None else None
    if statement is None:
        statement = options.get("dnstap")
    if statement is not None:
        problems.add(where(statement), "'dnstap-output' must be set if 'dnstap' is set")
