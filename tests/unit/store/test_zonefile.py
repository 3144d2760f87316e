"""Zone files: atomic AXFR writes, validation, load(), IXFR application."""

from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

from tests.conftest import require_tool
from zonesync.errors import FailureReason, StoreError, ZoneContentError
from zonesync.store import atomic, merge, zonefile
from zonesync.store.ixfr import IxfrPlan
from zonesync.store.memory import MemoryZone
from zonesync.store.records import HEADER_LINES, header, render, render_text
from zonesync.store.zonefile import FileZone, IxfrDelta, Record, ZoneInfo

ORIGIN = dns.name.from_text("example.com.")


def rr(
    owner: str, rdtype: str, text: str, ttl: int = 300, rdclass: str = "IN"
) -> Record:
    """A record as a transfer delivers it: absolute names everywhere."""
    name = dns.name.from_text(owner, ORIGIN)
    rdata = dns.rdata.from_text(rdclass, rdtype, text, origin=ORIGIN, relativize=False)
    return name, ttl, rdata


def soa(serial: int) -> Record:
    return rr("@", "SOA", f"ns1 hostmaster {serial} 3600 600 86400 300", ttl=3600)


BASE = [
    soa(1),
    rr("@", "NS", "ns1", ttl=3600),
    rr("@", "NS", "ns2.example.net.", ttl=3600),
    rr("ns1", "A", "192.0.2.1"),
    rr("www", "A", "192.0.2.10"),
    rr("www", "A", "192.0.2.11"),
]

MANY_TYPES = [
    *BASE,
    rr("ns1", "AAAA", "2001:db8::1"),
    rr("@", "MX", "10 mail"),
    rr("mail", "A", "192.0.2.25"),
    rr("txt", "TXT", r'"quoted \"inner\" text" "back\\slash" "two words" ";semi"'),
    rr("_sip._tcp", "SRV", "10 60 5060 sip"),
    rr("sip", "AAAA", "2001:db8::5"),
    rr("@", "CAA", '0 issue "letsencrypt.org"'),
    rr("*.wild", "A", "192.0.2.99"),
    rr(r"odd\000\255\.dot\ space\"q", "A", "192.0.2.50"),
    rr("unknown", "TYPE65280", r"\# 2 abcd"),
    rr("alias", "CNAME", "www"),
    rr("sub", "NS", "ns.sub"),
    rr("ns.sub", "A", "192.0.2.53"),
]


def as_set(
    records: Iterable[Record],
) -> set[tuple[dns.name.Name, int, int, dns.rdata.Rdata]]:
    return {(n, t, r.rdtype, r) for n, t, r in records}


def file_records(path: Path) -> set[tuple[dns.name.Name, int, int, dns.rdata.Rdata]]:
    zone = dns.zone.from_file(str(path), ORIGIN, relativize=False)
    return as_set(zone.iterate_rdatas())


def write(zone: FileZone | MemoryZone, records: list[Record]) -> ZoneInfo:
    writer = zone.begin_axfr()
    writer.add(records)
    return writer.commit()


