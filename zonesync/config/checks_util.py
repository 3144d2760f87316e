"""Small helpers for the semantic checks: tree access and BIND's value parsers.

The checks in `checks.py` and its `checks_*` siblings read the generic
statement tree from `grammar.py`. The tree has already passed the clause
grammar, but every helper here is defensive: an odd shape yields `None` or
an empty result, never an exception.

The value parsers copy what BIND 9.18's libraries accept (checked against
named-checkconf 9.18.49): `dns_name_fromtext`, `isc_base64_decodestring`,
`isc_hex_decodestring`, ISC durations and `dns_rdatatype_fromtext`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence

from zonesync.config.grammar import Block, Statement, Word
from zonesync.errors import ConfigProblem

Node = Word | Block | Statement
_MAYBE_ADDRESS = re.compile(r"[0-9a-fA-F:.]+(?:%\S*)?\Z")


class Problems:
    """The problems found so far, in the order BIND reports them."""

    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []

    def add(self, node: Node, message: str) -> None:
        """Report `message` at the file and line of `node`."""
        self.items.append(ConfigProblem(node.file, node.line, message))

    def add_at(self, file: str, line: int, message: str) -> None:
        """Report `message` at an explicit file and line."""
        self.items.append(ConfigProblem(file, line, message))


class Opts:
    """The statements of one block (or of the top level), by keyword.

    `first` maps each keyword to its first statement, as `cfg_map_get()`
    finds it; lists of repeated statements are built only when asked for.
    """

    __slots__ = ("_all", "first", "statements")

    def __init__(self, statements: Sequence[Statement]) -> None:
        self.statements = statements
        # Reversed, so that the first statement of each keyword wins.
        self.first: dict[str, Statement] = {
            statement.keyword: statement for statement in reversed(statements)
        }
        self._all: dict[str, list[Statement]] | None = None

    def get(self, keyword: str) -> Statement | None:
        """The first statement with this keyword."""
        return self.first.get(keyword)

    def all(self, keyword: str) -> list[Statement]:
        """Every statement with this keyword, in file order."""
        if keyword not in self.first:
            return []
        if self._all is None:
            grouped: dict[str, list[Statement]] = {}
            for statement in self.statements:
                grouped.setdefault(statement.keyword, []).append(statement)
            self._all = grouped
        return self._all[keyword]

    def __contains__(self, keyword: str) -> bool:
        return keyword in self.first

    def __len__(self) -> int:
        return len(self.first)


EMPTY_OPTS = Opts(())


def lookup(keyword: str, *maps: Opts | None) -> Statement | None:
    """Find `keyword` in the first map that has it (zone, view, options)."""
    for opts in maps:
        if opts is not None:
            found = opts.get(keyword)
            if found is not None:
                return found
    return None


def value(statement: Statement | None, index: int = 1) -> Word | Block | None:
    """The item at `index` of a statement (1 is the first value)."""
    if statement is None:
        return None
    items = statement.items
    return items[index] if index < len(items) else None


def word(statement: Statement | None, index: int = 1) -> Word | None:
    """The item at `index` if it is a word."""
    item = value(statement, index)
    return item if isinstance(item, Word) else None


def text(statement: Statement | None, index: int = 1) -> str | None:
    """The text of the word at `index`."""
    found = word(statement, index)
    return found.text if found is not None else None


def block(statement: Statement | None) -> Block | None:
    """The first block of a statement."""
    if statement is None:
        return None
    for item in statement.items:
        if isinstance(item, Block):
            return item
    return None


def block_opts(statement: Statement | None) -> Opts:
    """The statements of a statement's first block, by keyword."""
    found = block(statement)
    return Opts(found.statements) if found is not None else EMPTY_OPTS


def where(statement: Statement, index: int = 1) -> Node:
    """The node BIND logs for an option's value: the value, else the statement."""
    item = value(statement, index)
    return item if item is not None else statement


