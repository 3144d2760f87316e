"""Zone records and the text form the store writes them in.

A zone file of ours is a `; zonesync:` comment, `$ORIGIN`, then one RR per
line, `owner TTL CLASS TYPE rdata` with absolute names, SOA first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, Protocol, TypeVar, overload

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA

from zonesync.errors import ZoneContentError

T = TypeVar("T")

Record = tuple[dns.name.Name, int, dns.rdata.Rdata]
"""One RR: absolute owner name, TTL, rdata (the class is `rdata.rdclass`)."""


class TextRecord(Protocol):
    """One RR already in presentation form: transfer.fastwire.WireRecord.

    The AXFR fast path writes these as they are, never making dnspython
    objects of them (issue 5).
    """

    @property
    def owner(self) -> str:
        """The owner as dns.name.Name.to_text() writes it (absolute)."""

    @property
    def owner_wire(self) -> bytes:
        """The owner's uncompressed wire form, lower-cased."""

    @property
    def rdtype(self) -> int:
        """The type."""

    @property
    def rdclass(self) -> int:
        """The class."""

    @property
    def ttl(self) -> int:
        """The TTL."""

    @property
    def text(self) -> str:
        """The rdata as dns.rdata.Rdata.to_text(origin=None, relativize=False)."""

    @property
    def serial(self) -> int | None:
        """An SOA's serial; None for any other type."""


MARKER = "; zonesync: "
HEADER_LINES = 2  # the marker comment and $ORIGIN


@dataclass(frozen=True, slots=True)
class ZoneInfo:
    """The figures of a zone version: its SOA timers, size and record count."""

    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int
    records: int  # RRs held, the SOA included
    size_bytes: int  # size of the zone file text
    # The SOA itself, sent in an IXFR query (RFC 1995 §3); not compared.
    soa: dns.rdtypes.ANY.SOA.SOA | None = field(default=None, compare=False)
    # Or its rdata as text, when read from the head of our own zone file:
    # made an Rdata only when needed (issue 5: a restart of 10,000 zones
    # spent a tenth of its time making the two names of every SOA).
    soa_text: str | None = field(default=None, compare=False)

    def soa_rdata(self) -> dns.rdtypes.ANY.SOA.SOA | None:
        """The SOA, from `soa` or `soa_text`; None if neither is known."""
        if self.soa is not None or self.soa_text is None:
            return self.soa
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, dns.rdatatype.SOA, self.soa_text, relativize=False
        )
        assert isinstance(rdata, dns.rdtypes.ANY.SOA.SOA)
        return rdata


@dataclass(frozen=True, slots=True)
class IxfrDelta:
    """One RFC 1995 difference sequence: delete these, then add those."""

    old_soa: Record
    deleted: tuple[Record, ...]
    new_soa: Record
    added: tuple[Record, ...]


def soa_rdata(record: Record, where: str = "") -> dns.rdtypes.ANY.SOA.SOA:
    """The SOA rdata of `record`; ZoneContentError if it is not an SOA."""
    rdata = record[2]
    if not isinstance(rdata, dns.rdtypes.ANY.SOA.SOA):
        message = f"{record[0]} {type_text(rdata.rdtype)} is not an SOA record"
        raise ZoneContentError(message, where)
    return rdata


def zone_info(soa: Record, records: int, size_bytes: int) -> ZoneInfo:
    """The figures of a zone version with this SOA, count and size."""
    rdata = soa_rdata(soa)
    return ZoneInfo(
        serial=rdata.serial,
        refresh=rdata.refresh,
        retry=rdata.retry,
        expire=rdata.expire,
        minimum=rdata.minimum,
        records=records,
        size_bytes=size_bytes,
        soa=rdata,
    )


def soa_text_info(text: str, records: int, size_bytes: int) -> ZoneInfo:
    """zone_info() from an SOA's rdata text (`mname rname serial refresh ...`).

    For the AXFR fast path, which has the SOA in presentation form: the
    dnspython rdata is made only if it is needed (ZoneInfo.soa_rdata()).
    Names in presentation form hold no blank (dnspython writes a space
    `\\032`), so the numbers are the last five words.
    """
    serial, refresh, retry, expire, minimum = map(int, text.rsplit(maxsplit=5)[-5:])
    return ZoneInfo(
        serial=serial,
        refresh=refresh,
        retry=retry,
        expire=expire,
        minimum=minimum,
        records=records,
        size_bytes=size_bytes,
        soa_text=text,
    )


