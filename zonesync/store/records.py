"""Zone records and the text form the store writes them in.

A zone file of ours is a `; zonesync:` comment, `$ORIGIN`, then one RR per
line, `owner TTL CLASS TYPE rdata` with absolute names, SOA first.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA

from zonesync.errors import ZoneContentError

Record = tuple[dns.name.Name, int, dns.rdata.Rdata]
"""One RR: absolute owner name, TTL, rdata (the class is `rdata.rdclass`)."""

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


@functools.cache
def class_text(rdclass: int) -> str:
    """The mnemonic of a class (`IN`), cached: it is needed once per RR."""
    return dns.rdataclass.to_text(dns.rdataclass.RdataClass.make(rdclass))


@functools.cache
def type_text(rdtype: int) -> str:
    """The mnemonic of a type (`AAAA`), cached: it is needed once per RR."""
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))


def render(records: Iterable[Record]) -> str:
    """The zone file lines of `records`: `owner TTL CLASS TYPE rdata`."""
    lines = []
    last: dns.name.Name | None = None
    owner = ""
    for name, ttl, rdata in records:
        if name is not last:  # an RRset's records share one Name object
            owner = name.to_text()
            last = name
        text = rdata.to_text(origin=None, relativize=False)
        lines.append(
            f"{owner} {ttl} {class_text(rdata.rdclass)} "
            f"{type_text(rdata.rdtype)} {text}\n"
        )
    return "".join(lines)


def header(origin: dns.name.Name, soa: Record) -> str:
    """The first lines of a zone file of ours: the marker and `$ORIGIN`."""
    origin_text = origin.to_text()
    serial = soa_rdata(soa).serial
    return f"{MARKER}{origin_text} serial {serial}\n$ORIGIN {origin_text}\n"
