"""Zone transfer replies from raw wire to presentation text, record by record.

The one measured exception to "no DNS wire code of our own" (STYLE §11):
building a dnspython Message and an Rdata object per record, then calling
`to_text()`, costs far more than BIND's whole transfer (issue 5). Here one
reply message is read straight from its wire form (RFC 1035 §4.1) into
`WireRecord`s whose text is exactly what dnspython prints: the owner as
`Name.to_text()`, the rdata as `Rdata.to_text(origin=None, relativize=False)`.

Only the common types of class IN are hand-written (A, AAAA, NS, CNAME, PTR,
DNAME, MX, TXT, SPF, SRV, SOA, CAA, DS, SSHFP, TLSA, NAPTR, HINFO, LOC, SVCB,
HTTPS, URI), and only
their ordinary forms: anything else, including every rdata a hand-written
reader is unsure of, goes to `dns.rdata.from_wire_parser()` and `to_text()`,
so dnspython decides (unknown types come out in RFC 3597 `\\# n hex` form, as
dnspython prints them). tests/unit/transfer/test_fastwire.py compares the two
for every type dnspython knows and on random records.

Malformed wire raises `TransferBroken` (reason MALFORMED), never IndexError
or struct.error. What dnspython accepts and rejects is mirrored: compression
pointers must point strictly backwards and before the part of the name
already read, at most 16 of them per name (`dns.name.from_wire_parser`).
TSIG is verified over the raw wire by `validate_tsig`, with `dns.tsig`.

It is over STYLE's 600 lines on purpose: every hand-written wire reader is
in this one module, to be read and tested against dnspython in one place,
and the per-record loop (`_lines`) inlines its quick paths because a
function call costs about a tenth of a record (issue 5).
"""

from __future__ import annotations

import base64
import itertools
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import dns.exception
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TSIG
import dns.tsig
import dns.wire

from zonesync.errors import FailureReason, TransferBroken
from zonesync.names import NAME_PLAIN
from zonesync.store.records import class_text, is_subdomain_wire, type_text

TsigContext = dns.tsig.HMACTSig | dns.tsig.GSSTSig | None

_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_QUESTION = struct.Struct("!HH")
_SRV = struct.Struct("!HHH")
_MAX_POINTERS = 16  # dns.name.MAX_COMPRESSION_POINTER_CHAIN
_MAX_TTL = 0x7FFFFFFF  # dnspython reads a larger TTL as 0 (RFC 2181 §8)
_IN = 1
_OPT = 41
_TSIG = 250
_SOA = 6

# dnspython's escaping (dns.name._escapify, dns.rdata._escapify): in names,
# the specials "().;\@$ get a backslash and bytes outside 0x21-0x7e become
# \DDD; in quoted strings only " and \ are special and space is plain.
_NAME_SPECIAL = b'"().;\\@$'
_NAME_PLAIN = NAME_PLAIN
_NAME_ESC = [
    chr(c)
    if c in _NAME_PLAIN
    else "\\" + chr(c)
    if c in _NAME_SPECIAL
    else f"\\{c:03d}"
    for c in range(256)
]
_QUOTED_PLAIN = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')
_QUOTED_ESC = [
    chr(c) if c in _QUOTED_PLAIN else "\\" + chr(c) if c in b'"\\' else f"\\{c:03d}"
    for c in range(256)
]
# Whether all of `data` is plain: `data.translate(table) == data`, as a
# table turns every other octet into "x". (translate(None, plain) builds
# its table at each call: slower even on short labels.)
_NAME_CHECK = bytes(c if c in _NAME_PLAIN else 0x78 for c in range(256))
_QUOTED_CHECK = bytes(c if c in _QUOTED_PLAIN else 0x78 for c in range(256))


class WireRecord(NamedTuple):
    """One answer RR in presentation form (a NamedTuple: made 10^6 times a zone)."""

    owner: str  # absolute, as dns.name.Name.to_text()
    owner_wire: bytes  # uncompressed wire form, lower-cased (RFC 4343)
    rdtype: int
    rdclass: int
    ttl: int
    text: str  # as Rdata.to_text(origin=None, relativize=False)
    serial: int | None  # an SOA's serial, else None


@dataclass(frozen=True, slots=True)
class FastMessage:
    """One reply message: header, question, answer records and its TSIG."""

    wire: bytes
    id: int
    flags: int
    rcode: int  # with the EDNS extended bits, as dns.rcode.from_flags()
    question: tuple[tuple[bytes, int, int], ...]  # (lower-cased wire, type, class)
    answers: list[WireRecord]
    tsig_start: int | None = None  # offset of the TSIG RR, for dns.tsig.validate
    tsig_owner: dns.name.Name | None = None
    tsig: dns.rdtypes.ANY.TSIG.TSIG | None = None
    # In line mode: the zone file lines of the first `line_count` answers,
    # which `answers` then leaves out (it holds the ones after them).
    lines: str = ""
    line_count: int = 0

    @property
    def had_tsig(self) -> bool:
        """Whether the message carried a TSIG RR."""
        return self.tsig is not None


