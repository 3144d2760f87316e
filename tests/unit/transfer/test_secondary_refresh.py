"""SecondaryZone refreshes against an in-memory primary (no sockets, fake clock)."""

import asyncio
import contextlib
import logging
import struct
import threading

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from zonesync.config.loader import load_config
from zonesync.errors import TransferTimeout
from zonesync.store.state import StateLog, journal_path, state_key
from zonesync.store.zonefile import FileZone
from zonesync.transfer.client import SoaAnswer, XfrStream
from zonesync.transfer.limits import RefreshLimits
from zonesync.transfer.manager import endpoints_for
from zonesync.transfer.secondary import Network, SecondaryZone

ZONE = dns.name.from_text("example.com.")
T0 = 1_800_000_000.0


def soa_text(serial):
    return f"ns.example.com. host.example.com. {serial} 7200 1000 86400 300"


def rrset(owner, rdtype, text):
    return dns.rrset.from_text(owner, 300, "IN", rdtype, text)


def zone_rrsets(serial, hosts):
    out = [rrset("example.com.", "SOA", soa_text(serial))]
    out.append(rrset("example.com.", "NS", "ns.example.com."))
    out += [rrset(f"h{i}.example.com.", "A", f"192.0.2.{i}") for i in hosts]
    return out


class FakePrimary:
    """Answers SOA queries and transfers from in-memory zone versions."""

    def __init__(self):
        self.versions = {}  # serial -> host numbers
        self.serial = 0
        self.ixfr_rcode = None
        self.requests = []
        self.soa_error = None

    def publish(self, serial, hosts):
        self.versions[serial] = list(hosts)
        self.serial = serial

    async def query_soa(self, zone, rdclass, endpoint, try_tcp=True):
        if self.soa_error is not None:
            raise self.soa_error
        return SoaAnswer(self.serial, False)

    def reply(self, query):
        rdtype = query.question[0].rdtype
        self.requests.append(dns.rdatatype.to_text(rdtype))
        self.last_query = query
        response = dns.message.make_response(query)
        if rdtype == dns.rdatatype.IXFR and self.ixfr_rcode is not None:
            response.set_rcode(self.ixfr_rcode)
            return [response]
        hosts = self.versions[self.serial]
        if rdtype == dns.rdatatype.IXFR:
            old = query.authority[0][0].serial
            before, after = set(self.versions[old]), set(hosts)
            seq = [rrset("example.com.", "SOA", soa_text(self.serial))]
            seq.append(rrset("example.com.", "SOA", soa_text(old)))
            seq += [
                rrset(f"h{i}.example.com.", "A", f"192.0.2.{i}") for i in before - after
            ]
            seq.append(rrset("example.com.", "SOA", soa_text(self.serial)))
            seq += [
                rrset(f"h{i}.example.com.", "A", f"192.0.2.{i}") for i in after - before
            ]
            seq.append(rrset("example.com.", "SOA", soa_text(self.serial)))
        else:
            seq = zone_rrsets(self.serial, hosts)
            seq.append(rrset("example.com.", "SOA", soa_text(self.serial)))
        response.answer = seq
        return [response]

    @contextlib.asynccontextmanager
    async def open_xfr(self, query, endpoint, idle_seconds):
        if self.soa_error is not None:  # unreachable: no transfer either
            raise self.soa_error
        reader = asyncio.StreamReader()
        for message in self.reply(query):
            wire = message.to_wire()
            reader.feed_data(struct.pack("!H", len(wire)) + wire)
        reader.feed_eof()
        yield XfrStream(endpoint, query, reader, idle_seconds, "192.0.2.53#4000")


@pytest.fixture
def make_zone(tmp_path):
    zones = tmp_path / "zones"
    zones.mkdir()

    def make(primary, extra="", now=T0, events=None):
        conf = tmp_path / "named.conf"
        conf.write_text(
            f'options {{ directory "{zones}"; }};\n'
            'zone "example.com" { type secondary; file "example.com.db";'
            f" primaries {{ 192.0.2.1; }}; {extra} }};\n"
        )
        config = load_config(str(conf))
        zone = next(config.secondary_zones())
        return SecondaryZone(
            zone,
            endpoints_for(zone, config),
            StateLog(tmp_path / "state"),
            RefreshLimits(),
            clock=lambda: now,
            uniform=lambda a, b: a,
            network=Network(primary.query_soa, primary.open_xfr),
            **({"events": events} if events is not None else {}),
        )

    return make, zones / "example.com.db"


def journal_of(path):
    """The journal of the zone whose file is `path` (make_zone's layout)."""
    return journal_path(path.parent.parent / "state", "_default", ZONE)


