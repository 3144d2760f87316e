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

from zonesync.config.checks_misc import check_update_policy
from zonesync.config.checks_options import (
    Context,
    Level,
    check_forward,
    check_nonzero,
    check_options,
    source_port,
)
from zonesync.config.checks_util import (
    Opts,
    Problems,
    as_bool,
    as_int,
    block,
    block_opts,
    is_subdomain,
    keyword_value,
    lookup,
    parse_address,
    parse_name,
    text,
    value,
    where,
    word,
)
from zonesync.config.grammar import Block, Statement, Word
from zonesync.errors import ConfigProblem

PRIMARY = "primary"
SECONDARY = "secondary"
MIRROR = "mirror"
STUB = "stub"
STATIC_STUB = "static-stub"
FORWARD = "forward"
HINT = "hint"
DELEGATION = "delegation-only"
REDIRECT = "redirect"
IN_VIEW = "in-view"

ZONE_TYPES = {
    "primary": PRIMARY,
    "master": PRIMARY,
    "secondary": SECONDARY,
    "slave": SECONDARY,
    "mirror": MIRROR,
    "stub": STUB,
    "static-stub": STATIC_STUB,
    "forward": FORWARD,
    "hint": HINT,
    "delegation-only": DELEGATION,
    "redirect": REDIRECT,
}
_ZONE_ACLS = (
    "allow-notify",
    "allow-transfer",
    "allow-update",
    "allow-update-forwarding",
)
_ZONE_SOURCES = (
    "transfer-source",
    "transfer-source-v6",
    "notify-source",
    "notify-source-v6",
    "parental-source",
    "parental-source-v6",
)
_DIALUPS = {
    "notify": (PRIMARY, SECONDARY),
    "notify-passive": (SECONDARY,),
    "passive": (SECONDARY, STUB),
    "refresh": (SECONDARY, STUB),
}
_CLASSES = {"in": 1, "ch": 3, "chaos": 3, "hs": 4, "hesiod": 4, "none": 254, "any": 255}


def parse_class(raw: str) -> int | None:
    """The number of an RR class as `dns_rdataclass_fromtext()` reads it."""
    lowered = raw.lower()
    if lowered in _CLASSES:
        return _CLASSES[lowered]
    if lowered.startswith("class") and lowered[5:].isdigit() and lowered[5:].isascii():
        number = int(lowered[5:])
        return number if number <= 0xFFFF else None
    return None


@dataclass
class Config:
    """What zone checks need from the whole configuration."""

    ctx: Context
    options: Opts
    policies: list[Statement]
    parental_lists: dict[str, Statement]
    tls_names: frozenset[str]
    is_none: Callable[[Block], bool]
    # key-directory use across all views: "zone/dir" -> zone statement
    keydirs: dict[str, Statement] = field(default_factory=dict)
    # problems an inherited ACL produces, by statement identity
    acl_cache: dict[int, list[ConfigProblem]] = field(default_factory=dict)


@dataclass
class View:
    """One view (or the implicit default view) while its zones are checked."""

    name: str | None
    opts: Opts | None
    rdclass: int
    # first zone of each name (not hint or redirect) -> its type keyword
    zone_types: dict[tuple[bytes, ...], str] = field(default_factory=dict)
    recursion: bool | None = None