@dataclass(frozen=True, slots=True)
class LineMode:
    """Ask `parse_answers` for zone file lines: the bulk of a full zone.

    The leading answers that are plain zone data (of the zone's class, owned
    below its apex, and not SOA) come as the lines `render_text` would write
    for them, with no WireRecord made; from the first other one on, the
    answers come as WireRecords, for the transfer's and the store's checks.
    """

    zone_wire: bytes  # the zone's name, lower-cased wire (to_digestable)
    rdclass: int


def _broken(message: str) -> TransferBroken:
    return TransferBroken(f"malformed response: {message}", "", FailureReason.MALFORMED)


# A name read at some offset: (text, lower-cased wire, pointers followed,
# offset just past it where it was read). Cached per message by offset, so a
# compression pointer to a name already read costs one dict lookup.
_Name = tuple[str, bytes, int, int]
_ROOT_TEXT = "."


def _name(wire: bytes, start: int, names: dict[int, _Name], depth: int = 0) -> _Name:
    """The (possibly compressed) name at `start`, RFC 1035 §4.1.4.

    As dns.name.from_wire_parser: a pointer must point before the start of
    the part it ends, and what it points to must end there too, so names
    cannot loop; labels of 64-191 octets are not allowed (RFC 6891 §5).
    """
    cached = names.get(start)
    if cached is not None:
        return cached
    # Quick paths for what compression makes of most names: a bare pointer,
    # or one label and a pointer, to a name read before (so the pointer is
    # backwards and does not overlap) that may be pointed at once more.
    count = wire[start]
    if count >= 0xC0 or 0 < count < 64:
        pointer = start if count >= 0xC0 else start + 1 + count
        high = wire[pointer]
        if high >= 0xC0:
            suffix = names.get((high & 0x3F) << 8 | wire[pointer + 1])
            if (
                suffix is not None
                and suffix[3] <= start
                and suffix[2] < _MAX_POINTERS
                and len(suffix[1]) + pointer - start <= 255
            ):
                if pointer == start:
                    name = (suffix[0], suffix[1], suffix[2] + 1, start + 2)
                else:
                    label = wire[start + 1 : pointer]
                    if label.isalnum() or label.translate(_NAME_CHECK) == label:
                        text = label.decode("ascii")
                    else:
                        text = "".join([_NAME_ESC[c] for c in label])
                    tail = suffix[0] if suffix[0] != _ROOT_TEXT else ""
                    lower = wire[start:pointer].lower() + suffix[1]
                    name = (f"{text}.{tail}", lower, suffix[2] + 1, pointer + 2)
                names[start] = name
                return name
    pos = start
    labels = []
    while 0 < (count := wire[pos]) < 64:
        labels.append(wire[pos + 1 : pos + 1 + count])
        pos += 1 + count
    text = ""
    lower = wire[start:pos].lower()  # the lengths are < 0x41: not changed
    if labels:
        # All labels at once when plain: then only the joining dots remain.
        joined = b".".join(labels)
        if len(joined.translate(None, _NAME_PLAIN)) == len(labels) - 1:
            text = joined.decode("ascii") + "."
        else:
            text = "".join(["".join([_NAME_ESC[c] for c in x]) + "." for x in labels])
    if count == 0:
        pos += 1
        hops = 0
        lower += b"\x00"
    elif count >= 0xC0:
        target = (count & 0x3F) << 8 | wire[pos + 1]
        if target >= start:
            raise _broken(f"compression pointer at offset {pos} is not backwards")
        if depth >= _MAX_POINTERS:
            raise _broken(f"too many compression pointers at offset {start}")
        suffix = names.get(target) or _name(wire, target, names, depth + 1)
        if suffix[3] > start:
            raise _broken(f"compression pointer at offset {pos} overlaps its name")
        hops = suffix[2] + 1
        if hops > _MAX_POINTERS:
            raise _broken(f"too many compression pointers at offset {start}")
        pos += 2
        if suffix[0] != _ROOT_TEXT:
            text += suffix[0]
        lower += suffix[1]
    else:
        raise _broken(f"bad label type {count:#x} at offset {pos}")
    if len(lower) > 255:
        raise _broken(f"name longer than 255 octets at offset {start}")
    name = (text or _ROOT_TEXT, lower, hops, pos)
    names[start] = name
    return name


def _quoted(data: bytes) -> str:
    """A character-string as dns.rdata._escapify() writes it, quotes excluded."""
    if data.translate(_QUOTED_CHECK) == data:
        return data.decode("ascii")
    return "".join([_QUOTED_ESC[c] for c in data])


