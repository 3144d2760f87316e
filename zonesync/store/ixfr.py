"""IXFR application: RFC 1995 difference sequences merged into a zone.

The sequences are checked as a whole first (SOAs at the apex, data in the
zone, no SOA among the differences), then applied only to the RRsets they
touch, so a file zone can copy every other line of its file unchanged.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dns.name
import dns.rdataclass
import dns.rdatatype

from zonesync.errors import ZoneContentError
from zonesync.store.records import (
    IxfrDelta,
    Record,
    class_text,
    render,
    soa_rdata,
    type_text,
)


class IxfrPlan:
    """The difference sequences of one IXFR, checked and ready to merge."""

    def __init__(
        self,
        origin: dns.name.Name,
        rdclass: dns.rdataclass.RdataClass,
        deltas: Sequence[IxfrDelta],
        where: str,
    ) -> None:
        self.deltas = tuple(deltas)
        self.new_soa = deltas[-1].new_soa
        self.keys: set[tuple[dns.name.Name, int]] = set()
        for delta in deltas:
            for soa in (delta.old_soa, delta.new_soa):
                soa_rdata(soa, where)
                if soa[0] != origin or soa[2].rdclass != rdclass:
                    raise ZoneContentError(f"IXFR SOA at {soa[0]}, not {origin}", where)
            for name, _ttl, rdata in (*delta.deleted, *delta.added):
                if not name.is_subdomain(origin):
                    raise ZoneContentError(
                        f"out-of-zone data: {name} is not in {origin}", where
                    )
                if rdata.rdclass != rdclass or rdata.rdtype == dns.rdatatype.SOA:
                    raise ZoneContentError(
                        f"IXFR difference holds {name} {class_text(rdata.rdclass)} "
                        f"{type_text(rdata.rdtype)}",
                        where,
                    )
                self.keys.add((name, rdata.rdtype))
        self.text_keys = {(n.to_text().lower(), type_text(t)) for n, t in self.keys}
        self._where = where

    def check_serial(self, serial: int) -> None:
        """Each sequence must start from the serial the one before left."""
        for delta in self.deltas:
            old = soa_rdata(delta.old_soa).serial
            if old != serial:
                raise ZoneContentError(
                    f"IXFR difference from serial {old} does not apply to serial {serial}",
                    self._where,
                )
            serial = soa_rdata(delta.new_soa).serial

    def merge(self, held: Iterable[Record]) -> list[Record]:
        """Apply the sequences to the zone's RRs in the RRsets they touch."""
        rrsets: dict[tuple[dns.name.Name, int], list[Record]] = {}
        for record in held:
            rrsets.setdefault((record[0], record[2].rdtype), []).append(record)
        for delta in self.deltas:
            for name, ttl, rdata in delta.deleted:
                rrset = rrsets.get((name, rdata.rdtype), [])
                for i, (_n, _t, have) in enumerate(rrset):
                    if have == rdata:
                        del rrset[i]
                        break
                else:
                    text = render([(name, ttl, rdata)]).strip()
                    raise ZoneContentError(
                        f"IXFR deletes a record the zone does not hold: {text}",
                        self._where,
                    )
            for record in delta.added:
                rrset = rrsets.setdefault((record[0], record[2].rdtype), [])
                # BIND ignores an add of an RR already present.
                if not any(have == record[2] for _n, _t, have in rrset):
                    rrset.append(record)
        return [record for rrset in rrsets.values() for record in rrset]

    def apply(self, records: Sequence[Record]) -> list[Record]:
        """The zone after the sequences, for a zone held as records (SOA first)."""
        self.check_serial(soa_rdata(records[0]).serial)
        keep: list[Record] = []
        held: list[Record] = []
        for record in records[1:]:
            key = (record[0], record[2].rdtype)
            (held if key in self.keys else keep).append(record)
        return [self.new_soa, *keep, *self.merge(held)]
