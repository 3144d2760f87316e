"""Stale temp-file removal lists a directory once, yet never misses a new file."""

import os

from zonesync.store import atomic

TEMP = ".{}.zonesync-0123456789abcdef.tmp"


def test_one_listing_serves_every_zone_of_a_directory(tmp_path, monkeypatch):
    for i in range(50):
        (tmp_path / f"z{i}.db").write_text("")
    (tmp_path / TEMP.format("z7.db")).write_text("")
    scans = []
    real_scandir = os.scandir

    def counting_scandir(path):
        scans.append(path)
        return real_scandir(path)

    monkeypatch.setattr(atomic.os, "scandir", counting_scandir)
    removed = [atomic.remove_stale_temp_files(tmp_path / f"z{i}.db") for i in range(7)]
    assert removed == [0] * 7
    assert len(scans) == 1
    assert atomic.remove_stale_temp_files(tmp_path / "z7.db") == 1
    assert not (tmp_path / TEMP.format("z7.db")).exists()


def test_a_temp_file_that_appears_later_is_still_found(tmp_path):
    (tmp_path / "a.db").write_text("")
    assert atomic.remove_stale_temp_files(tmp_path / "a.db") == 0
    temp = tmp_path / TEMP.format("b.db")
    temp.write_text("")
    # the directory changed: its mtime moved, so the listing is made again
    stat = tmp_path.stat()
    os.utime(tmp_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert atomic.remove_stale_temp_files(tmp_path / "b.db") == 1
    assert not temp.exists()
