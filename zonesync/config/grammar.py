"""Generic ISC configuration syntax: text -> statement tree with file and line.

The grammar knows nothing of BIND's clauses. A file is a list of statements;
a statement is a run of words, quoted strings and braced blocks ended by ';';
a block is a list of statements. `clauses.py` gives the tree its meaning.

The grammar is pyparsing, engineered for speed: a statement's run of plain
words is one `Regex` match (split into positioned words in its parse action)
rather than one pyparsing match per word, and whitespace and comments are
folded into the leading part of each terminal instead of pyparsing's
`ignore` machinery. A plain grammar took about 11 s on 10,000 zones; this one
is measured in `bench/`.
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # imported when first needed: 40 ms of every start (issue 5)
    import pyparsing as pp

from zonesync.errors import ConfigProblem

# The tree's nodes are NamedTuples rather than our usual frozen dataclasses:
# they are just as immutable, and a 10,000-zone config makes some 250,000 of
# them, where a frozen dataclass's __init__ costs four times a tuple's.


class Word(NamedTuple):
    """One token: a bare word, `!`, or a quoted string (without its quotes)."""

    text: str
    quoted: bool
    file: str
    line: int


class Block(NamedTuple):
    """A braced list of statements."""

    statements: tuple[Statement, ...]
    file: str
    line: int


class Statement(NamedTuple):
    """A run of words and blocks ended by ';'.

    `keyword` is the first word in lower case, or '' when the statement
    starts with a block or a quoted string; `make_statement` fills it in.
    """

    items: tuple[Word | Block, ...]
    file: str
    line: int
    keyword: str


def make_statement(items: tuple[Word | Block, ...], file: str) -> Statement:
    """A statement of `items`, its line that of its first item."""
    first = items[0]
    keyword = first.text.lower() if isinstance(first, Word) and not first.quoted else ""
    return Statement(items, file, first.line, keyword)


class GrammarError(Exception):
    """The text is not valid ISC configuration syntax."""

    def __init__(self, problem: ConfigProblem) -> None:
        self.problem = problem
        super().__init__(str(problem))


# Whitespace and the three comment styles, possessive so that a failed match
# never backtracks through them. C comments do not nest: the first '*/'
# closes them (checked against named-checkconf 9.18).
_SKIP = r"(?:\s+|/\*(?:[^*]|\*(?!/))*+\*/|//[^\n]*|#[^\n]*)*+"
# A bare word stops at whitespace, the specials `{ } ; " !`, and the start
# of a comment.
_BARE = r"(?:[^\s{};\"!#/]|/(?![/*]))++"
_QUOTED = r'"(?:[^"\\]|\\.)*+"'
_TOKEN = rf"(?:{_QUOTED}|{_BARE}|!)"
# One scanner step after skipping: a quoted string, a bare word or `!`, or
# one of `{ } ;`.
_SCAN = re.compile(rf"{_SKIP}(?:({_QUOTED})|({_BARE}|!)|([{{}};]))")
# The same, with what was skipped captured too (for counting lines).
_TOKENS = re.compile(rf"({_SKIP})(?:({_QUOTED})|({_BARE}|!)|([{{}};]))")
# Statements nested up to this depth are matched by one regular expression
# (the fast path); deeper ones, and all malformed text, go through the
# recursive pyparsing grammar.
_FAST_DEPTH = 3


def _statement_re(depth: int) -> str:
    """A regex for a statement whose blocks nest at most `depth` deep."""
    item = _TOKEN
    if depth > 0:
        inner = _statement_re(depth - 1)
        item = rf"(?:{_TOKEN}|\{{(?:{inner})*+{_SKIP}\}})"
    return rf"(?:{_SKIP}{item})++{_SKIP};"


# Free text in braces, nested up to three deep.
_RAW_BODY = r"(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*"


# A whole file of such statements: read without pyparsing (see parse_text).
_FAST_FILE = re.compile(rf"((?:{_statement_re(_FAST_DEPTH)})*+){_SKIP}\Z")


def _unquote(quoted: str) -> str:
    """The text of a quoted string: BIND keeps escapes, except `\\"` becomes `"`."""
    return quoted[1:-1].replace('\\"', '"')


class _Source:
    """Maps offsets in one file's text to line numbers, in O(log n)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1