def temp_files(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def zone(tmp_path: Path) -> FileZone:
    return FileZone(ORIGIN, tmp_path / "example.com.db")


@pytest.fixture
def published(zone: FileZone) -> bytes:
    """The zone holds BASE; returns the file's bytes."""
    write(zone, BASE)
    return zone.path.read_bytes()


# --- AXFR writes -----------------------------------------------------------


def test_axfr_round_trips_through_dnspython(zone: FileZone) -> None:
    info = write(zone, MANY_TYPES)
    assert file_records(zone.path) == as_set(MANY_TYPES)
    text = zone.path.read_text()
    assert info == ZoneInfo(1, 3600, 600, 86400, 300, len(MANY_TYPES), len(text))
    lines = text.splitlines()
    assert lines[0] == "; zonesync: example.com. serial 1"
    assert lines[2].startswith("example.com. 3600 IN SOA ")
    assert "unknown.example.com. 300 IN TYPE65280 \\# 2 abcd" in lines
    assert temp_files(zone.path.parent) == []


def test_axfr_file_passes_named_checkzone(zone: FileZone) -> None:
    checkzone = require_tool("named-checkzone")
    write(zone, MANY_TYPES)
    result = subprocess.run(
        # -k warn: BIND's check-names default for secondary zones.
        [checkzone, "-q", "-k", "warn", "example.com", str(zone.path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_axfr_streams_in_batches_and_relative_rdata_names_resolve(
    zone: FileZone,
) -> None:
    relative = (
        dns.name.from_text("mx", ORIGIN),
        300,
        dns.rdata.from_text("IN", "MX", "10 mail", origin=ORIGIN),  # relative name
    )
    writer = zone.begin_axfr()
    writer.add([])
    for record in [*BASE, relative]:
        writer.add([record])
    assert writer.commit().records == len(BASE) + 1
    assert rr("mx", "MX", "10 mail")[2] in {r for _, _, _, r in file_records(zone.path)}


def test_axfr_replaces_existing_file(zone: FileZone, published: bytes) -> None:
    info = write(zone, [soa(2), *BASE[1:3]])
    assert info.serial == 2
    assert info.records == 3
    assert zone.load() == info


def test_file_mode_follows_umask_like_bind(zone: FileZone) -> None:
    old = os.umask(0o022)
    try:
        write(zone, BASE)
    finally:
        os.umask(old)
    assert zone.path.stat().st_mode & 0o777 == 0o644


# --- atomicity -------------------------------------------------------------


def enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def check_intact(zone: FileZone, before: bytes) -> None:
    assert zone.path.read_bytes() == before
    assert temp_files(zone.path.parent) == []


def replace_line(zone: FileZone, published: bytes, number: int, line: str) -> None:
    """Rewrite the published file with line `number` (from 1) replaced by `line`."""
    lines = published.decode().splitlines(keepends=True)
    lines[number - 1] = line
    zone.path.write_text("".join(lines))


def test_failure_mid_write_leaves_old_file(
    zone: FileZone, published: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic, "_FLUSH_CHARS", 1)
    monkeypatch.setattr(os, "write", enospc)
    writer = zone.begin_axfr()
    with pytest.raises(StoreError) as info:
        writer.add([soa(2), *BASE[1:]])
    assert str(info.value) == f"writing {zone.path}: No space left on device"
    assert info.value.path == str(zone.path)
    assert info.value.reason is FailureReason.STORE
    check_intact(zone, published)
    writer.abort()  # idempotent after the failure


@pytest.mark.parametrize("call", ["fsync", "replace"])
def test_failure_at_publish_leaves_old_file(
    zone: FileZone, published: bytes, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    writer = zone.begin_axfr()
    writer.add([soa(2), *BASE[1:]])
    monkeypatch.setattr(os, call, enospc)
    with pytest.raises(StoreError, match=r"No space left on device") as info:
        writer.commit()
    assert str(zone.path) in str(info.value)
    monkeypatch.undo()
    check_intact(zone, published)


def test_abort_removes_temp_file_and_is_idempotent(
    zone: FileZone, published: bytes
) -> None:
    writer = zone.begin_axfr()
    writer.add(BASE)
    assert len(temp_files(zone.path.parent)) == 1
    writer.abort()
    writer.abort()
    check_intact(zone, published)
    with pytest.raises(RuntimeError):
        writer.add(BASE)


def test_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    zone = FileZone(ORIGIN, tmp_path / "nope" / "example.com.db")
    with pytest.raises(StoreError) as info:
        zone.begin_axfr()
    assert str(info.value) == (
        f"writing {zone.path}: directory {tmp_path / 'nope'} does not exist"
    )
    assert zone.load() is None
    assert zone.mtime() is None
    assert zone.remove_stale_temp_files() == 0


def test_remove_stale_temp_files_only_this_zones(zone: FileZone) -> None:
    directory = zone.path.parent
    ours = [f".example.com.db.zonesync-{i:016x}.tmp" for i in (1, 2)]
    others = [
        ".example.com.db2.zonesync-0000000000000001.tmp",  # another zone
        ".example.com.db.zonesync-other.zonesync-0000000000000001.tmp",
        ".example.com.db.zonesync-xyz.tmp",
        "example.com.db.zonesync-0000000000000001.tmp",
    ]
    for name in ours + others:
        (directory / name).write_text("partial")
    (directory / ".example.com.db.zonesync-0000000000000003.tmp").mkdir()
    assert zone.remove_stale_temp_files() == 2
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [*others, ".example.com.db.zonesync-0000000000000003.tmp"]
    )


# --- validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([], "has no SOA record"),
        ([*BASE[1:], soa(2)], "first record is not the SOA"),
        ([*BASE, soa(2)], "more than one SOA record"),
        (
            [rr("sub", "SOA", "ns1 h 1 2 3 4 5"), *BASE[1:]],
            "SOA record at sub.example.com., not at the apex",
        ),
        (
            [*BASE, rr("www.example.org.", "A", "192.0.2.1")],
            "out-of-zone data: www.example.org.",
        ),
        (
            [*BASE, rr("ch", "TXT", '"x"', rdclass="CH")],
            "class CH record in a class IN zone",
        ),
        ([soa(2), rr("www", "A", "192.0.2.1")], "has no NS records"),
    ],
)
def test_invalid_zone_is_rejected_and_old_file_kept(
    zone: FileZone, published: bytes, records: list[Record], message: str
) -> None:
    with pytest.raises(ZoneContentError, match=message) as info:
        write(zone, records)
    assert info.value.reason is FailureReason.MALFORMED
    check_intact(zone, published)


def test_max_records_stops_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = FileZone(ORIGIN, tmp_path / "example.com.db", max_records=5)
    writer = zone.begin_axfr()
    writer.add(BASE[:5])
    rendered: list[int] = []

    def spy(records: list[Record]) -> str:
        rendered.append(len(records))
        return render_text(records)

    monkeypatch.setattr("zonesync.store.writer.render_text", spy)
    with pytest.raises(
        ZoneContentError, match=r"too many records \(must not exceed 5\)"
    ) as info:
        writer.add([BASE[5]] * 1000)
    assert info.value.reason is FailureReason.TOO_LARGE
    assert rendered == []  # nothing of the bad batch was written
    assert not zone.path.exists()
    assert temp_files(tmp_path) == []
    assert write(FileZone(ORIGIN, zone.path, max_records=6), BASE).records == 6


# --- load() ----------------------------------------------------------------


def test_load_our_file_reads_the_soa_and_counts(
    zone: FileZone, published: bytes
) -> None:
    info = zone.load()
    assert info == ZoneInfo(1, 3600, 600, 86400, 300, len(BASE), len(published))
    assert FileZone(ORIGIN, zone.path, max_records=len(BASE)).load() == info
    with pytest.raises(ZoneContentError) as too_large:
        FileZone(ORIGIN, zone.path, max_records=len(BASE) - 1).load()
    assert too_large.value.reason is FailureReason.TOO_LARGE


BIND_STYLE = """\
$ORIGIN example.com.
$TTL 3600
@   IN SOA ns1 hostmaster (
        2026112101 ; serial
        7200 900 1209600 60 )
    IN NS ns1
ns1 IN A 192.0.2.1
www 300 IN A 192.0.2.10
$ORIGIN sub.example.com.
host IN AAAA 2001:db8::2
"""


def test_load_bind_style_file(zone: FileZone) -> None:
    zone.path.write_text(BIND_STYLE)
    assert zone.load() == ZoneInfo(
        2026112101, 7200, 900, 1209600, 60, 5, len(BIND_STYLE)
    )


def test_load_missing_file_is_none(zone: FileZone) -> None:
    assert zone.load() is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BIND_STYLE.replace("A 192.0.2.1\n", "A 192.0.2\n"),
            r"db:\d+: Text input is malformed",
        ),
        (BIND_STYLE.replace("$TTL 3600", "$TTL"), r"db:\d+: bad \$TTL"),
        ("$TTL 60\nwww IN A 192.0.2.1\n", "no SOA"),
        ("\0\0\0\x02\0\0\0\x01binary", "not a text zone file .*masterfile-format"),
        ("\xff\xfe garbage\n", "not a text zone file"),
    ],
)
def test_load_broken_file(zone: FileZone, text: str, message: str) -> None:
    zone.path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ZoneContentError, match=message) as info:
        zone.load()
    assert info.value.path == str(zone.path)
    assert str(info.value).startswith(str(zone.path))
    assert "Traceback" not in str(info.value)


