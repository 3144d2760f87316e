"""Directory syncs are shared by the publishers of one moment, never skipped."""

import threading

from zonesync.store import atomic
from zonesync.store.atomic import AtomicFile

WAIT = 10.0


def test_callers_during_a_sync_share_the_next_one(tmp_path, monkeypatch):
    first_started = threading.Event()
    release_first = threading.Event()
    syncs = []  # how many callers had asked when each sync started
    asked = []

    def fake_fsync(directory):
        syncs.append(len(asked))
        if len(syncs) == 1:
            first_started.set()
            assert release_first.wait(WAIT)

    monkeypatch.setattr(atomic, "_fsync_directory", fake_fsync)
    syncer = atomic._DirectorySync()

    def call():
        asked.append(1)
        syncer.sync(tmp_path)

    first = threading.Thread(target=call)
    first.start()
    assert first_started.wait(WAIT)
    others = [threading.Thread(target=call) for _ in range(5)]
    for thread in others:
        thread.start()
    # the five have asked, and wait for the running sync (it began before);
    # bounded wait for them to get there: 1,000 looks of at most 10 ms
    tick = threading.Event()
    for _ in range(1000):
        if syncer._requested == 6:
            break
        tick.wait(0.01)
    assert syncer._requested == 6
    assert all(thread.is_alive() for thread in others)
    release_first.set()
    for thread in [first, *others]:
        thread.join(WAIT)
        assert not thread.is_alive()
    # one sync for the first caller, one more that started after all asked
    assert syncs == [1, 6]


def test_a_durable_publish_syncs_the_directory_and_a_plain_one_does_not(
    tmp_path, monkeypatch
):
    synced = []
    monkeypatch.setattr(atomic, "_fsync_directory", synced.append)
    fsyncs = []
    real_fsync = atomic.os.fsync

    def counting_fsync(fd):
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", counting_fsync)
    with AtomicFile(tmp_path / "durable") as out:
        out.write("a\n")
        out.publish()
    assert synced == [tmp_path]
    assert len(fsyncs) == 1
    with AtomicFile(tmp_path / "plain", durable=False) as out:
        out.write("b\n")
        out.publish()
    assert synced == [tmp_path]
    assert len(fsyncs) == 1
    assert (tmp_path / "plain").read_text() == "b\n"