def words_after(statement: Statement, start: int) -> list[Word]:
    """The words of a statement from `start` on, skipping blocks."""
    return [item for item in statement.items[start:] if isinstance(item, Word)]


def keyword_value(statement: Statement, keyword: str) -> Word | None:
    """The word after `keyword` in a statement (`port 53`, `tls name`)."""
    items = statement.items
    for i in range(1, len(items) - 1):
        item = items[i]
        if isinstance(item, Word) and not item.quoted and item.text.lower() == keyword:
            following = items[i + 1]
            return following if isinstance(following, Word) else None
    return None


def end_line(node: Block | Statement) -> int:
    """An estimate of the line of a block's closing brace.

    The tree does not record where a block ends. BIND logs plugin problems
    at that line, so estimate it: the line after the last word inside, or
    the opening line when the block is empty or closes on its last line.
    """
    last = node.line
    single = True
    stack: list[Word | Block | Statement] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Word):
            last = max(last, current.line)
        elif isinstance(current, Block):
            stack.extend(current.statements)
        else:
            stack.extend(current.items)
    if last != node.line:
        single = False
    return last if single else last + 1


def word_set(spelled: str) -> frozenset[str]:
    """A set of words written one after another in a string."""
    return frozenset(spelled.split())


# ---------------------------------------------------------------------------
# Booleans and integers


_TRUE = frozenset({"yes", "true", "1"})
_FALSE = frozenset({"no", "false", "0"})


def as_bool(statement: Statement | None) -> bool | None:
    """The boolean value of an option, or None if it is not a boolean."""
    found = text(statement)
    if found is None:
        return None
    lowered = found.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def as_int(item: Word | Block | None) -> int | None:
    """A plain unsigned integer, or None."""
    if isinstance(item, Word) and item.text.isdigit() and item.text.isascii():
        return int(item.text)
    return None


_SIZE_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def as_size(item: Word | Block | None) -> int | None:
    """An integer with an optional k/m/g unit (`cfg_type_sizeval`)."""
    if not isinstance(item, Word):
        return None
    found = re.fullmatch(r"(\d+)([kKmMgG]?)", item.text)
    if found is None:
        return None
    number, unit = found.groups()
    return int(number) * _SIZE_UNITS.get(unit.lower(), 1)


# ---------------------------------------------------------------------------
# Durations: ISC TTL style (`1w2d`, `3600`) and ISO 8601 (`P1DT2H`)

_TTL_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_ISO = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?",
    re.IGNORECASE,
)
# BIND counts a month as 31 days and a year as 365 (isccfg duration.c).
_ISO_SCALE = (31536000, 2678400, 604800, 86400, 3600, 60, 1)


def parse_duration(raw: str) -> int | None:
    """Seconds in an ISC duration or TTL value, or None if it is not one."""
    if not raw:
        return None
    if raw[0] in "pP":
        found = _ISO.fullmatch(raw)
        if found is None:
            return None
        return sum(
            int(part or 0) * scale
            for part, scale in zip(found.groups(), _ISO_SCALE, strict=True)
        )
    if raw.isdigit() and raw.isascii():
        return int(raw)
    total = 0
    for number, unit in re.findall(r"(\d+)([wdhmsWDHMS]?)", raw):
        total += int(number) * _TTL_UNITS.get(unit.lower(), 1)
    if not re.fullmatch(r"(?:\d+[wdhmsWDHMS])+\d*", raw):
        return None
    return total


def as_duration(item: Word | Block | None) -> int | None:
    """The seconds of a duration value, or None."""
    if not isinstance(item, Word):
        return None
    return parse_duration(item.text)


# ---------------------------------------------------------------------------
# DNS names, as dns_name_fromtext() reads them (origin: the root)


def parse_name(raw: str) -> tuple[bytes, ...] | None:
    """The labels of a domain name in lower case, or None if BIND rejects it.

    Copies `dns_name_fromtext()`: `\\DDD` and `\\X` escapes, labels of at
    most 63 octets, at most 255 octets in wire form, no empty labels except
    the root. A relative name is made absolute. The root is `()`.
    """
    labels, _ = _read_name(raw)
    return labels