def test_load_our_file_with_a_broken_soa_line(zone: FileZone, published: bytes) -> None:
    replace_line(zone, published, 3, "example.com. 3600 IN SOA ns1 broken\n")
    with pytest.raises(ZoneContentError, match=rf"^{zone.path}:3: "):
        zone.load()


def test_unreadable_file_is_a_store_error(zone: FileZone) -> None:
    zone.path.mkdir()
    with pytest.raises(StoreError, match=rf"^reading {zone.path}: Is a directory$"):
        zone.load()


# --- mtime / touch ---------------------------------------------------------


def test_touch_sets_mtime(zone: FileZone) -> None:
    assert zone.mtime() is None
    zone.touch(1_700_000_000.5)  # no file: nothing to do
    assert not zone.path.exists()
    write(zone, BASE)
    zone.touch(1_700_000_000.5)
    assert zone.mtime() == 1_700_000_000.5


def test_memory_zone_mtime() -> None:
    zone = MemoryZone(ORIGIN)
    assert zone.mtime() is None
    zone.touch(100.0)
    assert zone.mtime() is None
    write(zone, BASE)
    assert zone.mtime() is not None
    zone.touch(100.0)
    assert zone.mtime() == 100.0
    assert zone.remove_stale_temp_files() == 0


# --- IXFR ------------------------------------------------------------------


