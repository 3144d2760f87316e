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
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeGuard

from zonesync.config.clausedata import CLAUSES, ZONE_TYPE_SYNONYMS, ZONE_TYPES
from zonesync.config.grammar import Block, Statement, Word
from zonesync.errors import ConfigProblem

Token = Word | Block
Tokens = Sequence[Token]


@dataclass(slots=True)
class _Run:
    """State of one check_grammar call, threaded through the matchers."""

    # Each zone statement seen, with the check-phase problems found in it
    # (shared empty list when there are none: most zones).
    zones: list[tuple[Tokens, list[_Deferred]]] = field(default_factory=list)
    # Check-phase problems found while parsing, not yet assigned to a zone.
    deferred: list[_Deferred] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Deferred:
    """A problem BIND reports after parsing, and only for some zone types."""

    clause: str
    problem: ConfigProblem


Matcher = Callable[[Tokens, int, _Run], int]
_NONE_DEFERRED: list[_Deferred] = []


class _ClauseError(Exception):
    """A grammar error at a position; the first one ends the statement."""

    def __init__(self, message: str, file: str, line: int) -> None:
        super().__init__(message)
        self.problem = ConfigProblem(file, line, message)


# BIND's MAX_LOG_TOKEN: longer tokens are quoted as their first 30
# characters and "...".
_MAX_LOG_TOKEN = 30
_SPECIALS = frozenset({"!", "/"})


def _is_str(t: Token | None) -> TypeGuard[Word]:
    """An unquoted word: BIND's isc_tokentype_string."""
    return type(t) is Word and not t.quoted and t.text not in _SPECIALS


def _at(toks: Tokens, i: int) -> Token | None:
    return toks[i] if i < len(toks) else None


def _end_pos(t: Token) -> tuple[str, int]:
    """File and line of the last token of `t` (the `}` of a block is unknown)."""
    while type(t) is Block and t.statements:
        t = t.statements[-1].items[-1]
    return t.file, t.line


def _pos(toks: Tokens, i: int) -> tuple[str, int]:
    if i < len(toks):
        t = toks[i]
        return t.file, t.line
    return _end_pos(toks[-1])


def _text(toks: Tokens, i: int) -> str:
    """A token as BIND quotes it in messages."""
    if i >= len(toks):
        return "';'"
    t = toks[i]
    if isinstance(t, Block):
        return "'{'"
    if t.quoted:
        return "'\"'"  # BIND reads the opening quote as a token of its own
    if len(t.text) > _MAX_LOG_TOKEN:
        return f"'{t.text[:_MAX_LOG_TOKEN]}...'"
    return f"'{t.text}'"


def _near(message: str, toks: Tokens, i: int) -> _ClauseError:
    return _ClauseError(f"{message} near {_text(toks, i)}", *_pos(toks, i))


def _before(message: str, toks: Tokens, i: int) -> _ClauseError:
    return _ClauseError(f"{message} before {_text(toks, i)}", *_pos(toks, i))


def _noprep(message: str, toks: Tokens, i: int) -> _ClauseError:
    return _ClauseError(f"{message} {_text(toks, i)}", *_pos(toks, i))


def _plain(message: str, toks: Tokens, i: int) -> _ClauseError:
    return _ClauseError(message, *_pos(toks, i))


def _word(toks: Tokens, i: int) -> Word:
    """The word at `i`, where the grammar has already made sure it is one."""
    t = toks[i]
    assert isinstance(t, Word)
    return t


def _tokens(st: Statement) -> Tokens:
    """A statement's items as BIND's lexer sees them: `/` splits words."""
    items = st.items
    for it in items:
        if type(it) is Word and not it.quoted and "/" in it.text and it.text != "/":
            break
    else:
        return items
    out: list[Token] = []
    for it in items:
        if type(it) is Word and not it.quoted and "/" in it.text:
            for n, piece in enumerate(it.text.split("/")):
                if n:
                    out.append(Word("/", False, it.file, it.line))
                if piece:
                    out.append(Word(piece, False, it.file, it.line))
        else:
            out.append(it)
    return out


