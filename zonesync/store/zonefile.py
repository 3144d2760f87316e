"""Zone data of a secondary zone: text zone files published atomically.

A zone with a `file` is written as a text master file that BIND's `named`
loads (the format is in `records.py`), published atomically as BIND 9.18
dumps zones (see `atomic.py`), so the target is never a partial file. An
IXFR is first made durable in the zone's journal (`journal.py`) and merged
into the file afterwards (`rewrite()`), as BIND and Knot do. A zone without
`file` is kept in memory only, as BIND does (`memory.py`).

Everything here blocks; the daemon calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import IO

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.zone

from zonesync.errors import FailureReason, StoreError, ZoneContentError
from zonesync.names import NAME_PLAIN, name_text
from zonesync.store.atomic import AtomicFile, remove_stale_temp_files, store_error
from zonesync.store.ixfr import IxfrPlan
from zonesync.store.journal import (
    dump_journal,
    load_journal,
    remove_journal,
    serial_chain,
)
from zonesync.store.merge import copy_untouched
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

log = logging.getLogger(__name__)

__all__ = [
    "FileZone",
    "IxfrDelta",
    "Record",
    "Rewrite",
    "ZoneInfo",
    "ZoneWriter",
]

_READ_BYTES = 1 << 20
# What _fast_soa takes as it is: an absolute name of plain labels (as
# names.name_text prints them) of at most 255 octets in wire form.
_PLAIN_NAME = re.compile(
    rf"(?=.{{1,254}}$)(?:[{re.escape(NAME_PLAIN.decode())}]{{1,63}}\.)+|\."
)
# One lock per zone file path, held while the file (and with it the journal
# of what it lacks) is replaced: a zone restarted by a reconfig is a new
# FileZone, and must not publish while the old one's rewrite still runs.
_file_locks: dict[Path, threading.Lock] = {}
_file_locks_lock = threading.Lock()


def _file_lock(path: Path) -> threading.Lock:
    with _file_locks_lock:
        return _file_locks.setdefault(path, threading.Lock())


@dataclass(frozen=True, slots=True)
class Rewrite:
    """How one rewrite of a zone file from its journal ended."""

    from_serial: int  # the file's serial before
    to_serial: int  # the newest journaled serial, the file's after a success
    sequences: int  # difference sequences applied
    generation: int  # FileZone.generation when it started
    info: ZoneInfo | None  # the new file's figures; None if it failed
    error: ZoneContentError | None = None  # why the sequences do not apply


class _FileSink:
    def __init__(self, zone: FileZone) -> None:
        self._zone = zone
        self._file = AtomicFile(zone.path)

    def write(self, text: str, records: Sequence[Record]) -> None:
        self._file.write(text)  # never reads `records`: lines may be made lazily

    def publish(self) -> int:
        return self._zone._publish_full(self._file)

    def discard(self) -> None:
        self._file.discard()


class _FileZoneWriter(ZoneWriter):
    """A ZoneWriter that gives its FileZone the figures of the zone published."""

    def __init__(self, zone: FileZone) -> None:
        super().__init__(
            zone.origin, zone.rdclass, zone.max_records, str(zone.path), _FileSink(zone)
        )
        self._zone = zone

    def commit(self) -> ZoneInfo:
        """Check the zone as a whole and publish it atomically."""
        return self._zone._loaded(super().commit())


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
        self._origin_text = name_text(origin)
        self.journal: Path | None = None  # set by open_journal()
        # Guards the journal file and the fields below; never held while the
        # zone file is read or written, so an IXFR is journaled during a rewrite.
        self._journal_lock = threading.Lock()
        self._pending: tuple[IxfrDelta, ...] = ()  # journaled, not in the file
        self._file_info: ZoneInfo | None = None  # the file's, when known
        self._tip_info: ZoneInfo | None = None  # the newest version's
        self.generation = 0  # one more at each full zone published
        self.loaded_mtime: float | None = None  # the file's mtime when load() read it

    @functools.cached_property
    def _file_lock(self) -> threading.Lock:
        """Shared by every FileZone of this path (a reload makes new ones)."""
        return _file_lock(self.path)

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
        """The figures of the zone file, or None if there is none.

        Also notes the file's mtime in `loaded_mtime`, from the open file.
        """
        self.loaded_mtime = None
        try:
            # Unbuffered, and one read for a small file: at start this runs
            # once per zone (issue 5: a restart of 10,000 zones).
            with self.path.open("rb", buffering=0) as file:
                head, whole = self._read_head(file)
                if b"\0" in head:
                    raise self._fail(
                        "not a text zone file (BIND writes secondary zones in raw "
                        "format unless masterfile-format is text)"
                    )
                lines = head.split(b"\n", HEADER_LINES + 1)
                if len(lines) > HEADER_LINES + 1 and self._is_ours(lines[0]):
                    line = lines[2].decode()
                    fast = self._fast_soa(line)
                    soa = self._parse_soa(line) if fast is None else None
                    count = head.count(b"\n")
                    size = len(head)
                    while not whole and (chunk := file.read(_READ_BYTES)):
                        count += chunk.count(b"\n")
                        size += len(chunk)
                    held = count - HEADER_LINES
                    self._check_size(held)
                    if fast is None:
                        assert soa is not None
                        return self._loaded(zone_info(soa, held, size))
                    serial, refresh, retry, expire, minimum, text = fast
                    info = ZoneInfo(
                        serial,
                        refresh,
                        retry,
                        expire,
                        minimum,
                        held,
                        size,
                        soa_text=text,
                    )
                    return self._loaded(info)
            records, size = self._load_foreign()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as err:
            raise self._fail(f"not a text zone file: {err}") from err
        except OSError as err:
            raise store_error("reading", self.path, err) from err
        self._check_size(len(records))
        return self._loaded(zone_info(records[0], len(records), size))

    def _read_head(self, file: io.FileIO) -> tuple[bytes, bool]:
        """The file's first _READ_BYTES, and whether that is all of it.

        A regular file read whole by the first read needs no second read to
        find its end. Sets `loaded_mtime`.
        """
        stat = os.fstat(file.fileno())
        self.loaded_mtime = stat.st_mtime
        head = file.read(_READ_BYTES)
        whole = S_ISREG(stat.st_mode) and len(head) >= stat.st_size
        while not whole and len(head) < _READ_BYTES:  # a short read
            more = file.read(_READ_BYTES - len(head))
            if not more:
                return head, True
            head += more
        return head, whole

    def _loaded(self, info: ZoneInfo) -> ZoneInfo:
        with self._journal_lock:
            self._file_info = info
            if not self._pending:
                self._tip_info = info
        return info

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

    def _fast_soa(self, line: str) -> tuple[int, int, int, int, int, str] | None:
        """The SOA line as we write it, read without dnspython.

        `owner TTL CLASS SOA mname rname serial refresh retry expire
        minimum`, all plain: the five numbers and the rdata text, or None
        for anything else (`_parse_soa` then reads it, or says what is
        wrong). The names are checked, not made: a restart of 10,000 zones
        spent a tenth of its time making them (issue 5); `ZoneInfo.soa_rdata`
        makes them when an IXFR query needs them.
        """
        words = line.split()
        if (
            len(words) != 11
            or words[3] != "SOA"
            or words[0].lower() != self._origin_text.lower()
            or words[2] != class_text(self.rdclass)
            or not _PLAIN_NAME.fullmatch(words[4])
            or not _PLAIN_NAME.fullmatch(words[5])
        ):
            return None
        # The TTL and the five numbers, within dnspython's range: 32 bits.
        digits = (words[1], *words[6:])
        if not all(word.isascii() and word.isdigit() for word in digits):
            return None
        numbers = [int(word) for word in digits]
        if max(numbers) >= 1 << 32:
            return None
        serial, refresh, retry, expire, minimum = numbers[1:]
        return serial, refresh, retry, expire, minimum, " ".join(words[4:])

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
        return _FileZoneWriter(self)

    def apply_ixfr(self, deltas: Sequence[IxfrDelta]) -> ZoneInfo:
        """Apply RFC 1995 difference sequences and publish the result atomically."""
        with self._file_lock:
            return self._apply(deltas)

    def _apply(self, deltas: Sequence[IxfrDelta]) -> ZoneInfo:
        if not deltas:
            return self._require_loaded()
        plan = IxfrPlan(self.origin, self.rdclass, deltas, str(self.path))
        try:
            with self.path.open("rb") as src:
                lines = [src.readline() for _ in range(HEADER_LINES + 1)]
                if (
                    self._is_ours(lines[0])
                    and lines[2].endswith(b"\n")
                    and not any(b"\r" in line.replace(b"\r\n", b"") for line in lines)
                ):
                    soa_line = lines[2].decode()
                    return self._loaded(self._apply_streaming(plan, src, soa_line))
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
        with AtomicFile(self.path) as out:
            out.write(
                header(self.origin, soa_rdata(plan.new_soa).serial) + render(result)
            )
            self._check_size(len(result))
            if not any(
                r[2].rdtype == dns.rdatatype.NS and r[0] == self.origin for r in result
            ):
                raise self._fail("has no NS records")
            size = out.publish()
        return self._loaded(zone_info(plan.new_soa, len(result), size))

    def _require_loaded(self) -> ZoneInfo:
        info = self.load()
        if info is None:
            raise StoreError(
                f"{self.path}: no zone data to apply an IXFR to", str(self.path)
            )
        return info

    def _apply_streaming(
        self, plan: IxfrPlan, src: IO[bytes], soa_line: str
    ) -> ZoneInfo:
        """Copy our own file to a temporary one, changing only the touched
        RRsets (see `merge.py`)."""
        plan.check_serial(soa_rdata(self._parse_soa(soa_line)).serial)
        text_keys = plan.text_keys
        apex = self._origin_text.lower()
        with AtomicFile(self.path) as out:
            out.write(
                header(self.origin, soa_rdata(plan.new_soa).serial)
                + render([plan.new_soa])
            )
            held, copied, apex_ns = copy_untouched(
                src, out, text_keys, apex, self._parse_line, self._line_error
            )
            count = 1 + copied
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

    # -- the journal ---------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many journaled difference sequences the zone file lacks."""
        return len(self._pending)

    def _publish_full(self, out: AtomicFile) -> int:
        """Publish a full zone (an AXFR): it supersedes the journal."""
        with self._file_lock:
            size = out.publish()
            with self._journal_lock:
                self.generation += 1
                self._pending = ()
                self._file_info = self._tip_info = None  # the writer's commit sets them
                # After the rename: should the removal fail or a crash come
                # first, the next start finds the new file's serial outside
                # the journal's chain and discards it.
                if self.journal is not None:
                    try:
                        remove_journal(self.journal)
                    except StoreError as err:
                        log.warning("stale journal left: %s", err)
        return size

    def commit_ixfr(self, deltas: Sequence[IxfrDelta]) -> ZoneInfo:
        """Make the IXFR's sequences the zone's newest version.

        With a journal (open_journal()), they are checked as far as they can
        be without the zone's data (IxfrPlan: SOAs at the apex, data in the
        zone and of its class, no SOA among the differences, the chain from
        the newest version held) and journaled durably; `rewrite()` merges
        them into the file later. The figures returned count the records
        as if every deletion and addition applied; rewrite() makes them exact.
        Without a journal they are applied to the file at once.
        """
        if self.journal is None:
            return self.apply_ixfr(deltas)
        if self._tip_info is None:
            self._require_loaded()
        if not deltas:
            assert self._tip_info is not None
            return self._tip_info
        plan = IxfrPlan(self.origin, self.rdclass, deltas, str(self.path))
        with self._journal_lock:
            base = self._tip_info
            assert base is not None
            plan.check_serial(base.serial)
            records = base.records + sum(len(d.added) - len(d.deleted) for d in deltas)
            self._check_size(records)
            info = zone_info(plan.new_soa, records, base.size_bytes)
            pending = self._pending + tuple(deltas)
            dump_journal(self.journal, self.origin, self.rdclass, pending)
            self._pending = pending
            self._tip_info = info
        return info

    def open_journal(self, path: Path, info: ZoneInfo | None) -> Rewrite | None:
        """Use `path` as the zone's journal; replay onto the file what it holds.

        `info` is the file's, as load() gave it (None: no file). The
        sequences after the file's serial are applied and the journal is
        removed; one whose chain does not hold the file's serial is
        discarded with a warning. None when nothing was replayed. A replay
        that does not apply raises ZoneContentError (the journal is removed,
        the file kept).
        """
        with self._file_lock:
            self.journal = path
            if not os.path.lexists(path):
                return None  # the common case, without an error to raise
            deltas = load_journal(path, self.origin, self.rdclass)
            if not deltas:
                remove_journal(path)  # none, empty, or unusable (warned)
                return None
            chain = serial_chain(deltas)
            if info is None or info.serial not in chain:
                file_serial = "none" if info is None else str(info.serial)
                log.warning(
                    "ignoring journal %s: serials %d to %d, the zone file's is %s",
                    path,
                    chain[0],
                    chain[-1],
                    file_serial,
                )
                remove_journal(path)
                return None
            # A crash between a rewrite's rename and the journal's update
            # leaves a file past the chain's start: replay what it lacks.
            rest = deltas[chain.index(info.serial) :]
            new_info = None
            try:
                if rest:
                    new_info = self._apply(rest)
            except ZoneContentError:
                remove_journal(path)
                raise
            # Any other failure (StoreError) keeps the journal for the next start.
            remove_journal(path)
            if new_info is None:
                return None
            return Rewrite(
                info.serial, new_info.serial, len(rest), self.generation, new_info
            )

    def rewrite(self) -> Rewrite | None:
        """Merge every journaled sequence into the zone file and publish it.

        None when nothing is pending. Sequences journaled meanwhile stay for
        the next rewrite. If the sequences do not apply, the file is left
        as it was and the error returned: the caller decides (discard_journal()).
        """
        with self._file_lock:
            with self._journal_lock:
                pending, generation = self._pending, self.generation
            if not pending:
                return None
            assert self.journal is not None  # only commit_ixfr() makes it pending
            chain = serial_chain(pending)
            try:
                info = self._apply(pending)
            except ZoneContentError as err:
                return Rewrite(chain[0], chain[-1], len(pending), generation, None, err)
            with self._journal_lock:
                self._pending = self._pending[len(pending) :]
                if not self._pending:
                    self._tip_info = info
                try:
                    dump_journal(self.journal, self.origin, self.rdclass, self._pending)
                except StoreError as err:
                    # The file holds what was dropped; a stale journal is
                    # replayed from the file's serial at the next start.
                    log.warning("journal of %s not trimmed: %s", self.path, err)
            return Rewrite(chain[0], chain[-1], len(pending), generation, info)

    def discard_journal(self, generation: int) -> ZoneInfo | None:
        """Drop every journaled sequence, back to the file's version.

        Only if no full zone was published since `generation` (else None):
        that one superseded the journal already.
        """
        with self._file_lock, self._journal_lock:
            if self.generation != generation:
                return None
            self._pending = ()
            self._tip_info = self._file_info
            if self.journal is not None:
                remove_journal(self.journal)
            return self._file_info

    def remove_stale_temp_files(self) -> int:
        """Remove this zone's temporary files left by a crash; return how many."""
        return remove_stale_temp_files(self.path)
