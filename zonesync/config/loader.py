"""named.conf -> `Config`, with every problem reported at once.

Three passes, as named-checkconf makes them: the files are read and parsed
(`include.py`, stopping at the first syntax error, as BIND does); the tree is
checked against BIND 9.18's typed grammar (`clauses.py`); then the checks on
meaning run and the model is built. The checks here are the ones about
zones, views, keys, acls, primaries lists and files (BIND's
`lib/isccfg/check.c`); the rest of check.c lives in `checks.py`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import dns.exception
import dns.name
import dns.rdataclass
import dns.tsig

from zonesync.collector import gc_paused
from zonesync.config.checks import check_semantics
from zonesync.config.checks_util import block
from zonesync.config.clauses import check_grammar
from zonesync.config.definitions import (
    ZONE_ACLS,
    Definitions,
    index_block,
    location,
    port_after,
    words_of,
)
from zonesync.config.effective import (
    ALL_ZONE_OPTIONS,
    LIST_DEFAULTS,
    SERVER_OPTIONS,
    USED_ZONE_CLAUSES,
    ZONE_OPTIONS,
)
from zonesync.config.grammar import Block, Statement, Word
from zonesync.config.include import load_tree
from zonesync.config.model import (
    ANY,
    ZONE_TYPES,
    Config,
    RemoteEntry,
    RemoteServer,
    Setting,
    Source,
    TsigKey,
    View,
    ZoneConfig,
    ZoneType,
)
from zonesync.errors import ConfigError, ConfigProblem

DEFAULT_VIEW = "_default"
# named's own views; a config may reuse the names in another class only.
_BUILTIN_VIEWS = frozenset(
    {(DEFAULT_VIEW, dns.rdataclass.IN), ("_bind", dns.rdataclass.CH)}
)


# TSIG algorithms BIND 9.18 accepts for a `key`, with the digest length in
# bits that bounds a truncated form (`hmac-sha256-128`).


@dataclass
class _Scope:
    """One level of option inheritance: the options block or a view."""

    clauses: dict[str, list[Statement]]
    source: Source
    keys: dict[str, tuple[TsigKey | None, Statement]] = field(default_factory=dict)
    inherited: Mapping[str, Setting] | None = None  # the zone options, before the zone


class _Builder(Definitions):
    """Views and zones, on top of the named definitions they refer to."""

    def __init__(
        self, statements: Sequence[Statement], directory: Path, path: str
    ) -> None:
        super().__init__(index_block(Block(tuple(statements), path, 0)))
        self.statements = statements
        self.directory = directory
        self.path = path
        self.options = _Scope(index_block(self._first_block("options")), Source.OPTIONS)
        self.files: dict[str, tuple[Statement, bool]] = {}
        self.checked_acls: set[int] = set()  # ids: the tree outlives the builder

    def _first_block(self, keyword: str) -> Block | None:
        for st in self.top.get(keyword, []):
            return block(st)
        return None

    def build(self) -> Config:
        self.keys = self.load_keys(self.top.get("key", []), {})
        self.load_tls()
        self.load_acls()
        self.load_remotes()
        servers = self.load_servers(self.top.get("server", []), self.keys)
        self.check_acl_references(self.statements)
        views = self.load_views()
        key_objects = {
            name: key for name, (key, _) in self.keys.items() if key is not None
        }
        server_settings = self.server_settings()
        return Config(
            path=self.path,
            directory=self.directory,
            views=tuple(views),
            keys=key_objects,
            acls=self.acls,
            remotes=self.remotes,
            servers=tuple(servers),
            tls=self.tls,
            server_settings=server_settings,
        )

    # --- keys -------------------------------------------------------------

    def load_views(self) -> list[View]:
        view_statements = self.top.get("view", [])
        zone_statements = self.top.get("zone", [])
        if view_statements and zone_statements:
            for st in zone_statements:
                self.problems.add(
                    st, "when using 'view' statements, all zones must be in views"
                )
            zone_statements = []
        views: list[View] = []
        seen_views: dict[str, Statement] = {}
        zones_by_view: dict[str, dict[tuple[bytes, ...], ZoneConfig]] = {}
        if not view_statements:
            scope = _Scope({}, Source.VIEW)
            zones = self.load_zones(
                zone_statements,
                DEFAULT_VIEW,
                dns.rdataclass.IN,
                scope,
                zones_by_view,
                None,
            )
            return [View(DEFAULT_VIEW, dns.rdataclass.IN, ANY, ANY, tuple(zones))]
        for st in view_statements:
            words = words_of(st)
            if not words:
                continue
            name = words[0]
            if name in seen_views:
                self.problems.add(
                    st,
                    f"view '{name}': already exists previous definition: {location(seen_views[name])}",
                )
                continue
            seen_views[name] = st
            rdclass = dns.rdataclass.IN
            if len(words) > 1:
                try:
                    rdclass = dns.rdataclass.from_text(words[1])
                except dns.exception.DNSException:
                    self.problems.add(st, f"view '{name}': unknown class '{words[1]}'")
            if (name, rdclass) in _BUILTIN_VIEWS:
                self.problems.add(st, f"attempt to redefine builtin view '{name}'")
            body = index_block(block(st))
            scope = _Scope(body, Source.VIEW)
            scope.keys = self.load_keys(body.get("key", []), self.keys)
            self.load_servers(body.get("server", []), scope.keys)
            match_clients = body.get("match-clients")
            match_destinations = body.get("match-destinations")
            zones = self.load_zones(
                body.get("zone", []), name, rdclass, scope, zones_by_view, st
            )
            views.append(
                View(
                    name,
                    rdclass,
                    self.aml(block(match_clients[0])) if match_clients else ANY,
                    self.aml(block(match_destinations[0]))
                    if match_destinations
                    else ANY,
                    tuple(zones),
                )
            )
        return views

    def load_zones(
        self,
        statements: list[Statement],
        view: str,
        view_class: dns.rdataclass.RdataClass,
        scope: _Scope,
        zones_by_view: dict[str, dict[tuple[bytes, ...], ZoneConfig]],
        view_statement: Statement | None,
    ) -> list[ZoneConfig]:
        zones: list[ZoneConfig] = []
        # Zones are compared as DNS names: by their lower-cased labels, one
        # key per zone rather than one dns.name.Name hash per lookup. Hint
        # and redirect zones live apart from the others (BIND keeps them in
        # their own tables), so `zone "."` may be one of each.
        seen: dict[tuple[tuple[bytes, ...], int, str], Statement] = {}
        mine: dict[tuple[bytes, ...], ZoneConfig] = {}
        for st in statements:
            zone = self.load_zone(st, view, view_class, scope, zones_by_view)
            if zone is None:
                continue
            space = zone.type if zone.type in {ZoneType.HINT, ZoneType.REDIRECT} else ""
            labels = _labels(zone.name)
            key = (labels, zone.rdclass, space)
            previous = seen.get(key)
            if previous is not None:
                self.problems.add(
                    st,
                    f"zone '{_canonical(zone.name)}': already exists previous definition: "
                    f"{location(previous)}",
                )
                continue
            seen[key] = st
            mine[labels] = zone
            zones.append(zone)
        zones_by_view[view] = mine
        return zones

    def load_zone(
        self,
        st: Statement,
        view: str,
        view_class: dns.rdataclass.RdataClass,
        scope: _Scope,
        zones_by_view: dict[str, dict[tuple[bytes, ...], ZoneConfig]],
    ) -> ZoneConfig | None:
        words = words_of(st)
        if not words:
            return None
        name_text = words[0]
        try:
            name = _zone_name(name_text)
        except dns.exception.DNSException:
            self.problems.add(st, f"zone '{name_text}': is not a valid name")
            return None
        rdclass = view_class
        class_text = _class_text(view_class)
        if len(words) > 1:
            class_text = words[1]
            try:
                rdclass = dns.rdataclass.from_text(words[1])
            except dns.exception.DNSException:
                self.problems.add(st, f"zone '{name_text}': unknown class '{words[1]}'")
                return None
            if rdclass != view_class:
                self.problems.add(
                    st,
                    f"zone '{name_text}': class '{words[1]}' does not match view/default class",
                )
                return None
        body = index_block(block(st))
        in_view_st = body.get("in-view")
        type_st = body.get("type")
        if in_view_st:
            target = (words_of(in_view_st[0]) or [""])[0]
            if _labels(name) not in zones_by_view.get(target, {}):
                self.problems.add(
                    in_view_st[0],
                    f"'in-view' zone '{name_text}' does not exist in view '{target}', "
                    f"or view '{target}' is not yet defined",
                )
            return ZoneConfig(
                name, name_text, rdclass, class_text, view, None, f"in-view {target}", target,
                None, None, (), {}, (), st.file, st.line,
            )  # fmt: skip
        if not type_st or not words_of(type_st[0]):
            self.problems.add(st, f"zone '{name_text}': type not present")
            return None
        type_text = words_of(type_st[0])[0]
        ztype = ZONE_TYPES.get(type_text.lower())
        if ztype is None:
            return None  # the grammar check reports an unknown type
        primaries = self.zone_primaries(st, body, name_text, ztype, scope)
        file_text = None
        file_st = body.get("file")
        if file_st and words_of(file_st[0]):
            file_text = words_of(file_st[0])[0]
        self.check_zone_file(st, body, name_text, ztype, file_text, scope)
        settings = self.effective(body, scope)
        self.check_also_notify(body, scope)
        for clause in ZONE_ACLS:
            acl_st = self.inherited(body, scope, clause)
            if acl_st is not None and id(acl_st) not in self.checked_acls:
                self.checked_acls.add(id(acl_st))  # inherited ones: once, not per zone
                acl_block = block(acl_st)
                if acl_block is not None:
                    self.check_aml_names(acl_block)
        self.check_parental_agents(body, name_text)
        ignored = tuple(sorted(k for k in body if k not in USED_ZONE_CLAUSES))
        file = None
        if file_text is not None:
            file = self.directory / file_text  # an absolute path replaces it
        return ZoneConfig(
            name, name_text, rdclass, class_text, view, ztype, type_text, None, file, file_text,
            primaries, settings, ignored, st.file, st.line,
        )  # fmt: skip

    def zone_primaries(
        self,
        st: Statement,
        body: dict[str, list[Statement]],
        name_text: str,
        ztype: ZoneType,
        scope: _Scope,
    ) -> tuple[RemoteServer, ...]:
        given = body.get("primaries", []) + body.get("masters", [])
        if body.get("primaries") and body.get("masters"):
            self.problems.add(
                st, "'primaries' and 'masters' cannot both be used in the same zone"
            )
        needs = ztype in {ZoneType.SECONDARY, ZoneType.STUB} or (
            ztype is ZoneType.MIRROR and name_text.rstrip(".") != ""
        )
        if not given:
            if needs:
                self.problems.add(st, f"zone '{name_text}': missing 'primaries' entry")
            return ()
        clause = given[0]
        entries = self.check_remote_entries(clause, self.remotes, "primaries")
        servers = self.expand_servers(tuple(entries), port_after(words_of(clause)))
        self.check_key_names(clause, entries)
        unresolved = any(
            e.list_name.lower() not in self.remotes for e in entries if e.list_name
        )
        if needs and not servers and not unresolved:
            self.problems.add(st, f"zone '{name_text}': empty 'primaries' entry")
        return servers

    def check_also_notify(
        self, body: dict[str, list[Statement]], scope: _Scope
    ) -> None:
        """also-notify, inherited or not, is checked through the zones that notify."""
        if self.inherited_word(body, scope, "notify") in {"no", "false", "0"}:
            return
        clause = self.inherited(body, scope, "also-notify")
        if clause is not None:
            entries = self.check_remote_entries(clause, self.remotes, "primaries")
            self.check_key_names(clause, entries)

    def check_key_names(self, clause: Statement, entries: list[RemoteEntry]) -> None:
        for entry in entries:
            if entry.key is None:
                continue
            try:
                dns.name.from_text(entry.key)
            except dns.exception.DNSException:
                self.problems.add(clause, f"'{entry.key}' is not a valid name")

    def check_parental_agents(
        self, body: dict[str, list[Statement]], name_text: str
    ) -> None:
        for clause in body.get("parental-agents", []):
            entries = self.check_remote_entries(
                clause, self.parental, "parental-agents"
            )
            port = port_after(words_of(clause))
            if not any(self.expand(entries, port, lists=self.parental)):
                self.problems.add(
                    clause, f"zone '{name_text}': empty 'parental-agents' entry"
                )

    def check_zone_file(
        self,
        st: Statement,
        body: dict[str, list[Statement]],
        name_text: str,
        ztype: ZoneType,
        file_text: str | None,
        scope: _Scope,
    ) -> None:
        if file_text is None:
            dlz = "database" in body or "dlz" in body
            inline = self.inherited_word(body, scope, "inline-signing")
            needs_file = (ztype in {ZoneType.PRIMARY, ZoneType.HINT} and not dlz) or (
                ztype is ZoneType.SECONDARY and inline in {"yes", "true", "1"}
            )
            if needs_file:
                self.problems.add(st, f"zone '{name_text}': missing 'file' entry")
            return
        writeable = ztype in {ZoneType.SECONDARY, ZoneType.MIRROR, ZoneType.STUB}
        if ztype is ZoneType.PRIMARY:
            update = self.inherited(body, scope, "allow-update")
            writeable = "update-policy" in body or (
                update is not None and not _is_none_list(update)
            )
        previous = self.files.get(file_text)
        file_st = body["file"][0]
        if previous is not None and (writeable or previous[1]):
            self.problems.add(
                file_st,
                f"writeable file '{file_text}': already in use: {location(previous[0])}",
            )
            return
        if previous is None or writeable:
            self.files[file_text] = (file_st, writeable)

    def inherited(
        self, body: dict[str, list[Statement]], scope: _Scope, clause: str
    ) -> Statement | None:
        for level in (body, scope.clauses, self.options.clauses):
            found = level.get(clause)
            if found:
                return found[0]
        return None

    def inherited_word(
        self, body: dict[str, list[Statement]], scope: _Scope, clause: str
    ) -> str:
        st = self.inherited(body, scope, clause)
        words = words_of(st) if st is not None else []
        return words[0].lower() if words else ""

    def effective(
        self, body: dict[str, list[Statement]], scope: _Scope
    ) -> Mapping[str, Setting]:
        """Resolve the zone options options -> view -> zone, as BIND does.

        What a view inherits is resolved once per view; a zone that sets
        none of the options shares that mapping (most zones, in big configs).
        """
        if scope.inherited is None:
            scope.inherited = MappingProxyType(
                self.resolve({}, scope, dict.fromkeys(ALL_ZONE_OPTIONS))
            )
        own = [clause for clause in ALL_ZONE_OPTIONS if clause in body]
        if not own:
            return scope.inherited
        out = dict(scope.inherited)
        out.update(self.resolve(body, scope, own))
        return MappingProxyType(out)

    def resolve(
        self, body: dict[str, list[Statement]], scope: _Scope, clauses: Iterable[str]
    ) -> dict[str, Setting]:
        """The effective value of each of `clauses` for a zone with this body."""
        out: dict[str, Setting] = {}
        levels = (
            (body, Source.ZONE),
            (scope.clauses, Source.VIEW),
            (self.options.clauses, Source.OPTIONS),
        )
        for clause in clauses:
            if clause in ZONE_OPTIONS:
                default, convert = ZONE_OPTIONS[clause]
            else:
                default, convert = LIST_DEFAULTS[clause], None
            setting = Setting(default, Source.DEFAULT)
            for level, source in levels:
                found = level.get(clause)
                if not found:
                    continue
                # A bad value cannot get here: the grammar check reported it.
                with contextlib.suppress(ValueError, IndexError):
                    setting = Setting(self.convert(clause, found[0], convert), source)
                break
            out[clause] = setting
        return out

    def convert(
        self,
        clause: str,
        st: Statement,
        convert: Callable[[list[str]], object] | None,
    ) -> object:
        if convert is not None:
            return convert(words_of(st))
        if clause == "also-notify":
            entries = self.remote_entries(block(st))
            return self.expand_servers(entries, port_after(words_of(st)))
        return self.aml(block(st))

    def server_settings(self) -> dict[str, Setting]:
        out: dict[str, Setting] = {}
        options = self.options.clauses
        for clause, (default, convert) in SERVER_OPTIONS.items():
            found = options.get(clause)
            words = words_of(found[0]) if found else []
            out[clause] = (
                Setting(convert(words), Source.OPTIONS)
                if words
                else Setting(default, Source.DEFAULT)
            )
        for clause in ("listen-on", "listen-on-v6"):
            found = options.get(clause)
            if not found:
                out[clause] = Setting(((ANY, 53),), Source.DEFAULT)
                continue
            value = tuple(
                (self.aml(block(st)), port_after(words_of(st)) or 53) for st in found
            )
            out[clause] = Setting(value, Source.OPTIONS)
        catalog = options.get("catalog-zones")
        out["catalog-zones"] = Setting(
            tuple(_catalog_zones(catalog[0])) if catalog else (),
            Source.OPTIONS if catalog else Source.DEFAULT,
        )
        return out


def _catalog_zones(st: Statement) -> Iterator[str]:
    body = block(st)
    if body is None:
        return
    for entry in body.statements:
        words = [i.text for i in entry.items if isinstance(i, Word)]
        if len(words) >= 2 and words[0].lower() == "zone":
            yield words[1]


def _is_none_list(st: Statement) -> bool:
    body = block(st)
    if body is None or len(body.statements) != 1:
        return False
    items = body.statements[0].items
    return (
        len(items) == 1
        and isinstance(items[0], Word)
        and items[0].text.lower() == "none"
    )


_PLAIN_NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?\Z")


def _zone_name(text: str) -> dns.name.Name:
    """A zone name from config text (absolute, as BIND makes it).

    Plain names (letters, digits, '-', '_') skip dnspython's escape parser,
    which is the costliest step of loading 10,000 zones; anything else goes
    through `dns.name.from_text`.
    """
    if len(text) < 254 and _PLAIN_NAME.match(text):
        labels = [label.encode("ascii") for label in text.rstrip(".").split(".")]
        return dns.name.Name([*labels, b""])
    return dns.name.from_text(text)


@functools.cache
def _class_text(rdclass: dns.rdataclass.RdataClass) -> str:
    return dns.rdataclass.to_text(rdclass)


def _labels(name: dns.name.Name) -> tuple[bytes, ...]:
    """A zone's identity as a DNS name: its labels, ASCII lower-cased."""
    return tuple(label.lower() for label in name.labels)


def _canonical(name: dns.name.Name) -> str:
    """A zone name as BIND prints it from its symbol table: lower case, no final dot."""
    return name.to_text(omit_final_dot=True).lower() or "."


def load_config(path: str | os.PathLike[str], cwd: Path | None = None) -> Config:
    """Read a named.conf as BIND 9.18 reads it and build the model.

    Relative paths resolve against `cwd` (the process's working directory
    by default), as named resolves them.

    Raises:
        ConfigError: with every problem found, each as `file:line: message`.
    """
    # The tree of a large config is many small objects that live until the
    # model is built; the cyclic collector only slows that down.
    with gc_paused():
        return _load(os.fspath(path), cwd)


def _load(path: str, cwd: Path | None) -> Config:
    tree = load_tree(path, cwd)
    problems = check_grammar(tree.statements)
    if problems:
        raise ConfigError(_unique(problems))
    builder = _Builder(tree.statements, tree.directory, path)
    config = builder.build()
    problems = builder.problems.items + check_semantics(tree.statements)
    if problems:
        raise ConfigError(_unique(problems))
    return config


def _unique(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    seen: set[ConfigProblem] = set()
    out = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out
