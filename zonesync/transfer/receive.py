"""One zone transfer from one primary: read the reply, publish it or nothing.

The AXFR path streams: records go to the store's temp file message by
message, so a full zone is never held in memory; only an IXFR's differences
are. Records travel in presentation form, read from the wire by
transfer/fastwire.py (issue 5: no dnspython object per record). Log lines are BIND 9.18's (`lib/dns/xfrin.c`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA

from zonesync.config.model import ZoneConfig
from zonesync.errors import (
    FailureReason,
    SerialNotNewer,
    StoreError,
    TransferError,
    TransferRefused,
    TransferTimeout,
)
from zonesync.log import transfer_logger
from zonesync.store.memory import MemoryZone
from zonesync.store.zonefile import FileZone, ZoneInfo, ZoneWriter
from zonesync.transfer.client import (
    SOA_TCP_SECONDS,
    Endpoint,
    Network,
    XfrStream,
    check_rcode,
    key_text,
    make_query,
)
from zonesync.transfer.events import TransferOutcome, ZoneEvents
from zonesync.transfer.fastwire import LineMode
from zonesync.transfer.soa import serial_gt
from zonesync.transfer.xfrin import XfrIn, XfrKind

log = logging.getLogger(__name__)

T = TypeVar("T")

# max-transfer-time-in and max-transfer-idle-in are in minutes (BIND ARM).
MINUTE_SECONDS = 60.0
# With nothing held there was no SOA query before the transfer (see
# SecondaryZone._try_primaries), so the reply's first bytes must come as
# soon as an SOA query's would have: a primary that accepts the connection
# and stays silent then costs no more than one that ignores SOA queries.
FIRST_REPLY_SECONDS = SOA_TCP_SECONDS


async def receive(
    zone: ZoneConfig,
    label: str,
    store: FileZone | MemoryZone,
    network: Network,
    endpoint: Endpoint,
    info: ZoneInfo | None,
    use_ixfr: bool,
    accept_any_serial: bool = False,
    events: ZoneEvents | None = None,
    on_received: Callable[[], None] | None = None,
) -> tuple[XfrKind, ZoneInfo | None]:
    """One AXFR or IXFR from one primary, published in full or not at all.

    `info` is the version held (None: none, or expired). Unless
    `accept_any_serial` (a forced retransfer), a reply whose serial is not
    newer than the held one is refused before anything is written.
    `on_received` is called once the whole reply is read and the connection
    closed, before the new version is stored (the caller frees its
    transfer slot then).
    """
    tlog = transfer_logger(log, label, endpoint.text)
    held = info.serial if info is not None else None
    rdtype = dns.rdatatype.IXFR if use_ixfr else dns.rdatatype.AXFR
    ixfr_soa = None
    if use_ixfr and info is not None:
        ixfr_soa = soa_of(info)
    query = make_query(zone.name, zone.rdclass, rdtype, endpoint, ixfr_soa)
    time_seconds = MINUTE_SECONDS * int_setting(zone, "max-transfer-time-in")
    idle_seconds = MINUTE_SECONDS * int_setting(zone, "max-transfer-idle-in")
    started = time.monotonic()
    writer: ZoneWriter | None = None
    stream: XfrStream | None = None
    machine: XfrIn | None = None

    def outcome(reason: FailureReason | None) -> TransferOutcome:
        kind = machine.kind if machine is not None else None
        return TransferOutcome(
            view=zone.view,
            zone=zone.name.to_text(omit_final_dot=True) or ".",
            primary=endpoint.text,
            key=key_text(endpoint.key) if endpoint.key else None,
            requested="ixfr" if use_ixfr else "axfr",
            actual=kind.value if kind is not None else None,
            serial_from=held,
            serial_to=machine.serial if machine is not None else None,
            messages=stream.messages_read if stream is not None else 0,
            records=machine.records if machine is not None else 0,
            bytes=stream.bytes_read if stream is not None else 0,
            duration_seconds=time.monotonic() - started,
            reason=reason,
        )

    def report(result: TransferOutcome) -> dict[str, object]:
        if events is not None:
            events.transfer(result)
        return {"transfer": to_log_fields(result)}

    try:
        async with asyncio.timeout(time_seconds):
            async with network.open_xfr(query, endpoint, idle_seconds) as stream:
                tlog.info("connected using %s", stream.local)
                machine = XfrIn(
                    zone.name,
                    zone.rdclass,
                    ixfr_soa.serial if ixfr_soa is not None else None,
                    endpoint.text,
                )
                # Messages are read, checked and written in a thread, a
                # batch of them per hop (issue 5: nothing O(zone) on the
                # event loop); the loop only reads the socket meanwhile.
                reader = _Reader(stream, machine, store, tlog, held, accept_any_serial)
                first_seconds = FIRST_REPLY_SECONDS if info is None else None
                first = True
                async for batch in stream.wires(first_seconds):
                    try:
                        # A reply whole in its first batch (a small zone) is
                        # also published in that thread call: one hand-off.
                        await in_thread(reader.take, batch, first, stop=reader.stop)
                    finally:
                        writer = reader.writer
                    if machine.done:
                        break
                    first = False
                if not reader.published:
                    reader.end()
            if on_received is not None:
                on_received()
            if not reader.published:
                await in_thread(reader.publish)
                writer = reader.writer
            new_info = reader.new_info
    except TimeoutError as err:
        failure = TransferTimeout("timed out", endpoint.text)
        _log_failure(tlog, failure, report(outcome(failure.reason)), stream)
        raise failure from err
    except (TransferError, StoreError) as err:
        _log_failure(tlog, err, report(outcome(err.reason)), stream)
        raise
    finally:
        if writer is not None:
            writer.abort()
    assert machine.kind is not None
    assert stream is not None
    seconds = max(time.monotonic() - started, 1e-6)
    extra = report(outcome(None))
    tlog.info("Transfer status: success")
    tlog.info(
        "Transfer completed: %d messages, %d records, %d bytes, %.3f secs "
        "(%d bytes/sec) (serial %d)",
        stream.messages_read,
        machine.records,
        stream.bytes_read,
        seconds,
        int(stream.bytes_read / seconds),
        machine.serial or 0,
        extra=extra,
    )
    return machine.kind, new_info


def to_log_fields(result: TransferOutcome) -> dict[str, object]:
    """The outcome as the JSON log's fields (STYLE: no secrets; key name only)."""
    return {
        "zone": result.zone,
        "view": result.view,
        "primary": result.primary,
        "key": result.key,
        "requested": result.requested,
        "actual": result.actual,
        "serial_from": result.serial_from,
        "serial_to": result.serial_to,
        "messages": result.messages,
        "records": result.records,
        "bytes": result.bytes,
        "duration_seconds": round(result.duration_seconds, 6),
        "outcome": result.outcome,
        "reason": result.reason.value if result.reason is not None else None,
    }