def state_of(path):
    """The saved state of the zone whose file is `path` (make_zone's layout)."""
    return StateLog(path.parent.parent / "state").get(state_key("_default", ZONE))


async def start(make, primary, **kw):
    zone = make(primary, **kw)
    await zone.load()
    await zone.refresh_now()
    return zone


async def test_first_refresh_is_an_axfr(make_zone):
    make, path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1, 2])
    zone = await start(make, primary)
    assert primary.requests == ["AXFR"]
    assert zone.snapshot().serial == 1
    assert "h2.example.com. 300 IN A 192.0.2.2" in path.read_text()


async def test_newer_serial_is_fetched_by_ixfr(make_zone, caplog):
    make, path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1, 2])
    zone = await start(make, primary)
    primary.publish(2, [2, 3])
    with caplog.at_level(logging.DEBUG):
        await zone.refresh_now()
        await zone.sync()
    assert primary.requests == ["AXFR", "IXFR"]
    assert zone.snapshot().serial == 2
    text = path.read_text()
    assert "192.0.2.3" in text
    assert "192.0.2.1\n" not in text
    assert any("got incremental response" in m for m in caplog.messages)
    # Durable first (journal and state), the zone file rewritten after.
    durable = caplog.messages.index("zone example.com/IN: transferred serial 2")
    rewritten = [
        i
        for i, m in enumerate(caplog.messages)
        if m.startswith("zone example.com/IN: zone file rewritten: serial 1 to 2, ")
    ]
    assert len(rewritten) == 1
    assert durable < rewritten[0]
    assert not journal_of(path).exists()


@pytest.mark.parametrize(
    "rcode", [dns.rcode.REFUSED, dns.rcode.NOTIMP, dns.rcode.FORMERR]
)
async def test_error_rcode_to_ixfr_falls_back_to_axfr_at_once(make_zone, caplog, rcode):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = await start(make, primary)
    primary.publish(2, [1, 2])
    primary.ixfr_rcode = rcode
    with caplog.at_level(logging.INFO):
        await zone.refresh_now()
    assert primary.requests == ["AXFR", "IXFR", "AXFR"]
    assert zone.snapshot().serial == 2
    name = dns.rcode.to_text(rcode)
    assert (
        f"transfer of 'example.com/IN' from 192.0.2.1#53: got {name}, retrying with AXFR"
        in caplog.messages
    )


async def test_ixfr_that_does_not_apply_is_retried_as_axfr(make_zone, caplog):
    make, path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1, 2])
    zone = await start(make, primary)
    # our copy lost h1, which the IXFR deletes
    path.write_text(
        "\n".join(
            line for line in path.read_text().splitlines() if not line.startswith("h1.")
        )
        + "\n"
    )
    primary.publish(2, [2])
    recorder = Recorder()
    zone._events = recorder
    with caplog.at_level(logging.INFO):
        await zone.refresh_now()
        await zone.sync()
    # Journaled and declared durable; the rewrite finds the deletion of h1
    # does not apply: the file was never changed, the zone goes back to it.
    assert "zone example.com/IN: transferred serial 2" in caplog.messages
    assert any(
        m.startswith(
            "zone example.com/IN: journaled IXFR to serial 2 does not apply to the "
            "zone file: "
        )
        and "IXFR deletes a record the zone does not hold: h1.example.com." in m
        and m.endswith("journal discarded, back to serial 1, retrying with AXFR")
        for m in caplog.messages
    )
    assert ("fallback", "apply") in recorder.seen
    assert zone.snapshot().serial == 1
    assert "serial 1\n" in path.read_text().splitlines(keepends=True)[0]
    assert not journal_of(path).exists()
    assert state_of(path).serial == 1
    # The next refresh goes straight to AXFR.
    await zone.refresh_now()
    assert primary.requests == ["AXFR", "IXFR", "AXFR"]
    assert zone.snapshot().serial == 2
    assert "192.0.2.1\n" not in path.read_text()


async def test_request_ixfr_no_asks_for_axfr(make_zone):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = await start(make, primary, extra="request-ixfr no;")
    primary.publish(2, [2])
    await zone.refresh_now()
    assert primary.requests == ["AXFR", "AXFR"]


async def test_same_serial_is_up_to_date_without_transfer(make_zone):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = await start(make, primary)
    await zone.refresh_now()
    assert primary.requests == ["AXFR"]
    snap = zone.snapshot()
    assert snap.failures == 0
    assert snap.next_refresh_at == T0 + 7200 * 0.75


