"""Per-zone semantic checks: BIND 9.18's `check_zoneconf()`, minus the loader's part.

The loader reports zone types, classes, names, duplicates, `file` and
primaries lists; this module reports the rest of what `check_zoneconf()`
in lib/isccfg/check.c rejects, in the same order and wording
(named-checkconf 9.18.49). It does one pass per zone and caches what zones
inherit from their view and the options, so 10,000 zones stay cheap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.rdataclass

from zonesync.config.checks_options import (
    OPTION_KEYWORDS,
    Context,
    Level,
    check_options,
    source_port,
)
from zonesync.config.checks_trust import check_update_policy
from zonesync.config.checks_util import (
    Opts,
    Problems,
    as_bool,
    as_int,
    block,
    format_name,
    is_subdomain,
    keyword_value,
    lookup,
    parse_name,
    text,
    value,
    where,
    word,
)
from zonesync.config.checks_view import NONZERO, check_forward, check_nonzero
from zonesync.config.definitions import ZONE_ACLS
from zonesync.config.grammar import Block, Statement, Word
from zonesync.config.model import ZONE_TYPES, ZoneType
from zonesync.errors import ConfigProblem

ZONE_SOURCES = (
    "transfer-source",
    "transfer-source-v6",
    "notify-source",
    "notify-source-v6",
    "parental-source",
    "parental-source-v6",
)
_DIALUPS = {
    "notify": (ZoneType.PRIMARY, ZoneType.SECONDARY),
    "notify-passive": (ZoneType.SECONDARY,),
    "passive": (ZoneType.SECONDARY, ZoneType.STUB),
    "refresh": (ZoneType.SECONDARY, ZoneType.STUB),
}


def parse_class(raw: str) -> int | None:
    """The number of an RR class (IN, CH, CHAOS, HS, CLASS42, ...), or None."""
    try:
        return int(dns.rdataclass.from_text(raw))
    except (dns.exception.DNSException, ValueError):
        return None


@dataclass
class Config:
    """What zone checks need from the whole configuration."""

    ctx: Context
    options: Opts
    policies: list[Statement]
    tls_names: frozenset[str]
    is_none: Callable[[Block], bool]
    # key-directory use across all views: "zone/dir" -> (first zone, its
    # own dnssec-policy)
    keydirs: dict[str, tuple[Statement, str | None]] = field(default_factory=dict)
    # problems an inherited ACL produces, by statement identity
    acl_cache: dict[int, tuple[list[ConfigProblem], str | None]] = field(
        default_factory=dict
    )
    # allow-update lists expanded to decide on dynamic DNS: by identity,
    # (expanded, problems reported, not `none`)
    expansions: dict[int, tuple[bool, list[ConfigProblem], bool]] = field(
        default_factory=dict
    )
    # whether a global *-source option uses the DNS port (zones inherit it)
    bad_sources: bool = False


@dataclass
class View:
    """One view (or the implicit default view) while its zones are checked.

    What zones inherit from the view and the options is looked up once here,
    so that each zone costs a few dictionary lookups.
    """

    name: str | None
    opts: Opts | None
    rdclass: int
    # (name as written, type keyword) of each zone rpz and catz may name
    zones: list[tuple[str, str]] = field(default_factory=list)
    inherited: dict[str, Statement | None] = field(default_factory=dict)
    root_forwarders: Statement | None = None

    def prepare(self, config: Config) -> None:
        """Look up what this view's zones inherit."""
        for name in (*ZONE_ACLS, "dnssec-policy", "key-directory"):
            self.inherited[name] = lookup(name, self.opts, config.options)
        self.root_forwarders = lookup("forwarders", self.opts, config.options)

    def zone_types(self) -> dict[tuple[bytes, ...], str]:
        """The type of the first zone of each name (for rpz and catz)."""
        types: dict[tuple[bytes, ...], str] = {}
        for raw, typestr in self.zones:
            name = parse_name(raw)
            if name is not None:
                types.setdefault(name, typestr)
        return types


# Old signing options: (name, needs inline-signing in a secondary, refused
# with a dnssec-policy), in check.c's order.
_SIGNING_OPTIONS_ORDER = (
    ("dnssec-dnskey-kskonly", True, True),
    ("dnssec-secure-to-insecure", False, True),
    ("dnssec-loadkeys-interval", True, False),
    ("update-check-ksk", True, True),
    ("dnssec-update-mode", False, True),
)
_SIGNING_OPTIONS = frozenset(name for name, _, _ in _SIGNING_OPTIONS_ORDER)

