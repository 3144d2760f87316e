"""The state log: round trip, damaged lines, failed saves, compaction, old files."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path

import dns.name
import pytest

from zonesync.errors import StoreError
from zonesync.store import state as state_module
from zonesync.store.state import (
    STATE_LOG,
    StateLog,
    ZoneState,
    journal_path,
    state_key,
    state_path,
)

ZONE = dns.name.from_text("example.com.")
KEY = state_key("_default", ZONE)
FULL = ZoneState(
    serial=2026112101,
    last_refresh_at=1_763_700_000.25,
    last_transfer_at=1_763_690_000.0,
    expires_at=1_764_900_000.125,
    primary="192.0.2.1#53",
    failures=3,
    last_error="transfer of 'example.com/IN' from 192.0.2.1#53: timed out",
    expired=True,
)


def lines(directory: Path) -> list[dict[str, object]]:
    text = (directory / STATE_LOG).read_text()
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("state", [ZoneState(), FULL])
def test_round_trip(tmp_path: Path, state: ZoneState) -> None:
    StateLog(tmp_path).save(KEY, state)
    assert StateLog(tmp_path).get(KEY) == state
    [line] = lines(tmp_path)
    assert line["zone"] == "_default@example.com"
    assert line["version"] == 1


def test_nothing_saved_is_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert StateLog(tmp_path / "absent").get(KEY) is None
    assert StateLog(tmp_path).get(KEY) is None
    assert caplog.records == []


def test_the_last_save_wins_and_the_directory_is_made(tmp_path: Path) -> None:
    state_dir = tmp_path / "state" / "zones"
    first = StateLog(state_dir)
    first.save(KEY, ZoneState(serial=1))
    first.save("other@example.org", ZoneState(serial=7))
    first.save(KEY, FULL)
    assert first.get(KEY) == FULL
    again = StateLog(state_dir)
    assert again.get(KEY) == FULL
    assert again.get("other@example.org") == ZoneState(serial=7)
    umask = os.umask(0)
    os.umask(umask)
    assert state_dir.stat().st_mode & 0o777 == 0o750 & ~umask
    assert (state_dir / STATE_LOG).stat().st_mode & 0o777 == 0o640 & ~umask
    assert [p.name for p in state_dir.iterdir()] == [STATE_LOG]
    assert len(lines(state_dir)) == 3  # appended, one line per save


def test_saves_after_close_append_to_the_same_file(tmp_path: Path) -> None:
    log = StateLog(tmp_path)
    log.save(KEY, ZoneState(serial=1))
    log.close()
    log.close()  # idempotent
    log.save(KEY, ZoneState(serial=2))
    assert len(lines(tmp_path)) == 2
    assert StateLog(tmp_path).get(KEY) == ZoneState(serial=2)


def valid() -> dict[str, object]:
    return {"zone": "z@example.org", "version": 1, "serial": 5, "failures": 0}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"zone": "z@example.org", "version": 1, "serial": 20', "Expecting"),
        ("", "Expecting value"),
        ("\x80abc", "codec can't decode"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({**valid(), "zone": ""}), "no zone"),
        (json.dumps({**valid(), "zone": 5}), "no zone"),
        (json.dumps({**valid(), "version": 2}), "unknown version 2"),
        (
            json.dumps({k: v for k, v in valid().items() if k != "version"}),
            "unknown version None",
        ),
        (json.dumps({**valid(), "serial": "5"}), "serial"),
        (
            json.dumps({**valid(), "serial": 2**32}),
            "serial: 4294967296 is out of range",
        ),
        (json.dumps({**valid(), "serial": True}), "serial"),
        (json.dumps({**valid(), "failures": -1}), "failures: -1 is negative"),
        (json.dumps({**valid(), "failures": 1.5}), "failures"),
        (json.dumps({**valid(), "expired": "no"}), "expired"),
        (json.dumps({**valid(), "expires_at": "soon"}), "expires_at"),
        (
            '{"zone": "z@example.org", "version": 1, "expires_at": NaN}',
            "expires_at: nan is not finite",
        ),
        (json.dumps({**valid(), "primary": 53}), "primary"),
    ],
)
def test_a_damaged_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, reason: str
) -> None:
    StateLog(tmp_path).save(KEY, FULL)
    with (tmp_path / STATE_LOG).open("ab") as out:
        out.write(text.encode("latin-1") + b"\n")
    log = StateLog(tmp_path)
    with caplog.at_level(logging.WARNING, logger="zonesync.store.state"):
        assert log.get("z@example.org") is None
        assert log.get(KEY) == FULL  # the other lines still count
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    path = tmp_path / STATE_LOG
    assert message.startswith(f"state file {path}: 1 line(s) ignored (line 2: ")
    assert reason in message
    # rewritten without the damaged line, so it is reported once
    assert [line["zone"] for line in lines(tmp_path)] == [KEY]


def test_a_torn_last_line_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # what a power loss may leave: the end of the last save missing
    StateLog(tmp_path).save(KEY, ZoneState(serial=1))
    StateLog(tmp_path).save(KEY, FULL)
    path = tmp_path / STATE_LOG
    path.write_bytes(path.read_bytes()[:-20])
    assert StateLog(tmp_path).get(KEY) == ZoneState(serial=1)
    assert "1 line(s) ignored (line 2: " in caplog.text


def test_unknown_fields_are_ignored(tmp_path: Path) -> None:
    (tmp_path / STATE_LOG).write_text(json.dumps({**valid(), "later": [1]}) + "\n")
    assert StateLog(tmp_path).get("z@example.org") == ZoneState(serial=5)


def test_an_unreadable_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / STATE_LOG).mkdir()
    assert StateLog(tmp_path).get(KEY) is None
    assert "Is a directory" in caplog.text


@pytest.mark.parametrize("written", [0, 10])
def test_a_failed_save_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: int
) -> None:
    log = StateLog(tmp_path)
    log.save(KEY, ZoneState(serial=1))
    path = tmp_path / STATE_LOG
    before = path.read_bytes()
    real_write = os.write
    calls = []

    def full_disk(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if written and len(calls) == 1:
            return real_write(fd, bytes(data)[:written])  # part of the line
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(StoreError) as info:
        log.save(KEY, FULL)
    monkeypatch.undo()
    assert str(info.value) == f"writing {path}: No space left on device"
    assert info.value.path == str(path)
    assert path.read_bytes() == before
    assert log.get(KEY) == ZoneState(serial=1)
    log.save(KEY, FULL)  # and the next save is whole
    assert StateLog(tmp_path).get(KEY) == FULL


def test_an_uncreatable_directory_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(
        StoreError, match=r"^creating state directory .*/file/state: Not a directory$"
    ):
        StateLog(tmp_path / "file" / "state").save(KEY, FULL)


def test_the_file_is_rewritten_when_mostly_old_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "_COMPACT_LINES", 10)
    log = StateLog(tmp_path)
    rewrites = 0
    for serial in range(30):
        for key, number in (("other@example.org", 1000 + serial), (KEY, serial)):
            due = log.save(key, ZoneState(serial=number))
            assert due == (len(lines(tmp_path)) > 10)  # due once past the limit
            if due:
                log.compact()
                rewrites += 1
                assert len(lines(tmp_path)) == 2
    assert rewrites == 6  # at the 11th save, then every 9th: 60 saves
    log.compact()  # not due: nothing happens
    assert len(lines(tmp_path)) == 2 + 4
    again = StateLog(tmp_path)
    assert again.get(KEY) == ZoneState(serial=29)
    assert again.get("other@example.org") == ZoneState(serial=1029)
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_LOG]


def test_a_long_log_is_rewritten_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = StateLog(tmp_path)
    for serial in range(40):
        log.save(KEY, ZoneState(serial=serial))
    assert len(lines(tmp_path)) == 40
    monkeypatch.setattr(state_module, "_COMPACT_LINES", 10)
    assert StateLog(tmp_path).get(KEY) == ZoneState(serial=39)
    assert len(lines(tmp_path)) == 1


def test_a_temporary_file_of_a_rewrite_is_removed_at_start(tmp_path: Path) -> None:
    StateLog(tmp_path).save(KEY, FULL)
    stale = tmp_path / f".{STATE_LOG}.zonesync-0123456789abcdef.tmp"
    stale.write_text("half a rewrite")
    assert StateLog(tmp_path).get(KEY) == FULL
    assert not stale.exists()


def test_an_old_state_file_is_read_then_removed(tmp_path: Path) -> None:
    # the one-file-per-zone state of earlier versions
    old = state_path(tmp_path, "_default", ZONE)
    old.write_text(json.dumps({"version": 1, "serial": 9, "primary": "192.0.2.1#53"}))
    log = StateLog(tmp_path)
    assert log.get(KEY) == ZoneState(serial=9, primary="192.0.2.1#53")
    log.save(KEY, FULL)
    assert not old.exists()
    assert StateLog(tmp_path).get(KEY) == FULL


def test_the_log_wins_over_an_old_state_file(tmp_path: Path) -> None:
    StateLog(tmp_path).save(KEY, FULL)
    state_path(tmp_path, "_default", ZONE).write_text(
        json.dumps({"version": 1, "serial": 9})
    )
    assert StateLog(tmp_path).get(KEY) == FULL


TRICKY = [
    ("_default", "."),
    ("_default", "example.com."),
    ("_default", "a/b.example."),
    ("_default", "-.example."),
    ("_default", r"\..example."),
    ("_default", r"nul\000.example."),
    ("_default", r"odd\255\@\%20.example."),
    ("_default", "xn--bcher-kva.example."),
    ("internal", "example.com."),
    ("Internal", "example.com."),
    ("", "example.com."),
    ("..", "example.com."),
    ("a/b", "example.com."),
    ("a@b", "c."),
    ("a", "b@c."),
    ("-rf", "example.com."),
    ("vue-privée", "example.com."),
    ("視圖", "example.com."),
    ("nul\0view", "example.com."),
    ("a" * 300, "example.com."),
    ("a" * 301, "example.com."),
    ("_default", ".".join(["x" * 63] * 3) + "."),
    ("_default", ".".join([r"\255" * 63] * 3) + "."),
]


def test_state_keys_are_safe_and_distinct(tmp_path: Path) -> None:
    keys = [state_key(view, dns.name.from_text(zone)) for view, zone in TRICKY]
    assert len(set(keys)) == len(TRICKY)
    for view, zone in TRICKY:
        key = state_key(view, dns.name.from_text(zone))
        assert (
            state_path(tmp_path, view, dns.name.from_text(zone)).name == f"{key}.json"
        )
        path = journal_path(tmp_path, view, dns.name.from_text(zone))
        assert path == tmp_path / f"{key}.jnl"
        assert key.isascii()
        assert key.isprintable()
        assert "/" not in key
        assert "\0" not in key
        assert not key.startswith((".", "-"))
        assert len(key.encode()) <= 200
    for key in keys:  # the file system takes every one of them as a journal
        (tmp_path / f"{key}.jnl").write_text("")
    log = StateLog(tmp_path)
    for number, key in enumerate(keys):
        log.save(key, ZoneState(serial=number))
    again = StateLog(tmp_path)
    assert [again.get(key) for key in keys] == [
        ZoneState(serial=number) for number in range(len(keys))
    ]


def test_state_key_ignores_zone_case() -> None:
    upper = state_key("_default", dns.name.from_text("EXAMPLE.Com."))
    assert upper == state_key("_default", ZONE) == "_default@example.com"
    assert state_key("_default", dns.name.root) == "_default@%2E"
    base = Path("/var/lib/zonesync")
    assert journal_path(base, "_default", ZONE) == base / "_default@example.com.jnl"
