"""SecondaryZone: one task per zone that keeps it fresh from its primaries.

It ties the timers of `schedule.py`, the network of `client.py`, the reply
state machine of `xfrin.py` and the store together, and is the boundary
where a zone's errors are caught, logged in BIND's words and turned into a
retry. The behaviour is BIND 9.18's as a secondary (`lib/dns/zone.c`,
`lib/dns/xfrin.c`).

It is over STYLE's 600 lines (about 690) because the steps of a refresh
(load, the SOA checks of each primary in turn, the transfer, expiry) read
and write the same zone state; the IXFR journal's rewrite, which does not,
is in `rewrite.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from zonesync.config.model import ZoneConfig
from zonesync.errors import (
    FailureReason,
    StoreError,
    TransferBroken,
    TransferError,
    TransferRefused,
    TransferTimeout,
    ZoneContentError,
    ZoneSyncError,
)
from zonesync.hooks import run_hook
from zonesync.log import REFRESH_LOGGER, text_label, transfer_logger, zone_logger
from zonesync.names import name_text
from zonesync.store.memory import MemoryZone
from zonesync.store.state import StateLog, ZoneState, journal_file, state_key
from zonesync.store.zonefile import FileZone, Rewrite, ZoneInfo
from zonesync.transfer.client import (
    Endpoint,
    Network,
    key_text,
)
from zonesync.transfer.events import (
    FallbackReason,
    NoEvents,
    SoaResult,
    TsigError,
    ZoneEvents,
)
from zonesync.transfer.limits import TransferSlot
from zonesync.transfer.receive import int_setting, receive, short_error
from zonesync.transfer.rewrite import ZoneRewriter
from zonesync.transfer.schedule import (
    TimerLimits,
    Timers,
    Uniform,
    clamp_timers,
    refresh_delay,
    retry_delay,
    startup_delay,
)
from zonesync.transfer.snapshot import RefreshResult, ZoneSnapshot
from zonesync.transfer.soa import serial_gt, serial_newer
from zonesync.transfer.xfrin import XfrKind

log = logging.getLogger(__name__)
refresh_log = logging.getLogger(REFRESH_LOGGER)


class Limits(Protocol):
    """The server-wide limits as a zone sees them (transfer/limits.py)."""

    def transfer_slot(
        self, primary_address: str
    ) -> contextlib.AbstractAsyncContextManager[TransferSlot]:
        """Hold a transfers-in and a transfers-per-ns slot."""

    async def soa_query_token(self) -> None:
        """Wait for serial-query-rate to allow one SOA query."""


@dataclass(frozen=True, slots=True)
class Hooks:
    """The operator's commands; None when not configured."""

    on_update: str | None = None
    on_expire: str | None = None


NO_HOOKS = Hooks()


NO_EVENTS = NoEvents()


@dataclass(frozen=True, slots=True)
class DiskState:
    """What a zone found on disk at start (`SecondaryZone.read_disk`)."""

    removed: int  # stale temporary files removed
    saved: ZoneState | None  # the state file, if usable
    info: ZoneInfo | None  # the zone file's figures, if any
    error: StoreError | None  # why the zone file could not be read
    mtime: float | None  # the zone file's mtime, if it was read
    # The journal replayed onto the file, or why it was not.
    journal: Rewrite | ZoneContentError | StoreError | None = None


def read_disks(zones: list[SecondaryZone]) -> list[DiskState]:
    """`read_disk()` of each zone, in one thread call for many zones."""
    return [zone.read_disk() for zone in zones]