@functools.cache
def class_text(rdclass: int) -> str:
    """The mnemonic of a class (`IN`), cached: it is needed once per RR."""
    return dns.rdataclass.to_text(dns.rdataclass.RdataClass.make(rdclass))


@functools.cache
def type_text(rdtype: int) -> str:
    """The mnemonic of a type (`AAAA`), cached: it is needed once per RR."""
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))


class TextForm(NamedTuple):
    """A dnspython record in presentation form: a TextRecord (see from_record)."""

    owner: str
    owner_wire: bytes
    rdtype: int
    rdclass: int
    ttl: int
    text: str
    serial: int | None


def from_record(record: Record) -> TextForm:
    """The presentation form of a dnspython record, as the fast path gives it."""
    name, ttl, rdata = record
    serial = rdata.serial if isinstance(rdata, dns.rdtypes.ANY.SOA.SOA) else None
    return TextForm(
        name.to_text(),
        name.to_digestable(),
        rdata.rdtype,
        rdata.rdclass,
        ttl,
        rdata.to_text(origin=None, relativize=False),
        serial,
    )


def render(records: Iterable[Record]) -> str:
    """The zone file lines of `records`: `owner TTL CLASS TYPE rdata`."""
    return render_text(map(from_record, records))


def render_text(records: Iterable[TextRecord]) -> str:
    """The zone file lines of records in presentation form."""
    types: dict[int, str] = {}
    lines = []
    for record in records:
        rdtype = record.rdtype
        kind = types.get(rdtype) or types.setdefault(rdtype, type_text(rdtype))
        lines.append(
            f"{record.owner} {record.ttl} {class_text(record.rdclass)} "
            f"{kind} {record.text}\n"
        )
    return "".join(lines)


def to_record(record: TextRecord) -> Record:
    """The dnspython form of a record in presentation form.

    Read back from text, as a zone file of ours is when loaded.
    """
    name = dns.name.from_text(record.owner)
    rdata = dns.rdata.from_text(
        dns.rdataclass.RdataClass.make(record.rdclass),
        dns.rdatatype.RdataType.make(record.rdtype),
        record.text,
    )
    return name, record.ttl, rdata


class _RecordView(Sequence[Record], Generic[T]):
    """Records held in another form, each made a `Record` when read.

    A zone file's sink never reads them; a memory zone keeps them. The
    items themselves are only made when first needed.
    """

    def __init__(self, items: Callable[[], Sequence[T]], make: Callable[[T], Record]):
        self._items = items
        self._make = make

    @functools.cached_property
    def _held(self) -> Sequence[T]:
        return self._items()

    def __len__(self) -> int:
        return len(self._held)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | Sequence[Record]:
        if isinstance(index, slice):
            return [self._make(item) for item in self._held[index]]
        return self._make(self._held[index])

    def __iter__(self) -> Iterator[Record]:
        return map(self._make, self._held)


def as_records(records: Sequence[TextRecord]) -> Sequence[Record]:
    """Records in presentation form seen as `Record`s."""
    return _RecordView(lambda: records, to_record)


def line_records(text: str) -> Sequence[Record]:
    """The records of zone file lines as `render_text` writes them."""
    return _RecordView(lambda: text.split("\n")[:-1], from_line)


def from_line(line: str) -> Record:
    """The record of one line `owner TTL CLASS TYPE rdata` of ours.

    The first four fields never hold a space: names are written with
    spaces escaped (`\\032`).
    """
    owner, ttl, rdclass, rdtype, text = line.split(" ", 4)
    rdata = dns.rdata.from_text(rdclass, rdtype, text)
    return dns.name.from_text(owner), int(ttl), rdata


def is_subdomain_wire(name: bytes, zone: bytes) -> bool:
    """Whether `name` is `zone` or below it; both lower-cased wire names.

    The suffix must start on a label boundary: `\\003com` as a label's
    bytes (`xx\\003com.`) is not in `com.`.
    """
    skip = len(name) - len(zone)
    pos = 0
    while pos < skip:
        pos += name[pos] + 1
    return pos == skip and name.endswith(zone)


def header(origin: dns.name.Name, serial: int) -> str:
    """The first lines of a zone file of ours: the marker and `$ORIGIN`."""
    origin_text = origin.to_text()
    return f"{MARKER}{origin_text} serial {serial}\n$ORIGIN {origin_text}\n"
