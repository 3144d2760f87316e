"""BIND 9.18's semantic configuration checks that the loader does not make.

`check_semantics()` takes the flat statement tree (includes expanded, the
clause grammar already passed) and returns the problems named-checkconf
9.18.49 reports for it, worded as BIND words them, in the order of
`isccfg_check_namedconf()` in lib/isccfg/check.c. The loader owns zones
(names, types, classes, duplicates, in-view targets), views, keys, ACL
definitions and references, primaries and parental-agents lists and
files; `clauses.py` owns option names, value syntax and the options each
zone type allows. Everything else check.c rejects is here: dnssec-policy
definitions and use, the old DNSSEC options, update-policy, trust anchors,
tls and http, listeners, sources and ports, dns64, rate-limit, dnstap and
fstrm, cookies, logging, controls, plugins, rpz and catalog zones, GeoIP2
and other ACL elements, servers, forwarding, mirror and static-stub zones,
and numeric ranges.

Only errors are reported. Warnings (deprecations, `max-zone-ttl` with a
policy, ...) do not make named-checkconf fail, so they are not problems.
The checks are split by area into `checks_*.py` modules.
"""

from __future__ import annotations

from collections.abc import Sequence

from zonesync.config.checks_acl import AclTable
from zonesync.config.checks_kasp import check_policies
from zonesync.config.checks_misc import (
    check_catz,
    check_controls,
    check_http_definitions,
    check_logging,
    check_plugin,
    check_rpz_catz,
    check_tls_definitions,
)
from zonesync.config.checks_options import (
    Context,
    Level,
    check_options,
    check_port,
    source_port,
)
from zonesync.config.checks_trust import check_anchor, check_anchor_conflicts
from zonesync.config.checks_util import (
    EMPTY_OPTS,
    Opts,
    Problems,
    as_bool,
    block,
    block_opts,
    lookup,
    text,
    word,
)
from zonesync.config.checks_view import (
    check_dns64,
    check_dnstap,
    check_dual_stack,
    check_forward,
    check_nonzero,
    check_order,
    check_ratelimit,
    check_servers,
)
from zonesync.config.checks_zone import (
    ZONE_SOURCES,
    Config,
    View,
    check_zone,
    parse_class,
)
from zonesync.config.grammar import Statement
from zonesync.errors import ConfigProblem

_VIEW_ACLS = (
    "allow-query",
    "allow-query-on",
    "allow-query-cache",
    "allow-query-cache-on",
    "blackhole",
    "keep-response-order",
    "match-clients",
    "match-destinations",
    "sortlist",
    "allow-recursion",
    "allow-recursion-on",
)


def check_semantics(statements: Sequence[Statement]) -> list[ConfigProblem]:
    """Return BIND's semantic problems with a configuration, in BIND's order.

    Args:
        statements: the top-level statements, with includes expanded.

    Returns:
        One `ConfigProblem` per error named-checkconf 9.18 would print
        (outside the loader's and the clause grammar's areas); empty when
        it would accept the configuration.
    """
    problems = Problems()
    _Checker(statements, problems).run()
    return problems.items