_GATED_DYNAMIC = frozenset(
    {
        "allow-update",
        "update-policy",
        "auto-dnssec",
        "sig-signing-type",
        "dnssec-dnskey-kskonly",
        "dnssec-secure-to-insecure",
        "dnssec-loadkeys-interval",
        "update-check-ksk",
        "dnssec-update-mode",
    }
)


def check_zone(
    statement: Statement, view: View, config: Config, problems: Problems
) -> None:
    """Check one zone statement."""
    items = statement.items
    name_word = items[1] if len(items) > 2 else None
    body = items[-1]
    if not isinstance(name_word, Word) or not isinstance(body, Block):
        return
    zname_text = name_word.text
    zopts = Opts(body.statements)
    keys = zopts.first
    typestr = ""
    if "in-view" in keys:
        ztype = ZoneType.IN_VIEW
    else:
        typestr = text(zopts.get("type")) or ""
        found_type = ZONE_TYPES.get(typestr.lower())
        if found_type is None:
            return  # no or an unknown type: the loader reports it
        ztype = found_type
        if ztype is ZoneType.REDIRECT and zname_text != ".":
            return
    class_word = items[2] if len(items) > 3 else None
    if isinstance(class_word, Word) and parse_class(class_word.text) != view.rdclass:
        return
    if ztype is not ZoneType.HINT and ztype is not ZoneType.REDIRECT:
        view.zones.append((zname_text, typestr.lower()))
    if ztype is ZoneType.IN_VIEW:
        allowed = 1 + ("forward" in keys) + ("forwarders" in keys)
        if len(keys) > allowed:
            problems.add(
                statement,
                f"zone '{zname_text}': 'in-view' used with incompatible zone options",
            )
        return
    inherited = view.inherited
    is_root = zname_text == "."
    # check_zoneconf()'s running result, which BIND prints when it cannot
    # expand allow-update a second time ("acl expansion failed: ...").
    status = "success"

    if not keys.keys().isdisjoint(NONZERO):
        check_nonzero(zopts, problems)

    kasp = zopts.get("dnssec-policy") or inherited["dnssec-policy"]
    kaspname = text(kasp)
    has_policy = False
    if kaspname is not None:
        if kaspname in ("default", "insecure"):
            has_policy = True
        elif kaspname != "none":
            has_policy = any(text(policy) == kaspname for policy in config.policies)
            if not has_policy:
                problems.add(
                    statement,
                    f"zone '{zname_text}': option 'dnssec-policy {kaspname}' has no matching dnssec-policy config",
                )

    for name in ZONE_ACLS:
        own = keys.get(name)
        if own is not None:
            found, outcome = _check_zone_acl(own, config)
        else:
            shared = inherited[name]
            if shared is None:
                continue
            # An inherited ACL is checked again for every zone, as BIND
            # does; what it reports is computed once.
            cached = config.acl_cache.get(id(shared))
            if cached is None:
                cached = config.acl_cache[id(shared)] = _check_zone_acl(shared, config)
            found, outcome = cached
        if found:
            problems.items.extend(found)
        if outcome is not None:
            status = outcome

    if ztype is ZoneType.MIRROR:
        notify = zopts.get("notify")
        setting = (text(notify) or "").lower()
        if notify is not None and setting not in ("no", "false", "0", "explicit"):
            problems.add(
                body,
                f"zone '{zname_text}': mirror zones can only be used with 'notify no;' or 'notify explicit;'",
            )

    if config.bad_sources or not keys.keys().isdisjoint(ZONE_SOURCES):
        port = config.ctx.dns_port
        for name in ZONE_SOURCES:
            source = zopts.get(name) or config.options.get(name)
            if source is not None and source_port(source) == port:
                problems.add(
                    source,
                    f"'{name}' cannot specify the DNS listener port ({port})",
                )
                status = "failure"

    if ztype is ZoneType.MIRROR and not _recursion_available(view, config):
        problems.add(
            body,
            f"zone '{zname_text}': mirror zones cannot be used if recursion is disabled",
        )

    if (ztype is ZoneType.PRIMARY or ztype is ZoneType.SECONDARY) and (
        has_policy
        or inherited["allow-update"] is not None
        or not keys.keys().isdisjoint(_GATED_DYNAMIC)
    ):
        _check_dynamic(
            statement, zopts, ztype, kasp, has_policy, status, view, config, problems
        )

    if "dialup" in keys and ztype in (
        ZoneType.PRIMARY,
        ZoneType.SECONDARY,
        ZoneType.STUB,
    ):
        dialup = zopts.get("dialup")
        mode = text(dialup)
        if dialup is not None and mode is not None and as_bool(dialup) is None:
            allowed_types = _DIALUPS.get(mode.lower())
            if allowed_types is None:
                problems.add(
                    where(dialup),
                    f"invalid dialup type '{mode}' in zone '{zname_text}'",
                )
            elif ztype not in allowed_types:
                problems.add(
                    where(dialup),
                    f"dialup type '{mode}' is not allowed in '{typestr}' zone '{zname_text}'",
                )

    if "forward" in keys or "forwarders" in keys:
        check_forward(zopts, view.root_forwarders if is_root else None, problems)

    if ztype is ZoneType.STATIC_STUB:
        _check_static_stub(statement, zopts, zname_text, problems)

    if kaspname is not None and kaspname != "none" and parse_name(zname_text):
        _check_keydir(statement, zopts, zname_text, kaspname, view, config, problems)

    if not keys.keys().isdisjoint(OPTION_KEYWORDS):
        check_options(zopts, Level.ZONE, config.ctx, problems)

    if "dlz" in keys and "database" in keys:
        problems.add(
            statement, f"zone '{zname_text}': cannot specify both 'dlz' and 'database'"
        )


