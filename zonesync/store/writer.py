"""Writing a full zone (an AXFR) to a store, checking it as it streams.

The checks are BIND's for a transferred zone: one SOA, first and at the
apex, data in the zone and of its class, NS records at the apex, and no
more than `max-records`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA

from zonesync.errors import FailureReason, ZoneContentError
from zonesync.store.records import (
    Record,
    TextRecord,
    ZoneInfo,
    as_records,
    class_text,
    from_record,
    header,
    is_subdomain_wire,
    line_records,
    render_text,
    soa_text_info,
    type_text,
)

T = TypeVar("T")


class Sink(Protocol):
    """Where a ZoneWriter puts a zone: a file, or memory."""

    def write(self, text: str, records: Sequence[Record]) -> None:
        """Take checked `records`, with `text` their zone file lines."""

    def publish(self) -> int:
        """Make what was written the zone; return its size in bytes."""

    def discard(self) -> None:
        """Drop what was written; never raises."""


class ZoneWriter:
    """Streams a full zone (an AXFR) to its store, checking each record.

    The first record must be the SOA, at the apex, and the only one: the
    caller drops the SOA that closes an AXFR stream. Nothing is published
    before `commit()`; any error discards what was written.
    """

    def __init__(
        self,
        origin: dns.name.Name,
        rdclass: dns.rdataclass.RdataClass,
        max_records: int,
        where: str,
        sink: Sink,
    ) -> None:
        self._origin = origin
        self._rdclass = rdclass
        self._max_records = max_records
        self._where = where
        self._sink: Sink | None = sink
        self._soa: TextRecord | None = None
        self._count = 0
        self._apex_ns = False
        self._origin_wire = origin.to_digestable()
        self._last_owner: bytes | None = None

    def _fail(
        self, message: str, reason: FailureReason = FailureReason.MALFORMED
    ) -> ZoneContentError:
        return ZoneContentError(message, self._where, reason)

    @property
    def records(self) -> int:
        """How many records were written so far."""
        return self._count

    def add(self, records: Sequence[Record]) -> None:
        """Check and write `records`; ZoneContentError if one is not acceptable."""
        self._write([from_record(r) for r in records], records)

    def add_text(self, records: Sequence[TextRecord]) -> None:
        """`add()` for records already in presentation form (the AXFR fast path).

        The same checks and the same lines, with no dnspython object made
        (a memory zone's sink makes them as it keeps the records).
        """
        self._write(records, as_records(records))

    def add_lines(self, text: str, count: int) -> None:
        """Write `count` zone file lines of plain records, checked as they were read.

        What fastwire.LineMode gives: records of the zone's class, below its
        apex and not SOA, so only their number is left to check. They follow
        the SOA (the first record), which `add_text` took.
        """
        sink = self._open_sink()
        done = False
        try:
            if self._count == 0:
                raise self._fail("first record is not the SOA")
            total = self._count + count
            if self._max_records and total > self._max_records:
                raise self._fail(
                    f"too many records (must not exceed {self._max_records})",
                    FailureReason.TOO_LARGE,
                )
            self._count = total
            sink.write(text, line_records(text))
            done = True
        finally:
            if not done:
                self.abort()

    def _write(
        self, records: Sequence[TextRecord], as_records: Sequence[Record]
    ) -> None:
        sink = self._open_sink()
        done = False
        try:
            starting = self._count == 0
            self._check(records)
            text = render_text(records)
            if starting and self._soa is not None:
                assert self._soa.serial is not None
                text = header(self._origin, self._soa.serial) + text
            sink.write(text, as_records)
            done = True
        finally:
            if not done:
                self.abort()

    def _check(self, records: Sequence[TextRecord]) -> None:
        """BIND's checks on a transferred zone, by the records' wire names."""
        origin = self._origin
        origin_wire = self._origin_wire
        rdclass = self._rdclass
        limit = self._max_records
        count = self._count
        last = self._last_owner
        for record in records:
            count += 1
            if limit and count > limit:
                raise self._fail(
                    f"too many records (must not exceed {limit})",
                    FailureReason.TOO_LARGE,
                )
            owner = record.owner_wire
            if owner is not last:  # a message's RRs of one owner share it
                if not is_subdomain_wire(owner, origin_wire):
                    raise self._fail(
                        f"out-of-zone data: {record.owner} is not in {origin}"
                    )
                last = owner
            if record.rdclass != rdclass:
                raise self._fail(
                    f"{record.owner}: class {class_text(record.rdclass)} record "
                    f"in a class {class_text(rdclass)} zone"
                )
            rdtype = record.rdtype
            if rdtype == dns.rdatatype.SOA:
                if self._soa is not None:
                    raise self._fail(
                        f"more than one SOA record (another at {record.owner})"
                    )
                if owner != origin_wire:
                    raise self._fail(
                        f"SOA record at {record.owner}, not at the apex {origin}"
                    )
                self._soa = record
            elif count == 1:
                raise self._fail(
                    f"first record is not the SOA ({record.owner} {type_text(rdtype)})"
                )
            elif rdtype == dns.rdatatype.NS and not self._apex_ns:
                self._apex_ns = owner == origin_wire
        self._count = count
        self._last_owner = last

    def commit(self) -> ZoneInfo:
        """Check the zone as a whole and publish it atomically."""
        sink = self._open_sink()
        done = False
        try:
            if self._soa is None:
                raise self._fail("has no SOA record")
            if not self._apex_ns:  # BIND 9.18 zone.c zone_replacedb()
                raise self._fail("has no NS records")
            size = sink.publish()
            self._sink = None
            done = True
        finally:
            if not done:
                self.abort()
        return soa_text_info(self._soa.text, self._count, size)

    def abort(self) -> None:
        """Discard what was written; idempotent, never raises."""
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.discard()

    def _open_sink(self) -> Sink:
        if self._sink is None:
            raise RuntimeError("zone writer already committed or aborted")
        return self._sink
