"""The IXFR journal: its text form, and a file zone's use of it.

No sockets: files in tmp_path. A zone is at BASE (serial 1) unless said.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import dns.rdataclass
import pytest

from tests.unit.store.test_zonefile import (
    BASE,
    MANY_TYPES,
    ORIGIN,
    as_set,
    file_records,
    rr,
    soa,
    temp_files,
    write,
)
from zonesync.errors import StoreError, ZoneContentError
from zonesync.store.journal import (
    dump_journal,
    from_text,
    load_journal,
    serial_chain,
    to_text,
)
from zonesync.store.records import IxfrDelta, Record
from zonesync.store.zonefile import FileZone

IN = dns.rdataclass.IN


def delta(
    old: int,
    new: int,
    deleted: list[Record] | None = None,
    added: list[Record] | None = None,
) -> IxfrDelta:
    return IxfrDelta(soa(old), tuple(deleted or ()), soa(new), tuple(added or ()))


SHAPES = {
    "soa only": [delta(1, 2)],
    "deletions only": [delta(1, 2, [BASE[4], BASE[5]])],
    "additions only": [delta(1, 2, [], [rr("new", "A", "192.0.2.7")])],
    "both": [delta(1, 2, [BASE[4]], [rr("www", "A", "192.0.2.12")])],
    "every type": [delta(1, 2, MANY_TYPES[6:], MANY_TYPES[6:])],
    "a chain": [
        delta(1, 2, [], [rr("a", "A", "192.0.2.100")]),
        delta(2, 3, [rr("a", "A", "192.0.2.100")], [rr("b", "TXT", '"b; c" "d\\\\e"')]),
        delta(3, 4),
    ],
    "serial wraps": [delta(4294967295, 0), delta(0, 1)],
}


@pytest.mark.parametrize("deltas", SHAPES.values(), ids=SHAPES.keys())
def test_every_delta_shape_round_trips(tmp_path: Path, deltas: list[IxfrDelta]) -> None:
    path = tmp_path / "_default@example.com.jnl"
    dump_journal(path, ORIGIN, IN, deltas)
    assert load_journal(path, ORIGIN, IN) == tuple(deltas)
    assert temp_files(tmp_path) == []
    assert oct(path.stat().st_mode & 0o777) == oct(0o640 & ~current_umask())


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_text_form() -> None:
    text = to_text(ORIGIN, IN, [delta(1, 2, [BASE[4]], [rr("new", "A", "192.0.2.7")])])
    lines = text.splitlines()
    assert lines[:5] == [
        "; zonesync journal 1 example.com. IN",
        "- example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300",
        "- www.example.com. 300 IN A 192.0.2.10",
        "+ example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2 3600 600 86400 300",
        "+ new.example.com. 300 IN A 192.0.2.7",
    ]
    assert lines[5].startswith("; end 1 sequence(s), sha256 ")
    assert len(lines) == 6


def test_no_sequences_removes_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.jnl"
    dump_journal(path, ORIGIN, IN, [delta(1, 2)])
    dump_journal(path, ORIGIN, IN, [])
    assert not path.exists()
    assert load_journal(path, ORIGIN, IN) is None


def test_serial_chain() -> None:
    assert serial_chain(SHAPES["a chain"]) == [1, 2, 3, 4]
    assert serial_chain([]) == []


GOOD = to_text(ORIGIN, IN, SHAPES["a chain"])


def _resum(text: str) -> str:
    """`text` with its closing line made right again, so only the body is bad."""
    body = text[: text.rindex("; end ")]
    count = sum(
        1 for line in body.splitlines() if line.startswith("- ") and " SOA " in line
    )
    digest = hashlib.sha256(body.encode()).hexdigest()
    return f"{body}; end {count} sequence(s), sha256 {digest}\n"


BAD = {
    "cut short": (GOOD[: len(GOOD) // 2], "no closing line"),
    "cut at a line": (GOOD[: GOOD.rindex("; end ")], "no closing line"),
    "a changed byte": (GOOD.replace("192.0.2.100", "192.0.2.101", 1), "checksum"),
    "empty": ("", "no closing line"),
    "another zone": (to_text(ORIGIN.parent(), IN, []), "header"),
    "another class": (_resum(GOOD.replace(" IN\n", " CH\n", 1)), "header"),
    "not a record": (_resum(GOOD.replace("+ b.", "+ b. x", 1)), "line"),
    "no new SOA": (
        _resum(
            "; zonesync journal 1 example.com. IN\n"
            "- example.com. 3600 IN SOA ns1 h 1 3600 600 86400 300\n"
            "- www.example.com. 300 IN A 192.0.2.10\n; end "
        ),
        "no new SOA",
    ),
    "a broken chain": (
        to_text(ORIGIN, IN, [delta(1, 2), delta(3, 4)]),
        "from serial 3 does not apply to serial 2",
    ),
    "out of zone": (
        to_text(
            ORIGIN, IN, [delta(1, 2, [], [rr("x.example.org.", "A", "192.0.2.1")])]
        ),
        "out-of-zone data",
    ),
    "not UTF-8": (None, "codec"),
}


@pytest.mark.parametrize(("text", "message"), BAD.values(), ids=BAD.keys())
def test_a_damaged_journal_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str | None, message: str
) -> None:
    path = tmp_path / "j.jnl"
    if text is None:
        path.write_bytes(GOOD.encode().replace(b"192.0.2.100", b"\xff", 1))
    else:
        path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="zonesync.store.journal"):
        assert load_journal(path, ORIGIN, IN) is None
    [warning] = caplog.messages
    assert warning.startswith(f"ignoring journal {path}: ")
    assert message in warning


def test_from_text_names_the_problem() -> None:
    with pytest.raises(ValueError, match="checksum mismatch"):
        from_text(GOOD.replace("b.", "c.", 1), ORIGIN, IN)
    assert from_text(GOOD, ORIGIN, IN) == tuple(SHAPES["a chain"])


def test_an_unreadable_journal_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.jnl"
    path.mkdir()
    with caplog.at_level(logging.WARNING):
        assert load_journal(path, ORIGIN, IN) is None
    assert caplog.messages == [f"ignoring journal {path}: Is a directory"]


def test_a_failed_write_keeps_the_old_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.jnl"
    dump_journal(path, ORIGIN, IN, [delta(1, 2)])
    before = path.read_bytes()

    def enospc(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", enospc)
    with pytest.raises(StoreError, match=rf"^writing {path}: No space left"):
        dump_journal(path, ORIGIN, IN, [delta(1, 2), delta(2, 3)])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


# --- a file zone with a journal -------------------------------------------


@pytest.fixture
def zone(tmp_path: Path) -> FileZone:
    """A zone file at BASE with a journal (none yet) in a state directory."""
    zone = FileZone(ORIGIN, tmp_path / "zones" / "example.com.db")
    zone.path.parent.mkdir()
    write(zone, BASE)
    assert zone.open_journal(jnl(tmp_path), zone.load()) is None
    return zone


def jnl(tmp_path: Path) -> Path:
    return tmp_path / "state" / "_default@example.com.jnl"


def fresh(zone: FileZone) -> FileZone:
    """The same zone as a restart sees it: a new FileZone, nothing in memory."""
    return FileZone(ORIGIN, zone.path)


ADDED = rr("new", "A", "192.0.2.7")


def test_commit_journals_and_leaves_the_file(zone: FileZone, tmp_path: Path) -> None:
    before = zone.path.read_bytes()
    info = zone.commit_ixfr([delta(1, 2, [BASE[4]], [ADDED])])
    assert zone.path.read_bytes() == before
    assert load_journal(jnl(tmp_path), ORIGIN, IN) == (delta(1, 2, [BASE[4]], [ADDED]),)
    assert (info.serial, info.records, info.size_bytes) == (2, len(BASE), len(before))
    assert zone.pending == 1
    info = zone.commit_ixfr([delta(2, 3, [], [rr("b", "A", "192.0.2.8")])])
    assert (info.serial, info.records) == (3, len(BASE) + 1)
    assert serial_chain(load_journal(jnl(tmp_path), ORIGIN, IN) or ()) == [1, 2, 3]


def test_rewrite_applies_every_pending_sequence(zone: FileZone, tmp_path: Path) -> None:
    zone.commit_ixfr([delta(1, 2, [BASE[4]], [ADDED])])
    zone.commit_ixfr([delta(2, 3, [ADDED])])
    done = zone.rewrite()
    assert done is not None
    assert (done.from_serial, done.to_serial, done.sequences) == (1, 3, 2)
    assert done.info == zone.load()
    assert file_records(zone.path) == as_set([soa(3), *BASE[1:4], BASE[5]])
    assert not jnl(tmp_path).exists()
    assert zone.pending == 0
    assert zone.rewrite() is None


def test_a_sequence_journaled_during_a_rewrite_stays_for_the_next(
    zone: FileZone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone.commit_ixfr([delta(1, 2, [], [ADDED])])
    apply = zone._apply

    def apply_then_journal(deltas: list[IxfrDelta]) -> object:
        info = apply(deltas)
        # As if an IXFR arrived while the file was being merged.
        zone.commit_ixfr([delta(2, 3, [ADDED])])
        return info

    monkeypatch.setattr(zone, "_apply", apply_then_journal)
    done = zone.rewrite()
    monkeypatch.undo()
    assert done is not None
    assert done.to_serial == 2
    assert zone.path.read_text().startswith("; zonesync: example.com. serial 2\n")
    assert load_journal(jnl(tmp_path), ORIGIN, IN) == (delta(2, 3, [ADDED]),)
    assert zone.rewrite() is not None
    assert file_records(zone.path) == as_set([soa(3), *BASE[1:]])
    assert not jnl(tmp_path).exists()


def test_commit_checks_what_it_can_without_the_zone(
    zone: FileZone, tmp_path: Path
) -> None:
    for deltas, message in [
        ([delta(7, 8)], "from serial 7 does not apply to serial 1"),
        ([delta(1, 2, [], [soa(5)])], "IXFR difference holds example.com. IN SOA"),
        ([delta(1, 2, [], [rr("x.example.org.", "A", "192.0.2.1")])], "out-of-zone"),
    ]:
        with pytest.raises(ZoneContentError, match=message):
            zone.commit_ixfr(deltas)
    assert not jnl(tmp_path).exists()
    zone.commit_ixfr([delta(1, 2)])
    with pytest.raises(
        ZoneContentError, match="from serial 1 does not apply to serial 2"
    ):
        zone.commit_ixfr([delta(1, 2)])


def test_a_rewrite_that_does_not_apply_leaves_the_file(
    zone: FileZone, tmp_path: Path
) -> None:
    before = zone.path.read_bytes()
    zone.commit_ixfr([delta(1, 2, [rr("www", "A", "192.0.2.99")])])
    done = zone.rewrite()
    assert done is not None
    assert done.info is None
    assert done.error is not None
    assert "deletes a record the zone does not hold" in str(done.error)
    assert zone.path.read_bytes() == before
    assert temp_files(zone.path.parent) == []
    assert jnl(tmp_path).exists()  # until the caller decides
    info = zone.discard_journal(done.generation)
    assert info is not None
    assert info.serial == 1
    assert not jnl(tmp_path).exists()
    assert zone.pending == 0
    # The zone is back at the file's serial: the next IXFR starts from it.
    assert zone.commit_ixfr([delta(1, 2, [BASE[4]])]).serial == 2


def test_a_full_zone_supersedes_the_journal(zone: FileZone, tmp_path: Path) -> None:
    zone.commit_ixfr([delta(1, 2, [rr("www", "A", "192.0.2.99")])])
    generation = zone.generation
    info = write(zone, [soa(5), *BASE[1:4]])
    assert not jnl(tmp_path).exists()
    assert zone.pending == 0
    assert zone.rewrite() is None  # nothing to publish over the new file
    assert zone.discard_journal(generation) is None  # a failed rewrite's rollback
    assert zone.load() == info
    # IXFRs now chain from the full zone.
    assert zone.commit_ixfr([delta(5, 6, [BASE[3]], [ADDED])]).serial == 6


def test_restart_replays_the_journal(zone: FileZone, tmp_path: Path) -> None:
    zone.commit_ixfr([delta(1, 2, [BASE[4]], [ADDED])])
    zone.commit_ixfr([delta(2, 3, [], [rr("b", "A", "192.0.2.8")])])
    again = fresh(zone)
    done = again.open_journal(jnl(tmp_path), again.load())
    assert done is not None
    assert done.info is not None
    assert (done.from_serial, done.to_serial, done.sequences) == (1, 3, 2)
    expected = [soa(3), *BASE[1:4], BASE[5], ADDED, rr("b", "A", "192.0.2.8")]
    assert file_records(zone.path) == as_set(expected)
    assert done.info == again.load()
    assert not jnl(tmp_path).exists()


def test_restart_after_a_rewrite_cut_before_the_journal_was_trimmed(
    zone: FileZone, tmp_path: Path
) -> None:
    deltas = [delta(1, 2, [BASE[4]]), delta(2, 3, [], [ADDED])]
    zone.apply_ixfr(deltas[:1])  # the file at 2, the journal still from 1
    dump_journal(jnl(tmp_path), ORIGIN, IN, deltas)
    again = fresh(zone)
    done = again.open_journal(jnl(tmp_path), again.load())
    assert done is not None
    assert (done.from_serial, done.to_serial, done.sequences) == (2, 3, 1)
    assert file_records(zone.path) == as_set([soa(3), *BASE[1:4], BASE[5], ADDED])


def test_restart_with_the_file_at_the_journals_end(
    zone: FileZone, tmp_path: Path
) -> None:
    deltas = [delta(1, 2, [BASE[4]])]
    zone.apply_ixfr(deltas)
    dump_journal(jnl(tmp_path), ORIGIN, IN, deltas)
    before = zone.path.read_bytes()
    again = fresh(zone)
    assert again.open_journal(jnl(tmp_path), again.load()) is None
    assert zone.path.read_bytes() == before
    assert not jnl(tmp_path).exists()


def test_restart_discards_a_journal_of_another_serial(
    zone: FileZone, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dump_journal(jnl(tmp_path), ORIGIN, IN, [delta(7, 8)])
    before = zone.path.read_bytes()
    again = fresh(zone)
    with caplog.at_level(logging.WARNING):
        assert again.open_journal(jnl(tmp_path), again.load()) is None
    assert caplog.messages == [
        f"ignoring journal {jnl(tmp_path)}: serials 7 to 8, the zone file's is 1"
    ]
    assert zone.path.read_bytes() == before
    assert not jnl(tmp_path).exists()


def test_restart_without_a_zone_file_discards_the_journal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dump_journal(jnl(tmp_path), ORIGIN, IN, [delta(1, 2)])
    zone = FileZone(ORIGIN, tmp_path / "missing.db")
    with caplog.at_level(logging.WARNING):
        assert zone.open_journal(jnl(tmp_path), zone.load()) is None
    assert caplog.messages == [
        f"ignoring journal {jnl(tmp_path)}: serials 1 to 2, the zone file's is none"
    ]
    assert not jnl(tmp_path).exists()


def test_restart_discards_a_torn_journal(
    zone: FileZone, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dump_journal(jnl(tmp_path), ORIGIN, IN, [delta(1, 2, [BASE[4]])])
    text = jnl(tmp_path).read_text()
    jnl(tmp_path).write_text(text[: len(text) - 20])
    before = zone.path.read_bytes()
    again = fresh(zone)
    with caplog.at_level(logging.WARNING):
        assert again.open_journal(jnl(tmp_path), again.load()) is None
    assert caplog.messages == [f"ignoring journal {jnl(tmp_path)}: checksum mismatch"]
    assert zone.path.read_bytes() == before
    assert not jnl(tmp_path).exists()


def test_restart_with_a_journal_that_does_not_apply(
    zone: FileZone, tmp_path: Path
) -> None:
    dump_journal(
        jnl(tmp_path), ORIGIN, IN, [delta(1, 2, [rr("www", "A", "192.0.2.99")])]
    )
    before = zone.path.read_bytes()
    again = fresh(zone)
    with pytest.raises(
        ZoneContentError, match="deletes a record the zone does not hold"
    ):
        again.open_journal(jnl(tmp_path), again.load())
    assert zone.path.read_bytes() == before
    assert not jnl(tmp_path).exists()


def test_without_a_journal_an_ixfr_is_applied_at_once(tmp_path: Path) -> None:
    zone = FileZone(ORIGIN, tmp_path / "example.com.db")
    write(zone, BASE)
    info = zone.commit_ixfr([delta(1, 2, [BASE[4]])])
    assert zone.load() == info
    assert zone.pending == 0