def _check_zone_acl(
    statement: Statement, config: Config
) -> tuple[list[ConfigProblem], str | None]:
    """Expand a zone ACL as BIND's `checkacl()` does.

    Returns what it reports and, on failure, the result text `checkacl()`
    leaves behind ("not found", "failure", "out of range").
    """
    found = Problems()
    outcome: str | None = None
    acl = block(statement)
    if acl is not None and not config.ctx.expand_acl(acl, found):
        outcome = "not found" if config.ctx.acls.undefined is not None else "failure"
    if statement.keyword == "allow-transfer":
        port = keyword_value(statement, "port")
        number = as_int(port)
        if port is not None and number is not None and number >= 0xFFFF:
            found.add(port, f"port value '{number}' is out of range")
            outcome = outcome or "out of range"
        transport = keyword_value(statement, "transport")
        if transport is not None and transport.text.lower() not in ("tcp", "tls"):
            found.add(
                transport,
                f"'{transport.text}' is not a valid transport protocol for zone transfers. "
                "Please specify either 'tcp' or 'tls'",
            )
            outcome = "failure"
    return found.items, outcome


def _recursion_available(view: View, config: Config) -> bool:
    """check_recursion(): `recursion` then `allow-recursion` of the view."""
    recursion = lookup("recursion", view.opts, config.options)
    if recursion is not None and as_bool(recursion) is False:
        return False
    allow = lookup("allow-recursion", view.opts, config.options)
    acl = block(allow)
    return not (acl is not None and config.is_none(acl))


