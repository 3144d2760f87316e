"""The terminals of BIND 9.18's named.conf grammar: one matcher per value type.

Each matcher reads tokens of one statement from a position and returns the
position after its value, or raises `_ClauseError` worded as named-checkconf
9.18 words it (`lib/isccfg/parser.c` and `namedconf.c`: numbers, durations,
sizes, addresses and prefixes, ports, strings, address match elements, ...).
`clauses.py` compiles the clause table into matchers built from these. The
underscore names are internal to the config package; `clauses.py` is their
only other user.

It is over STYLE's 600 lines because it is one catalogue: a matcher per
value type of `parser.c`, each next to the wording it copies. Split by
type, the error helpers every matcher shares would have to travel along.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeGuard

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


def _list_body(block: Block, elem: Matcher, run: _Run) -> None:
    """parse_list: each element followed by ';'."""
    for st in block.statements:
        toks = _tokens(st)
        end = elem(toks, 0, run)
        if end < len(toks):
            raise _before("missing ';'", toks, end)


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