class SecondaryZone:
    """Keeps one secondary zone fresh: load, refresh, transfer, expire."""

    # One per zone, so slots (issue 5: memory per zone). Past 30 attributes
    # CPython stops sharing instance dicts' keys: a dict of its own per zone
    # was 1.3 KB more for each.
    __slots__ = (
        "_clock",
        "_events",
        "_force_axfr",
        "_hooks",
        "_info",
        "_limits",
        "_limits_timers",
        "_network",
        "_next_refresh_at",
        "_no_ixfr_once",
        "_outcome",
        "_primary_serial",
        "_refreshing",
        "_rewrites",
        "_saved",
        "_serving",
        "_state",
        "_state_key",
        "_state_log",
        "_timers",
        "_transferred",
        "_uniform",
        "_waiters",
        "_wake",
        "_zone_text",
        "config",
        "endpoints",
        "label",
        "log",
        "store",
    )

    def __init__(
        self,
        zone: ZoneConfig,
        endpoints: list[Endpoint],
        state_log: StateLog,
        limits: Limits,
        hooks: Hooks = NO_HOOKS,
        clock: Callable[[], float] = time.time,
        uniform: Uniform = random.uniform,
        network: Network | None = None,
        events: ZoneEvents = NO_EVENTS,
    ) -> None:
        self.config = zone
        self._network = network or Network()
        self._events = events
        self._zone_text = name_text(zone.name, omit_final_dot=True) or "."
        self.endpoints = endpoints
        self.label = text_label(self._zone_text, zone.rdclass, zone.view)
        self.log = zone_logger(log, self.label)
        self._state_log = state_log
        self._state_key = state_key(zone.view, zone.name)
        self._limits = limits
        self._hooks = hooks
        self._clock = clock
        self._uniform = uniform
        max_records = int_setting(zone, "max-records")
        self.store: FileZone | MemoryZone = (
            FileZone(zone.name, zone.file, max_records)
            if zone.file is not None
            else MemoryZone(zone.name, max_records)
        )
        self._limits_timers = TimerLimits.from_zone(zone)
        self._info: ZoneInfo | None = None
        self._timers: Timers | None = None
        self._state = ZoneState()
        self._saved: ZoneState | None = None  # what the state file holds
        self._next_refresh_at: float | None = None
        self._primary_serial: int | None = None
        self._wake = asyncio.Event()
        self._refreshing = False
        self._force_axfr = False
        self._no_ixfr_once = False
        self._waiters: list[asyncio.Future[RefreshResult]] = []
        self._serving: list[
            asyncio.Future[RefreshResult]
        ] = []  # of the refresh running
        self._outcome = ""  # what the last refresh did, for `refresh --wait`
        self._transferred = False
        self._rewrites = ZoneRewriter(self.store, self.log, self.label)

    # -- what the outside sees -------------------------------------------------

    def store_info(self) -> ZoneInfo | None:
        """The version held now (None: nothing, or expired)."""
        return None if self._state.expired else self._info

    def snapshot(self) -> ZoneSnapshot:
        """The zone's state now."""
        info = self._info
        state = self._state
        return ZoneSnapshot(
            view=self.config.view,
            zone=self._zone_text,
            serial=info.serial if info else None,
            loaded=info is not None and not state.expired,
            expired=state.expired,
            refreshing=self._refreshing,
            last_refresh_at=state.last_refresh_at,
            last_transfer_at=state.last_transfer_at,
            next_refresh_at=self._next_refresh_at,
            expires_at=state.expires_at,
            primary=state.primary,
            primary_serial=self._primary_serial,
            failures=state.failures,
            last_error=state.last_error,
            records=info.records if info else 0,
            size_bytes=info.size_bytes if info else 0,
            expire_seconds=self._timers.expire if self._timers else None,
        )

    def notify(self, serial: int | None, source: str) -> None:
        """A NOTIFY arrived: refresh now, unless its serial is not newer.

        BIND 9.18 dns_zone_notifyreceive(): a loaded zone whose serial is at
        least the NOTIFY's is up to date; during a refresh one more is queued.
        """
        info = self._info
        if serial is None:
            self.log.info("notify from %s: no serial", source)
        elif (
            info is not None
            and not self._state.expired
            and not serial_gt(serial, info.serial)
        ):
            self.log.info("notify from %s: zone is up to date", source)
            return
        else:
            self.log.info("notify from %s: serial %d", source, serial)
        if self._refreshing:
            self.log.info(
                "notify from %s: refresh in progress, refresh check queued", source
            )
        self._wake.set()

    def refresh(self, force_axfr: bool = False) -> asyncio.Future[RefreshResult]:
        """Refresh now (`zonesync refresh`, or `retransfer` with force_axfr).

        The future resolves when a refresh that starts after this call ends;
        nothing need await it.
        """
        if force_axfr:
            self._force_axfr = True
        waiter: asyncio.Future[RefreshResult] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.append(waiter)
        self._wake.set()
        return waiter

    # -- the loop ---------------------------------------------------------------

    async def run(self, disk: DiskState | None = None) -> None:
        """Load what is on disk, then keep the zone fresh until cancelled.

        `disk`: what `read_disk()` found, if the caller read it already.
        """
        try:
            await self._run(disk)
        finally:
            # Stopped (shutdown, or the zone left the config): nobody waits forever.
            stopped = RefreshResult(False, False, f"zone {self.label}: stopped")
            for waiter in self._serving + self._waiters:
                if not waiter.done():
                    waiter.set_result(stopped)
            self._serving = []
            self._waiters = []

    async def _run(self, disk: DiskState | None) -> None:
        await self.load(disk)
        while True:
            await self._wait()
            now = self._clock()
            expires_at = self._state.expires_at
            if (
                expires_at is not None
                and not self._state.expired
                and self._info is not None
                and now >= expires_at
            ):
                await self._expire()
            due = self._next_refresh_at
            if self._wake.is_set() or due is None or now >= due:
                self._wake.clear()
                # Requests made during this refresh wait for the next one.
                waiters, self._waiters = self._waiters, []
                self._serving = waiters
                try:
                    result = await self.refresh_now()
                except Exception:
                    self._refreshing = False
                    self.log.exception("internal error during refresh, will retry")
                    await self._after(False, "internal error", FailureReason.INTERNAL)
                    result = RefreshResult(False, False, "internal error")
                self._serving = []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(result)

    async def _wait(self) -> None:
        if self._wake.is_set():
            return
        now = self._clock()
        wake_at = self._next_refresh_at if self._next_refresh_at is not None else now
        if not self._state.expired and self._state.expires_at is not None:
            wake_at = min(wake_at, self._state.expires_at)
        if wake_at <= now:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wake_at - now):
                await self._wake.wait()

    def read_disk(self) -> DiskState:
        """What the zone has on disk, its journal replayed: blocking, in a thread.

        At start the manager reads many zones in one thread call
        (`read_disks`): a thread hop per file per zone made a restart with
        10,000 zones take seconds of event-loop time (issue 5).
        """
        removed = self.store.remove_stale_temp_files()
        saved = self._state_log.get(self._state_key)
        error: StoreError | None = None
        try:
            info = self.store.load()
        except StoreError as err:
            error, info = err, None
        journal: Rewrite | ZoneContentError | StoreError | None = None
        mtime: float | None = None
        if isinstance(self.store, FileZone):
            path = journal_file(self._state_log.directory, self._state_key)
            try:
                journal = self.store.open_journal(path, info)
            except (ZoneContentError, StoreError) as err:
                journal = err
            if isinstance(journal, Rewrite):
                info = journal.info
            elif journal is None:
                mtime = self.store.loaded_mtime  # the file load() read
        if mtime is None and info is not None:
            mtime = self.store.mtime()
        return DiskState(removed, saved, info, error, mtime, journal)

    async def load(self, disk: DiskState | None = None) -> None:
        """Take the zone file, its journal and saved state; schedule the first refresh.

        `disk` is what `read_disk()` found, when the caller read it already.
        """
        if disk is None:
            await self._rewrites.ended()  # restarted: let the last run's end
            disk = await asyncio.to_thread(self.read_disk)
        if disk.removed:
            self.log.info("removed %d stale temporary file(s)", disk.removed)
        if disk.error is not None:
            self.log.error("loading from master file failed: %s", disk.error)
        if self._rewrites.log_replay(disk.journal):
            self._no_ixfr_once = True
        saved, info, mtime = disk.saved, disk.info, disk.mtime
        self._saved = saved
        now = self._clock()
        if info is None:
            self._state = ZoneState(failures=saved.failures if saved else 0)
            self._next_refresh_at = now
            return
        self._info = info
        self._timers = self._clamp(info)
        if saved is not None and saved.serial == info.serial:
            last = saved.last_refresh_at or mtime or now
            expires_at = last + self._timers.expire
            state = (
                saved
                if saved.expires_at == expires_at
                else replace(saved, expires_at=expires_at)
            )
        else:
            # BIND: the file's mtime is the time of the last refresh.
            last = mtime or now
            state = ZoneState(
                serial=info.serial,
                last_refresh_at=last,
                expires_at=last + self._timers.expire,
            )
        self._state = state
        self._next_refresh_at = now + startup_delay(self._timers, self._uniform)
        self.log.info("loaded serial %d", info.serial)
        if state.expired or (state.expires_at or now) <= now:
            self._next_refresh_at = now
            await self._expire()
        await self._save()

    def _clamp(self, info: ZoneInfo) -> Timers:
        return clamp_timers(info.refresh, info.retry, info.expire, self._limits_timers)

    async def _expire(self) -> None:
        self._state = replace(self._state, expired=True)
        self.log.warning("expired")
        await self._save()
        if self._hooks.on_expire:
            await run_hook("on-expire", self._hooks.on_expire, self._values(), self.log)

    async def _save(self) -> None:
        """Store the state, unless it is what the file already holds."""
        state = self._state
        if state == self._saved:
            return
        log = self._state_log
        try:
            # One append, here on the event loop (a thread hop cost more).
            due = log.save(self._state_key, state)
            if due:
                await asyncio.to_thread(log.compact)
        except StoreError as err:
            self.log.error("saving state failed: %s", err)
            return
        self._saved = state

    def _values(self) -> dict[str, str]:
        serial = self._info.serial if self._info else None
        return {
            "zone": self._zone_text,
            "view": self.config.view,
            "file": str(self.config.file) if self.config.file else "",
            "serial": "" if serial is None else str(serial),
        }

    # -- one refresh ------------------------------------------------------------

    async def refresh_now(self) -> RefreshResult:
        """Run one refresh at once: SOA checks, and a transfer if one is newer."""
        self._refreshing = True
        self._transferred = False
        self._outcome = ""
        try:
            ok, error, reason = await self._try_primaries()
        finally:
            self._refreshing = False
        await self._after(ok, error, reason)
        message = self._outcome if ok else f"zone {self.label}: refresh failed: {error}"
        if not self._transferred:
            self._log_refresh(ok, reason, message)
        return RefreshResult(ok, self._transferred, message)

    def _log_refresh(
        self, ok: bool, reason: FailureReason | None, message: str
    ) -> None:
        """One structured line for a refresh that transferred nothing (JSON logs)."""
        primary = self._state.primary if ok else None
        endpoint = next(
            (e for e in self.endpoints if e.text == primary),
            self.endpoints[-1] if self.endpoints else None,
        )
        held = self._info.serial if self._info else None
        primary_serial = self._primary_serial
        actual = None
        if ok and primary_serial is not None and held is not None:
            actual = "up to date" if primary_serial == held else "older"
        fields = {
            "zone": self._zone_text,
            "view": self.config.view,
            "primary": self._state.primary
            if ok
            else (endpoint.text if endpoint else None),
            "key": None,
            "requested": "soa",
            "actual": actual,
            "serial_from": held,
            "serial_to": primary_serial,
            "messages": 0,
            "records": 0,
            "bytes": 0,
            "duration_seconds": None,
            "outcome": "success" if ok else "failure",
            "reason": reason.value if reason is not None else None,
        }
        refresh_log.info("%s", message, extra={"transfer": fields})

    async def _after(
        self, ok: bool, error: str | None, reason: FailureReason | None = None
    ) -> None:
        now = self._clock()
        if not ok:
            self._events.refresh_failed(
                self.config.view, self._zone_text, reason or FailureReason.INTERNAL
            )
        if ok:
            assert self._timers is not None
            self._state = replace(self._state, failures=0, last_error=None)
            self._next_refresh_at = now + refresh_delay(self._timers, self._uniform)
        else:
            failures = self._state.failures + 1
            self._state = replace(self._state, failures=failures, last_error=error)
            timers = self._timers if self._info is not None else None
            self._next_refresh_at = now + retry_delay(timers, failures, self._uniform)
        await self._save()

    async def _try_primaries(self) -> tuple[bool, str | None, FailureReason | None]:
        """Ask each primary in order until one refresh succeeds (BIND's order)."""
        error: str | None = None
        reason: FailureReason | None = None
        behind = False
        view, zone = self.config.view, self._zone_text
        for endpoint in self.endpoints:
            info = self._info
            held = info.serial if info is not None and not self._state.expired else None
            # With nothing held there is no serial to compare: the transfer
            # comes at once, without an SOA query first, as Knot and NSD
            # bootstrap a zone. serial-query-rate, which paces SOA queries,
            # then does not pace a cold start; transfers-in still does.
            if held is not None:
                await self._limits.soa_query_token()
                try:
                    answer = await self._network.query_soa(
                        self.config.name,
                        self.config.rdclass,
                        endpoint,
                        bool(self.config.setting("try-tcp-refresh")),
                    )
                except TransferError as err:
                    error = self._log_refresh_error(err, endpoint)
                    reason = err.reason
                    self._events.soa_query(view, zone, err.reason)
                    self._tsig_event(err)
                    continue
                self._primary_serial = answer.serial
                if answer.serial == held and not self._force_axfr:
                    self._events.soa_query(view, zone, SoaResult.UP_TO_DATE)
                    await self._up_to_date(endpoint)
                    return True, None, None
                if not self._force_axfr and not serial_newer(answer.serial, held):
                    self._events.soa_query(view, zone, SoaResult.OLDER)
                    behind = True
                    if not self.config.setting("multi-master"):
                        self.log.info(
                            "serial number (%d) received from primary %s < ours (%d)",
                            answer.serial,
                            endpoint.text,
                            held,
                        )
                    continue
                self._events.soa_query(view, zone, SoaResult.NEWER)
            try:
                await self._transfer(endpoint)
            except (TransferError, StoreError) as err:
                error = f"{endpoint.text}: {err}"
                reason = err.reason
                self._tsig_event(err)
                continue
            if held is None:
                self._primary_serial = self._info.serial if self._info else None
            return True, None, None
        if behind and error is None:
            # Every primary answered, none newer: not a failure (BIND's
            # primariesok), but no proof of freshness either, so expiry stays.
            self._outcome = f"zone {self.label}: every primary is behind our serial"
            return True, None, None
        return False, error, reason

    def _tsig_event(self, err: ZoneSyncError) -> None:
        if isinstance(err, TransferBroken) and err.tsig_error is not None:
            self._events.tsig_error(
                self.config.view, self._zone_text, TsigError(err.tsig_error)
            )

    def _log_refresh_error(self, err: TransferError, endpoint: Endpoint) -> str:
        where = f"primary {endpoint.text} (source {endpoint.source_text})"
        if isinstance(err, TransferRefused):
            self.log.info("refresh: unexpected rcode (%s) from %s", err.rcode, where)
        elif isinstance(err, TransferTimeout):
            self.log.info(
                "refresh: retry limit for primary %s exceeded (source %s)",
                endpoint.text,
                endpoint.source_text,
            )
        else:
            self.log.info("refresh: failure trying %s: %s", where, err)
        return f"{endpoint.text}: {err}"

    async def _up_to_date(self, endpoint: Endpoint) -> None:
        assert self._timers is not None
        now = self._clock()
        self.log.debug("zone is up to date (serial at %s)", endpoint.text)
        serial = self._info.serial if self._info else None
        self._outcome = f"zone {self.label}: up to date (serial {serial})"
        self._state = replace(
            self._state,
            last_refresh_at=now,
            expires_at=now + self._timers.expire,
            primary=endpoint.text,
        )
        # BIND sets the zone file's mtime at each successful refresh, so a
        # restart (ours or BIND's) reads the right age from the file.
        try:
            await asyncio.to_thread(self.store.touch, now)
        except StoreError as err:
            self.log.error("setting the file's time failed: %s", err)

    # -- one transfer -------------------------------------------------------------

    async def _transfer(self, endpoint: Endpoint) -> None:
        # Held until the new version is in the state, so that a failed
        # rewrite's rollback (ZoneRewriter._failed) never interleaves with it.
        async with self._rewrites.lock:
            kind = await self._transfer_and_save(endpoint)
        if kind is None:
            return
        if isinstance(self.store, FileZone) and self.store.pending:
            # Journaled: on-update runs once the zone file holds it, since
            # the hook tells the serving daemon to load the file.
            self._rewrites.rewrite_soon(
                self._rewritten, self._roll_back, self._wake.set
            )
        elif self._hooks.on_update:
            await run_hook("on-update", self._hooks.on_update, self._values(), self.log)

    async def _transfer_and_save(self, endpoint: Endpoint) -> XfrKind | None:
        """Transfer, and make the new version the zone's; None if up to date."""
        info = self._info
        use_ixfr = (
            info is not None
            and not self._state.expired
            and not self._force_axfr
            and not self._no_ixfr_once
            and endpoint.request_ixfr
        )
        async with self._limits.transfer_slot(endpoint.address) as slot:
            self.log.info("Transfer started.")
            try:
                kind, new_info = await self._receive(endpoint, use_ixfr, slot)
            except (TransferRefused, ZoneContentError) as err:
                if not use_ixfr:
                    raise
                fallback = FallbackReason.RCODE
                if isinstance(err, ZoneContentError):
                    self._no_ixfr_once = True  # if the AXFR fails too
                    fallback = FallbackReason.APPLY
                self._events.ixfr_fallback(self.config.view, self._zone_text, fallback)
                tlog = transfer_logger(log, self.label, endpoint.text)
                # BIND 9.18 xfrin.c: any error to an IXFR request is retried
                # at once as AXFR; so is an IXFR that fails to apply.
                tlog.info("got %s, retrying with AXFR", short_error(err))
                await slot.acquire()  # given back once the IXFR reply was read
                kind, new_info = await self._receive(endpoint, False, slot)
        if kind is XfrKind.UP_TO_DATE or new_info is None:
            await self._up_to_date(endpoint)
            return None
        now = self._clock()
        self._info = new_info
        self._timers = self._clamp(new_info)
        self._force_axfr = False
        self._no_ixfr_once = False
        self._state = replace(
            self._state,
            serial=new_info.serial,
            last_refresh_at=now,
            last_transfer_at=now,
            expires_at=now + self._timers.expire,
            primary=endpoint.text,
            expired=False,
        )
        await self._save()
        # The durable point: the zone file, or for an IXFR the journal, and
        # the state are written (the tests and bench wait for this line).
        tsig = f": TSIG '{key_text(endpoint.key)}'" if endpoint.key else ""
        self.log.info("transferred serial %d%s", new_info.serial, tsig)
        self._transferred = True
        self._outcome = f"zone {self.label}: transferred serial {new_info.serial}"
        return kind

    async def _receive(
        self, endpoint: Endpoint, use_ixfr: bool, slot: TransferSlot
    ) -> tuple[XfrKind, ZoneInfo | None]:
        """One transfer; the slot is given back once the reply is read."""
        info = self._info if not self._state.expired else None
        return await receive(
            self.config,
            self.label,
            self.store,
            self._network,
            endpoint,
            info,
            use_ixfr,
            accept_any_serial=self._force_axfr,
            events=self._events,
            on_received=slot.release,
        )

    # -- the journal (issue 5, transfer/rewrite.py) --------------------------------

    async def sync(self) -> None:
        """Wait until the zone file holds every journaled version (`rndc sync`)."""
        await self._rewrites.sync()

    async def _rewritten(self, done: Rewrite) -> None:
        """The zone file holds a journaled version now: on-update runs."""
        if self._info is not None and self._info.serial == done.to_serial:
            self._info = done.info  # the exact records and size
        if self._hooks.on_update:
            await run_hook("on-update", self._hooks.on_update, self._values(), self.log)

    async def _roll_back(self, info: ZoneInfo) -> None:
        """The journal did not apply: back to the file's version, then AXFR."""
        self._events.ixfr_fallback(
            self.config.view, self._zone_text, FallbackReason.APPLY
        )
        self._info = info
        self._timers = self._clamp(info)
        self._state = replace(self._state, serial=info.serial)
        self._no_ixfr_once = True
        await self._save()