async def in_thread(
    work: Callable[..., T],
    *args: object,
    on_cancel: Callable[[T], None] | None = None,
    stop: Callable[[], None] | None = None,
) -> T:
    """Run blocking store work in a thread, and let it end even when cancelled.

    A shutdown cancels the transfer; waiting for the thread first means the
    cleanup after it (aborting the writer) never races a write in progress,
    and a temp file a cancelled `begin_axfr` created is still removed
    (`on_cancel` gets the result). `stop` is called at once on cancellation,
    to tell the work to skip what it has not begun.
    """
    # The executor's future itself, not asyncio.to_thread's coroutine in a
    # task: one task and its steps fewer per hand-off (a cold start of
    # 1,000 zones makes 1,000). No context variables are used in threads.
    future = asyncio.get_running_loop().run_in_executor(None, work, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if stop is not None:
            stop()
        await asyncio.wait({future})
        if on_cancel is not None and not future.cancelled() and not future.exception():
            on_cancel(future.result())
        raise


class _Reader:
    """Takes the reply's messages in order, in a worker thread: see receive()."""

    def __init__(
        self,
        stream: XfrStream,
        machine: XfrIn,
        store: FileZone | MemoryZone,
        tlog: logging.LoggerAdapter[logging.Logger],
        held: int | None,
        accept_any_serial: bool,
    ) -> None:
        self.stream = stream
        self.machine = machine
        self.store = store
        self.tlog = tlog
        self.held = held
        self.accept_any_serial = accept_any_serial
        self.writer: ZoneWriter | None = None
        self.published = False
        self.stopped = False
        self.new_info: ZoneInfo | None = None  # once published
        zone_wire = machine.zone.to_digestable()
        self.mode = LineMode(zone_wire, machine.rdclass)

    def take(self, batch: list[bytes], publish: bool = False) -> None:
        """Read, check and write each message, up to the end of the reply.

        With `publish`, a reply that ends in this batch is also ended and
        published (`end()`, `publish()`).
        """
        self._take(batch)
        if publish and self.machine.done and not self.stopped:
            self.end()
            self.publish()

    def stop(self) -> None:
        """Publish nothing more (the transfer was cancelled); from any thread."""
        self.stopped = True

    def end(self) -> None:
        """Check that the reply ended where it may, the last message signed."""
        self.machine.finish()
        self.stream.check_last_signed()

    def publish(self) -> None:
        """Make the ended reply the zone's newest version, in full or not at all."""
        kind = self.machine.kind
        if kind is XfrKind.IXFR:
            # Journaled, not yet merged into a zone file (issue 5): the
            # caller has the file rewritten after the serial is durable.
            self.new_info = self.store.commit_ixfr(self.machine.deltas)
        elif kind is not XfrKind.UP_TO_DATE:
            assert self.writer is not None
            self.new_info = self.writer.commit()
            self.writer = None
        self.published = True

    def _take(self, batch: list[bytes]) -> None:
        stream = self.stream
        machine = self.machine
        endpoint = stream.endpoint
        for wire in batch:
            message = stream.read(wire, self.mode if machine.streaming else None)
            self.tlog.debug("received message %d", stream.messages_read)
            check_rcode(message, endpoint)
            kind_before = machine.kind
            records = machine.feed(message)
            if kind_before is None and machine.kind is not None:
                _check_serial(
                    machine, self.held, endpoint, self.tlog, self.accept_any_serial
                )
            if message.line_count or records:
                if self.writer is None:
                    self.writer = self.store.begin_axfr()
                if message.line_count:
                    self.writer.add_lines(message.lines, message.line_count)
                if records:
                    self.writer.add_text(records)
            if machine.done:
                return


def _check_serial(
    machine: XfrIn,
    held: int | None,
    endpoint: Endpoint,
    tlog: logging.LoggerAdapter[logging.Logger],
    accept_any_serial: bool,
) -> None:
    kind = machine.kind
    if kind is XfrKind.IXFR:
        tlog.debug("got incremental response")  # BIND 9.18: debug(3)
    elif kind is not XfrKind.UP_TO_DATE:
        tlog.debug("got nonincremental response")
    serial = machine.serial
    if (
        kind is not XfrKind.UP_TO_DATE
        and serial is not None
        and held is not None
        and not accept_any_serial
        and not serial_gt(serial, held)
    ):
        raise SerialNotNewer(
            f"serial number ({serial}) received from primary "
            f"{endpoint.text} < ours ({held})",
            endpoint.text,
        )


def _log_failure(
    tlog: logging.LoggerAdapter[logging.Logger],
    err: BaseException,
    extra: dict[str, object],
    stream: XfrStream | None,
) -> None:
    # BIND 9.18 xfrin.c words a failure by the stage it came in.
    stage = (
        "failed to connect" if stream is None else "failed while receiving responses"
    )
    tlog.error("%s: %s", stage, short_error(err), extra=extra)
    tlog.info("Transfer status: %s", short_error(err))


def short_error(err: BaseException) -> str:
    """An error as BIND words a transfer status: the rcode alone for a refusal."""
    if isinstance(err, TransferRefused):
        return err.rcode
    return str(err)


def soa_of(info: ZoneInfo) -> dns.rdtypes.ANY.SOA.SOA:
    """The SOA we hold, for the authority section of an IXFR query (RFC 1995 §3).

    Should the store not have it, one with our serial and timers stands in;
    primaries read only the serial.
    """
    held = info.soa_rdata()
    if held is not None:
        return held
    soa = dns.rdata.from_text(
        dns.rdataclass.IN,
        dns.rdatatype.SOA,
        f". . {info.serial} {info.refresh} {info.retry} {info.expire} {info.minimum}",
    )
    assert isinstance(soa, dns.rdtypes.ANY.SOA.SOA)
    return soa


def int_setting(zone: ZoneConfig, name: str) -> int:
    """A zone setting that effective.py converts to an int."""
    value = zone.setting(name)
    assert isinstance(value, int), name
    return value