def delta(
    old: int, new: int, deleted: Iterable[Record] = (), added: Iterable[Record] = ()
) -> IxfrDelta:
    return IxfrDelta(soa(old), tuple(deleted), soa(new), tuple(added))


def file_zone(tmp_path: Path) -> FileZone:
    zone = FileZone(ORIGIN, tmp_path / "example.com.db")
    write(zone, BASE)
    return zone


def memory_zone(tmp_path: Path) -> MemoryZone:
    zone = MemoryZone(ORIGIN)
    write(zone, BASE)
    return zone


def foreign_file_zone(tmp_path: Path) -> FileZone:
    """A zone file another program wrote, relative names and all."""
    zone = FileZone(ORIGIN, tmp_path / "example.com.db")
    zone.path.write_text(
        "$ORIGIN example.com.\n$TTL 3600\n"
        "@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
        "@ NS ns1\n@ NS ns2.example.net.\nns1 300 A 192.0.2.1\n"
        "www 300 A 192.0.2.10\nwww 300 A 192.0.2.11\n"
    )
    return zone


Factory = Callable[[Path], FileZone | MemoryZone]
ZONES = pytest.mark.parametrize("make", [file_zone, memory_zone, foreign_file_zone])


def contents(
    zone: FileZone | MemoryZone,
) -> set[tuple[dns.name.Name, int, int, dns.rdata.Rdata]]:
    if isinstance(zone, MemoryZone):
        assert zone.records[0][2].rdtype == dns.rdatatype.SOA
        return as_set(zone.records)
    lines = zone.path.read_text().splitlines()
    assert lines[0].startswith("; zonesync: example.com. serial ")
    assert " SOA " in lines[2]
    return file_records(zone.path)


def snapshot(zone: FileZone | MemoryZone) -> object:
    return zone.path.read_bytes() if isinstance(zone, FileZone) else zone.records


@ZONES
def test_ixfr_adds_deletes_and_changes_soa(tmp_path: Path, make: Factory) -> None:
    zone = make(tmp_path)
    added = [rr("new", "A", "192.0.2.7"), rr("www", "A", "192.0.2.12")]
    info = zone.apply_ixfr([delta(1, 2, [BASE[4]], added)])
    expected = [soa(2), *BASE[1:4], BASE[5], *added]
    assert contents(zone) == as_set(expected)
    assert info.serial == 2
    assert info.records == len(expected)
    assert zone.load() == info


@ZONES
def test_ixfr_several_deltas_in_a_row(tmp_path: Path, make: Factory) -> None:
    zone = make(tmp_path)
    a, b = rr("a", "A", "192.0.2.100"), rr("b", "TXT", '"b"')
    deltas = [
        delta(1, 2, [], [a]),
        delta(2, 3, [a, BASE[3]], [b]),
        delta(3, 4, [], [a, rr("ns1", "A", "192.0.2.1", ttl=60)]),
    ]
    info = zone.apply_ixfr(deltas)
    expected = [
        soa(4),
        *BASE[1:3],
        rr("ns1", "A", "192.0.2.1", ttl=60),
        *BASE[4:],
        a,
        b,
    ]
    assert contents(zone) == as_set(expected)
    assert info.serial == 4


