"""The AXFR/IXFR reply state machine (RFC 5936, RFC 1995), free of sockets.

It reads messages as transfer/fastwire.py parses them (records in
presentation form, in order) and says what they mean: records for a full
zone (AXFR, or an AXFR-style IXFR reply), a list of IXFR differences, or "up
to date". It never touches the store; the caller streams full-zone records
to the store as they come, so only an IXFR's differences are held in memory,
as dnspython records (the store applies them). Modelled on BIND 9.18
`lib/dns/xfrin.c`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NoReturn

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA

from zonesync.errors import TransferBroken
from zonesync.store.zonefile import IxfrDelta, Record
from zonesync.transfer.fastwire import FastMessage, WireRecord
from zonesync.transfer.soa import serial_gt


class XfrKind(StrEnum):
    """What the reply turned out to be; the values are log and label words."""

    AXFR = "axfr"
    IXFR = "ixfr"
    AXFR_STYLE = "axfr-style ixfr"
    UP_TO_DATE = "up to date"


class _State(StrEnum):
    FIRST_SOA = "first soa"
    FIRST_DATA = "first data"  # IXFR: after the first SOA, style unknown yet
    FULL = "full"
    DELETING = "deleting"
    ADDING = "adding"
    DONE = "done"


class XfrIn:
    """Reads one zone transfer reply, message by message."""

    def __init__(
        self,
        zone: dns.name.Name,
        rdclass: dns.rdataclass.RdataClass,
        ixfr_from: int | None,
        primary: str = "",
    ) -> None:
        """`ixfr_from` is the serial we asked an IXFR from, None for AXFR."""
        self.zone = zone
        self.rdclass = rdclass
        self.ixfr_from = ixfr_from
        self.primary = primary
        self.kind: XfrKind | None = None
        self.serial: int | None = None  # the serial the reply brings
        self.records = 0
        self.deltas: list[IxfrDelta] = []
        self._zone_wire = zone.to_digestable()
        self._state = _State.FIRST_SOA
        self._first_soa: WireRecord | None = None
        self._old_soa: Record | None = None
        self._new_soa: Record | None = None
        self._deleted: list[Record] = []
        self._added: list[Record] = []
        self._message: FastMessage | None = None
        self._parsed: list[Record] | None = None

    @property
    def done(self) -> bool:
        """Whether the reply is complete."""
        return self._state is _State.DONE

    @property
    def streaming(self) -> bool:
        """Whether the next message may come in line mode (fastwire.LineMode).

        In the body of a full zone, plain records need nothing of the state
        machine: they are written as they come.
        """
        return self._state is _State.FULL

    def feed(self, message: FastMessage) -> list[WireRecord]:
        """Take one message; return the full-zone records it carries, in order.

        The zone file lines of a message read in line mode (only while
        `streaming`) come before these records; they are only counted here.
        """
        out: list[WireRecord] = []
        self._message = message
        self._parsed = None
        if message.line_count:
            if self._state is not _State.FULL:
                raise AssertionError("a message in line mode outside a full zone")
            self.records += message.line_count
        rdclass = self.rdclass
        zone_wire = self._zone_wire
        for index, record in enumerate(message.answers):
            if record.rdclass != rdclass:
                what = dns.rdataclass.RdataClass.make(record.rdclass)
                self._fail(f"record of class {what!s} in a transfer")
            if self._state is _State.DONE:
                self._fail("extra data after the closing SOA")
            self.records += 1
            if self._state is _State.FULL and (
                record.serial is None or record.owner_wire != zone_wire
            ):
                out.append(record)  # the bulk of an AXFR: no SOA, nothing to hold
            else:
                self._take(index, record, out)
        if self._state is _State.FIRST_DATA:
            assert self.serial is not None
            # RFC 1995 §4: a reply of just our SOA (or an older one) means
            # "nothing newer"; BIND 9.18 xfrin.c treats it as up to date.
            if self.ixfr_from is not None and not serial_gt(
                self.serial, self.ixfr_from
            ):
                self.kind = XfrKind.UP_TO_DATE
                self._state = _State.DONE
        return out

    def _record(self, index: int) -> Record:
        """Answer `index` of the current message as dnspython reads it (IXFR).

        The message is read again by dnspython, once, only when an IXFR
        difference needs it: the store applies dnspython records. fastwire
        has accepted the same wire, so this does not fail.
        """
        if self._parsed is None:
            assert self._message is not None
            assert not self._message.line_count
            parsed = dns.message.from_wire(
                self._message.wire, keyring=False, one_rr_per_rrset=True
            )
            self._parsed = [(r.name, r.ttl, r[0]) for r in parsed.answer]
        return self._parsed[index]

    def _take(self, index: int, record: WireRecord, out: list[WireRecord]) -> None:
        serial = record.serial
        soa = serial is not None and record.owner_wire == self._zone_wire
        state = self._state
        if state is _State.FIRST_SOA:
            if not soa:
                self._fail("the first record is not the zone's SOA")
            self._first_soa = record
            self.serial = serial
            if self.ixfr_from is None:
                self.kind = XfrKind.AXFR
                self._state = _State.FULL
                out.append(record)
            else:
                self._state = _State.FIRST_DATA
        elif state is _State.FIRST_DATA:
            assert self._first_soa is not None
            if soa and serial == self.ixfr_from:
                self.kind = XfrKind.IXFR
                self._old_soa = self._record(index)
                self._state = _State.DELETING
            else:
                self.kind = XfrKind.AXFR_STYLE
                self._state = _State.FULL
                out.append(self._first_soa)
                self._take(index, record, out)
        elif state is _State.FULL:
            if soa:
                if serial != self.serial:
                    self._fail(
                        f"closing SOA serial {serial} differs from {self.serial}"
                    )
                self._state = _State.DONE
            else:
                out.append(record)
        elif state is _State.DELETING:
            if soa:
                self._new_soa = self._record(index)
                self._state = _State.ADDING
            else:
                self._deleted.append(self._record(index))
        elif state is _State.ADDING:
            if soa:
                self._close_delta()
                if serial == self.serial and self._last_new_serial() == serial:
                    self._state = _State.DONE
                else:
                    self._old_soa = self._record(index)
                    self._state = _State.DELETING
            else:
                self._added.append(self._record(index))

    def _last_new_serial(self) -> int:
        new_soa = self.deltas[-1].new_soa[2]
        assert isinstance(new_soa, dns.rdtypes.ANY.SOA.SOA)
        return new_soa.serial

    def _close_delta(self) -> None:
        assert self._old_soa is not None
        assert self._new_soa is not None
        old = self._old_soa[2]
        assert isinstance(old, dns.rdtypes.ANY.SOA.SOA)
        expected = self._last_new_serial() if self.deltas else self.ixfr_from
        if old.serial != expected:
            self._fail(f"IXFR difference starts at serial {old.serial}, not {expected}")
        self.deltas.append(
            IxfrDelta(
                self._old_soa,
                tuple(self._deleted),
                self._new_soa,
                tuple(self._added),
            )
        )
        self._deleted = []
        self._added = []
        self._old_soa = self._new_soa = None

    def _fail(self, message: str) -> NoReturn:
        raise TransferBroken(message, self.primary)

    def finish(self) -> None:
        """Check that the reply ended where it may end (else TransferBroken)."""
        if self._state is not _State.DONE:
            raise TransferBroken("unexpected end of input", self.primary)
