"""Per-zone state files: round trip, corrupt files, atomic replace, file names."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path

import dns.name
import pytest

from zonesync.errors import StoreError
from zonesync.store.state import ZoneState, dump_state, load_state, state_path

ZONE = dns.name.from_text("example.com.")
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


@pytest.mark.parametrize("state", [ZoneState(), FULL])
def test_round_trip(tmp_path: Path, state: ZoneState) -> None:
    path = state_path(tmp_path, "_default", ZONE)
    dump_state(path, state)
    assert load_state(path) == state
    assert json.loads(path.read_text())["version"] == 1


def test_missing_file_is_none(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert load_state(tmp_path / "nothing.json") is None
    assert caplog.records == []


def test_dump_replaces_and_creates_the_directory(tmp_path: Path) -> None:
    state_dir = tmp_path / "state" / "zones"
    path = state_path(state_dir, "_default", ZONE)
    dump_state(path, ZoneState(serial=1))
    dump_state(path, FULL)
    assert load_state(path) == FULL
    umask = os.umask(0)
    os.umask(umask)
    assert state_dir.stat().st_mode & 0o777 == 0o750 & ~umask
    assert [p.name for p in state_dir.iterdir()] == [path.name]


def valid() -> dict[str, object]:
    return {"version": 1, "serial": 5, "failures": 0, "expired": False}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"version": 1, "serial": 20', "Expecting"),
        ("", "Expecting value"),
        ("\x80abc", "codec can't decode"),
        ("[1, 2]", "not a JSON object"),
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
        ('{"version": 1, "expires_at": NaN}', "expires_at: nan is not finite"),
        (json.dumps({**valid(), "primary": 53}), "primary"),
    ],
)
def test_corrupt_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, reason: str
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(text.encode("latin-1"))
    with caplog.at_level(logging.WARNING, logger="zonesync.store.state"):
        assert load_state(path) is None
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"ignoring state file {path}: ")
    assert reason in record.getMessage()


def test_unknown_fields_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({**valid(), "later_field": [1]}))
    assert load_state(path) == ZoneState(serial=5)


def test_unreadable_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "x.json"
    path.mkdir()
    assert load_state(path) is None
    assert "Is a directory" in caplog.text


@pytest.mark.parametrize("call", ["write", "replace"])
def test_failed_dump_keeps_old_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    path = state_path(tmp_path, "_default", ZONE)
    dump_state(path, ZoneState(serial=1))
    before = path.read_bytes()

    def enospc(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, call, enospc)
    with pytest.raises(StoreError) as info:
        dump_state(path, FULL)
    monkeypatch.undo()
    assert str(info.value) == f"writing {path}: No space left on device"
    assert info.value.path == str(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_uncreatable_directory_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    path = state_path(tmp_path / "file", "_default", ZONE)
    with pytest.raises(StoreError, match=r"^creating state directory .*/file: "):
        dump_state(path, FULL)


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


def test_state_paths_are_safe_and_distinct(tmp_path: Path) -> None:
    paths = [
        state_path(tmp_path, view, dns.name.from_text(zone)) for view, zone in TRICKY
    ]
    assert len(set(paths)) == len(TRICKY)
    for path in paths:
        assert path.parent == tmp_path
        name = path.name
        assert name.isascii()
        assert name.isprintable()
        assert "/" not in name
        assert "\0" not in name
        assert not name.startswith((".", "-"))
        assert name.endswith(".json")
        assert len(name.encode()) <= 200
    for path in paths:  # the file system takes every one of them
        dump_state(path, ZoneState(serial=1))
    assert len(list(tmp_path.iterdir())) == len(TRICKY)


def test_state_path_ignores_zone_case() -> None:
    base = Path("/var/lib/zonesync")
    upper = state_path(base, "_default", dns.name.from_text("EXAMPLE.Com."))
    assert upper == state_path(base, "_default", ZONE)
    assert upper == base / "_default@example.com.json"
    assert state_path(base, "_default", dns.name.root).name == "_default@%2E.json"
