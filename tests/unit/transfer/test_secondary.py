"""SecondaryZone at startup: what a restart makes of the file and the state.

No sockets: only `load()` runs, on files in tmp_path, with a fake clock.
"""

import logging
import os

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from zonesync.config.loader import load_config
from zonesync.store.journal import dump_journal
from zonesync.store.state import StateLog, ZoneState, journal_path, state_key
from zonesync.store.zonefile import FileZone, IxfrDelta
from zonesync.transfer.limits import RefreshLimits
from zonesync.transfer.manager import endpoints_for
from zonesync.transfer.secondary import SecondaryZone

ZONE = dns.name.from_text("example.com.")
T0 = 1_800_000_000.0
# refresh 7200, retry 1000, expire 86400
SOA = "ns.example.com. host.example.com. 42 7200 1000 86400 300"


def rr(owner, rdtype, text):
    return (
        dns.name.from_text(owner),
        300,
        dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text),
    )


@pytest.fixture
def setup(tmp_path):
    zones = tmp_path / "zones"
    zones.mkdir()
    conf = tmp_path / "named.conf"
    conf.write_text(
        f'options {{ directory "{zones}"; }};\n'
        'zone "example.com" { type secondary; file "example.com.db";'
        " primaries { 192.0.2.1; }; };\n"
    )
    config = load_config(str(conf))
    zone = next(config.secondary_zones())
    state_dir = tmp_path / "state"

    def make(now):
        return SecondaryZone(
            zone,
            endpoints_for(zone, config),
            StateLog(state_dir),
            RefreshLimits(),
            clock=lambda: now,
            uniform=lambda a, b: a,
        )

    return zones / "example.com.db", state_dir, zone, make


def write_zone(path, mtime):
    writer = FileZone(ZONE, path).begin_axfr()
    writer.add(
        [rr("example.com.", "SOA", SOA), rr("example.com.", "NS", "ns.example.com.")]
    )
    writer.commit()
    os.utime(path, (mtime, mtime))


async def test_no_file_refreshes_at_once(setup):
    _path, _state_dir, _zone, make = setup
    zone = make(T0)
    await zone.load()
    snap = zone.snapshot()
    assert snap.serial is None
    assert not snap.loaded
    assert snap.next_refresh_at == T0


async def test_fresh_file_first_check_within_a_quarter_to_all_of_retry(setup, caplog):
    path, _state_dir, _zone, make = setup
    write_zone(path, T0 - 600)
    zone = make(T0)
    with caplog.at_level(logging.INFO):
        await zone.load()
    snap = zone.snapshot()
    assert snap.serial == 42
    assert snap.loaded
    assert not snap.expired
    # uniform() returns its low end: retry / 4
    assert snap.next_refresh_at == T0 + 1000 * 0.25
    # no state yet: the file's mtime is the last refresh, as BIND
    assert snap.last_refresh_at == T0 - 600
    assert snap.expires_at == T0 - 600 + 86400
    assert "zone example.com/IN: loaded serial 42" in caplog.messages


async def test_file_older_than_expire_starts_expired(setup, caplog):
    path, _state_dir, _zone, make = setup
    write_zone(path, T0 - 86400 - 1)
    zone = make(T0)
    with caplog.at_level(logging.INFO):
        await zone.load()
    snap = zone.snapshot()
    assert snap.expired
    assert not snap.loaded
    assert snap.next_refresh_at == T0
    assert "zone example.com/IN: expired" in caplog.messages


async def test_saved_state_wins_over_the_mtime(setup):
    path, state_dir, zone_config, make = setup
    write_zone(path, T0 - 86400 * 2)  # mtime alone would say expired
    StateLog(state_dir).save(
        state_key(zone_config.view, ZONE),
        ZoneState(serial=42, last_refresh_at=T0 - 100, primary="192.0.2.1#53"),
    )
    zone = make(T0)
    await zone.load()
    snap = zone.snapshot()
    assert not snap.expired
    assert snap.expires_at == T0 - 100 + 86400
    assert snap.primary == "192.0.2.1#53"


async def test_zone_that_expired_while_down_stays_expired(setup):
    path, state_dir, zone_config, make = setup
    write_zone(path, T0 - 10)
    StateLog(state_dir).save(
        state_key(zone_config.view, ZONE),
        ZoneState(serial=42, last_refresh_at=T0 - 10, expired=True),
    )
    zone = make(T0)
    await zone.load()
    assert zone.snapshot().expired