def check_zone(
    statement: Statement, view: View, config: Config, problems: Problems
) -> None:
    """Check one zone statement."""
    name_word = word(statement, 1)
    body = block(statement)
    if name_word is None or body is None:
        return
    zname_text = name_word.text
    zopts = Opts(body.statements)
    view_opts = view.opts
    options = config.options
    typestr = ""
    if "in-view" in zopts:
        ztype = IN_VIEW
    else:
        typestr = text(zopts.get("type")) or ""
        found_type = ZONE_TYPES.get(typestr.lower())
        if found_type is None:
            return  # no or an unknown type: the loader reports it
        ztype = found_type
        if ztype is REDIRECT and zname_text != ".":
            return
    class_word = statement.items[2] if len(statement.items) > 3 else None
    if isinstance(class_word, Word) and parse_class(class_word.text) != view.rdclass:
        return
    zname = parse_name(zname_text)
    if zname is not None and ztype not in (HINT, REDIRECT):
        view.zone_types.setdefault(
            zname, typestr.lower() if ztype is not IN_VIEW else ""
        )
    if ztype is IN_VIEW:
        allowed = 1 + ("forward" in zopts) + ("forwarders" in zopts)
        if len(zopts.by_keyword) > allowed:
            problems.add(
                statement,
                f"zone '{zname_text}': 'in-view' used with incompatible zone options",
            )
        return

    check_nonzero(zopts, problems)

    kasp = lookup("dnssec-policy", zopts, view_opts, options)
    kaspname = text(kasp)
    has_policy = False
    if kasp is not None and kaspname is not None:
        if kaspname in ("default", "insecure"):
            has_policy = True
        elif kaspname != "none":
            has_policy = any(text(policy) == kaspname for policy in config.policies)
            if not has_policy:
                problems.add(
                    statement,
                    f"zone '{zname_text}': option 'dnssec-policy {kaspname}' has no matching dnssec-policy config",
                )

    for name in _ZONE_ACLS:
        acl_statement = lookup(name, zopts, view_opts, options)
        if acl_statement is not None:
            _check_zone_acl(acl_statement, zopts, config, problems)

    if ztype is MIRROR:
        notify = zopts.get("notify")
        setting = (text(notify) or "").lower()
        if notify is not None and setting not in ("no", "false", "0", "explicit"):
            problems.add(
                body,
                f"zone '{zname_text}': mirror zones can only be used with 'notify no;' or 'notify explicit;'",
            )

    if ztype in (SECONDARY, STUB) or (ztype is MIRROR and zname != ()):
        primaries = zopts.get("primaries")
        if primaries is not None and "masters" in zopts:
            problems.add(
                primaries,
                "'primaries' and 'masters' cannot both be used in the same zone",
            )

    for name in _ZONE_SOURCES:
        source = lookup(name, zopts, options)
        if source is not None and source_port(source) == config.ctx.dns_port:
            problems.add(
                where(source),
                f"'{name}' cannot specify the DNS listener port ({config.ctx.dns_port})",
            )

    if ztype in (PRIMARY, SECONDARY):
        agents = zopts.get("parental-agents")
        if agents is not None:
            _check_parental_agents(agents, body, zname_text, config, problems)

    if ztype is MIRROR and not _recursion_available(view, config):
        problems.add(
            body,
            f"zone '{zname_text}': mirror zones cannot be used if recursion is disabled",
        )

    if ztype in (PRIMARY, SECONDARY):
        _check_dynamic(
            statement, zopts, ztype, kasp, has_policy, view, config, problems
        )

    if ztype in (PRIMARY, SECONDARY, STUB):
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

    root_forwarders = lookup("forwarders", view_opts, options) if zname == () else None
    check_forward(zopts, root_forwarders, problems)

    if ztype is STATIC_STUB:
        _check_static_stub(statement, zopts, zname, zname_text, problems)

    if zname is not None and kaspname is not None and kaspname != "none":
        _check_keydir(statement, zopts, zname, kaspname, view_opts, config, problems)

    check_options(zopts, Level.ZONE, config.ctx, problems)

    if "dlz" in zopts and "database" in zopts:
        problems.add(
            statement, f"zone '{zname_text}': cannot specify both 'dlz' and 'database'"
        )