async def test_older_serial_never_overwrites(make_zone, caplog):
    make, path = make_zone
    primary = FakePrimary()
    primary.publish(10, [1])
    zone = await start(make, primary)
    before = path.read_bytes()
    primary.publish(5, [2])
    with caplog.at_level(logging.INFO):
        await zone.refresh_now()
    assert primary.requests == ["AXFR"]
    assert path.read_bytes() == before
    assert (
        "zone example.com/IN: serial number (5) received from primary 192.0.2.1#53 < ours (10)"
        in caplog.messages
    )


async def test_multi_master_is_quiet_about_an_older_serial(make_zone, caplog):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(10, [1])
    zone = await start(make, primary, extra="multi-master yes;")
    primary.publish(5, [2])
    with caplog.at_level(logging.INFO):
        await zone.refresh_now()
    assert not any("serial number" in m for m in caplog.messages)


async def test_failures_back_off_from_60s_until_first_load(make_zone):
    make, _path = make_zone
    primary = FakePrimary()
    primary.soa_error = TransferTimeout("timed out", "192.0.2.1#53")
    zone = await start(make, primary)
    assert zone.snapshot().failures == 1
    assert zone.snapshot().next_refresh_at == T0 + 60 * 0.75
    await zone.refresh_now()
    assert zone.snapshot().next_refresh_at == T0 + 120 * 0.75
    assert zone.snapshot().last_error == "192.0.2.1#53: timed out"


async def test_loaded_zone_retries_at_its_retry_interval(make_zone):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = await start(make, primary)
    primary.soa_error = TransferTimeout("timed out", "192.0.2.1#53")
    await zone.refresh_now()
    await zone.refresh_now()
    snap = zone.snapshot()
    assert snap.failures == 2
    assert snap.next_refresh_at == T0 + 1000 * 0.75
    assert snap.serial == 1


async def test_too_many_records_keeps_the_old_zone(make_zone, caplog):
    make, path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = await start(make, primary, extra="max-records 5;")
    before = path.read_bytes()
    primary.publish(2, range(1, 20))
    with caplog.at_level(logging.INFO):
        await zone.refresh_now()
    assert path.read_bytes() == before
    assert zone.snapshot().serial == 1
    assert zone.snapshot().failures == 1


async def test_cancel_while_the_temp_file_is_being_created_leaves_no_temp(
    make_zone, monkeypatch
):
    import threading

    from zonesync.store.zonefile import FileZone

    make, path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1, 2])
    zone = make(primary)
    await zone.load()
    entered, release = threading.Event(), threading.Event()
    real_begin = FileZone.begin_axfr

    def slow_begin(self):
        writer = real_begin(self)  # the temp file exists from here
        entered.set()
        release.wait(10)
        return writer

    monkeypatch.setattr(FileZone, "begin_axfr", slow_begin)
    task = asyncio.create_task(zone.refresh_now())
    assert await asyncio.to_thread(entered.wait, 10)
    assert [p.name for p in path.parent.iterdir()] != []  # the temp is there
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(path.parent.iterdir()) == []


async def test_ixfr_query_carries_the_soa_we_hold(make_zone):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = await start(make, primary)
    primary.publish(2, [2])
    await zone.refresh_now()
    sent = primary.last_query.authority[0]
    assert sent.name == ZONE
    assert sent[0].to_text() == soa_text(1)


class EndlessPrimary(FakePrimary):
    """Sends the first message of an AXFR, then keeps the stream open, silent."""

    @contextlib.asynccontextmanager
    async def open_xfr(self, query, endpoint, idle_seconds):
        if self.soa_error is not None:  # unreachable: no transfer either
            raise self.soa_error
        response = dns.message.make_response(query)
        response.answer = zone_rrsets(self.serial, [1])
        wire = response.to_wire()
        reader = asyncio.StreamReader()
        reader.feed_data(struct.pack("!H", len(wire)) + wire)
        yield XfrStream(endpoint, query, reader, idle_seconds, "192.0.2.53#4000")


@pytest.mark.parametrize(
    ("clauses", "reason"),
    [
        ("max-transfer-time-in 1; max-transfer-idle-in 100;", "timed out"),
        ("max-transfer-time-in 100; max-transfer-idle-in 1;", "timed out (idle)"),
    ],
)
async def test_transfer_time_limits_end_a_stalled_transfer(
    make_zone, monkeypatch, caplog, clauses, reason
):
    monkeypatch.setattr("zonesync.transfer.receive.MINUTE_SECONDS", 0.05)
    make, path = make_zone
    primary = EndlessPrimary()
    primary.publish(1, [1])
    zone = make(primary, extra=clauses)
    await zone.load()
    with caplog.at_level(logging.INFO):
        await zone.refresh_now()
    assert not path.exists()
    assert list(path.parent.iterdir()) == []
    assert zone.snapshot().failures == 1
    assert (
        f"transfer of 'example.com/IN' from 192.0.2.1#53: Transfer status: {reason}"
        in caplog.messages
    )