# --- numbers, durations, sizes -------------------------------------------

# isc_lex with ISC_LEXOPT_CNUMBER: decimal, 0x hex, or 0-led octal.
_CNUMBER = re.compile(r"0[xX][0-9]+|0[0-7]*|[1-9][0-9]*")
_DECIMAL = re.compile(r"[0-9]+")
_UINT32_MAX = 0xFFFFFFFF


def _number(toks: Tokens, i: int, pattern: re.Pattern[str]) -> int | None:
    """The value of a number token, None if it is not one; BIND's lexer
    rejects numbers above 2^32 - 1 with a bare "out of range"."""
    t = _at(toks, i)
    if not _is_str(t) or not pattern.fullmatch(t.text):
        return None
    value = _parse_int(t.text, pattern)
    if value > _UINT32_MAX:
        raise _plain("out of range ", toks, i)
    return value


def _parse_int(text: str, pattern: re.Pattern[str]) -> int:
    if pattern is _DECIMAL:
        return int(text, 10)
    if text[:2] in ("0x", "0X"):
        return int(text[2:], 16)
    if text[0] == "0":
        return int(text, 8)
    return int(text, 10)


def _strtoll(s: str, pos: int) -> tuple[int, int]:
    """C strtoll(s + pos, &end, 10): the value and the end offset."""
    j = pos
    while j < len(s) and s[j] in " \t\n\v\f\r":
        j += 1
    sign = 1
    if j < len(s) and s[j] in "+-":
        sign = -1 if s[j] == "-" else 1
        j += 1
    start = j
    while j < len(s) and s[j].isdigit():
        j += 1
    if j == start:
        return 0, pos
    return sign * int(s[start:j]), j


def _pbrk(s: str, start: int, chars: str) -> int:
    """C strpbrk from `start`: the first offset of one of `chars`, or -1."""
    for j in range(start, len(s)):
        if s[j] in chars:
            return j
    return -1


def _iso8601_ok(s: str) -> bool:
    """BIND's isccfg_duration_fromtext, ported for its accept/reject answer."""
    if len(s) > 79 or not s or s[0] not in "Pp":
        return False
    p = 0
    t = _pbrk(s, 0, "Tt")
    cur = 0
    not_weeks = False

    def field_ok(x: int) -> bool:
        value, end = _strtoll(s, cur + 1)
        return (end < len(s) and s[end] == s[x]) and 0 <= value <= _UINT32_MAX

    x = _pbrk(s, cur, "Yy")
    if x >= 0:
        if not field_ok(x):
            return False
        cur, not_weeks = x, True
    x = _pbrk(s, cur, "Mm")
    if x >= 0 and (t < 0 or x - p < t - p):
        if not field_ok(x):
            return False
        cur, not_weeks = x, True
    x = _pbrk(s, cur, "Dd")
    if x >= 0:
        if not field_ok(x):
            return False
        cur, not_weeks = x, True
    if t >= 0:
        cur, not_weeks = t, True
    x = _pbrk(s, cur, "Hh")
    if x >= 0 and t >= 0:
        if not field_ok(x):
            return False
        cur, not_weeks = x, True
    x = _pbrk(s, cur, "Mm")
    if x >= 0 and t >= 0 and x - p > t - p:
        if not field_ok(x):
            return False
        cur, not_weeks = x, True
    x = _pbrk(s, cur, "Ss")
    if x >= 0 and t >= 0:
        if not field_ok(x):
            return False
        cur, not_weeks = x, True
    w = _pbrk(s, 0, "Ww")
    if w >= 0:
        if not_weeks or not field_ok(w):
            return False
        cur = w
    return cur + 1 >= len(s)


_TTL_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def _ttl(s: str) -> int | None:
    """BIND's dns_ttl_fromtext: seconds, or None if malformed (may exceed 2^32)."""
    if len(s) > 63:
        return None
    total = 0
    j = 0
    while True:
        start = j
        while j < len(s) and "0" <= s[j] <= "9":
            j += 1
        if j == start:
            return None
        n = int(s[start:j])
        if n > _UINT32_MAX:
            return None
        if j == len(s):
            if total:
                return None  # a plain number after units
            return n
        unit = _TTL_UNITS.get(s[j].lower())
        if unit is None:
            return None
        total += n * unit
        j += 1
        if j == len(s):
            return total