@ZONES
def test_ixfr_matches_names_case_insensitively_and_ignores_ttl(
    tmp_path: Path, make: Factory
) -> None:
    zone = make(tmp_path)
    upper = rr("WWW.Example.COM.", "A", "192.0.2.10", ttl=9999)
    ns_upper = rr("@", "NS", "NS1.EXAMPLE.COM.", ttl=1)
    zone.apply_ixfr([delta(1, 2, [upper, ns_upper])])
    assert contents(zone) == as_set([soa(2), BASE[2], BASE[3], BASE[5]])


@ZONES
def test_ixfr_add_of_present_record_is_ignored(tmp_path: Path, make: Factory) -> None:
    zone = make(tmp_path)
    info = zone.apply_ixfr([delta(1, 2, [], [rr("WWW", "A", "192.0.2.10")])])
    assert info.records == len(BASE)
    assert contents(zone) == as_set([soa(2), *BASE[1:]])


@ZONES
@pytest.mark.parametrize(
    ("deltas", "message"),
    [
        (
            [delta(1, 2, [rr("www", "A", "192.0.2.99")])],
            "deletes a record the zone does not hold: www.example.com. 300 IN A 192.0.2.99",
        ),
        ([delta(7, 8)], "IXFR difference from serial 7 does not apply to serial 1"),
        ([delta(1, 2), delta(3, 4)], "from serial 3 does not apply to serial 2"),
        ([delta(1, 2, [BASE[1], BASE[2]])], "has no NS records"),
        (
            [delta(1, 2, [], [rr("x.example.org.", "A", "192.0.2.1")])],
            "out-of-zone data",
        ),
        ([delta(1, 2, [], [soa(5)])], "IXFR difference holds example.com. IN SOA"),
        (
            [IxfrDelta(soa(1), (), rr("sub", "SOA", "a b 2 1 1 1 1"), ())],
            "IXFR SOA at sub.example.com.",
        ),
    ],
)
def test_bad_ixfr_leaves_data_intact(
    tmp_path: Path, make: Factory, deltas: list[IxfrDelta], message: str
) -> None:
    zone = make(tmp_path)
    before = snapshot(zone)
    with pytest.raises(ZoneContentError, match=message) as info:
        zone.apply_ixfr(deltas)
    assert info.value.reason is FailureReason.MALFORMED
    assert snapshot(zone) == before
    if isinstance(zone, FileZone):
        assert temp_files(zone.path.parent) == []


@ZONES
def test_ixfr_result_over_max_records(tmp_path: Path, make: Factory) -> None:
    zone = make(tmp_path)
    zone.max_records = len(BASE)
    with pytest.raises(ZoneContentError, match="too many records") as info:
        zone.apply_ixfr([delta(1, 2, [], [rr("one", "A", "192.0.2.1")])])
    assert info.value.reason is FailureReason.TOO_LARGE
    zone.apply_ixfr([delta(1, 2, [BASE[4]], [rr("one", "A", "192.0.2.1")])])


def test_ixfr_rewrites_a_foreign_file_in_our_format(tmp_path: Path) -> None:
    zone = foreign_file_zone(tmp_path)
    zone.apply_ixfr([delta(1, 2)])
    assert zone.path.read_text().startswith("; zonesync: example.com. serial 2\n")


def test_ixfr_publish_failure_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = file_zone(tmp_path)
    before = zone.path.read_bytes()
    monkeypatch.setattr(os, "replace", enospc)
    with pytest.raises(StoreError, match=rf"^writing {zone.path}: No space left"):
        zone.apply_ixfr([delta(1, 2, [BASE[4]])])
    monkeypatch.undo()
    check_intact(zone, before)