class _Parser:
    """One pyparsing grammar, reused for every file; made on first use."""

    def __init__(self) -> None:
        self.source = _Source("", "")
        self._file: pp.ParserElement | None = None

    @property
    def file(self) -> pp.ParserElement:
        """The grammar of a whole file."""
        if self._file is None:
            self._file = self._grammar()
        return self._file

    def _grammar(self) -> pp.ParserElement:
        # Only for files the fast regex cannot read: pyparsing's import is
        # 40 ms of every start (issue 5).
        import pyparsing as pp

        pp.ParserElement.set_default_whitespace_chars("")
        try:
            # A run of consecutive statements in one match: a top level of
            # 10,000 zones is then a handful of pyparsing steps, not 10,000.
            fast = pp.Regex(rf"(?:{_statement_re(_FAST_DEPTH)})++")
            fast.set_parse_action(self._fast)
            words = pp.Regex(rf"{_SKIP}{_TOKEN}(?:{_SKIP}{_TOKEN})*+")
            words.set_parse_action(self._words)
            lbrace = pp.Regex(rf"{_SKIP}\{{").suppress()
            rbrace = pp.Regex(rf"{_SKIP}\}}").suppress()
            semi = pp.Regex(rf"{_SKIP};").suppress()
            end = pp.Regex(rf"{_SKIP}\Z").suppress()
            block = pp.Forward()
            statement = pp.Forward()
            general = pp.Group(pp.OneOrMore(words | block) + semi)
            general.set_parse_action(self._statement)
            # `dyndb`, `plugin` and `dnsrps-options` take free text in braces
            # (BIND's bracketed text); it becomes one quoted word.
            raw = pp.Regex(
                rf"{_SKIP}(?i:dyndb|plugin|dnsrps-options)\b(?:{_SKIP}{_TOKEN})*+"
                rf"{_SKIP}\{{(?P<raw>{_RAW_BODY})\}}{_SKIP};"
            )
            raw.set_parse_action(self._raw)
            # A `server` block's `keys { name }` may leave out the ';' (BIND's
            # server_key "kludge", lib/isccfg/namedconf.c).
            keys = pp.Regex(
                rf"{_SKIP}(?i:keys){_SKIP}\{{{_SKIP}{_TOKEN}{_SKIP}\}}{_SKIP};"
            )
            keys.set_parse_action(self._keys)
            statement <<= fast | general | raw | keys
            block <<= pp.Group(lbrace + pp.ZeroOrMore(statement) + rbrace)
            block.set_parse_action(self._block)
            file = pp.ZeroOrMore(statement) + end
            # Keep tabs: pyparsing would expand them and shift every offset.
            file.parse_with_tabs()
            return file
        finally:
            pp.ParserElement.set_default_whitespace_chars(" \n\t\r")

    def _words(self, s: str, loc: int, toks: pp.ParseResults) -> list[Word]:
        return self._words_at(toks[0], loc)

    def _words_at(self, text: str, loc: int) -> list[Word]:
        """The words of `text`, which is at offset `loc` of the file."""
        out = []
        pos = 0
        name = self.source.name
        line = self.source.line
        scan = _SCAN.match
        while pos < len(text):
            m = scan(text, pos)
            if m is None:  # only trailing whitespace or comments remain
                break
            pos = m.end()
            quoted = m.group(1)
            if quoted is not None:
                out.append(Word(_unquote(quoted), True, name, line(loc + m.start(1))))
            else:
                out.append(Word(m.group(2), False, name, line(loc + m.start(2))))
        return out

    def _fast(self, s: str, loc: int, toks: pp.ParseResults) -> list[Statement]:
        return self.statements(toks[0], loc)

    def statements(self, run: str, loc: int) -> list[Statement]:
        """Build the trees of a run of statements the fast regex matched whole.

        `run` is at offset `loc` of the file. `findall` hands back each token
        with the whitespace and comments before it, so lines are counted as
        we go, with no per-token search.
        """
        name = self.source.name
        line = self.source.line(loc)
        # Each frame: the items of the statement being read, and the
        # statements of the block that holds it (the outer level has none).
        items: list[Word | Block] = []
        stack: list[tuple[list[Word | Block], list[Statement], int]] = []
        body: list[Statement] = []
        done: list[Statement] = []
        for skip, quoted, bare, punct in _TOKENS.findall(run):
            if skip:
                line += skip.count("\n")
            if bare:
                items.append(Word(bare, False, name, line))
            elif quoted:
                items.append(Word(_unquote(quoted), True, name, line))
                line += quoted.count("\n")
            elif punct == "{":
                stack.append((items, body, line))
                items, body = [], []
            elif punct == "}":
                outer, outer_body, start = stack.pop()
                outer.append(Block(tuple(body), name, start))
                items, body = outer, outer_body
            elif stack:
                body.append(make_statement(tuple(items), name))
                items = []
            else:
                done.append(make_statement(tuple(items), name))
                items = []
        return done

    def _raw(self, s: str, loc: int, toks: pp.ParseResults) -> Statement:
        text = toks[0]
        head = text[: text.index("{")]
        words = self._words_at(head, loc)
        brace = loc + len(head)
        line = self.source.line(brace)
        body = text[len(head) + 1 : text.rindex("}")]
        name = self.source.name
        raw = make_statement((Word(body, True, name, line),), name)
        return make_statement((*words, Block((raw,), name, line)), name)

    def _keys(self, s: str, loc: int, toks: pp.ParseResults) -> Statement:
        """`keys { k }` as if written `keys { k; }`."""
        text = toks[0]
        brace = text.index("{")
        head = self._words_at(text[:brace], loc)
        inner = self._words_at(text[brace + 1 : text.rindex("}")], loc + brace + 1)
        name = self.source.name
        block = Block((make_statement(tuple(inner), name),), name, inner[0].line)
        return make_statement((*head, block), name)

    def _statement(self, s: str, loc: int, toks: pp.ParseResults) -> Statement:
        return make_statement(tuple(toks[0]), self.source.name)

    def _block(self, s: str, loc: int, toks: pp.ParseResults) -> Block:
        brace = _SCAN.match(s, loc)
        assert brace is not None
        return Block(tuple(toks[0]), self.source.name, self.source.line(brace.start(3)))


