"""A zone without `file`: its data in memory only, as BIND keeps such a zone.

The same calls as FileZone (`zonefile.py`), so a SecondaryZone runs either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import dns.name
import dns.rdataclass

from zonesync.errors import StoreError
from zonesync.store.ixfr import IxfrPlan
from zonesync.store.records import IxfrDelta, Record, ZoneInfo, zone_info
from zonesync.store.writer import ZoneWriter


class _MemorySink:
    def __init__(self, zone: MemoryZone) -> None:
        self._zone = zone
        self._records: list[Record] = []
        self._size = 0

    def write(self, text: str, records: Sequence[Record]) -> None:
        self._records.extend(records)
        self._size += len(text)

    def publish(self) -> int:
        records = tuple(self._records)
        self._zone._install(records, zone_info(records[0], len(records), self._size))
        return self._size

    def discard(self) -> None:
        self._records = []


class MemoryZone:
    """A zone without `file`: its data lives in memory only, as in BIND."""

    def __init__(
        self,
        origin: dns.name.Name,
        max_records: int = 0,
        *,
        rdclass: dns.rdataclass.RdataClass = dns.rdataclass.IN,
    ) -> None:
        self.origin = origin
        self.max_records = max_records
        self.rdclass = rdclass
        self._records: tuple[Record, ...] = ()
        self._info: ZoneInfo | None = None
        self._mtime: float | None = None

    @property
    def records(self) -> tuple[Record, ...]:
        """The zone's RRs, SOA first; empty before the first transfer."""
        return self._records

    def _install(self, records: tuple[Record, ...], info: ZoneInfo) -> None:
        self._records = records
        self._info = info
        self._mtime = time.time()

    def load(self) -> ZoneInfo | None:
        """The figures of the data held, or None before the first transfer."""
        return self._info

    def mtime(self) -> float | None:
        """The time of the last commit or touch, None before the first."""
        return self._mtime

    def touch(self, at: float) -> None:
        """Record `at` as the time of the last successful refresh."""
        if self._records:
            self._mtime = at

    def begin_axfr(self) -> ZoneWriter:
        """Start collecting a full zone; it replaces the data at commit."""
        sink = _MemorySink(self)
        return ZoneWriter(self.origin, self.rdclass, self.max_records, "", sink)

    def apply_ixfr(self, deltas: Sequence[IxfrDelta]) -> ZoneInfo:
        """Apply RFC 1995 difference sequences to the data held."""
        if self._info is None:
            raise StoreError(f"zone {self.origin}: no zone data to apply an IXFR to")
        if not deltas:
            return self._info
        result = IxfrPlan(self.origin, self.rdclass, deltas, "").apply(self._records)
        writer = self.begin_axfr()
        writer.add(result)
        return writer.commit()

    def commit_ixfr(self, deltas: Sequence[IxfrDelta]) -> ZoneInfo:
        """Apply the IXFR's sequences at once: a memory zone has no journal."""
        return self.apply_ixfr(deltas)

    def remove_stale_temp_files(self) -> int:
        """Nothing to remove: a memory zone has no files."""
        return 0
