"""The IXFR journal of a zone: difference sequences not yet in its zone file.

An IXFR makes its new serial durable by writing its RFC 1995 difference
sequences here, so the zone file can be rewritten afterwards, off the
transfer's path (issue 5; BIND and Knot journal an IXFR the same way). The
journal sits in the state directory, named like the state file with `.jnl`
(`state.journal_path`), never beside the zone file: BIND would load a
`<file>.jnl` next to a zone file as its own journal.

It is a text file, one RR per line as in our zone files, each line marked
`-` (deleted) or `+` (added); a sequence starts with its old SOA as `-` and
its new SOA as `+` opens its additions, as on the wire:

    ; zonesync journal 1 example.com. IN
    - example.com. 3600 IN SOA ns1.example.com. h.example.com. 1 3600 600 86400 300
    - www.example.com. 300 IN A 192.0.2.10
    + example.com. 3600 IN SOA ns1.example.com. h.example.com. 2 3600 600 86400 300
    + www.example.com. 300 IN A 192.0.2.12
    ; end 1 sequence(s), sha256 <hex digest of every line above>

It is replaced whole and atomically (`atomic.py`), so a crash leaves the old
journal or the new one; the closing line's digest rejects any other damage.

Everything here blocks; the daemon calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from zonesync.errors import ZoneContentError
from zonesync.store.atomic import AtomicFile, store_error
from zonesync.store.ixfr import IxfrPlan
from zonesync.store.records import IxfrDelta, Record, class_text, render, soa_rdata

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1
_MAGIC = "; zonesync journal"
_END = "; end "


def serial_chain(deltas: Sequence[IxfrDelta]) -> list[int]:
    """The serials the sequences go through: the first old one, then each new one."""
    if not deltas:
        return []
    return [soa_rdata(deltas[0].old_soa).serial] + [
        soa_rdata(d.new_soa).serial for d in deltas
    ]


def to_text(
    origin: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
    deltas: Sequence[IxfrDelta],
) -> str:
    """The journal's text for `deltas`."""
    lines = [f"{_MAGIC} {JOURNAL_VERSION} {origin.to_text()} {class_text(rdclass)}\n"]
    for delta in deltas:
        lines.extend(_marked("-", [delta.old_soa, *delta.deleted]))
        lines.extend(_marked("+", [delta.new_soa, *delta.added]))
    body = "".join(lines)
    digest = hashlib.sha256(body.encode()).hexdigest()
    return f"{body}{_END}{len(deltas)} sequence(s), sha256 {digest}\n"


def _marked(sign: str, records: Sequence[Record]) -> list[str]:
    return [f"{sign} {line}\n" for line in render(records).splitlines()]


def from_text(
    text: str,
    origin: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
    where: str = "",
) -> tuple[IxfrDelta, ...]:
    """The sequences of a journal's text; ValueError if it is not a whole,
    well-formed journal of this zone, or its sequences do not make a chain."""
    body, sep, last = text.rstrip("\n").rpartition("\n")
    if not sep or not last.startswith(_END):
        raise ValueError("no closing line (cut short?)")
    count_text, _, digest = last[len(_END) :].partition(" sequence(s), sha256 ")
    body += "\n"
    if hashlib.sha256(body.encode()).hexdigest() != digest:
        raise ValueError("checksum mismatch")
    lines = body.splitlines()
    expected = f"{_MAGIC} {JOURNAL_VERSION} {origin.to_text()} {class_text(rdclass)}"
    if lines[0] != expected:
        raise ValueError(f"header {lines[0]!r} is not {expected!r}")
    deltas = _sequences(lines[1:], origin, rdclass)
    if str(len(deltas)) != count_text:
        raise ValueError(
            f"{len(deltas)} sequence(s), the closing line says {count_text}"
        )
    if deltas:
        try:
            # SOAs at the apex, data in the zone and of its class, no SOA
            # among the differences, each sequence starting where the last ended.
            plan = IxfrPlan(origin, rdclass, deltas, where)
            plan.check_serial(soa_rdata(deltas[0].old_soa).serial)
        except ZoneContentError as err:
            raise ValueError(str(err)) from err
    return deltas


def _sequences(
    lines: list[str], origin: dns.name.Name, rdclass: dns.rdataclass.RdataClass
) -> tuple[IxfrDelta, ...]:
    deltas: list[IxfrDelta] = []
    old_soa: Record | None = None
    new_soa: Record | None = None
    deleted: list[Record] = []
    added: list[Record] = []
    for lineno, line in enumerate(lines, start=2):
        sign, record = line[:2], _parse(line[2:], lineno, origin, rdclass)
        is_soa = record[2].rdtype == dns.rdatatype.SOA
        if sign == "- " and is_soa:
            if old_soa is not None:
                if new_soa is None:
                    raise ValueError(f"line {lineno}: a sequence without a new SOA")
                deltas.append(IxfrDelta(old_soa, tuple(deleted), new_soa, tuple(added)))
            old_soa, new_soa, deleted, added = record, None, [], []
        elif old_soa is None:
            raise ValueError(f"line {lineno}: a sequence must start with its old SOA")
        elif sign == "- " and new_soa is None:
            deleted.append(record)
        elif sign == "+ " and is_soa and new_soa is None:
            new_soa = record
        elif sign == "+ " and new_soa is not None and not is_soa:
            added.append(record)
        else:
            raise ValueError(f"line {lineno}: out of place: {line!r}")
    if old_soa is not None:
        if new_soa is None:
            raise ValueError("the last sequence has no new SOA")
        deltas.append(IxfrDelta(old_soa, tuple(deleted), new_soa, tuple(added)))
    return tuple(deltas)


def _parse(
    line: str,
    lineno: int,
    origin: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
) -> Record:
    try:
        owner, ttl, rdclass_text, rdtype, *rest = line.split(None, 4)
        if dns.rdataclass.from_text(rdclass_text) != rdclass:
            raise ValueError(f"class {rdclass_text} in a {class_text(rdclass)} zone")
        rdata = dns.rdata.from_text(
            rdclass, rdtype, rest[0] if rest else "", origin=origin, relativize=False
        )
        return dns.name.from_text(owner, origin), int(ttl), rdata
    except (dns.exception.DNSException, ValueError) as err:
        raise ValueError(f"line {lineno}: {str(err) or type(err).__name__}") from err


def load_journal(
    path: Path, origin: dns.name.Name, rdclass: dns.rdataclass.RdataClass
) -> tuple[IxfrDelta, ...] | None:
    """The sequences journaled at `path`; None if there is no journal, or it
    cannot be used (with a warning: the caller discards it)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        log.warning("ignoring journal %s: %s", path, err.strerror or err)
        return None
    try:
        return from_text(data.decode(), origin, rdclass, str(path))
    except ValueError as err:  # UnicodeDecodeError too
        log.warning("ignoring journal %s: %s", path, err)
        return None


def dump_journal(
    path: Path,
    origin: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
    deltas: Sequence[IxfrDelta],
) -> None:
    """Store `deltas` at `path` atomically (none: remove the journal)."""
    if not deltas:
        remove_journal(path)
        return
    directory = path.parent
    try:
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as err:
        raise store_error("creating state directory", directory, err, path) from err
    with AtomicFile(path, 0o640, sync_action="writing") as out:
        out.write(to_text(origin, rdclass, deltas))
        out.publish()


def remove_journal(path: Path) -> None:
    """Remove the journal at `path`, if there is one, durably."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as err:
        raise store_error("removing", path, err) from err
    # The removal is only lost by a crash: the next start then finds a
    # journal its zone file has passed and discards it.
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