async def test_state_for_an_older_serial_falls_back_to_the_mtime(setup):
    # a kill -9 between the file's rename and the state write
    path, state_dir, zone_config, make = setup
    write_zone(path, T0 - 50)
    StateLog(state_dir).save(
        state_key(zone_config.view, ZONE),
        ZoneState(serial=41, last_refresh_at=T0 - 5000),
    )
    zone = make(T0)
    await zone.load()
    assert zone.snapshot().last_refresh_at == T0 - 50


def test_notify_not_newer_does_not_wake(setup, caplog):
    _path, _state_dir, _zone, make = setup
    zone = make(T0)
    zone.notify(5, "192.0.2.1#53")  # nothing held: any serial wakes
    assert zone._wake.is_set()


async def test_notify_with_our_serial_is_up_to_date_and_newer_wakes(setup, caplog):
    path, _state_dir, _zone, make = setup
    write_zone(path, T0 - 10)
    zone = make(T0)
    await zone.load()
    with caplog.at_level(logging.INFO):
        zone.notify(42, "192.0.2.1#53")
        assert not zone._wake.is_set()
        zone.notify(43, "192.0.2.1#53")
        assert zone._wake.is_set()
    assert caplog.messages[-2:] == [
        "zone example.com/IN: notify from 192.0.2.1#53: zone is up to date",
        "zone example.com/IN: notify from 192.0.2.1#53: serial 43",
    ]


# -- the journal at start (issue 5) -----------------------------------------------


def delta(old, new, deleted=(), added=()):
    return IxfrDelta(
        rr("example.com.", "SOA", SOA.replace(" 42 ", f" {old} ")),
        tuple(deleted),
        rr("example.com.", "SOA", SOA.replace(" 42 ", f" {new} ")),
        tuple(added),
    )


async def test_load_replays_the_journal_before_scheduling(setup, caplog):
    # kill -9 after an IXFR was journaled and the state saved, before the
    # zone file was rewritten.
    path, state_dir, zone_config, make = setup
    write_zone(path, T0 - 50)
    added = rr("www.example.com.", "A", "192.0.2.80")
    journal = journal_path(state_dir, zone_config.view, ZONE)
    dump_journal(journal, ZONE, dns.rdataclass.IN, [delta(42, 43, (), [added])])
    StateLog(state_dir).save(
        state_key(zone_config.view, ZONE),
        ZoneState(serial=43, last_refresh_at=T0 - 5, primary="192.0.2.1#53"),
    )
    zone = make(T0)
    with caplog.at_level(logging.INFO):
        await zone.load()
    snap = zone.snapshot()
    assert snap.serial == 43
    assert snap.records == 3
    assert snap.last_refresh_at == T0 - 5  # the saved state matches the file again
    assert snap.next_refresh_at == T0 + 1000 * 0.25
    assert "www.example.com. 300 IN A 192.0.2.80" in path.read_text()
    assert not journal.exists()
    assert caplog.messages[:2] == [
        "zone example.com/IN: zone file rewritten from the journal: serial 42 to 43"
        " (1 sequence(s))",
        "zone example.com/IN: loaded serial 43",
    ]


async def test_load_discards_a_journal_for_another_serial(setup, caplog):
    path, state_dir, zone_config, make = setup
    write_zone(path, T0 - 50)
    before = path.read_bytes()
    journal = journal_path(state_dir, zone_config.view, ZONE)
    dump_journal(journal, ZONE, dns.rdataclass.IN, [delta(40, 41)])
    zone = make(T0)
    with caplog.at_level(logging.INFO):
        await zone.load()
    assert zone.snapshot().serial == 42
    assert path.read_bytes() == before
    assert not journal.exists()
    assert caplog.messages[:2] == [
        f"ignoring journal {journal}: serials 40 to 41, the zone file's is 42",
        "zone example.com/IN: loaded serial 42",
    ]


async def test_load_with_a_journal_that_does_not_apply_keeps_the_file(setup, caplog):
    path, state_dir, zone_config, make = setup
    write_zone(path, T0 - 50)
    before = path.read_bytes()
    journal = journal_path(state_dir, zone_config.view, ZONE)
    missing = rr("gone.example.com.", "A", "192.0.2.9")
    dump_journal(journal, ZONE, dns.rdataclass.IN, [delta(42, 43, [missing])])
    zone = make(T0)
    with caplog.at_level(logging.INFO):
        await zone.load()
    assert zone.snapshot().serial == 42
    assert path.read_bytes() == before
    assert not journal.exists()
    assert caplog.messages[0].startswith(
        "zone example.com/IN: journal does not apply to the zone file, discarded: "
    )
    assert (
        "IXFR deletes a record the zone does not hold: gone.example.com."
        in (caplog.messages[0])
    )