_PARSER: _Parser | None = None


def parse_text(text: str, name: str) -> tuple[Statement, ...]:
    """Parse one file's text into statements; `name` is used in positions.

    Raises:
        GrammarError: the text is not valid ISC syntax; the problem is worded
            as named-checkconf words it.
    """
    global _PARSER  # one grammar object, built on first use
    if _PARSER is None:
        _PARSER = _Parser()
    parser = _PARSER
    parser.source = _Source(name, text)
    # The common file, statements nested up to three deep, is read by one
    # regular expression, as pyparsing would read it with `fast` alone. Not
    # only quicker: pyparsing's failed alternatives leave reference cycles
    # through its frames, and so through ours, that held the whole tree
    # (230,000 objects for 10,000 zones) for the cyclic collector (issue 5).
    whole = _FAST_FILE.match(text)
    if whole is not None:
        return tuple(parser.statements(whole.group(1), 0))
    grammar = parser.file
    import pyparsing as pp  # imported by parser.file already

    try:
        result = grammar.parse_string(text, parse_all=True)
    except pp.ParseBaseException:
        raise GrammarError(_diagnose(text, name)) from None
    return tuple(result)


def _diagnose(text: str, name: str) -> ConfigProblem:
    """Find the first syntax error and word it as named-checkconf 9.18 does."""
    source = _Source(name, text)
    depth = 0
    pending = False  # the current statement has items and no ';' yet
    after_block = False  # the last token closed a block
    pos = 0
    while True:
        m = _SCAN.match(text, pos)
        if m is None:
            rest = re.compile(_SKIP).match(text, pos)
            stop = rest.end() if rest else pos
            if stop < len(text):  # an unterminated comment or quoted string
                return ConfigProblem(name, source.line(stop), "unexpected end of input")
            where = source.line(len(text))
            if pending:
                return ConfigProblem(name, where, "missing ';' before end of file")
            if depth:
                return ConfigProblem(name, where, "'}' expected near end of file")
            # parse_text failed, so something must be wrong; be safe.
            return ConfigProblem(name, where, "unexpected end of input")
        pos = m.end()
        kind = m.lastindex or 0  # _SCAN always captures one group
        line = source.line(m.start(kind))
        token = m.group(kind)
        if kind == 3 and token == "{":
            depth += 1
            pending = after_block = False
        elif kind == 3 and token == "}":
            if pending:
                return ConfigProblem(name, line, "missing ';' before '}'")
            if depth == 0:
                return ConfigProblem(name, line, "syntax error near '}'")
            depth -= 1
            pending = after_block = True
        elif kind == 3:
            if not pending:
                near = "'}' expected near ';'" if depth else "syntax error near ';'"
                return ConfigProblem(name, line, near)
            pending = after_block = False
        else:
            if after_block:
                word = token[1:-1] if kind == 1 else token
                return ConfigProblem(name, line, f"missing ';' before '{word}'")
            pending = True