def _check_dynamic(
    statement: Statement,
    zopts: Opts,
    ztype: str,
    kasp: Statement | None,
    has_policy: bool,
    status: str,
    view: View,
    config: Config,
    problems: Problems,
) -> None:
    """DDNS, inline-signing, dnssec-policy and the old DNSSEC options."""
    zname_text = text(statement) or ""
    allow_update = zopts.get("allow-update")
    update_policy = zopts.get("update-policy")
    if allow_update is not None and update_policy is not None:
        problems.add(
            where(update_policy),
            f"zone '{zname_text}': 'allow-update' is ignored when 'update-policy' is present",
        )
    elif update_policy is not None:
        check_update_policy(update_policy, problems)
    if allow_update is None:
        allow_update = lookup("allow-update", view.opts, config.options)
    ddns = False
    if update_policy is not None:
        ddns = True
    elif allow_update is not None:
        acl = block(allow_update)
        if acl is not None:
            expanded = config.expansions.get(id(acl))
            if expanded is None:
                found = Problems()
                ok = config.ctx.expand_acl(acl, found)
                expanded = (ok, found.items, ok and not config.is_none(acl))
                config.expansions[id(acl)] = expanded
            ok, again, ddns = expanded
            if not ok:
                # BIND expands the list a second time, logging it again.
                problems.items.extend(again)
                problems.add(acl, f"acl expansion failed: {status}")
    signing = as_bool(zopts.get("inline-signing")) is True
    primary = ztype is ZoneType.PRIMARY
    if has_policy and not ddns and not signing and kasp is not None:
        without = (
            " without a configured 'allow-update' or 'update-policy'" if primary else ""
        )
        problems.add(
            where(kasp),
            f"'inline-signing yes;' must also be configured explicitly for zones using dnssec-policy{without}. "
            "See https://kb.isc.org/docs/dnssec-policy-requires-dynamic-dns-or-inline-signing",
        )
    auto = zopts.get("auto-dnssec")
    mode = text(auto)
    if auto is not None and mode is not None and mode.lower() != "off":
        if not ddns and not signing and not has_policy:
            dynamic = " dynamic DNS or" if primary else ""
            problems.add(
                where(auto),
                f"'auto-dnssec {mode};' requires{dynamic} inline-signing to be configured for the zone",
            )
        if has_policy:
            problems.add(
                where(auto),
                f"'auto-dnssec {mode};' cannot be configured if dnssec-policy is also set",
            )
    signing_type = zopts.get("sig-signing-type")
    number = as_int(value(signing_type))
    if (
        signing_type is not None
        and number is not None
        and not 0xFF00 <= number <= 0xFFFF
    ):
        problems.add(
            where(signing_type),
            f"sig-signing-type: {number} out of range [65280..65535]",
        )
    secondary = ztype is ZoneType.SECONDARY
    if zopts.first.keys().isdisjoint(_SIGNING_OPTIONS):
        return
    for name, needs_signing, refuses_policy in _SIGNING_OPTIONS_ORDER:
        option = zopts.get(name)
        if option is None:
            continue
        if needs_signing and secondary and not signing:
            problems.add(
                where(option),
                f"{name}: requires inline-signing when used in secondary zone",
            )
        if refuses_policy and has_policy:
            problems.add(
                where(option),
                f"{name}: cannot be configured if dnssec-policy is also set",
            )


def _check_static_stub(
    statement: Statement, zopts: Opts, zname_text: str, problems: Problems
) -> None:
    addresses = block(zopts.get("server-addresses"))
    for entry in addresses.statements if addresses is not None else ():
        head = word(entry, 0)
        if head is not None and "%" in head.text:
            try:
                ipaddress.ip_address(head.text.split("%", 1)[0])
            except ValueError:
                continue
            problems.add(
                head, "scoped address is not allowed for static stub server-addresses"
            )
    names = block(zopts.get("server-names"))
    zname = parse_name(zname_text)
    if zname is None or names is None:
        return
    for entry in names.statements:
        head = word(entry, 0)
        if head is None:
            continue
        server = parse_name(head.text)
        if server is None:
            problems.add(statement, f"server-name '{head.text}' is not a valid name")
        elif is_subdomain(server, zname):
            problems.add(
                statement,
                f"server-name '{head.text}' must not be a subdomain of zone name '{zname_text}'",
            )


def _check_keydir(
    statement: Statement,
    zopts: Opts,
    zname_text: str,
    kaspname: str,
    view: View,
    config: Config,
    problems: Problems,
) -> None:
    """Zones sharing a key-directory must share their dnssec-policy (keydirexist)."""
    directory = text(zopts.get("key-directory") or view.inherited["key-directory"])
    if "\\" in zname_text:
        shown = format_name(zname_text).lower()
    else:
        shown = zname_text.lower().rstrip(".") or "."
    keydir = f"{shown}/{directory if directory is not None else '(null)'}"
    existing = config.keydirs.get(keydir.lower())
    if existing is None:
        # Only the zone's own policy counts for a later zone (check.c).
        own = text(zopts.get("dnssec-policy"))
        config.keydirs[keydir.lower()] = (statement, own)
        return
    first, first_policy = existing
    if first_policy is None or first_policy in ("none", kaspname):
        return
    problems.add(
        statement,
        f"key-directory '{keydir}' already in use by zone {text(first) or ''} "
        f"with policy {first_policy}: {first.file}:{first.line}",
    )
