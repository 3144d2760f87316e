"""Zone data of a secondary zone: text zone files published atomically.

A zone with a `file` is written as a text master file that BIND's `named`
loads: a `; zonesync:` comment, `$ORIGIN`, then one RR per line with
absolute owner names, SOA first. A file is published the way BIND 9.18
dumps zones (`lib/dns/zone.c`, `isc_file_openunique()` then rename): a
temporary file beside the target, fsync, `os.replace`, fsync of the
directory, so the target is never a partial file. A zone without `file` is
kept in memory only, as BIND does.

Everything here blocks; the daemon calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.zone

from zonesync.errors import FailureReason, StoreError, ZoneContentError

Record = tuple[dns.name.Name, int, dns.rdata.Rdata]
"""One RR: absolute owner name, TTL, rdata (the class is `rdata.rdclass`)."""

_MARKER = "; zonesync: "
_HEADER_LINES = 2  # the marker comment and $ORIGIN
_TEMP_INFIX = ".zonesync-"
_TEMP_SUFFIX = ".tmp"
_TEMP_RANDOM_BYTES = 8
_FLUSH_CHARS = 1 << 20
_READ_BYTES = 1 << 20


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


@dataclass(frozen=True, slots=True)
class IxfrDelta:
    """One RFC 1995 difference sequence: delete these, then add those."""

    old_soa: Record
    deleted: tuple[Record, ...]
    new_soa: Record
    added: tuple[Record, ...]


def _soa_rdata(record: Record, where: str = "") -> dns.rdtypes.ANY.SOA.SOA:
    rdata = record[2]
    if not isinstance(rdata, dns.rdtypes.ANY.SOA.SOA):
        message = f"{record[0]} {_type_text(rdata.rdtype)} is not an SOA record"
        raise ZoneContentError(message, where)
    return rdata


def _info(soa: Record, records: int, size_bytes: int) -> ZoneInfo:
    rdata = _soa_rdata(soa)
    return ZoneInfo(
        serial=rdata.serial,
        refresh=rdata.refresh,
        retry=rdata.retry,
        expire=rdata.expire,
        minimum=rdata.minimum,
        records=records,
        size_bytes=size_bytes,
    )


@functools.cache
def _class_text(rdclass: int) -> str:
    return dns.rdataclass.to_text(dns.rdataclass.RdataClass.make(rdclass))


@functools.cache
def _type_text(rdtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))


def _render(records: Iterable[Record]) -> str:
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
            f"{owner} {ttl} {_class_text(rdata.rdclass)} "
            f"{_type_text(rdata.rdtype)} {text}\n"
        )
    return "".join(lines)


def _header(origin: dns.name.Name, soa: Record) -> str:
    origin_text = origin.to_text()
    serial = _soa_rdata(soa).serial
    return f"{_MARKER}{origin_text} serial {serial}\n$ORIGIN {origin_text}\n"


def _store_error(action: str, path: Path, err: OSError) -> StoreError:
    """`writing /var/cache/bind/x.db: No space left on device`."""
    reason = err.strerror or str(err)
    return StoreError(f"{action} {path}: {reason}", str(path))


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_temp_name(name: str, target: str) -> bool:
    """Whether `name` is one of our temporary files for the file `target`."""
    prefix = f".{target}{_TEMP_INFIX}"
    if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX)):
        return False
    middle = name[len(prefix) : -len(_TEMP_SUFFIX)]
    hexdigits = "0123456789abcdef"
    return len(middle) == 2 * _TEMP_RANDOM_BYTES and all(c in hexdigits for c in middle)


class _TempFile:
    """A new file beside `target`, published over it by an atomic rename."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._chunks: list[str] = []
        self._pending = 0
        self._size = 0
        while True:
            random = secrets.token_hex(_TEMP_RANDOM_BYTES)
            self.path = target.with_name(
                f".{target.name}{_TEMP_INFIX}{random}{_TEMP_SUFFIX}"
            )
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            try:
                # 0o644 less the umask, as BIND's isc_file_openunique().
                self._fd = os.open(self.path, flags, 0o644)
                return
            except FileExistsError:
                continue
            except FileNotFoundError as err:
                message = f"writing {target}: directory {target.parent} does not exist"
                raise StoreError(message, str(target)) from err
            except OSError as err:
                raise _store_error("writing", target, err) from err

    def write(self, text: str) -> None:
        self._chunks.append(text)
        self._pending += len(text)
        if self._pending >= _FLUSH_CHARS:
            self._flush()

    def _flush(self) -> None:
        data = "".join(self._chunks).encode()
        self._chunks.clear()
        self._pending = 0
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as err:
            raise _store_error("writing", self.target, err) from err
        self._size += len(data)

    def publish(self) -> int:
        """Sync the file, rename it onto the target, sync the directory."""
        self._flush()
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            self.path.replace(self.target)
        except OSError as err:
            raise _store_error("writing", self.target, err) from err
        try:
            _fsync_directory(self.target.parent)
        except OSError as err:
            raise _store_error("syncing directory of", self.target, err) from err
        return self._size

    def discard(self) -> None:
        """Close and remove the temporary file; never raises."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(OSError):
            self.path.unlink()


class _Sink(Protocol):
    def write(self, text: str, records: Sequence[Record]) -> None: ...
    def publish(self) -> int: ...
    def discard(self) -> None: ...


class _FileSink:
    def __init__(self, target: Path) -> None:
        self._file = _TempFile(target)

    def write(self, text: str, records: Sequence[Record]) -> None:
        self._file.write(text)

    def publish(self) -> int:
        return self._file.publish()

    def discard(self) -> None:
        self._file.discard()


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
        sink: _Sink,
    ) -> None:
        self._origin = origin
        self._rdclass = rdclass
        self._max_records = max_records
        self._where = where
        self._sink: _Sink | None = sink
        self._soa: Record | None = None
        self._count = 0
        self._apex_ns = False
        self._last_name: dns.name.Name | None = None

    def _fail(
        self, message: str, reason: FailureReason = FailureReason.MALFORMED
    ) -> ZoneContentError:
        return ZoneContentError(message, self._where, reason)

    def add(self, records: Sequence[Record]) -> None:
        """Check and write `records`; ZoneContentError if one is not acceptable."""
        sink = self._open_sink()
        done = False
        try:
            starting = self._count == 0
            self._check(records)
            text = _render(records)
            if starting and self._soa is not None:
                text = _header(self._origin, self._soa) + text
            sink.write(text, records)
            done = True
        finally:
            if not done:
                self.abort()

    def _check(self, records: Sequence[Record]) -> None:
        origin = self._origin
        rdclass = self._rdclass
        limit = self._max_records
        count = self._count
        last = self._last_name
        for name, ttl, rdata in records:
            count += 1
            if limit and count > limit:
                raise self._fail(
                    f"too many records (must not exceed {limit})",
                    FailureReason.TOO_LARGE,
                )
            if name is not last:
                if not name.is_subdomain(origin):
                    raise self._fail(f"out-of-zone data: {name} is not in {origin}")
                last = name
            if rdata.rdclass != rdclass:
                raise self._fail(
                    f"{name}: class {_class_text(rdata.rdclass)} record "
                    f"in a class {_class_text(rdclass)} zone"
                )
            rdtype = rdata.rdtype
            if rdtype == dns.rdatatype.SOA:
                if self._soa is not None:
                    raise self._fail(f"more than one SOA record (another at {name})")
                if name != origin:
                    raise self._fail(f"SOA record at {name}, not at the apex {origin}")
                if not isinstance(rdata, dns.rdtypes.ANY.SOA.SOA):
                    raise self._fail(f"{name}: SOA record of unknown form")
                self._soa = (name, ttl, rdata)
            elif count == 1:
                raise self._fail(
                    f"first record is not the SOA ({name} {_type_text(rdtype)})"
                )
            elif rdtype == dns.rdatatype.NS and not self._apex_ns and name == origin:
                self._apex_ns = True
        self._count = count
        self._last_name = last

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
        return _info(self._soa, self._count, size)

    def abort(self) -> None:
        """Discard what was written; idempotent, never raises."""
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.discard()

    def _open_sink(self) -> _Sink:
        if self._sink is None:
            raise RuntimeError("zone writer already committed or aborted")
        return self._sink


class _IxfrPlan:
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
                _soa_rdata(soa, where)
                if soa[0] != origin or soa[2].rdclass != rdclass:
                    raise ZoneContentError(f"IXFR SOA at {soa[0]}, not {origin}", where)
            for name, _ttl, rdata in (*delta.deleted, *delta.added):
                if not name.is_subdomain(origin):
                    raise ZoneContentError(
                        f"out-of-zone data: {name} is not in {origin}", where
                    )
                if rdata.rdclass != rdclass or rdata.rdtype == dns.rdatatype.SOA:
                    raise ZoneContentError(
                        f"IXFR difference holds {name} {_class_text(rdata.rdclass)} "
                        f"{_type_text(rdata.rdtype)}",
                        where,
                    )
                self.keys.add((name, rdata.rdtype))
        self.text_keys = {(n.to_text().lower(), _type_text(t)) for n, t in self.keys}
        self._where = where

    def check_serial(self, serial: int) -> None:
        """Each sequence must start from the serial the one before left."""
        for delta in self.deltas:
            old = _soa_rdata(delta.old_soa).serial
            if old != serial:
                raise ZoneContentError(
                    f"IXFR difference from serial {old} does not apply to serial {serial}",
                    self._where,
                )
            serial = _soa_rdata(delta.new_soa).serial

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
                    text = _render([(name, ttl, rdata)]).strip()
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
        self.check_serial(_soa_rdata(records[0]).serial)
        keep: list[Record] = []
        held: list[Record] = []
        for record in records[1:]:
            key = (record[0], record[2].rdtype)
            (held if key in self.keys else keep).append(record)
        return [self.new_soa, *keep, *self.merge(held)]


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
                lines = head.split(b"\n", _HEADER_LINES + 1)
                if len(lines) > _HEADER_LINES + 1 and self._is_ours(lines[0]):
                    soa = self._parse_soa(lines[2].decode())
                    count = head.count(b"\n")
                    size = len(head)
                    while chunk := file.read(_READ_BYTES):
                        count += chunk.count(b"\n")
                        size += len(chunk)
                    self._check_size(count - _HEADER_LINES)
                    return _info(soa, count - _HEADER_LINES, size)
            records, size = self._load_foreign()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as err:
            raise self._fail(f"not a text zone file: {err}") from err
        except OSError as err:
            raise _store_error("reading", self.path, err) from err
        self._check_size(len(records))
        return _info(records[0], len(records), size)

    def _is_ours(self, first: bytes) -> bool:
        words = first.decode("utf-8", "replace").split()
        marker = _MARKER.split()
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
                    f"class {rdclass} in a class {_class_text(self.rdclass)} zone"
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
        record = self._parse_line(line, _HEADER_LINES + 1)
        if record[2].rdtype != dns.rdatatype.SOA or record[0] != self.origin:
            raise self._line_error(_HEADER_LINES + 1, "not the zone's SOA")
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
            raise _store_error("reading", self.path, err) from err

    def touch(self, at: float) -> None:
        """Set the file's times to `at`, as BIND does at each successful refresh."""
        try:
            os.utime(self.path, (at, at))
        except FileNotFoundError:
            return
        except OSError as err:
            raise _store_error("setting the time of", self.path, err) from err

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
        plan = _IxfrPlan(self.origin, self.rdclass, deltas, str(self.path))
        try:
            with self.path.open(encoding="utf-8") as src:
                header = [src.readline() for _ in range(_HEADER_LINES + 1)]
                if self._is_ours(header[0].encode()) and header[2].endswith("\n"):
                    return self._apply_streaming(plan, src, header[2])
            records, _size = self._load_foreign()
        except FileNotFoundError as err:
            raise StoreError(
                f"{self.path}: no zone data to apply an IXFR to", str(self.path)
            ) from err
        except UnicodeDecodeError as err:
            raise self._fail(f"not a text zone file: {err}") from err
        except OSError as err:
            raise _store_error("reading", self.path, err) from err
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

    def _apply_streaming(
        self, plan: _IxfrPlan, src: IO[str], soa_line: str
    ) -> ZoneInfo:
        """Copy our own file to a temporary one, changing only the touched RRsets."""
        plan.check_serial(_soa_rdata(self._parse_soa(soa_line)).serial)
        out = _TempFile(self.path)
        done = False
        try:
            out.write(_header(self.origin, plan.new_soa) + _render([plan.new_soa]))
            text_keys = plan.text_keys
            apex = self._origin_text.lower()
            held: list[Record] = []
            count = 1
            apex_ns = False
            for lineno, line in enumerate(src, start=_HEADER_LINES + 2):
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
            out.write(_render(merged))
            size = out.publish()
            done = True
        finally:
            if not done:
                out.discard()
        return _info(plan.new_soa, count, size)

    def remove_stale_temp_files(self) -> int:
        """Remove this zone's temporary files left by a crash; return how many."""
        removed = 0
        try:
            entries = list(os.scandir(self.path.parent))
        except FileNotFoundError:
            return 0
        except OSError as err:
            raise _store_error("listing", self.path.parent, err) from err
        for entry in entries:
            if not _is_temp_name(entry.name, self.path.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                Path(entry.path).unlink()
            except FileNotFoundError:
                continue
            except OSError as err:
                raise _store_error("removing", Path(entry.path), err) from err
            removed += 1
        return removed


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
        self._zone._install(records, _info(records[0], len(records), self._size))
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
        result = _IxfrPlan(self.origin, self.rdclass, deltas, "").apply(self._records)
        writer = self.begin_axfr()
        writer.add(result)
        return writer.commit()

    def remove_stale_temp_files(self) -> int:
        """Nothing to remove: a memory zone has no files."""
        return 0
