"""ZoneWriter.add_text() and add_lines(): the AXFR fast paths write what add()
writes, checked alike.

The records in presentation form, and the zone file lines, come from
transfer/fastwire.py reading a message dnspython made of the same records,
as a transfer delivers them.
"""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
import pytest

from tests.unit.store.test_zonefile import BASE, MANY_TYPES, ORIGIN, rr, soa
from zonesync.errors import FailureReason, ZoneContentError
from zonesync.store.memory import MemoryZone
from zonesync.store.records import (
    as_records,
    from_line,
    is_subdomain_wire,
    line_records,
    render,
)
from zonesync.store.zonefile import FileZone, Record, ZoneWriter
from zonesync.transfer.fastwire import FastMessage, LineMode, WireRecord, parse_answers

HOW = ["add", "text", "lines"]


def message_of(records: list[Record], mode: LineMode | None = None) -> FastMessage:
    """`records` as fastwire reads them from a compressed reply."""
    response = dns.message.make_response(
        dns.message.make_query(ORIGIN, dns.rdatatype.AXFR)
    )
    for name, ttl, rdata in records:
        rrset = dns.rrset.RRset(name, rdata.rdclass, rdata.rdtype)
        rrset.add(rdata, ttl)
        response.answer.append(rrset)
    return parse_answers(response.to_wire(max_size=65535), mode)


def wire_records(records: list[Record]) -> list[WireRecord]:
    return message_of(records).answers


def add(writer: ZoneWriter, records: list[Record], how: str) -> None:
    """`add()`, `add_text()` of the records as fastwire reads them, or
    `add_lines()` of those it gives as lines (after the first record) and
    `add_text()` of the rest, as a transfer in line mode does."""
    if how == "add":
        writer.add(records)
    elif how == "text":
        writer.add_text(wire_records(records))
    else:
        if writer.records == 0:
            writer.add_text(wire_records(records[:1]))
            records = records[1:]
        message = message_of(records, LineMode(ORIGIN.to_digestable(), 1))
        if message.line_count:
            writer.add_lines(message.lines, message.line_count)
        if message.answers:
            writer.add_text(message.answers)


def write_both(tmp_path: Path, records: list[Record], batch: int = 5) -> list[bytes]:
    out = []
    for name in HOW:
        text = name
        zone = FileZone(ORIGIN, tmp_path / f"{name}.db")
        writer = zone.begin_axfr()
        for start in range(0, len(records), batch):
            add(writer, records[start : start + batch], text)
        writer.commit()
        out.append(zone.path.read_bytes())
    return out


def test_the_same_file_as_add(tmp_path: Path) -> None:
    by_add, by_text, by_lines = write_both(tmp_path, MANY_TYPES)
    assert by_text == by_add
    assert by_lines == by_add


def test_the_same_zone_info_and_memory_records(tmp_path: Path) -> None:
    infos = []
    kept = []
    for text in HOW:
        zone = MemoryZone(ORIGIN)
        writer = zone.begin_axfr()
        add(writer, MANY_TYPES, text)
        infos.append(writer.commit())
        kept.append(zone.records)
    assert infos[0] == infos[1] == infos[2]
    assert [info.soa_rdata() for info in infos] == [soa(1)[2]] * 3
    assert kept[0] == kept[1] == kept[2]
    assert [r[0].to_text() for r in kept[2]] == [r[0].to_text() for r in MANY_TYPES]


def test_line_records_read_on_demand() -> None:
    records = line_records(render(MANY_TYPES))
    assert len(records) == len(MANY_TYPES)
    assert records[1] == MANY_TYPES[1]
    assert list(records[2:4]) == MANY_TYPES[2:4]
    assert list(records) == MANY_TYPES
    assert from_line(render(BASE[:1]).rstrip("\n")) == BASE[0]


def test_as_records_reads_on_demand() -> None:
    records = as_records(wire_records(BASE))
    assert len(records) == len(BASE)
    assert records[1] == BASE[1]
    assert list(records[2:4]) == BASE[2:4]
    assert list(records) == BASE


OUT_OF_ZONE = rr("www.example.net.", "A", "192.0.2.1")
# One label whose bytes end as "example.com." would: not in the zone.
LOOKALIKE = (dns.name.Name([b"x\x07example\x03com", b""]), 300, BASE[3][2])


@pytest.mark.parametrize(
    ("records", "message", "reason"),
    [
        ([*BASE, OUT_OF_ZONE], "out-of-zone data: www.example.net. is not in", None),
        ([*BASE, LOOKALIKE], "out-of-zone data: x\\007example\\003com. is not", None),
        (
            [*BASE, rr("x", "TXT", '"a"', rdclass="CH")],
            "class CH record in a class IN",
            None,
        ),
        ([*BASE, soa(2)], "more than one SOA record (another at example.com.)", None),
        (
            [rr("sub", "SOA", "a. b. 1 2 3 4 5")],
            "SOA record at sub.example.com., not at",
            None,
        ),
        (BASE[1:], "first record is not the SOA (example.com. NS)", None),
        (MANY_TYPES, "too many records (must not exceed 8)", FailureReason.TOO_LARGE),
    ],
    ids=[
        "out-of-zone",
        "lookalike",
        "class",
        "two-soa",
        "soa-not-apex",
        "first",
        "max",
    ],
)
def test_the_same_refusals_as_add(
    tmp_path: Path, records: list[Record], message: str, reason: FailureReason | None
) -> None:
    errors = []
    for text in HOW:
        zone = FileZone(ORIGIN, tmp_path / "zone.db", max_records=8)
        writer = zone.begin_axfr()
        with pytest.raises(ZoneContentError) as caught:
            add(writer, records, text)
        errors.append((str(caught.value), caught.value.reason))
        assert not list(tmp_path.iterdir())  # nothing left behind
    assert errors[0] == errors[1] == errors[2]
    assert message in errors[1][0]
    assert errors[1][1] is (reason or FailureReason.MALFORMED)


def test_lines_before_the_soa_are_refused(tmp_path: Path) -> None:
    zone = FileZone(ORIGIN, tmp_path / "zone.db")
    writer = zone.begin_axfr()
    with pytest.raises(ZoneContentError, match="first record is not the SOA"):
        writer.add_lines(render(BASE[1:2]), 1)
    assert not list(tmp_path.iterdir())


def test_no_ns_at_the_apex_is_refused_at_commit(tmp_path: Path) -> None:
    zone = FileZone(ORIGIN, tmp_path / "zone.db")
    writer = zone.begin_axfr()
    writer.add_text(wire_records([soa(1), rr("sub", "NS", "ns.sub")]))
    with pytest.raises(ZoneContentError, match="has no NS records"):
        writer.commit()


def test_subdomain_check_follows_label_boundaries() -> None:
    com = dns.name.from_text("com.").to_wire()
    assert com is not None
    assert is_subdomain_wire(dns.name.from_text("a.b.com.").to_wire() or b"", com)
    assert is_subdomain_wire(com, com)
    assert not is_subdomain_wire(
        dns.name.Name([b"xx\x03com", b""]).to_wire() or b"", com
    )
    assert not is_subdomain_wire(dns.name.from_text("net.").to_wire() or b"", com)
    assert not is_subdomain_wire(b"\x00", com)
    assert is_subdomain_wire(com, b"\x00")