def test_ixfr_without_data(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no zone data to apply an IXFR to"):
        FileZone(ORIGIN, tmp_path / "x.db").apply_ixfr([])
    with pytest.raises(StoreError, match="no zone data to apply an IXFR to"):
        FileZone(ORIGIN, tmp_path / "x.db").apply_ixfr([delta(1, 2)])
    with pytest.raises(StoreError, match="no zone data to apply an IXFR to"):
        MemoryZone(ORIGIN).apply_ixfr([delta(1, 2)])


@ZONES
def test_ixfr_without_deltas_changes_nothing(tmp_path: Path, make: Factory) -> None:
    zone = make(tmp_path)
    assert zone.apply_ixfr([]) == zone.load()


def test_load_counts_past_the_first_read(
    zone: FileZone, published: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zonefile, "_READ_BYTES", 200)  # the SOA line still fits
    assert zone.load() == ZoneInfo(1, 3600, 600, 86400, 300, len(BASE), len(published))


def test_load_notes_the_mtime_of_the_file_it_read(
    zone: FileZone, published: bytes
) -> None:
    assert zone.load() is not None
    assert zone.loaded_mtime == zone.path.stat().st_mtime
    os.utime(zone.path, (1_700_000_000.5, 1_700_000_000.5))
    assert zone.loaded_mtime != 1_700_000_000.5  # noted by load(), not kept up
    zone.load()
    assert zone.loaded_mtime == 1_700_000_000.5
    zone.path.unlink()
    assert zone.load() is None
    assert zone.loaded_mtime is None


def test_read_head_keeps_reading_after_a_short_read(
    zone: FileZone, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipe hands out what it holds per read: the head is filled up."""
    monkeypatch.setattr(zonefile, "_READ_BYTES", 300_000)
    data = b"".join(b"line %d\n" % n for n in range(40_000))  # about 350 kB
    pipe_out, pipe_in = os.pipe()
    writer = threading.Thread(target=_write_all, args=(pipe_in, data))
    writer.start()
    try:
        with io.FileIO(pipe_out, "rb") as file:
            head, whole = zone._read_head(file)
            rest = file.read()
    finally:
        writer.join()
    assert (len(head), whole) == (300_000, False)
    assert head + rest == data

    pipe_out, pipe_in = os.pipe()
    writer = threading.Thread(target=_write_all, args=(pipe_in, data[:100_000]))
    writer.start()
    try:
        with io.FileIO(pipe_out, "rb") as file:
            assert zone._read_head(file) == (data[:100_000], True)  # to its end
    finally:
        writer.join()


def _write_all(fd: int, data: bytes) -> None:
    with io.FileIO(fd, "wb") as pipe:
        view = memoryview(data)
        while view:
            view = view[pipe.write(view[:4096]) :]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("www.example.com. 300 IN A 192.0.2.1\n", ":3: not the zone's SOA"),
        (
            "example.com. 3600 CH SOA ns1 h 1 1 1 1 1\n",
            ":3: class CH in a class IN zone",
        ),
    ],
)
def test_load_our_file_whose_third_line_is_not_the_soa(
    zone: FileZone, published: bytes, line: str, message: str
) -> None:
    replace_line(zone, published, 3, line)
    with pytest.raises(ZoneContentError, match=f"^{zone.path}{message}$"):
        zone.load()
    with pytest.raises(ZoneContentError, match=f"^{zone.path}{message}$"):
        zone.apply_ixfr([delta(1, 2)])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("www.example.com. 300 IN\n", ":5: not a resource record"),
        ("www.example.com.\n", ":5: not a resource record"),
        ("www.example.com. 300 IN A 192.0.2\n", ":5: "),
    ],
)
def test_ixfr_on_a_damaged_file_of_ours(
    zone: FileZone, published: bytes, line: str, message: str
) -> None:
    replace_line(zone, published, 5, line)
    before = zone.path.read_bytes()
    with pytest.raises(ZoneContentError, match=f"^{zone.path}{message}"):
        zone.apply_ixfr([delta(1, 2, [BASE[4]])])
    check_intact(zone, before)


def test_ixfr_on_an_unreadable_file(zone: FileZone) -> None:
    zone.path.mkdir()
    with pytest.raises(StoreError, match=rf"^reading {zone.path}: Is a directory$"):
        zone.apply_ixfr([delta(1, 2)])
    with pytest.raises(StoreError, match=rf"^reading {zone.path}: Is a directory$"):
        zone.apply_ixfr([])


@pytest.mark.parametrize(
    "line",
    [
        "example.com. 300 IN SOA ns.example.com. host.example.com. 42 7200 1000 86400 300",
        "EXAMPLE.com. 0 IN SOA . . 0 0 0 0 0",
        "example.com. 300 IN SOA a\\.b.example.com. h\\032x.example. 1 2 3 4 5",
        "example.com. 4294967295 IN SOA ns. h. 4294967295 2147483647 1 1 1",
        "example.com. 300 IN SOA ns. h. 4294967296 1 1 1 1",
        "example.com. 300 IN SOA ns. h. 1 4294967296 1 1 1",
        "example.com. 300 CH SOA ns. h. 1 1 1 1 1",
        "other.com. 300 IN SOA ns. h. 1 1 1 1 1",
        "example.com. 300 IN SOA ns. h. 1 1 1 1",
        "example.com. 300 IN SOA ns. h. 1 1 1 1 1h",
        "example.com. 300 IN SOA ns. h. 1 1 1 1 \u0661",
        "example.com. 4294967296 IN SOA ns. h. 1 1 1 1 1",
        "example.com. 300 IN SOA ns..x. h. 1 1 1 1 1",
        "example.com. 300 IN SOA ns h. 1 1 1 1 1",
        "example.com. 300 IN SOA $.x. h. 1 1 1 1 1",
        f"example.com. 300 IN SOA {'a' * 63}.x. h. 1 1 1 1 1",
        f"example.com. 300 IN SOA {'a' * 64}.x. h. 1 1 1 1 1",
        f"example.com. 300 IN SOA {'a.' * 127} h. 1 1 1 1 1",
        f"example.com. 300 IN SOA {'a.' * 128} h. 1 1 1 1 1",
    ],
)
def test_fast_soa_reads_what_dnspython_reads(tmp_path, line):
    zone = FileZone(ORIGIN, tmp_path / "z.db")
    try:
        slow = zone._parse_line(line, 3)
    except ZoneContentError:
        slow = None
    fast = zone._fast_soa(line)
    # the fast path reads the lines we write, and reads them exactly as dnspython
    if line.startswith(
        ("example.com. 300 IN SOA ns.example", "EXAMPLE", "example.com. 4294967295")
    ) or ("a" * 63 in line and "a" * 64 not in line):
        assert fast is not None
    if fast is None:
        return
    assert slow is not None
    rdata = slow[2]
    numbers = (rdata.serial, rdata.refresh, rdata.retry, rdata.expire, rdata.minimum)
    assert fast[:5] == numbers
    # the names are made only when needed, and then as dnspython makes them
    lazy = ZoneInfo(*fast[:5], 1, 1, soa_text=fast[5]).soa_rdata()
    assert lazy == rdata
    assert lazy.mname.labels == rdata.mname.labels
    assert lazy.rname.labels == rdata.rname.labels


# --- the rewrite in blocks --------------------------------------------------


def test_ixfr_copies_an_untouched_damaged_line_as_it_is(
    zone: FileZone, published: bytes
) -> None:
    # Only the lines of the touched RRsets are read as RRs, as load() reads none.
    replace_line(zone, published, 5, "garbage\n")
    zone.apply_ixfr([delta(1, 2, [BASE[4]])])
    assert zone.path.read_text().splitlines()[4] == "garbage"


def line_by_line(text: str, deltas: list[IxfrDelta]) -> str:
    """The rewrite as it was before it read in blocks: every line split."""
    plan = IxfrPlan(ORIGIN, dns.rdataclass.IN, deltas, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    held: list[Record] = []
    kept: list[str] = []
    for line in lines[HEADER_LINES + 1 :]:
        owner, ttl, rdclass, rdtype, rest = line.split(None, 4)
        if (owner.lower(), rdtype) not in plan.text_keys:
            kept.append(line + "\n")
            continue
        rdata = dns.rdata.from_text(rdclass, rdtype, rest, ORIGIN, relativize=False)
        held.append((dns.name.from_text(owner), int(ttl), rdata))
    new_soa = [plan.new_soa]
    return (
        header(ORIGIN, plan.new_soa[2].serial)
        + render(new_soa)
        + "".join(kept)
        + (render(plan.merge(held)))
    )


def big_zone(zone: FileZone) -> list[Record]:
    """About 2,000 RRs; every fifth owner in upper case in the file."""
    records = [soa(1), *BASE[1:3]]
    for i in range(600):
        records.append(rr(f"h{i}", "A", f"192.0.2.{i % 250}"))
        records.append(rr(f"h{i}", "A", f"198.51.100.{i % 250}"))
        records.append(rr(f"h{i}", "TXT", f'"text {i}"'))
        if i % 3 == 0:
            records.append(rr(f"b.h{i}", "AAAA", f"2001:db8::{i:x}"))
    write(zone, records)
    lines = zone.path.read_text().split("\n")
    for n, line in enumerate(lines):
        if line.startswith("h") and int(line.split(".")[0][1:]) % 5 == 0:
            owner, rest = line.split(" ", 1)
            lines[n] = f"{owner.upper()} {rest}"
    zone.path.write_text("\n".join(lines))
    return records


def big_deltas() -> list[IxfrDelta]:
    first = delta(
        1,
        2,
        [rr(f"H{i}", "A", f"192.0.2.{i % 250}") for i in range(0, 600, 37)],
        [rr(f"h{i}", "A", "203.0.113.1") for i in range(0, 600, 37)]
        + [rr(f"new{i}", "A", "203.0.113.2") for i in range(5)],
    )
    second = delta(
        2,
        3,
        [rr(f"h{i}", "TXT", f'"text {i}"') for i in range(5, 600, 41)]
        + [rr(f"b.h{i}", "AAAA", f"2001:db8::{i:x}") for i in range(0, 600, 99)],
        [rr(f"h{i}", "TXT", '"changed"') for i in range(5, 600, 41)]
        + [rr("@", "NS", "ns3.example.net.", ttl=3600)],
    )
    return [first, second]


@pytest.mark.parametrize("block_bytes", [7, 100, 4096, 1 << 20])
@pytest.mark.parametrize("ending", ["\n", "", "\r\n"])
def test_ixfr_in_blocks_writes_what_the_line_by_line_merge_wrote(
    zone: FileZone, monkeypatch: pytest.MonkeyPatch, block_bytes: int, ending: str
) -> None:
    monkeypatch.setattr(merge, "_MERGE_BYTES", block_bytes)
    big_zone(zone)
    text = zone.path.read_text()
    if ending != "\n":  # no newline after the last line, or \r\n after each
        text = text.rstrip("\n").replace("\n", ending or "\n") + ending
        zone.path.write_bytes(text.encode())
    deltas = big_deltas()
    expected = line_by_line(text, deltas)
    info = zone.apply_ixfr(deltas)
    assert zone.path.read_text() == expected
    records = file_records(zone.path)
    assert info.records == len(records) == expected.count("\n") - 2
    assert info.size_bytes == len(expected)
    assert as_set([rr("h37", "A", "203.0.113.1")]) <= records


@pytest.mark.parametrize("block_bytes", [7, 4096])
def test_ixfr_in_blocks_numbers_a_damaged_touched_line(
    zone: FileZone, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    monkeypatch.setattr(merge, "_MERGE_BYTES", block_bytes)
    big_zone(zone)
    lines = zone.path.read_text().splitlines(keepends=True)
    number = next(
        n for n, line in enumerate(lines, 1) if line.startswith("h296.example.com.")
    )
    lines[number - 1] = "h296.example.com. 300 IN A\n"
    zone.path.write_text("".join(lines))
    before = zone.path.read_bytes()
    deleted = [rr("h296", "A", "192.0.2.46")]
    with pytest.raises(ZoneContentError, match=f"^{zone.path}:{number}: "):
        zone.apply_ixfr([delta(1, 2, deleted)])
    check_intact(zone, before)


def test_ixfr_in_blocks_without_the_apex_ns(zone: FileZone) -> None:
    write(zone, BASE)
    ns = [r for r in BASE if r[2].rdtype == dns.rdatatype.NS and r[0] == ORIGIN]
    before = zone.path.read_bytes()
    with pytest.raises(ZoneContentError, match=r"has no NS records$"):
        zone.apply_ixfr([delta(1, 2, ns)])
    check_intact(zone, before)
    text = before.decode().replace("example.com. 3600 IN NS", "EXAMPLE.COM. 3600 IN NS")
    zone.path.write_text(text)
    zone.apply_ixfr([delta(1, 2, [BASE[4]])])  # found in any case
    assert "EXAMPLE.COM. 3600 IN NS" in zone.path.read_text()


@pytest.mark.parametrize(
    "words", [["a.b.", "a.c.", "b."], ["ab", "abc", "a"], [r"x\.y.", "x\\", "x"]]
)
def test_trie_matches_exactly_its_words(words: list[str]) -> None:
    pattern = re.compile(merge._trie(words))
    for word in words:
        assert pattern.fullmatch(word)
    for other in ["a", "ab", "abcd", "a.b", "b", "x.y.", "", "c"]:
        assert bool(pattern.fullmatch(other)) == (other in words)