def _duration(toks: Tokens, i: int) -> int:
    """cfg_parse_duration (parse_duration for the value)."""
    t = _at(toks, i)
    if not _is_str(t):
        raise _near("expected ISO 8601 duration or TTL value", toks, i)
    return _duration_value(toks, i)


def _duration_value(toks: Tokens, i: int) -> int:
    text = _word(toks, i).text
    if text[0] in "Pp":
        if _iso8601_ok(text):
            return i + 1
    else:
        seconds = _ttl(text)
        if seconds is not None:
            if seconds > _UINT32_MAX:
                raise _near("duration or TTL out of range", toks, i)
            return i + 1
    raise _near("expected ISO 8601 duration or TTL value", toks, i)


def _unitstring_ok(s: str) -> bool:
    """namedconf.c parse_unitstring: a number with an optional k/m/g unit."""
    value, end = _strtoull(s)
    if end == len(s):
        return True
    if len(s) < 2 or end != len(s) - 1:
        return False
    unit = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(s[-1].lower())
    return unit is not None and value <= (2**64 - 1) // unit


def _strtoull(s: str) -> tuple[int, int]:
    value, end = _strtoll(s, 0)
    if value < 0:
        value += 2**64
    return min(value, 2**64 - 1), end


# --- addresses ------------------------------------------------------------

_V4 = 1
_V6 = 2
_WILD = 4
_V4PREFIX = 8
_DSCP = 16
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _is_v4(s: str) -> bool:
    """glibc inet_pton(AF_INET): four decimal octets, no leading zeros."""
    return _IPV4.fullmatch(s) is not None


def _is_v6(s: str) -> bool:
    if ":" not in s or len(s) > 127:
        return False
    addr = s.split("%", 1)[0]
    try:
        ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    return True


def _v4_prefix(s: str) -> bool:
    """token_addr's CFG_ADDR_V4PREFIXOK: 1-3 octets, completed with '.0'."""
    if len(s) > 15:
        return False
    return any(_is_v4(s + ".0" * n) for n in range(1, 4))


def _addr_kind(t: Token | None, flags: int) -> str | None:
    """BIND's token_addr: 'v4', 'v6', 'prefix', 'wild' or None."""
    if not _is_str(t):
        return None
    s = t.text
    if flags & _WILD and s == "*":
        return "wild"
    if flags & (_V4 | _V4PREFIX) and _is_v4(s):
        return "v4"
    if flags & _V4PREFIX and _v4_prefix(s):
        return "prefix"
    if flags & _V6 and _is_v6(s):
        return "v6"
    return None


def _rawaddr(toks: Tokens, i: int, flags: int) -> str:
    """cfg_parse_rawaddr: one address token, or BIND's complaint."""
    kind = _addr_kind(_at(toks, i), flags)
    if kind is not None:
        return kind
    wild = ""
    if flags & _WILD:
        wild = " or '*'"
    if flags & _V4PREFIX:
        wild = " or IPv4 prefix"
    family = {_V4: "IPv4 address", _V6: "IPv6 address"}.get(
        flags & (_V4 | _V6), "IP address"
    )
    raise _near(f"expected {family}{wild}", toks, i)


def _port_loop(toks: Tokens, i: int, flags: int) -> int:
    """The `port`/`dscp` loop after an address (parse_sockaddrsub)."""
    ports = dscps = 0
    while _is_str(t := _at(toks, i)):
        word = t.text.lower()
        if word == "port":
            i = _rawport(toks, i + 1, flags)
            ports += 1
        elif flags & _DSCP and word == "dscp":
            i = _dscp(toks, i + 1)
            dscps += 1
        else:
            break
    if ports > 1:
        raise _plain("expected at most one port", toks, i)
    if dscps > 1:
        raise _plain("expected at most one dscp", toks, i)
    return i