def _hex(data: bytes) -> str:
    """Hex in chunks of 128 digits, as dns.rdata._styled_hexify() by default."""
    text = data.hex()
    if len(text) <= 128:
        return text
    return " ".join([text[i : i + 128] for i in range(0, len(text), 128)])


def _strings(wire: bytes, pos: int, end: int, count: int) -> tuple[list[str], int]:
    """`count` <character-string>s (RFC 1035 §3.3), quoted; -1: all up to `end`."""
    out = []
    while pos < end and count != 0:
        size = wire[pos]
        out.append(f'"{_quoted(wire[pos + 1 : pos + 1 + size])}"')
        pos += 1 + size
        count -= 1
    return out, pos


# A hand-written rdata reader: the text of the rdata in wire[pos:end], or
# None to let dnspython read it (a form it may reject, or print otherwise).
# Each ends exactly at `end` or raises (wrong RDLENGTH).
_Reader = Callable[[bytes, int, int, dict[int, _Name]], str | None]


def _rdlength(pos: int, end: int) -> TransferBroken:
    return _broken(f"RDLENGTH does not match the rdata ending at offset {end} ({pos})")


def _last_name(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str:
    """The name at `pos` that ends the rdata (NS, CNAME, PTR, MX, SRV, ...)."""
    name = _name(wire, pos, names)
    if name[3] != end:
        raise _rdlength(name[3], end)
    return name[0]


def _a(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    return socket.inet_ntoa(wire[pos:end]) if end - pos == 4 else None


def _aaaa(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    # glibc's inet_ntop is the ISC algorithm that dns.ipv6.inet_ntoa copies;
    # the tests compare them, IPv4-compatible and -mapped forms included.
    if end - pos != 16:
        return None
    return socket.inet_ntop(socket.AF_INET6, wire[pos:end])


def _dname(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    if _name(wire, pos, names)[2]:  # compressed: dnspython refuses it
        return None
    return _last_name(wire, pos, end, names)


def _mx(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    return f"{wire[pos] << 8 | wire[pos + 1]} {_last_name(wire, pos + 2, end, names)}"


def _srv(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    priority, weight, port = _SRV.unpack_from(wire, pos)
    return f"{priority} {weight} {port} {_last_name(wire, pos + 6, end, names)}"


def _soa(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    mname = _name(wire, pos, names)
    rname = _name(wire, mname[3], names)
    if rname[3] + 20 != end:
        raise _rdlength(rname[3] + 20, end)
    serial, *timers = struct.unpack_from("!IIIII", wire, rname[3])
    if max(timers) > _MAX_TTL:
        return None  # dnspython refuses such timers
    return f"{mname[0]} {rname[0]} {serial} {' '.join(map(str, timers))}"


def _txt(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    if pos == end:
        return None  # no strings: dnspython refuses it
    parts = []
    while pos < end:
        size = wire[pos]
        parts.append(wire[pos + 1 : pos + 1 + size])
        pos += 1 + size
    if pos != end:
        raise _rdlength(pos, end)
    # All strings at once when plain: then only the quotes between remain.
    joined = b'" "'.join(parts)
    if len(joined.translate(None, _QUOTED_PLAIN)) == 2 * len(parts) - 2:
        return f'"{joined.decode("ascii")}"'
    return " ".join([f'"{_quoted(part)}"' for part in parts])


def _hinfo(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    strings, pos = _strings(wire, pos, end, 2)
    if pos != end or len(strings) != 2:
        raise _rdlength(pos, end)
    return " ".join(strings)


def _naptr(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    order, preference = struct.unpack_from("!HH", wire, pos)
    strings, pos = _strings(wire, pos + 4, end, 3)
    if len(strings) != 3:
        raise _rdlength(pos, end)
    return (
        f"{order} {preference} {' '.join(strings)} {_last_name(wire, pos, end, names)}"
    )


def _caa(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    if end - pos < 2:
        return None
    size = wire[pos + 1]
    tag = wire[pos + 2 : pos + 2 + size]
    if pos + 2 + size > end or not tag.isalnum():
        return None  # dnspython refuses it
    return f'{wire[pos]} {tag.decode()} "{_quoted(wire[pos + 2 + size : end])}"'


def _uri(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    if end - pos < 5:
        return None  # no target: dnspython refuses it
    priority, weight = struct.unpack_from("!HH", wire, pos)
    return f'{priority} {weight} "{_quoted(wire[pos + 4 : end])}"'


# LOC (RFC 1876) as dns.rdtypes.ANY.LOC reads and prints it: the angles go
# through the same float arithmetic, so they round as dnspython's do.
_LOC = struct.Struct("!BBBBIII")
_LOC_EQUATOR = 0x80000000
_LOC_DEFAULTS = (100.0, 1000000.0, 1000.0)  # size, hprec, vprec in cm


def _loc_size(octet: int) -> float | None:
    """A size or precision (base * 10^exponent cm), None where dnspython refuses."""
    base, exponent = octet >> 4, octet & 0x0F
    if base > 9 or exponent > 9 or (base == 0 and exponent != 0):
        return None
    return float(base * 10**exponent)


def _loc_angle(value: int, limit: int, hemispheres: str) -> str | None:
    """`d m s.ms H` of a latitude (limit 90) or longitude (limit 180)."""
    if abs(value - _LOC_EQUATOR) > limit * 3600000:
        return None
    if value > _LOC_EQUATOR:
        degrees = (value - _LOC_EQUATOR) / 3600000
    else:
        degrees = -1 * (_LOC_EQUATOR - value) / 3600000
    hemisphere = hemispheres[1]
    if degrees < 0:
        hemisphere = hemispheres[0]
        degrees *= -1
    left = round(degrees * 3600000)
    whole = int(left // 3600000)
    left -= whole * 3600000
    minutes = int(left // 60000)
    left -= minutes * 60000
    seconds = int(left // 1000)
    left -= int(seconds * 1000)
    return f"{whole} {minutes} {seconds}.{int(left):03d} {hemisphere}"


def _loc(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    if end - pos != _LOC.size:
        return None
    version, size, hprec, vprec, lat, lon, alt = _LOC.unpack_from(wire, pos)
    latitude = _loc_angle(lat, 90, "SN")
    longitude = _loc_angle(lon, 180, "WE")
    sizes = (_loc_size(size), _loc_size(hprec), _loc_size(vprec))
    if version != 0 or latitude is None or longitude is None or None in sizes:
        return None
    text = f"{latitude} {longitude} {(float(alt) - 10000000.0) / 100.0:0.2f}m"
    if sizes != _LOC_DEFAULTS:
        text += " " + " ".join([f"{v / 100.0:0.2f}m" for v in sizes if v is not None])
    return text


# SVCB and HTTPS (RFC 9460) as dns.rdtypes.svcbbase reads and prints them.
_SVC_KEYS = {
    0: "mandatory",
    1: "alpn",
    2: "no-default-alpn",
    3: "port",
    4: "ipv4hint",
    5: "ech",
    6: "ipv6hint",
    7: "dohpath",
    8: "ohttp",
    10: "docpath",
}
_SVC_NEVER_EMPTY = {0, 1, 3, 4, 5, 6}
_SVC_ALWAYS_EMPTY = {2, 8}
_SVC_LISTS = {1, 10}  # alpn, docpath: <character-string>s, each not empty


def _svc_key(key: int) -> str:
    return _SVC_KEYS.get(key) or f"key{key}"


def _svc_value(key: int, value: bytes) -> str | None:
    """A SvcParamValue as dnspython prints it (quoted), "" for none; None: unsure."""
    if not value:
        return None if key in _SVC_NEVER_EMPTY else ""
    if key in _SVC_ALWAYS_EMPTY:
        return None
    if key in _SVC_LISTS:
        items = []
        pos = 0
        while pos < len(value):
            size = value[pos]
            item = value[pos + 1 : pos + 1 + size]
            if size == 0 or len(item) != size:
                return None
            items.append(item.replace(b"\\", b"\\\\").replace(b",", b"\\,"))
            pos += 1 + size
        return f'"{_quoted(b",".join(items))}"'
    if key == 0:
        if len(value) % 2:
            return None
        keys = struct.unpack(f"!{len(value) // 2}H", value)
        if keys[0] == 0 or any(a >= b for a, b in itertools.pairwise(keys)):
            return None
        return '"' + ",".join([_svc_key(k) for k in keys]) + '"'
    if key == 3:
        return f'"{int.from_bytes(value, "big")}"' if len(value) == 2 else None
    if key == 4 or key == 6:
        size, family = (4, socket.AF_INET) if key == 4 else (16, socket.AF_INET6)
        if len(value) % size:
            return None
        hints = [
            socket.inet_ntop(family, value[i : i + size])
            for i in range(0, len(value), size)
        ]
        return '"' + ",".join(hints) + '"'
    if key == 5:
        if len(value) < 6 or int.from_bytes(value[:2], "big") != len(value) - 2:
            return None
        return f'"{base64.b64encode(value).decode("ascii")}"'
    return f'"{_quoted(value)}"'


def _svcb(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
    if end - pos < 3:
        return None
    priority = wire[pos] << 8 | wire[pos + 1]
    target, _, _, pos = _name(wire, pos + 2, names)
    if pos > end or (priority == 0 and pos != end):
        return None
    params = []
    keys = set()
    mandatory: tuple[int, ...] = ()
    prior = -1
    while pos < end:
        if pos + 4 > end:
            return None
        key, size = struct.unpack_from("!HH", wire, pos)
        value = wire[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if key <= prior or pos > end:
            return None
        prior = key
        text = _svc_value(key, value)
        if text is None:
            return None
        if key == 0:
            mandatory = struct.unpack(f"!{size // 2}H", value)
        keys.add(key)
        params.append(f" {_svc_key(key)}={text}" if text else f" {_svc_key(key)}")
    if not keys.issuperset(mandatory) or (2 in keys and 1 not in keys):
        return None  # dnspython refuses it
    return f"{priority} {target}{''.join(params)}"


def _hashed(head: str, lengths: dict[int, int]) -> _Reader:
    """DS, SSHFP, TLSA: numbers, then a digest whose length the last one fixes.

    `lengths` are those dnspython insists on (dsbase.py, SSHFP.py,
    tlsabase.py); -1 marks a value it refuses.
    """
    fields = struct.Struct("!" + head)

    def read(wire: bytes, pos: int, end: int, names: dict[int, _Name]) -> str | None:
        size = end - pos - fields.size
        if size < 0:
            return None
        values = fields.unpack_from(wire, pos)
        if lengths.get(values[-1], size) != size:
            return None
        return f"{' '.join(map(str, values))} {_hex(wire[end - size : end])}"

    return read


_READERS: dict[int, _Reader] = {
    1: _a,
    2: _last_name,  # NS
    5: _last_name,  # CNAME
    6: _soa,
    12: _last_name,  # PTR
    13: _hinfo,
    15: _mx,
    16: _txt,
    28: _aaaa,
    29: _loc,
    33: _srv,
    35: _naptr,
    39: _dname,
    43: _hashed("HBB", {0: -1, 1: 20, 2: 32, 3: 32, 4: 48}),  # DS
    44: _hashed("BB", {1: 20, 2: 32}),  # SSHFP
    52: _hashed("BBB", {1: 32, 2: 64}),  # TLSA
    64: _svcb,
    65: _svcb,  # HTTPS
    99: _txt,  # SPF
    256: _uri,
    257: _caa,
}


def _rdata(
    wire: bytes, pos: int, rdlen: int, rdclass: int, rdtype: int
) -> dns.rdata.Rdata:
    """dnspython's reading of an rdata, as dns.message reads it."""
    parser = dns.wire.Parser(wire, pos)
    try:
        with parser.restrict_to(rdlen):
            return dns.rdata.from_wire_parser(
                dns.rdataclass.RdataClass.make(rdclass),
                dns.rdatatype.RdataType.make(rdtype),
                parser,
                None,
            )
    except dns.exception.DNSException as err:
        what = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))
        raise _broken(f"bad {what} rdata at offset {pos}: {err}") from err


def _records(
    wire: bytes, pos: int, count: int, names: dict[int, _Name], out: list[WireRecord]
) -> int:
    """Read `count` RRs of the answer or authority section into `out`."""
    readers = _READERS
    size = len(wire)
    for _ in range(count):
        owner, owner_wire, _, pos = _name(wire, pos, names)
        rdtype, rdclass, ttl, rdlen = _RR.unpack_from(wire, pos)
        pos += 10
        end = pos + rdlen
        if end > size:
            raise IndexError
        if rdtype in (_OPT, _TSIG):
            raise _broken(
                f"{owner} {rdtype}: OPT or TSIG outside the additional section"
            )
        reader = readers.get(rdtype) if rdclass == _IN else None
        text = reader(wire, pos, end, names) if reader is not None else None
        serial = None
        if ttl > _MAX_TTL:
            ttl = 0
        if text is None:
            rdata = _rdata(wire, pos, rdlen, rdclass, rdtype)
            text = rdata.to_text(origin=None, relativize=False)
            if isinstance(rdata, dns.rdtypes.ANY.SOA.SOA):
                serial = rdata.serial
        elif rdtype == _SOA:
            serial = int.from_bytes(wire[end - 20 : end - 16], "big")
        out.append(WireRecord(owner, owner_wire, rdtype, rdclass, ttl, text, serial))
        pos = end
    return pos


# "IN A" for each class and type met, for the zone file lines.
_KINDS: dict[tuple[int, int], str] = {}


def _kind(rdclass: int, rdtype: int) -> str:
    kind = _KINDS.get((rdclass, rdtype))
    if kind is None:
        kind = _KINDS[rdclass, rdtype] = f"{class_text(rdclass)} {type_text(rdtype)}"
    return kind


# How `_lines` reads an rdata: inline (A, AAAA, a lone name), by its
# hand-written reader, or by dnspython.
_BY_DNSPYTHON, _BY_READER, _INLINE_A, _INLINE_AAAA, _INLINE_NAME = range(5)
_NAME_ONLY = (2, 5, 12)  # NS, CNAME, PTR (DNAME has its own reader)

# The 10 octets after an owner (type, class, TTL, RDLENGTH; RFC 1035 §4.1.3)
# to what `_lines` makes of them: the middle of the line (" 3600 IN A "),
# the RDLENGTH, how to read the rdata, and the type. One table per class of
# zone, of plain zone data only. A zone has few of these, but the table is
# cleared when full: TTLs and lengths are the sender's to choose.
_Middle = tuple[str, int, int, int]
_MIDDLES: dict[int, dict[bytes, _Middle]] = {}
_MIDDLES_MAX = 4096


def _middle(head: bytes, rdclass: int, middles: dict[bytes, _Middle]) -> _Middle | None:
    """The `_MIDDLES` entry of `head`, or None if it is not plain zone data.

    Raises struct.error if `head` is short: the message is truncated.
    """
    rdtype, rrclass, ttl, rdlen = _RR.unpack(head)
    if rrclass != rdclass or rdtype in (_SOA, _OPT, _TSIG):
        return None
    how = _BY_DNSPYTHON
    if rdclass == _IN:
        if rdtype == 1:
            how = _INLINE_A if rdlen == 4 else _BY_DNSPYTHON
        elif rdtype == 28:
            how = _INLINE_AAAA if rdlen == 16 else _BY_DNSPYTHON
        elif rdtype in _NAME_ONLY:
            how = _INLINE_NAME
        elif rdtype in _READERS:
            how = _BY_READER
    if ttl > _MAX_TTL:
        ttl = 0
    middle = (f" {ttl} {_kind(rdclass, rdtype)} ", rdlen, how, rdtype)
    if len(middles) >= _MIDDLES_MAX:
        middles.clear()
    middles[head] = middle
    return middle


def _lines(
    wire: bytes, pos: int, count: int, names: dict[int, _Name], mode: LineMode
) -> tuple[list[str], int]:
    """Zone file lines of the leading plain records of `count`; and where they end.

    A record that is not plain data ends the lines, unread, for `_records`.
    Most owners take one of two quick paths, both checked as `_name` checks
    names: a bare pointer, or one label and a pointer, to a name known to be
    in the zone (`zone_names`: offset to the name's text, "" for the root,
    its wire length and pointers followed); `_zone_owner` reads the others.
    The name of NS, CNAME and PTR rdata takes the same paths, else `_name`.
    """
    zone_wire = mode.zone_wire
    zone_size = len(zone_wire)
    rdclass = mode.rdclass
    middles = _MIDDLES.get(rdclass)
    if middles is None:
        middles = _MIDDLES.setdefault(rdclass, {})
    zone_names: dict[int, tuple[str, int, int]] = {}
    check = _NAME_CHECK
    escape = _NAME_ESC
    ntoa = socket.inet_ntoa
    ntop = socket.inet_ntop
    inet6 = socket.AF_INET6
    inline_a, inline_aaaa, inline_name = _INLINE_A, _INLINE_AAAA, _INLINE_NAME
    max_pointers = _MAX_POINTERS
    size = len(wire)
    out: list[str] = []
    for _ in range(count):
        start = pos
        first = wire[pos]
        owner = None
        if first >= 0xC0:
            known = zone_names.get((first & 0x3F) << 8 | wire[pos + 1])
            if (
                known is not None
                and known[2] < max_pointers
                and known[1] != zone_size  # not the apex
            ):
                owner = known[0]
                pos += 2
        elif 0 < first < 64:
            ptr = pos + 1 + first
            high = wire[ptr]
            if high >= 0xC0:
                suffix = zone_names.get((high & 0x3F) << 8 | wire[ptr + 1])
                if (
                    suffix is not None
                    and suffix[2] < max_pointers
                    and suffix[1] + first < 255
                ):
                    label = wire[pos + 1 : ptr]
                    if label.isalnum() or label.translate(check) == label:
                        owner = f"{label.decode('ascii')}.{suffix[0]}"
                    else:
                        owner = "".join([escape[c] for c in label]) + "." + suffix[0]
                    zone_names[start] = (owner, suffix[1] + first + 1, suffix[2] + 1)
                    pos = ptr + 2
        if owner is None:
            found = _zone_owner(wire, pos, names, zone_wire, zone_names)
            if found is None:
                return out, start
            owner, pos = found
        middle = middles.get(wire[pos : pos + 10])
        if middle is None:
            middle = _middle(wire[pos : pos + 10], rdclass, middles)
            if middle is None:
                return out, start
        line, rdlen, how, rdtype = middle
        pos += 10
        end = pos + rdlen
        if end > size:
            raise IndexError
        text: str | None
        if how == inline_a:
            text = ntoa(wire[pos:end])
        elif how == inline_name:
            # The quick paths of owners, for a name that fills the rdata.
            text = None
            first = wire[pos]
            if first >= 0xC0:
                known = zone_names.get((first & 0x3F) << 8 | wire[pos + 1])
                if known is not None and known[2] < max_pointers and end == pos + 2:
                    text = known[0] or None  # "": the root, as the apex
            elif 0 < first < 64 and end == pos + first + 3 and wire[end - 2] >= 0xC0:
                ptr = end - 2
                suffix = zone_names.get((wire[ptr] & 0x3F) << 8 | wire[ptr + 1])
                if (
                    suffix is not None
                    and suffix[2] < max_pointers
                    and suffix[1] + first < 255
                ):
                    label = wire[pos + 1 : ptr]
                    if label.isalnum() or label.translate(check) == label:
                        text = f"{label.decode('ascii')}.{suffix[0]}"
                    else:
                        text = "".join([escape[c] for c in label]) + "." + suffix[0]
                    zone_names[pos] = (text, suffix[1] + first + 1, suffix[2] + 1)
            if text is None:
                name = _name(wire, pos, names)
                if name[3] != end:
                    raise _rdlength(name[3], end)
                text = name[0]
        elif how == inline_aaaa:
            text = ntop(inet6, wire[pos:end])
        else:
            text = None
            if how == _BY_READER:
                text = _READERS[rdtype](wire, pos, end, names)
            if text is None:
                rdata = _rdata(wire, pos, rdlen, rdclass, rdtype)
                text = rdata.to_text(origin=None, relativize=False)
        out.append(f"{owner}{line}{text}\n")
        pos = end
    return out, pos


def _zone_owner(
    wire: bytes,
    start: int,
    names: dict[int, _Name],
    zone_wire: bytes,
    zone_names: dict[int, tuple[str, int, int]],
) -> tuple[str, int] | None:
    """The owner at `start` and its end, if in the zone and not its apex; else None.

    For `_lines`, the owners off its quick paths: labels and then a pointer
    to a name in `zone_names`, or then the root (not compressed), are read
    here; any other name by `_name`. Names found in the zone are remembered
    in `zone_names`, and so is the name that a pointer ending one points to.
    """
    first = wire[start]
    if first >= 0xC0:  # a bare pointer to a name read before, as in rdata
        target = (first & 0x3F) << 8 | wire[start + 1]
        known = names.get(target)
        if (
            known is not None
            and known[3] <= start
            and known[2] < _MAX_POINTERS
            and is_subdomain_wire(known[1], zone_wire)
        ):
            tail = "" if known[0] == _ROOT_TEXT else known[0]
            zone_names[target] = (tail, len(known[1]), known[2])
            if known[1] == zone_wire:
                return None
            return known[0], start + 2
    else:
        quick = _labels_owner(wire, start, zone_wire, zone_names)
        if quick is not None:
            return quick if quick[1] else None
    text, lower, hops, end = _name(wire, start, names)
    if not is_subdomain_wire(lower, zone_wire):
        return None
    zone_names[start] = ("" if text == _ROOT_TEXT else text, len(lower), hops)
    if hops:  # the name ends in a pointer
        target = (wire[end - 2] & 0x3F) << 8 | wire[end - 1]
        suffix = names[target]
        if is_subdomain_wire(suffix[1], zone_wire):
            tail = "" if suffix[0] == _ROOT_TEXT else suffix[0]
            zone_names[target] = (tail, len(suffix[1]), suffix[2])
    if lower == zone_wire:
        return None
    return text, end


def _labels_owner(
    wire: bytes,
    start: int,
    zone_wire: bytes,
    zone_names: dict[int, tuple[str, int, int]],
) -> tuple[str, int] | None:
    """Labels then a pointer to a name in `zone_names`, or then the root.

    Checked as `_name` checks names. Returns the owner's text and its end,
    ("", 0) for a name that is not in the zone or is its apex, and None
    where `_name` must read the name.
    """
    pos = start
    labels = []
    while 0 < (count := wire[pos]) < 64:
        labels.append(wire[pos + 1 : pos + 1 + count])
        pos += 1 + count
    if not labels:
        return None
    joined = b".".join(labels)  # plain: only the joining dots are not
    if len(joined.translate(None, _NAME_PLAIN)) == len(labels) - 1:
        texts = [joined.decode("ascii")]
    else:
        texts = ["".join([_NAME_ESC[c] for c in label]) for label in labels]
    if count >= 0xC0:
        suffix = zone_names.get((count & 0x3F) << 8 | wire[pos + 1])
        if (
            suffix is None
            or suffix[2] >= _MAX_POINTERS
            or suffix[1] + pos - start > 255
        ):
            return None
        texts.append(suffix[0])
        text = ".".join(texts)
        zone_names[start] = (text, suffix[1] + pos - start, suffix[2] + 1)
        return text, pos + 2
    if count != 0 or pos + 1 - start > 255:
        return None
    pos += 1
    lower = wire[start:pos].lower()
    if lower == zone_wire or not is_subdomain_wire(lower, zone_wire):
        return "", 0
    texts.append("")
    text = ".".join(texts)
    zone_names[start] = (text, pos - start, 0)
    return text, pos


def parse_answers(wire: bytes, mode: LineMode | None = None) -> FastMessage:
    """Read one reply of a zone transfer; raises TransferBroken if malformed.

    The authority section is read and checked but not returned; in the
    additional section an OPT RR (RFC 6891) gives the extended rcode and the
    TSIG RR, which must be last (RFC 8945 §5.1), is kept for `validate_tsig`.
    With a `mode`, the leading plain answers come as zone file lines.
    """
    try:
        return _parse(wire, mode)
    except (IndexError, struct.error) as err:
        raise _broken("message truncated") from err


def _parse(wire: bytes, mode: LineMode | None) -> FastMessage:
    ident, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire, 0)
    names: dict[int, _Name] = {}
    pos = 12
    question = []
    for _ in range(qdcount):
        _, qname, _, pos = _name(wire, pos, names)
        qtype, qclass = _QUESTION.unpack_from(wire, pos)
        question.append((qname, qtype, qclass))
        pos += 4
    lines: list[str] = []
    if mode is not None:
        lines, pos = _lines(wire, pos, ancount, names, mode)
    answers: list[WireRecord] = []
    pos = _records(wire, pos, ancount - len(lines), names, answers)
    pos = _records(wire, pos, nscount, names, [])
    ednsflags = 0
    have_opt = False
    tsig_start = tsig_owner = tsig = None
    for index in range(arcount):
        start = pos
        _, owner_wire, _, pos = _name(wire, pos, names)
        rdtype, rdclass, ednsttl, rdlen = _RR.unpack_from(wire, pos)
        if rdtype == _OPT:
            if owner_wire != b"\x00" or have_opt:
                raise _broken("bad OPT record")
            have_opt = True
            ednsflags = ednsttl
            _rdata(wire, pos + 10, rdlen, rdclass, rdtype)
            pos += 10 + rdlen
        elif rdtype == _TSIG:
            if rdclass != dns.rdataclass.ANY or index != arcount - 1:
                raise _broken("TSIG record not last, or not of class ANY")
            tsig_start = start
            tsig_owner = dns.name.from_wire(wire, start)[0]
            rdata = _rdata(wire, pos + 10, rdlen, rdclass, rdtype)
            assert isinstance(rdata, dns.rdtypes.ANY.TSIG.TSIG)
            tsig = rdata
            pos += 10 + rdlen
        else:
            pos = _records(wire, start, 1, names, [])
    if pos != len(wire):
        raise _broken(f"{len(wire) - pos} octets of trailing junk")
    rcode = (flags & 0x000F) | ((ednsflags >> 20) & 0xFF0)
    return FastMessage(
        wire,
        ident,
        flags,
        rcode,
        tuple(question),
        answers,
        tsig_start,
        tsig_owner,
        tsig,
        "".join(lines),
        len(lines),
    )


def validate_tsig(
    message: FastMessage,
    key: dns.tsig.Key | None,
    request_mac: bytes,
    ctx: TsigContext,
    now: int | None = None,
) -> TsigContext:
    """Verify a message of a multi-message reply (RFC 8945 §5.3.1) on its wire.

    What dns.message.from_wire(..., multi=True) does: a signed message is
    checked with dns.tsig.validate() over the wire before its TSIG RR and
    starts a new context; an unsigned one is added to the running context.
    Returns the context for the next message. Raises dnspython's TSIG
    exceptions (dns.tsig.BadSignature, ...), which client.translate() words.
    """
    if message.tsig is None:
        if ctx is not None:
            ctx.update(message.wire)  # type: ignore[no-untyped-call] # dns.tsig
        return ctx
    if key is None:
        raise dns.message.UnknownTSIGKey(  # type: ignore[no-untyped-call]
            "got signed message without keyring"
        )
    assert message.tsig_start is not None
    assert message.tsig_owner is not None
    # dns.tsig is untyped; validate() returns the next message's context.
    result: TsigContext = dns.tsig.validate(  # type: ignore[no-untyped-call]
        message.wire,
        key,
        message.tsig_owner,
        message.tsig,
        int(time.time()) if now is None else now,
        request_mac,
        message.tsig_start,
        ctx,
        True,
    )
    return result