class Recorder:
    """A ZoneEvents that keeps what it is told."""

    def __init__(self):
        self.seen = []

    def soa_query(self, view, zone, result):
        self.seen.append(("soa", str(result)))

    def transfer(self, outcome):
        self.seen.append(
            ("transfer", outcome.requested, outcome.actual, outcome.outcome)
        )
        self.last = outcome

    def refresh_failed(self, view, zone, reason):
        self.seen.append(("refresh_failed", str(reason)))

    def ixfr_fallback(self, view, zone, reason):
        self.seen.append(("fallback", str(reason)))

    def tsig_error(self, view, zone, error):
        self.seen.append(("tsig", str(error)))


async def test_events_tell_the_story_of_a_fallback(make_zone):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    recorder = Recorder()
    zone = await start(make, primary, events=recorder)
    primary.publish(2, [1, 2])
    primary.ixfr_rcode = dns.rcode.REFUSED
    await zone.refresh_now()
    assert recorder.seen == [
        # Nothing held yet: straight to AXFR, no SOA query (as Knot).
        ("transfer", "axfr", "axfr", "success"),
        ("soa", "newer"),
        ("transfer", "ixfr", None, "failure"),
        ("fallback", "rcode"),
        ("transfer", "axfr", "axfr", "success"),
    ]
    last = recorder.last
    assert (last.serial_from, last.serial_to, last.records) == (1, 2, 5)
    assert last.key is None


async def test_events_count_failures_and_tsig_errors(make_zone):
    from zonesync.errors import FailureReason, TransferBroken

    make, _path = make_zone
    primary = FakePrimary()
    primary.soa_error = TransferBroken(
        "TSIG 'k': BADSIG", "192.0.2.1#53", FailureReason.TSIG, "BADSIG"
    )
    recorder = Recorder()
    zone = await start(make, primary, events=recorder)
    # Nothing held: the failure is the transfer's, there is no SOA query.
    assert recorder.seen == [
        ("transfer", "axfr", None, "failure"),
        ("tsig", "BADSIG"),
        ("refresh_failed", "tsig"),
    ]
    primary.soa_error = None
    primary.publish(1, [1])
    await zone.refresh_now()
    primary.soa_error = TransferBroken(
        "TSIG 'k': BADSIG", "192.0.2.1#53", FailureReason.TSIG, "BADSIG"
    )
    recorder.seen.clear()
    await zone.refresh_now()
    assert recorder.seen == [
        ("soa", "tsig"),
        ("tsig", "BADSIG"),
        ("refresh_failed", "tsig"),
    ]


async def test_a_requested_refresh_resolves_when_it_ends(make_zone):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = make(primary)
    task = asyncio.create_task(zone.run())
    try:
        first = await asyncio.wait_for(zone.refresh(), 5)
        assert first.ok
        assert first.transferred
        assert first.message == "zone example.com/IN: transferred serial 1"
        again = await asyncio.wait_for(zone.refresh(), 5)
        assert again.ok
        assert not again.transferred
        assert again.message == "zone example.com/IN: up to date (serial 1)"
        forced = await asyncio.wait_for(zone.refresh(force_axfr=True), 5)
        assert forced.transferred
        assert primary.requests == ["AXFR", "AXFR"]
        primary.soa_error = TransferTimeout("timed out", "192.0.2.1#53")
        failed = await asyncio.wait_for(zone.refresh(), 5)
        assert not failed.ok
        assert failed.message == (
            "zone example.com/IN: refresh failed: 192.0.2.1#53: timed out"
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_stopped_zone_answers_everyone_waiting(make_zone, monkeypatch):
    import threading

    from zonesync.store.zonefile import FileZone

    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = make(primary)
    entered, release = threading.Event(), threading.Event()
    real_begin = FileZone.begin_axfr

    def slow_begin(self):
        entered.set()
        release.wait(10)
        return real_begin(self)

    monkeypatch.setattr(FileZone, "begin_axfr", slow_begin)
    task = asyncio.create_task(zone.run())
    during = zone.refresh()  # served by the refresh that is about to start
    assert await asyncio.to_thread(entered.wait, 10)
    queued = zone.refresh()  # waits for the next one
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    for waiter in (during, queued):
        result = await asyncio.wait_for(waiter, 5)
        assert not result.ok
        assert result.message == "zone example.com/IN: stopped"


async def test_a_refresh_without_transfer_leaves_one_structured_line(make_zone, caplog):
    make, _path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1])
    zone = await start(make, primary)
    with caplog.at_level(logging.INFO, logger="zonesync.refresh"):
        await zone.refresh_now()
    lines = [r for r in caplog.records if r.name == "zonesync.refresh"]
    assert len(lines) == 1
    fields = lines[0].transfer
    assert fields["actual"] == "up to date"
    assert (fields["serial_from"], fields["serial_to"]) == (1, 1)
    assert (fields["outcome"], fields["primary"]) == ("success", "192.0.2.1#53")
    assert lines[0].getMessage() == "zone example.com/IN: up to date (serial 1)"