def _rawport(toks: Tokens, i: int, flags: int) -> int:
    t = _at(toks, i)
    if flags & _WILD and _is_str(t) and t.text == "*":
        return i + 1
    value = _number(toks, i, _DECIMAL)
    if value is None:
        raise _near("expected port number or '*'", toks, i)
    if value >= 65536:
        raise _near("port number out of range", toks, i)
    return i + 1


def _dscp(toks: Tokens, i: int) -> int:
    """cfg_parse_dscp; 9.18 parses the obsolete value but no longer range-checks it."""
    if _number(toks, i, _CNUMBER) is None:
        raise _near("expected number", toks, i)
    return i + 1


def _sockaddr(flags: int) -> Matcher:
    def m(toks: Tokens, i: int, run: _Run) -> int:
        _rawaddr(toks, i, flags)
        return _port_loop(toks, i + 1, flags)

    return m


def _netaddr(flags: int) -> Matcher:
    def m(toks: Tokens, i: int, run: _Run) -> int:
        _rawaddr(toks, i, flags)
        return i + 1

    return m


def _querysource(flags: int) -> Matcher:
    """namedconf.c parse_querysource: `address`, `port`, `dscp` in any order,
    or a plain address followed by them."""

    def m(toks: Tokens, i: int, run: _Run) -> int:
        addresses = ports = dscps = 0
        while _is_str(t := _at(toks, i)):
            word = t.text.lower()
            if word == "address":
                _rawaddr(toks, i + 1, flags)
                i += 2
                addresses += 1
            elif word == "port":
                i = _rawport(toks, i + 1, _WILD)
                ports += 1
            elif word == "dscp":
                i = _dscp(toks, i + 1)
                dscps += 1
            elif addresses == ports == dscps == 0:
                _rawaddr(toks, i, flags)
                return _port_loop(toks, i + 1, flags)
            else:
                raise _near("expected 'address' or 'port'", toks, i)
        if addresses > 1 or ports > 1 or addresses + ports == 0:
            raise _plain("expected one address and/or port", toks, i)
        if dscps > 1:
            raise _plain("expected at most one dscp", toks, i)
        return i

    return m


def _prefixok(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, plen: int) -> bool:
    bits = addr.max_prefixlen
    return int(addr) & ((1 << (bits - plen)) - 1) == 0


def _netprefix(toks: Tokens, i: int) -> int:
    """cfg_parse_netprefix: an address or IPv4 prefix, then `/` and a length."""
    kind = _rawaddr(toks, i, _V4 | _V4PREFIX | _V6)
    text = _word(toks, i).text
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address
    if kind == "v6":
        addr = ipaddress.IPv6Address(text.split("%", 1)[0])
    else:
        while text.count(".") < 3:
            text += ".0"
        addr = ipaddress.IPv4Address(text)
    i += 1
    t = _at(toks, i)
    if type(t) is Word and not t.quoted and t.text == "/":
        plen = _number(toks, i + 1, _DECIMAL)
        if plen is None:
            raise _near("expected prefix length", toks, i + 1)
        if plen > addr.max_prefixlen:
            raise _noprep("invalid prefix length", toks, i + 1)
        if not _prefixok(addr, plen):
            raise _noprep(
                f"'{addr.compressed}/{plen}': address/prefix length mismatch",
                toks,
                i + 1,
            )
        return i + 2
    if kind == "prefix":
        raise _near("incomplete IPv4 address or prefix", toks, i)
    return i


# --- terminals --------------------------------------------------------------


