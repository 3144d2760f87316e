"""BIND 9.18's typed named.conf grammar: the clause table, compiled into matchers.

`grammar.py` turns text into a tree of statements; this module gives the tree
BIND's meaning. The clause table (`clausedata.py`, generated from BIND's own
grammar documentation) says, for every context (the top level, `options`,
`view`, `zone`, `key`, `logging`, ...), which clauses exist and what syntax
each takes, in BIND's notation (`<integer>`, `[ port <integer> ]`,
`( yes | no )`, `{ <address_match_element>; ... }`). A small compiler turns
each syntax string into a matcher the first time the clause is seen.

The matchers reproduce named-checkconf 9.18's parser (`lib/isccfg/parser.c`
and `namedconf.c`): the same one-token lookahead decisions, and the same
error wording, including BIND's quirks (a quoted string is quoted as `'"'`,
tokens longer than 30 characters are cut with `...`, `/` is a token of its
own). Where that matters, comments name the BIND function copied.

`check_grammar` also runs the zone-type checks that BIND's
`lib/bind9/check.c` makes once the file has parsed: a zone needs a type, and
each option must be allowed for that type.

It is over STYLE's 600 lines: the compiler of the clause table and the
matchers of BIND's compound values (maps, lists, `( a | b )` choices) call
each other recursively, and check.c's zone-type checks rank and allow
options from the same clause table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from zonesync.config.clausedata import CLAUSES, ZONE_TYPE_SYNONYMS, ZONE_TYPES
from zonesync.config.grammar import Block, Statement, Word
from zonesync.config.terminals import (
    _DSCP,
    _NONE_DEFERRED,
    _OPTIONAL_TERMINALS,
    _SPECIALS,
    _TERMINALS,
    _V4,
    _V6,
    _WILD,
    Matcher,
    Tokens,
    _addr_kind,
    _astring,
    _at,
    _before,
    _btext,
    _btext_opt,
    _ClauseError,
    _Deferred,
    _enum,
    _is_str,
    _list_body,
    _near,
    _netaddr,
    _noprep,
    _plain,
    _port_loop,
    _querysource,
    _Run,
    _sizeval_percent,
    _sockaddr,
    _tokens,
    _uint32,
    _word,
)
from zonesync.errors import ConfigProblem

# --- braced lists and maps --------------------------------------------------


def _list(elem: Matcher) -> Matcher:
    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if type(t) is not Block:
            raise _near("'{' expected", toks, i)
        _list_body(t, elem, run)
        return i + 1

    return m


def _map(ctx: str) -> Matcher:
    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if type(t) is not Block:
            raise _near("'{' expected", toks, i)
        context = _context(ctx)
        seen: set[str] = set()
        for st in t.statements:
            _check_clause(st, context, seen, run, "'}' expected")
        return i + 1

    return m


# --- the notation compiler ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seq:
    """Items one after another (a tuple, in BIND's terms)."""

    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt:
    """`( a | b )`: one of the alternatives."""

    options: tuple[_Seq, ...]


@dataclass(frozen=True, slots=True)
class _Opt:
    """`[ x ]`: present or not, as the next token decides."""

    body: _Seq


@dataclass(frozen=True, slots=True)
class _List:
    """`{ x; ... }`: a braced list, each element ended by ';'."""

    elem: _Seq


@dataclass(frozen=True, slots=True)
class _Map:
    """`{ @ctx }`: a braced block of the clauses of another context."""

    ctx: str


@dataclass(frozen=True, slots=True)
class _Text:
    """`{ <unspecified-text> }`: braced free text."""


@dataclass(frozen=True, slots=True)
class _Term:
    """`<type>`: a value of a BIND type."""

    name: str


@dataclass(frozen=True, slots=True)
class _Kw:
    """A literal word."""

    word: str


_Node = _Seq | _Alt | _Opt | _List | _Map | _Text | _Term | _Kw

_NOTATION = re.compile(r"\.\.\.|<[^>]+>|@[\w-]+|[\[\](){}|;]|[^\s\[\](){}|;]+")


class _Syntax:
    """Recursive-descent reader of BIND's grammar notation."""

    def __init__(self, text: str) -> None:
        self.toks: list[str] = _NOTATION.findall(text)
        self.pos = 0

    def peek(self) -> str:
        return self.toks[self.pos] if self.pos < len(self.toks) else ""

    def take(self, expected: str) -> None:
        if self.peek() != expected:
            raise ValueError(f"expected {expected!r} at {self.pos} in {self.toks}")
        self.pos += 1

    def seq(self) -> _Seq:
        items: list[_Node] = []
        while self.peek() not in ("", "]", ")", "|", "}", ";"):
            items.append(self.item())
        return _Seq(tuple(items))

    def alt(self) -> _Alt:
        options = [self.seq()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.seq())
        return _Alt(tuple(options))

    def one(self, alt: _Alt) -> _Seq:
        """An alternation of one, as a sequence; else the alternation wrapped."""
        return alt.options[0] if len(alt.options) == 1 else _Seq((alt,))

    def item(self) -> _Node:
        t = self.peek()
        self.pos += 1
        if t == "[":
            inner = self.alt()
            self.take("]")
            return _Opt(self.one(inner))
        if t == "(":
            inner = self.alt()
            self.take(")")
            only = inner.options[0].items
            if (
                len(inner.options) == 1
                and len(only) == 1
                and not isinstance(only[0], _Kw)
            ):
                return only[0]
            return inner
        if t == "{":
            nxt = self.peek()
            if nxt.startswith("@"):
                self.pos += 1
                self.take("}")
                return _Map(nxt[1:])
            if nxt == "<unspecified-text>":
                self.pos += 1
                self.take("}")
                return _Text()
            elem = self.alt()
            self.take(";")
            self.take("...")
            self.take("}")
            return _List(self.one(elem))
        if t.startswith("<"):
            return _Term(t[1:-1])
        return _Kw(t.lower())


_FAMILIES = {"ipv4_address": _V4, "ipv6_address": _V6}


def _addr_flags(node: _Node) -> int | None:
    """Address flags of `<ipv4_address>`, `( <ipv4_address> | * )`, ...; else None."""
    if isinstance(node, _Term):
        return _FAMILIES.get(node.name)
    if not isinstance(node, _Alt):
        return None
    flags = 0
    for option in node.options:
        if len(option.items) != 1:
            return None
        part = option.items[0]
        if part == _Kw("*"):
            flags |= _WILD
        elif isinstance(part, _Term) and part.name in _FAMILIES:
            flags |= _FAMILIES[part.name]
        else:
            return None
    return flags


def _kv_word(node: _Node) -> str | None:
    """The keyword of `[ kw value ]`, BIND's optional keyvalue; else None."""
    if isinstance(node, _Opt) and len(node.body.items) >= 2:
        first = node.body.items[0]
        if isinstance(first, _Kw) and first.word != "*":
            return first.word
    return None


def _is_remote(node: _Node) -> bool:
    """`( <remote-servers> | <ipv4_address> [ port ... ] | ... )`."""
    return isinstance(node, _Alt) and any(
        o.items[:1] == (_Term("remote-servers"),) for o in node.options
    )


_ORDER_MODES = ("kv", "any-order", "any-order-lax")


class _Compiler:
    """Lowers one clause's syntax tree to matchers; `mode` is its ordering flag."""

    def __init__(self, mode: str, zone_clause: str) -> None:
        self.mode = mode
        self.zone_clause = zone_clause  # the clause's name, in the zone context

    def seq(self, seq: _Seq) -> Matcher:
        items = seq.items
        parts: list[Matcher] = []
        k = 0
        while k < len(items):
            item = items[k]
            flags = _addr_flags(item)
            if item == _Opt(_Seq((_Kw("address"),))):
                flags = _addr_flags(items[k + 1])
                if flags is None:
                    raise ValueError("[ address ] without an address")
                k, _, _ = self.port_opts(items, k + 2)
                parts.append(_querysource(flags | _DSCP))
            elif flags is not None:
                k, port, dscp = self.port_opts(items, k + 1)
                if port or dscp:
                    parts.append(_sockaddr(flags | dscp))
                else:
                    parts.append(_netaddr(flags))
            elif _is_remote(item):
                k += 1
                words = set()
                while k < len(items) and _kv_word(items[k]) in ("key", "tls"):
                    words.add(_kv_word(items[k]))
                    k += 1
                parts.append(
                    _remote_element("key" in words, "tls" in words, self.zone_clause)
                )
            elif _kv_word(item) is not None and self.mode:
                end = k
                while end < len(items) and _kv_word(items[end]) is not None:
                    end += 1
                # A field's own value is an ordinary tuple.
                plain = _Compiler("", self.zone_clause)
                if self.mode == "kv" and k == 0:  # the first field is fixed
                    parts.append(plain.node(item))
                    k = 1
                fields = {}
                for field_ in items[k:end]:
                    assert isinstance(field_, _Opt)
                    word = str(_kv_word(field_))
                    fields[word] = plain.seq(_Seq(field_.body.items[1:]))
                if fields or end == len(items):
                    parts.append(_any_order(fields, self.mode))
                k = end
            elif isinstance(item, _Kw) and k + 1 < len(items):
                rest = self.seq(_Seq(items[k + 1 :]))
                parts.append(_required_kv(item.word, rest))
                k = len(items)
            else:
                parts.append(self.node(item))
                k += 1
                if self.mode == "kv" and len(items) == 1 and isinstance(item, _List):
                    parts.append(_any_order({}, "kv"))  # catalog-zones' kv tuple
        return _chain(parts)

    @staticmethod
    def port_opts(items: tuple[_Node, ...], k: int) -> tuple[int, bool, int]:
        """Absorb `[ port ... ]` and `[ dscp ... ]` after an address: the
        next position, whether a port may follow, and _DSCP if a dscp may."""
        port, dscp = False, 0
        while k < len(items) and _kv_word(items[k]) in ("port", "dscp"):
            if _kv_word(items[k]) == "dscp":
                dscp = _DSCP
            else:
                port = True
            k += 1
        return k, port, dscp

    def node(self, node: _Node) -> Matcher:
        if isinstance(node, _Seq):
            return self.seq(node)
        if isinstance(node, _Term):
            if node.name not in _TERMINALS:
                raise ValueError(f"no matcher for <{node.name}>")
            return _TERMINALS[node.name]
        if isinstance(node, _Opt):
            return self.opt(node)
        if isinstance(node, _Alt):
            return self.alt(node)
        if isinstance(node, _List):
            return _list(self.seq(node.elem))
        if isinstance(node, _Map):
            return _map(node.ctx)
        if isinstance(node, _Text):
            return _btext
        raise ValueError(f"cannot compile {node!r}")

    def opt(self, node: _Opt) -> Matcher:
        word = _kv_word(node)
        if word is not None:
            return _optional_kv(word, self.seq(_Seq(node.body.items[1:])))
        if len(node.body.items) == 1:
            part = node.body.items[0]
            if isinstance(part, _Term) and part.name in _OPTIONAL_TERMINALS:
                return _OPTIONAL_TERMINALS[part.name]
            if isinstance(part, _Text):
                return _btext_opt
            if isinstance(part, _Alt) and all(
                len(o.items) == 1 and isinstance(o.items[0], _Kw) for o in part.options
            ):
                return _optional_enum(frozenset(str(_kw_of(o)) for o in part.options))
        raise ValueError(f"cannot compile optional {node!r}")

    def alt(self, node: _Alt) -> Matcher:
        keywords: dict[str, Matcher | None] = {}
        others: list[_Seq] = []
        for option in node.options:
            word = _kw_of(option)
            if word is None:
                others.append(option)
            elif len(option.items) > 1:
                keywords[word] = self.seq(_Seq(option.items[1:]))
            else:
                keywords[word] = None
        heads = [o.items[0] if len(o.items) == 1 else None for o in others]
        if not others:
            return _enum_m(keywords)
        if len(others) == 1 and isinstance(heads[0], _List):
            return _keyword_or_list(keywords, self.seq(others[0]))
        if len(others) == 1:
            return _enum_or_other(keywords, self.seq(others[0]))
        if heads == [_Term("sizeval"), _Term("percentage")]:
            return _enum_or_other(keywords, _sizeval_percent)
        if not keywords and others[0].items[0] == _Term("quoted_string"):
            return _nameport()
        raise ValueError(f"cannot compile alternatives {node!r}")


def _kw_of(seq: _Seq) -> str | None:
    """The keyword a sequence starts with, if it does."""
    first = seq.items[0] if seq.items else None
    return first.word if isinstance(first, _Kw) else None


def _nothing(toks: Tokens, i: int, run: _Run) -> int:
    return i


def _chain(parts: list[Matcher]) -> Matcher:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return _nothing
    fixed = tuple(parts)

    def m(toks: Tokens, i: int, run: _Run) -> int:
        for part in fixed:
            i = part(toks, i, run)
        return i

    return m


def _required_kv(word: str, rest: Matcher) -> Matcher:
    """parse_keyvalue: a required keyword, then its value."""

    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if not (_is_str(t) and t.text.lower() == word):
            raise _near(f"expected '{word}'", toks, i)
        return rest(toks, i + 1, run)

    return m


def _optional_kv(word: str, rest: Matcher) -> Matcher:
    """parse_optional_keyvalue: the keyword decides whether the field is there."""

    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if _is_str(t) and t.text.lower() == word:
            return rest(toks, i + 1, run)
        return i

    return m


def _any_order(fields: dict[str, Matcher], mode: str) -> Matcher:
    """Keyword fields in any order, each at most once: cfg_parse_kv_tuple
    ("kv"), dnstap-output's parse_dtout ("any-order"), and the logging
    channel's parse_logfile ("any-order-lax", which stops quietly, taking
    the word it did not know with it)."""

    def m(toks: Tokens, i: int, run: _Run) -> int:
        used: set[str] = set()
        while _is_str(t := _at(toks, i)):
            word = t.text.lower()
            if word not in fields or word in used:
                if mode == "kv":
                    raise _plain(f"unexpected '{t.text}'", toks, i)
                if mode == "any-order":
                    raise _near("unexpected token", toks, i)
                return i + 1
            used.add(word)
            i = fields[word](toks, i + 1, run)
        return i

    return m


def _optional_enum(words: frozenset[str]) -> Matcher:
    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if _is_str(t) and t.text.lower() in words:
            return i + 1
        return i

    return m


def _enum_m(keywords: dict[str, Matcher | None]) -> Matcher:
    """cfg_parse_enum; a word may take a value of its own (`policy cname x`)."""
    words = frozenset(keywords)

    def m(toks: Tokens, i: int, run: _Run) -> int:
        _enum(toks, i, words)
        rest = keywords[_word(toks, i).text.lower()]
        return i + 1 if rest is None else rest(toks, i + 1, run)

    return m


def _enum_or_other(keywords: dict[str, Matcher | None], other: Matcher) -> Matcher:
    """cfg_parse_enum_or_other: a listed word, else the other type."""

    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if _is_str(t):
            word = t.text.lower()
            if word in keywords:
                rest = keywords[word]
                return i + 1 if rest is None else rest(toks, i + 1, run)
        return other(toks, i, run)

    return m


def _keyword_or_list(keywords: dict[str, Matcher | None], other: Matcher) -> Matcher:
    """parse_updatepolicy: `local` or a braced list; anything else fails
    without a message of its own, so BIND reports the parse as failed."""

    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if _is_str(t) and t.text.lower() in keywords:
            return i + 1
        if type(t) is Block:
            return other(toks, i, run)
        raise _plain("parsing failed: unexpected token", toks, i)

    return m


def _remote_element(key: bool, tls: bool, zone_clause: str) -> Matcher:
    """parse_remoteselement plus its optional `key` and `tls`: an address
    (with port) or the name of a list. Once the file has parsed,
    named-checkconf 9.18.49 rejects a `key` or `tls` after a list name in
    some of a zone's own lists ("unexpected token"); see _zone_problem."""

    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if type(t) is not Word or (not t.quoted and t.text in _SPECIALS):
            raise _near("expected IP address or remote servers list name", toks, i)
        is_name = _addr_kind(t, _V4 | _V6) is None
        if is_name:
            i += 1
        else:
            i = _port_loop(toks, i + 1, _V4 | _V6)
        for word, allowed in (("key", key), ("tls", tls)):
            t = _at(toks, i)
            if allowed and _is_str(t) and t.text.lower() == word:
                i = _astring(toks, i + 1, run)
                if is_name and zone_clause:
                    problem = _noprep("unexpected token", toks, i - 1).problem
                    run.deferred.append(_Deferred(zone_clause, problem))
        return i

    return m


def _nameport() -> Matcher:
    """parse_sockaddrnameport (dual-stack-servers): an address with an
    optional port, or a name with an optional port and dscp."""

    def m(toks: Tokens, i: int, run: _Run) -> int:
        t = _at(toks, i)
        if type(t) is not Word or (not t.quoted and t.text in _SPECIALS):
            raise _near("expected IP address or hostname", toks, i)
        if _addr_kind(t, _V4 | _V6) is not None:
            return _port_loop(toks, i + 1, _V4 | _V6)
        i += 1
        for word in ("port", "dscp"):
            t = _at(toks, i)
            if _is_str(t) and t.text.lower() == word:
                i = _uint32(toks, i + 1, run)
        return i

    return m


def _compile(syntax: str, flags: frozenset[str], zone_clause: str = "") -> Matcher:
    mode = next((f for f in ("kv", "any-order", "any-order-lax") if f in flags), "")
    reader = _Syntax(syntax)
    tree = reader.seq()
    if reader.peek():
        raise ValueError(f"unparsed syntax after {reader.toks[: reader.pos]!r}")
    return _Compiler(mode, zone_clause).seq(tree)


# --- contexts and clauses --------------------------------------------------


@dataclass(slots=True)
class _Clause:
    name: str
    syntax: str
    flags: frozenset[str]
    multi: bool
    matcher: Matcher | None = None


class _Context:
    """The clauses of one context, each compiled on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.clauses: dict[str, _Clause] = {}
        for clause, (syntax, flags) in CLAUSES[name].items():
            words = frozenset(flags.split())
            self.clauses[clause] = _Clause(clause, syntax, words, "multi" in words)

    def matcher(self, clause: _Clause) -> Matcher:
        if clause.matcher is None:
            zone_clause = clause.name if self.name == "zone" else ""
            clause.matcher = _compile(clause.syntax, clause.flags, zone_clause)
        return clause.matcher


_CONTEXTS: dict[str, _Context] = {}


def _context(name: str) -> _Context:
    ctx = _CONTEXTS.get(name)
    if ctx is None:
        ctx = _CONTEXTS[name] = _Context(name)
    return ctx


def _check_clause(
    st: Statement, ctx: _Context, seen: set[str], run: _Run, stray: str
) -> None:
    """cfg_parse_mapbody for one statement: look the clause up and parse it."""
    name = st.keyword
    clause = ctx.clauses.get(name)
    toks = _tokens(st)
    if clause is None:
        if not _is_str(toks[0]):
            raise _near(stray, toks, 0)
        name = toks[0].text.lower()  # `a/b` is the clause `a`, then `/`
        clause = ctx.clauses.get(name)
        if clause is None:
            raise _noprep("unknown option", toks, 0)
    if "ancient" in clause.flags:
        raise _plain(f"option '{name}' no longer exists", toks, 0)
    if "not-configured" in clause.flags:
        raise _plain(f"option '{name}' was not enabled at compile time", toks, 0)
    if not clause.multi:
        if name in seen:
            raise _near(f"'{name}' redefined", toks, 0)
        seen.add(name)
    mark = len(run.deferred)
    end = (clause.matcher or ctx.matcher(clause))(toks, 1, run)
    if end < len(toks):
        raise _before("missing ';'", toks, end)
    if name == "zone":
        if len(run.deferred) > mark:
            run.zones.append((toks, run.deferred[mark:]))
            del run.deferred[mark:]
        else:
            run.zones.append((toks, _NONE_DEFERRED))


# --- zone-type checks (lib/bind9/check.c check_zoneconf) ----------------------


def _zone_rank() -> dict[str, int]:
    """Zone clauses in BIND's zoneopts order (zone-only clauses, then those
    shared with options and view), which is the order check.c reports in."""
    shared = set(CLAUSES["options"])
    only = sorted(n for n in ZONE_TYPES if n not in shared and n != "type")
    order = ["type", *only, *sorted(n for n in ZONE_TYPES if n in shared)]
    return {name: rank for rank, name in enumerate(order)}


_ZONE_RANK = _zone_rank()
_ZONE_ALLOWED = {name: frozenset(types) for name, types in ZONE_TYPES.items()}

# check.c validates a zone's own remote lists only for these zone types;
# the `also-notify` list (inherited, and checked only when NOTIFY is on) is
# left to the loader.
_CHECKED_LISTS = {
    "primaries": ("secondary", "stub"),
    "masters": ("secondary", "stub"),
    "parental-agents": ("primary", "secondary"),
}


def _zone_problem(toks: Tokens, deferred: list[_Deferred]) -> ConfigProblem | None:
    """The first zone-type problem of one zone statement, as check.c words it;
    else the first problem its parse deferred to the check phase."""
    body = toks[-1]
    assert isinstance(body, Block)
    statements = body.statements
    type_st = None
    for st in statements:
        if st.keyword == "in-view":
            return None  # a zone from another view; check.c has no type to check
        if st.keyword == "type" and type_st is None:
            type_st = st
    zname = _word(toks, 1).text
    if type_st is None:
        return ConfigProblem(
            toks[0].file, toks[0].line, f"zone '{zname}': type not present"
        )
    typestr = _word(type_st.items, 1).text
    ztype = typestr.lower()
    ztype = ZONE_TYPE_SYNONYMS.get(ztype, ztype)
    if ztype == "redirect" and zname != ".":
        return ConfigProblem(
            toks[0].file, toks[0].line, 'redirect zones must be called "."'
        )
    refused = None
    for st in statements:
        option = st.keyword
        if ztype not in _ZONE_ALLOWED[option] and (
            refused is None or _ZONE_RANK[option] < _ZONE_RANK[refused.keyword]
        ):
            refused = st
    if refused is not None:
        value = refused.items
        where = value[1] if len(value) > 1 else value[0]  # the value's first token
        return ConfigProblem(
            where.file,
            where.line,
            f"option '{refused.keyword}' is not allowed in '{typestr}' zone '{zname}'",
        )
    for item in deferred:
        if ztype in _CHECKED_LISTS.get(item.clause, ()):
            return item.problem
    return None


# --- public API ----------------------------------------------------------


def check_grammar(statements: Sequence[Statement]) -> list[ConfigProblem]:
    """Check a flat list of top-level statements against BIND 9.18's grammar.

    Reports at most one problem per top-level statement, worded as
    named-checkconf 9.18 words it. Parse errors come first (BIND stops at
    the first one in a file); then the zone-type checks BIND runs on a
    parsed file: a zone needs a type, and each option must be allowed for it.
    """
    top = _context("namedconf")
    seen: set[str] = set()
    parse_problems: list[ConfigProblem] = []
    check_problems: list[ConfigProblem] = []
    for st in statements:
        run = _Run()
        try:
            _check_clause(st, top, seen, run, "syntax error")
        except _ClauseError as err:
            parse_problems.append(err.problem)
            continue
        for zone, deferred in run.zones:
            problem = _zone_problem(zone, deferred)
            if problem is not None:
                check_problems.append(problem)
                break
    return parse_problems + check_problems


def clause_names(context: str) -> frozenset[str]:
    """The clauses BIND 9.18 accepts in a context ("options", "view", "zone",
    "key", "logging", ...; "namedconf" is the top level). Clauses BIND only
    knows to reject ("no longer exists", not compiled in) are left out.
    """
    if context not in CLAUSES:
        raise KeyError(context)
    return frozenset(
        name
        for name, (_, flags) in CLAUSES[context].items()
        if "ancient" not in flags.split() and "not-configured" not in flags.split()
    )
