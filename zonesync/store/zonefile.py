"""Zone data of a secondary zone: text zone files published atomically.

A zone with a `file` is written as a text master file that BIND's `named`
loads (the format is in `records.py`), published atomically as BIND 9.18
dumps zones (see `atomic.py`), so the target is never a partial file. A zone
without `file` is kept in memory only, as BIND does.

Everything here blocks; the daemon calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone

from zonesync.errors import FailureReason, StoreError, ZoneContentError
from zonesync.store.atomic import AtomicFile, remove_stale_temp_files, store_error
from zonesync.store.ixfr import IxfrPlan
from zonesync.store.records import (
    HEADER_LINES,
    MARKER,
    IxfrDelta,
    Record,
    ZoneInfo,
    class_text,
    header,
    render,
    soa_rdata,
    zone_info,
)
from zonesync.store.writer import ZoneWriter

__all__ = ["FileZone", "IxfrDelta", "MemoryZone", "Record", "ZoneInfo", "ZoneWriter"]

_READ_BYTES = 1 << 20


class _FileSink:
    def __init__(self, target: Path) -> None:
        self._file = AtomicFile(target)

    def write(self, text: str, records: Sequence[Record]) -> None:
        self._file.write(text)

    def publish(self) -> int:
        return self._file.publish()

    def discard(self) -> None:
        self._file.discard()


class FileZone:
    """A zone with a `file`: a text zone file, replaced atomically."""

    def __init__(
        self,
        origin: dns.name.Name,
        path: Path,
        max_records: int = 0,
        *,
        rdclass: dns.rdataclass.RdataClass = dns.rdataclass.IN,
    ) -> None:
        self.origin = origin
        self.path = path
        self.max_records = max_records
        self.rdclass = rdclass
        self._origin_text = origin.to_text()

    def _fail(
        self, message: str, reason: FailureReason = FailureReason.MALFORMED
    ) -> ZoneContentError:
        return ZoneContentError(f"{self.path}: {message}", str(self.path), reason)

    def _check_size(self, records: int) -> None:
        if self.max_records and records > self.max_records:
            raise self._fail(
                f"too many records (must not exceed {self.max_records})",
                FailureReason.TOO_LARGE,
            )

    def load(self) -> ZoneInfo | None:
        """The figures of the zone file, or None if there is none."""
        try:
            with self.path.open("rb") as file:
                head = file.read(_READ_BYTES)
                if b"\0" in head:
                    raise self._fail(
                        "not a text zone file (BIND writes secondary zones in raw "
                        "format unless masterfile-format is text)"
                    )
                lines = head.split(b"\n", HEADER_LINES + 1)
                if len(lines) > HEADER_LINES + 1 and self._is_ours(lines[0]):
                    soa = self._parse_soa(lines[2].decode())
                    count = head.count(b"\n")
                    size = len(head)
                    while chunk := file.read(_READ_BYTES):
                        count += chunk.count(b"\n")
                        size += len(chunk)
                    self._check_size(count - HEADER_LINES)
                    return zone_info(soa, count - HEADER_LINES, size)
            records, size = self._load_foreign()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as err:
            raise self._fail(f"not a text zone file: {err}") from err
        except OSError as err:
            raise store_error("reading", self.path, err) from err
        self._check_size(len(records))
        return zone_info(records[0], len(records), size)

    def _is_ours(self, first: bytes) -> bool:
        words = first.decode("utf-8", "replace").split()
        marker = MARKER.split()
        return (
            words[:2] == marker
            and len(words) == 5
            and words[2].lower() == self._origin_text.lower()
            and words[3] == "serial"
        )

    def _parse_line(self, line: str, lineno: int) -> Record:
        """One RR line of our own format."""
        try:
            owner, ttl, rdclass, rdtype, *rest = line.split(None, 4)
            if dns.rdataclass.from_text(rdclass) != self.rdclass:
                raise ValueError(
                    f"class {rdclass} in a class {class_text(self.rdclass)} zone"
                )
            rdata = dns.rdata.from_text(
                self.rdclass,
                rdtype,
                rest[0] if rest else "",
                origin=self.origin,
                relativize=False,
            )
            return dns.name.from_text(owner, self.origin), int(ttl), rdata
        except (dns.exception.DNSException, ValueError) as err:
            raise self._line_error(lineno, str(err) or type(err).__name__) from err

    def _line_error(self, lineno: int, message: str) -> ZoneContentError:
        return ZoneContentError(f"{self.path}:{lineno}: {message}", str(self.path))

    def _parse_soa(self, line: str) -> Record:
        """The SOA line of our own format, the first after the header."""
        record = self._parse_line(line, HEADER_LINES + 1)
        if record[2].rdtype != dns.rdatatype.SOA or record[0] != self.origin:
            raise self._line_error(HEADER_LINES + 1, "not the zone's SOA")
        return record

    def _load_foreign(self) -> tuple[list[Record], int]:
        """Any other text zone file, parsed by dnspython: its RRs (SOA first)
        and size. OSError passes."""
        try:
            size = self.path.stat().st_size
            zone = dns.zone.from_file(
                str(self.path), self.origin, self.rdclass, relativize=False
            )
        except dns.exception.DNSException as err:
            text = str(err) or type(err).__name__
            if not text.startswith(f"{self.path}:"):  # syntax errors have file:line
                text = f"{self.path}: {text}"
            raise ZoneContentError(text, str(self.path)) from err
        soa: list[Record] = []
        records: list[Record] = []
        for name, ttl, rdata in zone.iterate_rdatas():
            is_soa = rdata.rdtype == dns.rdatatype.SOA
            (soa if is_soa else records).append((name, ttl, rdata))
        return [*soa, *records], size

    def mtime(self) -> float | None:
        """The zone file's modification time (Unix seconds), None if missing."""
        try:
            return self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        except OSError as err:
            raise store_error("reading", self.path, err) from err

    def touch(self, at: float) -> None:
        """Set the file's times to `at`, as BIND does at each successful refresh."""
        try:
            os.utime(self.path, (at, at))
        except FileNotFoundError:
            return
        except OSError as err:
            raise store_error("setting the time of", self.path, err) from err

    def begin_axfr(self) -> ZoneWriter:
        """Start writing a full zone to a temporary file beside the target."""
        sink = _FileSink(self.path)
        return ZoneWriter(
            self.origin, self.rdclass, self.max_records, str(self.path), sink
        )

    def apply_ixfr(self, deltas: Sequence[IxfrDelta]) -> ZoneInfo:
        """Apply RFC 1995 difference sequences and publish the result atomically."""
        if not deltas:
            return self._require_loaded()
        plan = IxfrPlan(self.origin, self.rdclass, deltas, str(self.path))
        try:
            with self.path.open(encoding="utf-8") as src:
                lines = [src.readline() for _ in range(HEADER_LINES + 1)]
                if self._is_ours(lines[0].encode()) and lines[2].endswith("\n"):
                    return self._apply_streaming(plan, src, lines[2])
            records, _size = self._load_foreign()
        except FileNotFoundError as err:
            raise StoreError(
                f"{self.path}: no zone data to apply an IXFR to", str(self.path)
            ) from err
        except UnicodeDecodeError as err:
            raise self._fail(f"not a text zone file: {err}") from err
        except OSError as err:
            raise store_error("reading", self.path, err) from err
        result = plan.apply(records)
        writer = self.begin_axfr()
        writer.add(result)
        return writer.commit()

    def _require_loaded(self) -> ZoneInfo:
        info = self.load()
        if info is None:
            raise StoreError(
                f"{self.path}: no zone data to apply an IXFR to", str(self.path)
            )
        return info

    def _apply_streaming(self, plan: IxfrPlan, src: IO[str], soa_line: str) -> ZoneInfo:
        """Copy our own file to a temporary one, changing only the touched RRsets."""
        plan.check_serial(soa_rdata(self._parse_soa(soa_line)).serial)
        with AtomicFile(self.path) as out:
            out.write(header(self.origin, plan.new_soa) + render([plan.new_soa]))
            text_keys = plan.text_keys
            apex = self._origin_text.lower()
            held: list[Record] = []
            count = 1
            apex_ns = False
            for lineno, line in enumerate(src, start=HEADER_LINES + 2):
                parts = line.split(None, 4)
                if len(parts) < 4:
                    raise self._line_error(lineno, "not a resource record")
                owner = parts[0].lower()
                if (owner, parts[3]) in text_keys:
                    held.append(self._parse_line(line, lineno))
                    continue
                out.write(line if line.endswith("\n") else line + "\n")
                count += 1
                if parts[3] == "NS" and owner == apex:
                    apex_ns = True
            merged = plan.merge(held)
            count += len(merged)
            self._check_size(count)
            apex_ns = apex_ns or any(
                r[2].rdtype == dns.rdatatype.NS and r[0] == self.origin for r in merged
            )
            if not apex_ns:
                raise self._fail("has no NS records")
            out.write(render(merged))
            size = out.publish()
        return zone_info(plan.new_soa, count, size)

    def remove_stale_temp_files(self) -> int:
        """Remove this zone's temporary files left by a crash; return how many."""
        return remove_stale_temp_files(self.path)


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

    def remove_stale_temp_files(self) -> int:
        """Nothing to remove: a memory zone has no files."""
        return 0