def name_problem(raw: str) -> str | None:
    """Why `dns_name_fromtext()` rejects `raw` (`isc_result_totext()`), or None."""
    _, reason = _read_name(raw)
    return reason


def _read_name(raw: str) -> tuple[tuple[bytes, ...] | None, str | None]:
    if raw == ".":
        return (), None
    if not raw:
        return None, "unexpected end of input"
    if "\\" not in raw:
        # The common case, without escapes: split on dots.
        body = (raw[:-1] if raw[-1] == "." else raw).encode("utf-8")
        parts = body.lower().split(b".")
        if b"" in parts:
            return None, "empty label"
        if max(map(len, parts)) > 63:
            return None, "label too long"
        # In wire form each dot becomes a length octet, plus the first
        # length and the root: two octets more than the text.
        if len(body) + 2 > 255:
            return None, "name too long"
        return tuple(parts), None
    labels: list[bytes] = []
    label = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == ".":
            if not label:
                return None, "empty label"
            labels.append(bytes(label).lower())
            label = bytearray()
            i += 1
            continue
        if ch == "\\":
            if i + 1 >= n:
                return None, "unexpected end of input"
            nxt = raw[i + 1]
            if nxt.isdigit():
                digits = raw[i + 1 : i + 4]
                if len(digits) < 3 or not digits.isdigit() or not digits.isascii():
                    return None, "bad escape"
                code = int(digits)
                if code > 255:
                    return None, "bad escape"
                label.append(code)
                i += 4
            else:
                label.extend(nxt.encode("utf-8"))
                i += 2
        else:
            label.extend(ch.encode("utf-8"))
            i += 1
        if len(label) > 63:
            return None, "label too long"
    if label:
        labels.append(bytes(label).lower())
    if sum(len(part) + 1 for part in labels) + 1 > 255:
        return None, "name too long"
    return tuple(labels), None


def is_subdomain(name: tuple[bytes, ...], parent: tuple[bytes, ...]) -> bool:
    """Whether `name` is `parent` or below it."""
    return len(name) >= len(parent) and (not parent or name[-len(parent) :] == parent)


_SPECIAL = frozenset(b'"().;\\@$')


def format_name(raw: str) -> str:
    """A name as `dns_name_format()` prints it: escapes canonical, no final dot."""
    labels = _parse_labels_keep_case(raw)
    if labels is None:
        return raw
    if not labels:
        return "."
    out = []
    for label in labels:
        part = []
        for octet in label:
            if octet in _SPECIAL:
                part.append("\\" + chr(octet))
            elif 0x21 <= octet <= 0x7E:
                part.append(chr(octet))
            else:
                part.append(f"\\{octet:03d}")
        out.append("".join(part))
    return ".".join(out)


def _parse_labels_keep_case(raw: str) -> list[bytes] | None:
    """Like `parse_name` but keeping case (for printing)."""
    if parse_name(raw) is None:
        return None
    if raw == ".":
        return []
    labels: list[bytes] = []
    label = bytearray()
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == ".":
            labels.append(bytes(label))
            label = bytearray()
            i += 1
        elif ch == "\\" and raw[i + 1].isdigit():
            label.append(int(raw[i + 1 : i + 4]))
            i += 4
        elif ch == "\\":
            label.extend(raw[i + 1].encode("utf-8"))
            i += 2
        else:
            label.extend(ch.encode("utf-8"))
            i += 1
    if label:
        labels.append(bytes(label))
    return labels


# ---------------------------------------------------------------------------
# RR types, as dns_rdatatype_fromtext() knows them in BIND 9.18.49