def _boolean(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if _is_str(t):
        s = t.text
        if s in ("1", "0") or s.lower() in ("yes", "no", "true", "false"):
            return i + 1
    raise _near("boolean expected", toks, i)


def _uint32(toks: Tokens, i: int, run: _Run) -> int:
    if _number(toks, i, _CNUMBER) is None:
        raise _near("expected number", toks, i)
    return i + 1


def _astring(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if type(t) is Word and (t.quoted or t.text not in _SPECIALS):
        return i + 1
    raise _near("expected string", toks, i)


def _ustring(toks: Tokens, i: int, run: _Run) -> int:
    if _is_str(_at(toks, i)):
        return i + 1
    raise _near("expected unquoted string", toks, i)


def _qstring(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if type(t) is Word and t.quoted:
        return i + 1
    raise _near("expected quoted string", toks, i)


def _duration_m(toks: Tokens, i: int, run: _Run) -> int:
    return _duration(toks, i)


def _duration_or_unlimited(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if not _is_str(t):
        raise _near("expected ISO 8601 duration, TTL value, or unlimited", toks, i)
    if t.text == "unlimited":
        return i + 1
    return _duration_value(toks, i)


def _sizeval(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if _is_str(t) and _unitstring_ok(t.text):
        return i + 1
    raise _near("expected integer and optional unit", toks, i)


def _size(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if _is_str(t) and t.text.lower() in ("default", "unlimited"):
        return i + 1
    return _sizeval(toks, i, run)


def _sizeval_percent(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if _is_str(t):
        s = t.text
        _, end = _strtoull(s)
        if (s.endswith("%") and end == len(s) - 1) or _unitstring_ok(s):
            return i + 1
    raise _near("expected integer and optional unit or percent", toks, i)


def _percentage(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if _is_str(t):
        s = t.text
        _, end = _strtoull(s)
        if s.endswith("%") and end == len(s) - 1:
            return i + 1
    raise _near("expected percentage", toks, i)


_FIXEDPOINT = re.compile(r"([0-9]*)(\.?)([0-9]*)")


def _fixedpoint(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if _is_str(t):
        s = t.text
        m = _FIXEDPOINT.fullmatch(s)
        if m and len(m[1]) + len(m[3]) > 0 and len(m[1]) <= 5 and len(m[3]) <= 2:
            return i + 1
    raise _near("expected fixed point number", toks, i)


def _netprefix_m(toks: Tokens, i: int, run: _Run) -> int:
    return _netprefix(toks, i)


_GEOIP_TYPES = frozenset(
    (
        *("area", "areacode", "asnum", "city", "continent", "country", "country3"),
        *("countryname", "domain", "isp", "metro", "metrocode", "netspeed", "org"),
        *("postal", "postalcode", "region", "regionname", "timezone", "tz"),
    )
)


def _aml_element(toks: Tokens, i: int, run: _Run) -> int:
    """parse_addrmatchelt: key, geoip, address/prefix, name, `!x`, `{ ... }`."""
    t = _at(toks, i)
    if type(t) is Word:
        if t.quoted:
            return i + 1
        word = t.text.lower()
        if t.text == "!":
            return _aml_element(toks, i + 1, run)
        if t.text == "/":
            raise _near("expected IP match list element", toks, i)
        if word == "key":
            return _astring(toks, i + 1, run)
        if word == "geoip":
            i += 1
            if _is_str(n := _at(toks, i)) and n.text.lower() == "db":
                i = _astring(toks, i + 1, run)
            i = _enum(toks, i, _GEOIP_TYPES)
            return _astring(toks, i, run)
        if _addr_kind(t, _V4 | _V4PREFIX | _V6) is not None:
            return _netprefix(toks, i)
        return i + 1
    if type(t) is Block:
        _list_body(t, _aml_element, run)
        return i + 1
    raise _near("expected IP match list element", toks, i)


def _enum(toks: Tokens, i: int, values: frozenset[str]) -> int:
    """cfg_parse_enum: an unquoted word from a fixed set (case-insensitive)."""
    t = _at(toks, i)
    if not _is_str(t):
        raise _near("expected unquoted string", toks, i)
    if t.text.lower() not in values:
        raise _plain(f"'{t.text}' unexpected", toks, i)
    return i + 1


_LOG_LEVELS = frozenset({"critical", "error", "warning", "notice", "info", "dynamic"})


def _log_severity(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    if _is_str(t) and t.text.lower() == "debug":
        # The level is optional (BIND 8 compatibility); it defaults to 1.
        return i + 2 if _number(toks, i + 1, _DECIMAL) is not None else i + 1
    return _enum(toks, i, _LOG_LEVELS)


def _portrange(toks: Tokens, i: int, run: _Run) -> int:
    """namedconf.c parse_portrange: a port, or `range` low high."""

    def port(j: int) -> int:
        value = _number(toks, j, _CNUMBER)
        if value is None:
            raise _near("expected number", toks, j)
        if value > 0xFFFF:
            raise _near("invalid port", toks, j)
        return value

    if _number(toks, i, _CNUMBER) is not None:
        port(i)
        return i + 1
    t = _at(toks, i)
    if not (_is_str(t) and t.text.lower() == "range"):
        raise _near("expected integer or 'range'", toks, i)
    low = port(i + 1)
    if low > port(i + 2):
        raise _noprep(
            f"low port '{low}' must not be larger than high port", toks, i + 2
        )
    return i + 3


def _server_key(toks: Tokens, i: int, run: _Run) -> int:
    """parse_server_key_kludge: a key name, bare or as `{ name; }`."""
    t = _at(toks, i)
    if type(t) is not Block:
        return _astring(toks, i, run)
    if not t.statements:
        raise _ClauseError("expected string near '}'", *_end_pos(t))
    inner = _tokens(t.statements[0])
    _astring(inner, 0, run)
    if len(inner) > 1:
        raise _near("'}' expected", inner, 1)
    if len(t.statements) > 1:
        raise _near("'}' expected", _tokens(t.statements[1]), 0)
    return i + 1


def _rrtypelist(toks: Tokens, i: int, run: _Run) -> int:
    while i < len(toks):
        i = _astring(toks, i, run)
    return i


def _matchname(toks: Tokens, i: int, run: _Run) -> int:
    """parse_matchname: required, except after the `zonesub` match type."""
    if i > 0 and _is_str(prev := toks[i - 1]) and prev.text.lower() == "zonesub":
        return i
    return _astring(toks, i, run)


def _btext(toks: Tokens, i: int, run: _Run) -> int:
    if type(_at(toks, i)) is Block:
        return i + 1
    raise _near("expected bracketed text", toks, i)


def _class_opt(toks: Tokens, i: int, run: _Run) -> int:
    return i + 1 if _is_str(_at(toks, i)) else i


def _facility_opt(toks: Tokens, i: int, run: _Run) -> int:
    t = _at(toks, i)
    return i + 1 if type(t) is Word and (t.quoted or t.text not in _SPECIALS) else i


def _uint32_opt(toks: Tokens, i: int, run: _Run) -> int:
    return i + 1 if _number(toks, i, _CNUMBER) is not None else i


def _btext_opt(toks: Tokens, i: int, run: _Run) -> int:
    return i + 1 if type(_at(toks, i)) is Block else i


_TERMINALS: dict[str, Matcher] = {
    "boolean": _boolean,
    "integer": _uint32,
    "string": _astring,
    "unquoted_string": _ustring,
    "quoted_string": _qstring,
    "duration": _duration_m,
    "duration_or_unlimited": _duration_or_unlimited,
    "sizeval": _sizeval,
    "size": _size,
    "percentage": _percentage,
    "fixedpoint": _fixedpoint,
    "netprefix": _netprefix_m,
    "address_match_element": _aml_element,
    "log_severity": _log_severity,
    "portrange": _portrange,
    "server_key": _server_key,
    "rrtypelist": _rrtypelist,
    "matchname": _matchname,
    "unspecified-text": _btext,
}

# `[ <x> ]`: BIND peeks at the next token to decide whether it is there.
_OPTIONAL_TERMINALS: dict[str, Matcher] = {
    "class": _class_opt,
    "syslog_facility": _facility_opt,
    "integer": _uint32_opt,
}


# --- braced lists and maps --------------------------------------------------


def _list_body(block: Block, elem: Matcher, run: _Run) -> None:
    """parse_list: each element followed by ';'."""
    for st in block.statements:
        toks = _tokens(st)
        end = elem(toks, 0, run)
        if end < len(toks):
            raise _before("missing ';'", toks, end)


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