# -- the journal: durable first, the zone file rewritten after (issue 5) -----


def file_serial(path):
    return int(path.read_text().split("\n", 1)[0].rsplit(" ", 1)[1])


GATE_SECONDS = 10.0  # a deadline only: the test opens the gate itself


@pytest.fixture
def gate(monkeypatch):
    """Hold every zone file merge until the test opens the gate."""
    opened = threading.Event()
    entered = threading.Event()
    apply = FileZone._apply

    def gated(self, deltas):
        entered.set()
        assert opened.wait(GATE_SECONDS), "the test never opened the gate"
        return apply(self, deltas)

    monkeypatch.setattr(FileZone, "_apply", gated)
    yield opened, entered
    opened.set()


async def test_an_ixfr_is_durable_before_the_file_is_rewritten(make_zone, gate):
    opened, _entered = gate
    make, path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1, 2])
    zone = await start(make, primary)
    primary.publish(2, [2, 3])
    await zone.refresh_now()
    # The merge waits at the gate: the state and the journal hold serial 2,
    # the zone file is untouched.
    assert zone.snapshot().serial == 2
    assert state_of(path).serial == 2
    assert "h3.example.com." in journal_of(path).read_text()
    assert file_serial(path) == 1
    opened.set()
    await zone.sync()
    assert file_serial(path) == 2
    assert "192.0.2.3" in path.read_text()
    assert not journal_of(path).exists()


async def test_an_ixfr_during_a_rewrite_is_journaled_and_rewritten_after(
    make_zone, gate, caplog
):
    opened, entered = gate
    make, path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1, 2])
    zone = await start(make, primary)
    primary.publish(2, [2, 3])
    with caplog.at_level(logging.INFO):
        await zone.refresh_now()
        assert await asyncio.to_thread(entered.wait, GATE_SECONDS)  # merging 1 -> 2
        primary.publish(3, [3, 4])
        await zone.refresh_now()
        assert zone.snapshot().serial == 3
        assert file_serial(path) == 1
        opened.set()
        await zone.sync()
    assert primary.requests == ["AXFR", "IXFR", "IXFR"]
    assert file_serial(path) == 3
    assert "192.0.2.4" in path.read_text()
    assert "192.0.2.2" not in path.read_text()
    assert not journal_of(path).exists()
    rewritten = [m for m in caplog.messages if "zone file rewritten" in m]
    assert [m.split(",")[0] for m in rewritten] == [
        "zone example.com/IN: zone file rewritten: serial 1 to 2",
        "zone example.com/IN: zone file rewritten: serial 2 to 3",
    ]
    assert zone.snapshot().records == 4  # exact again after the rewrite


async def test_an_axfr_during_a_rewrite_is_not_overwritten(
    make_zone, gate, monkeypatch
):
    opened, entered = gate
    make, path = make_zone
    primary = FakePrimary()
    primary.publish(1, [1, 2])
    zone = await start(make, primary)
    primary.publish(2, [2, 3])
    await zone.refresh_now()
    assert await asyncio.to_thread(entered.wait, GATE_SECONDS)  # merging 1 -> 2
    # The AXFR's publish opens the gate: the rewrite renames its file first,
    # then the AXFR's file replaces it and the journal is gone.
    publish = FileZone._publish_full

    def publish_full(self, *args):
        opened.set()
        return publish(self, *args)

    monkeypatch.setattr(FileZone, "_publish_full", publish_full)
    primary.publish(3, [5, 6])
    primary.ixfr_rcode = dns.rcode.REFUSED
    await zone.refresh_now()
    await zone.sync()
    assert primary.requests == ["AXFR", "IXFR", "IXFR", "AXFR"]
    assert file_serial(path) == 3
    assert "192.0.2.6" in path.read_text()
    assert "192.0.2.3" not in path.read_text()
    assert not journal_of(path).exists()
    assert zone.snapshot().serial == 3