class _Checker:
    """One run of the checks over one configuration."""

    def __init__(self, statements: Sequence[Statement], problems: Problems) -> None:
        self.problems = problems
        self.top = Opts(statements)
        self.options = block_opts(self.top.get("options"))
        acls = AclTable(self.top.all("acl"))
        self.acls = acls
        quiet = Problems()
        port = check_port(self.options, "port", quiet)
        self.ctx = Context(
            dns_port=53 if port is None else port,
            tls_names=frozenset(name.lower() for name in _names(self.top.all("tls"))),
            http_names=frozenset(name.lower() for name in _names(self.top.all("http"))),
            acls=acls,
        )
        self.config = Config(
            ctx=self.ctx,
            options=self.options,
            policies=self.top.all("dnssec-policy"),
            tls_names=self.ctx.tls_names,
            is_none=acls.is_none,
        )
        self.config.bad_sources = any(
            source is not None and source_port(source) == self.ctx.dns_port
            for source in map(self.options.get, ZONE_SOURCES)
        )

    def run(self) -> None:
        problems = self.problems
        if "options" in self.top:
            check_options(self.options, Level.OPTIONS, self.ctx, problems)
        logging = self.top.get("logging")
        if logging is not None:
            check_logging(logging, problems)
        controls = self.top.all("controls")
        if controls:
            keys = frozenset(name.lower() for name in _names(self.top.all("key")))
            check_controls(controls, keys, self.acls, problems)
        check_http_definitions(self.top.all("http"), problems)
        check_tls_definitions(self.top.all("tls"), problems)
        views = self.top.all("view")
        if views and "options" in self.top:
            check_dual_stack(self.options, problems)
        if not views:
            self._check_view(View(None, None, 1), self.top.all("zone"))
            return
        plugins = self.top.all("plugin")
        if plugins:
            problems.add(
                plugins[0],
                "when using 'view' statements, all plugins must be defined in views",
            )
        seen: set[tuple[str, int]] = set()
        for statement in views:
            name = text(statement)
            body = block(statement)
            if name is None or body is None:
                continue
            class_word = word(statement, 2)
            rdclass = parse_class(class_word.text) if class_word is not None else 1
            if rdclass is None or (name, rdclass) in seen:
                continue  # the loader reports a bad class or a duplicate view
            seen.add((name, rdclass))
            view_opts = Opts(body.statements)
            self._check_view(View(name, view_opts, rdclass), view_opts.all("zone"))

    def _check_view(self, view: View, zones: Sequence[Statement]) -> None:
        """check_viewconf() for one view, or for the whole config without views."""
        problems = self.problems
        config = self.config
        view.prepare(config)
        for zone in zones:
            check_zone(zone, view, config, problems)
        opts = view.opts if view.opts is not None else self.options
        has_opts = view.opts is not None or "options" in self.top
        if has_opts:
            rpz = opts.get("response-policy")
            catz = opts.get("catalog-zones")
            zone_types = view.zone_types() if rpz or catz else {}
            if rpz is not None:
                check_rpz_catz(
                    "response-policy zone", rpz, view.name, zone_types, problems
                )
            if catz is not None:
                check_rpz_catz("catalog zone", catz, view.name, zone_types, problems)
                check_catz(catz, view.name, problems)
            check_forward(opts, None, problems)
        if "options" in self.top:
            check_nonzero(self.options, problems)
        if view.opts is not None:
            check_nonzero(view.opts, problems)
        if has_opts:
            check_dual_stack(opts, problems)
            check_order(opts, problems)
        servers = view.opts.all("server") if view.opts is not None else []
        check_servers(servers or self.top.all("server"), self.ctx, problems)
        self._check_trust_anchors(view)
        if view.opts is not None:
            check_options(view.opts, Level.VIEW, self.ctx, problems)
        else:
            check_policies(self.top.all("dnssec-policy"), problems)
        check_dnstap(view.opts, self.options, problems)
        for name in _VIEW_ACLS:
            acl = block(lookup(name, view.opts, self.options))
            if acl is not None:
                self.ctx.expand_acl(acl, problems)
        dns64 = view.opts.all("dns64") if view.opts is not None else []
        check_dns64(dns64 or self.options.all("dns64"), self.ctx, problems)
        ratelimit = lookup("rate-limit", view.opts, self.options)
        if ratelimit is not None:
            check_ratelimit(ratelimit, self.ctx, problems)
        plugins = (
            view.opts.all("plugin") if view.opts is not None else self.top.all("plugin")
        )
        for plugin in plugins:
            check_plugin(plugin, self.acls, problems)

    def _check_trust_anchors(self, view: View) -> None:
        problems = self.problems
        view_opts = view.opts if view.opts is not None else EMPTY_OPTS
        view_tkeys = view_opts.all("trusted-keys")
        global_tkeys = self.top.all("trusted-keys")
        view_ta = view_opts.all("trust-anchors")
        global_ta = self.top.all("trust-anchors")
        view_mkeys = view_opts.all("managed-keys")
        global_mkeys = self.top.all("managed-keys")
        for keys in (view_tkeys, global_tkeys):
            for statement in keys:
                for entry in _entries(statement):
                    check_anchor(entry, False, problems)
        if (view_mkeys or global_mkeys) and (view_ta or global_ta):
            keys = view_mkeys or global_mkeys
            problems.add(
                block(keys[0]) or keys[0],
                "use of managed-keys is not allowed when trust-anchors is also in use",
            )
        if not view_ta and not global_ta:
            view_ta, global_ta = view_mkeys, global_mkeys
        for keys in (view_ta, global_ta):
            for statement in keys:
                for entry in _entries(statement):
                    check_anchor(entry, True, problems)
        validation = lookup("dnssec-validation", view.opts, self.options)
        autovalidation = validation is not None and as_bool(validation) is None
        check_anchor_conflicts(
            global_ta, view_ta, global_tkeys, view_tkeys, autovalidation, problems
        )


def _names(statements: Sequence[Statement]) -> list[str]:
    return [
        name
        for name in (text(statement) for statement in statements)
        if name is not None
    ]


def _entries(statement: Statement) -> list[Statement]:
    body = block(statement)
    return (
        [entry for entry in body.statements if entry.items] if body is not None else []
    )