RDATA_TYPES = word_set(
    """
    A NS MD MF CNAME SOA MB MG MR NULL WKS PTR HINFO MINFO MX TXT RP AFSDB X25
    ISDN RT NSAP NSAP-PTR SIG KEY PX GPOS AAAA LOC NXT EID NIMLOC SRV ATMA NAPTR
    KX CERT A6 DNAME SINK OPT APL DS SSHFP IPSECKEY RRSIG NSEC DNSKEY DHCID
    NSEC3 NSEC3PARAM TLSA SMIMEA HIP NINFO RKEY TALINK CDS CDNSKEY OPENPGPKEY
    CSYNC ZONEMD SVCB HTTPS DSYNC HHIT BRID SPF UINFO UID GID UNSPEC NID L32 L64
    LP EUI48 EUI64 TKEY TSIG IXFR AXFR MAILB MAILA ANY URI CAA AVC DOA AMTRELAY
    RESINFO WALLET TA DLV KEYDATA
    """
)


def is_rdata_type(raw: str) -> bool:
    """Whether BIND reads `raw` as an RR type (a mnemonic or TYPEnnn)."""
    upper = raw.upper()
    if upper in RDATA_TYPES:
        return True
    found = re.fullmatch(r"TYPE(\d{1,5})", upper)
    return found is not None and int(found.group(1)) <= 65535


# ---------------------------------------------------------------------------
# Encodings

_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_B64_VALUE = {
    c: i
    for i, c in enumerate(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    )
}


def b64_problem(raw: str) -> str | None:
    """Why `isc_base64_decodestring()` would reject `raw`, or None."""
    data = "".join(raw.split()).encode("ascii", "replace")
    if len(data) % 4:
        return "bad base64 encoding"
    for start in range(0, len(data), 4):
        quad = data[start : start + 4]
        pad = len(quad) - len(quad.rstrip(b"="))
        body = quad[: 4 - pad]
        if pad > 2 or any(c not in _B64 for c in body):
            return "bad base64 encoding"
        if pad and start + 4 != len(data):
            return "bad base64 encoding"
        # The unused low bits of the last character must be zero.
        if pad == 1 and _B64_VALUE[body[-1]] & 0x3:
            return "bad base64 encoding"
        if pad == 2 and _B64_VALUE[body[-1]] & 0xF:
            return "bad base64 encoding"
    return None


def hex_decode(raw: str, limit: int) -> tuple[str, int]:
    """Decode hex like `isc_hex_decodestring()` into a `limit`-octet buffer.

    Returns ("ok" | "badhex" | "nospace", octets written).
    """
    count = 0
    pending = False
    for ch in raw:
        if ch.isspace():
            continue
        if ch not in "0123456789abcdefABCDEF":
            return "badhex", count
        if pending:
            if count >= limit:
                return "nospace", count
            count += 1
        pending = not pending
    if pending:
        return "badhex", count
    return "ok", count


# ---------------------------------------------------------------------------
# Addresses


def parse_prefix(
    raw: str,
) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None:
    """An address with an optional `/len`, as `cfg_type_netprefix` reads it."""
    address, _, length = raw.partition("/")
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if length:
        if not length.isdigit():
            return None
        bits = int(length)
    else:
        bits = parsed.max_prefixlen
    return parsed, bits


@functools.lru_cache(maxsize=4096)
def parse_address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A bare IPv4 or IPv6 address (an IPv6 scope suffix is ignored).

    Cached, and names (acls, lists) skip the exception: the loader asks
    this for every primaries entry of every zone.
    """
    if not _MAYBE_ADDRESS.match(raw):
        return None
    try:
        return ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return None


def format_v6(address: ipaddress.IPv6Address) -> str:
    """An IPv6 address as `isc_netaddr_format()` (inet_ntop) prints it."""
    return str(address)


def statement_words(statements: Sequence[Statement]) -> Iterable[Word]:
    """Every word of a list of statements, depth first."""
    for statement in statements:
        for item in statement.items:
            if isinstance(item, Word):
                yield item
            else:
                yield from statement_words(item.statements)