def _check_zone_acl(
    statement: Statement, zopts: Opts, config: Config, problems: Problems
) -> None:
    """Expand a zone ACL; replay what an inherited one reported before."""
    own = zopts.get(statement.keyword) is statement
    if not own:
        cached = config.acl_cache.get(id(statement))
        if cached is not None:
            problems.items.extend(cached)
            return
    found = Problems()
    acl = block(statement)
    if acl is not None:
        config.ctx.expand_acl(acl, found)
    if statement.keyword == "allow-transfer":
        port = keyword_value(statement, "port")
        number = as_int(port)
        if port is not None and number is not None and number >= 0xFFFF:
            found.add(port, f"port value '{number}' is out of range")
        transport = keyword_value(statement, "transport")
        if transport is not None and transport.text.lower() not in ("tcp", "tls"):
            found.add(
                transport,
                f"'{transport.text}' is not a valid transport protocol for zone transfers. "
                "Please specify either 'tcp' or 'tls'",
            )
    if not own:
        config.acl_cache[id(statement)] = found.items
    problems.items.extend(found.items)


def _check_parental_agents(
    agents: Statement, body: Block, zname_text: str, config: Config, problems: Problems
) -> None:
    """validate_remotes("parental-agents") and the empty-list check."""
    count = 0
    ok = True
    seen: set[str] = set()
    pending: list[Block] = []
    first = block(agents)
    if first is not None:
        pending.append(first)
    while pending:
        current = pending.pop(0)
        for entry in current.statements:
            head = entry.items[0] if entry.items else None
            if not isinstance(head, Word):
                continue
            if parse_address(head.text) is not None:
                count += 1
                key = keyword_value(entry, "key")
                if key is not None and parse_name(key.text) is None:
                    problems.add(key, f"'{key.text}' is not a valid name")
                    ok = False
                tls = keyword_value(entry, "tls")
                if tls is not None:
                    if parse_name(tls.text) is None:
                        problems.add(tls, f"'{tls.text}' is not a valid name")
                        ok = False
                    if (
                        tls.text.lower() != "ephemeral"
                        and tls.text.lower() not in config.tls_names
                    ):
                        problems.add(tls, f"tls '{tls.text}' is not defined")
                        ok = False
                continue
            if head.text in seen:
                continue
            seen.add(head.text)
            listed = config.parental_lists.get(head.text.lower())
            listed_body = block(listed)
            if listed is None or listed_body is None:
                problems.add(head, f"unable to find parental-agents list '{head.text}'")
                ok = False
                continue
            pending.append(listed_body)
    if ok and count == 0:
        problems.add(body, f"zone '{zname_text}': empty 'parental-agents' entry")


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
        ddns = (
            acl is not None
            and config.ctx.expand_acl(acl, Problems())
            and not config.is_none(acl)
        )
    signing = as_bool(zopts.get("inline-signing")) is True
    primary = ztype is PRIMARY
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
    secondary = ztype is SECONDARY
    for name, needs_signing, refuses_policy in (
        ("dnssec-dnskey-kskonly", True, True),
        ("dnssec-secure-to-insecure", False, True),
        ("dnssec-loadkeys-interval", True, False),
        ("update-check-ksk", True, True),
        ("dnssec-update-mode", False, True),
    ):
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
    statement: Statement,
    zopts: Opts,
    zname: tuple[bytes, ...] | None,
    zname_text: str,
    problems: Problems,
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
    zname: tuple[bytes, ...],
    kaspname: str,
    view_opts: Opts | None,
    config: Config,
    problems: Problems,
) -> None:
    """Zones sharing a key-directory must share their dnssec-policy (keydirexist)."""
    directory = text(lookup("key-directory", zopts, view_opts, config.options))
    shown = ".".join(label.decode("utf-8", "replace") for label in zname) or "."
    key = f"{shown}/{directory if directory is not None else '(null)'}".lower()
    existing = config.keydirs.get(key)
    if existing is None:
        config.keydirs[key] = statement
        return
    existing_policy = text(block_opts(existing).get("dnssec-policy"))
    if existing_policy is None or existing_policy in ("none", kaspname):
        return
    problems.add(
        statement,
        f"key-directory '{shown}/{directory if directory is not None else '(null)'}' already in use by zone "
        f"{text(existing) or ''} with policy {existing_policy}: {existing.file}:{existing.line}",
    )
