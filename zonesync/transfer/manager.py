"""ZoneManager: the secondary zones of a config, by (view, name), and their tasks."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dns.name

from zonesync.collector import gc_paused
from zonesync.config.model import Config, ZoneConfig
from zonesync.log import zone_label
from zonesync.store.state import StateLog
from zonesync.transfer.client import Endpoint
from zonesync.transfer.events import ZoneEvents
from zonesync.transfer.limits import RefreshLimits
from zonesync.transfer.secondary import (
    NO_EVENTS,
    NO_HOOKS,
    DiskState,
    Hooks,
    SecondaryZone,
    read_disks,
)
from zonesync.transfer.snapshot import ZoneSnapshot

log = logging.getLogger(__name__)

# After an unexpected crash of a zone's task, wait this long before
# starting it again, so a persistent bug cannot spin.
ZONE_RESTART_SECONDS = 60.0

# Zones whose files and state are read in one thread call at start.
LOAD_BATCH = 500


# (view, the zone's labels in lower case): names compare as DNS names do,
# without dns.name.Name's hash, a Python loop over every byte of the name,
# which a start of 10,000 zones ran 50,000 times (issue 5).
ZoneKey = tuple[str, tuple[bytes, ...]]


def zone_key(view: str, name: dns.name.Name) -> ZoneKey:
    """The key of zone `name` in `view`."""
    # A label already in lower case is the name's own object, not a copy.
    return (view, tuple(_lower(label) for label in name.labels))


def _lower(label: bytes) -> bytes:
    lower = label.lower()
    return label if lower == label else lower


@dataclass(frozen=True, slots=True)
class ReloadSummary:
    """What a reconfig did to the zones."""

    added: int
    removed: int
    changed: int
    unchanged: int


class ZoneManager:
    """Runs one SecondaryZone per secondary zone of the config."""

    def __init__(
        self,
        config: Config,
        state_dir: Path,
        hooks: Hooks = NO_HOOKS,
        clock: Callable[[], float] = time.time,
        events: ZoneEvents = NO_EVENTS,
    ) -> None:
        self.config = config
        self._state_log = StateLog(state_dir)
        self._hooks = hooks
        self._clock = clock
        self._events = events
        self.limits = _limits(config)
        self.zones = self._build(config, self.limits)
        self._tasks: dict[ZoneKey, asyncio.Task[None]] = {}
        self._group: asyncio.TaskGroup | None = None

    def _build(
        self, config: Config, limits: RefreshLimits
    ) -> dict[ZoneKey, SecondaryZone]:
        zones: dict[ZoneKey, SecondaryZone] = {}
        # Zones share their primaries: 10,000 zones, one list (issue 5).
        endpoint_lists: dict[tuple[object, ...], list[Endpoint]] = {}
        for zone in config.secondary_zones():
            fmt = zone.setting("masterfile-format")
            if fmt != "text":
                log.error(
                    "zone %s: masterfile-format %s is not supported (zonesync "
                    "writes text zone files); zone not loaded",
                    zone_label(zone.name, zone.rdclass, zone.view),
                    fmt,
                )
                continue
            same = (zone.primaries, *(zone.setting(n) for n in _ENDPOINT_SETTINGS))
            endpoints = endpoint_lists.get(same)
            if endpoints is None:
                endpoints = endpoint_lists[same] = endpoints_for(zone, config)
            endpoints = list(endpoints)
            for remote in zone.primaries:
                if remote.tls is not None:
                    log.error(
                        "zone %s: primary %s#%d: zone transfer over TLS is not "
                        "supported yet; skipped",
                        zone_label(zone.name, zone.rdclass, zone.view),
                        remote.address,
                        remote.port or 53,
                    )
            if not endpoints:
                label = zone_label(zone.name, zone.rdclass, zone.view)
                log.error("zone %s: no usable primaries; zone not loaded", label)
                continue
            zones[zone_key(zone.view, zone.name)] = SecondaryZone(
                zone,
                endpoints,
                self._state_log,
                limits,
                self._hooks,
                self._clock,
                events=self._events,
            )
        return zones

    async def run(self) -> None:
        """Run every zone's task until cancelled (zones may come and go)."""
        log.info("managing %d secondary zone(s)", len(self.zones))
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                with gc_paused():
                    await self._start_all()
                    # What the start made lives as long as the config (it
                    # leaves no cyclic garbage): out of the collector's sight,
                    # Python's gc.freeze() advice for a server's start. With
                    # 10,000 zones, collections of the growing heap took a
                    # third of a restart (issue 5).
                    gc.freeze()
                try:
                    await asyncio.get_running_loop().create_future()  # until cancelled
                finally:
                    self._group = None
        finally:
            self._state_log.close()  # every zone task has ended

    async def _start_all(self) -> None:
        """Start every zone, reading their files and state in batches.

        One thread call per LOAD_BATCH zones instead of several per zone
        (issue 5: a restart with 10,000 zones). A reload during this may
        have replaced or started a zone already; that one is left alone.
        """
        zones = list(self.zones.items())
        for first in range(0, len(zones), LOAD_BATCH):
            batch = zones[first : first + LOAD_BATCH]
            disks = await asyncio.to_thread(read_disks, [zone for _, zone in batch])
            for (key, zone), disk in zip(batch, disks, strict=True):
                if self.zones.get(key) is zone and key not in self._tasks:
                    self._start(key, disk)

    def _start(self, key: ZoneKey, disk: DiskState | None = None) -> None:
        assert self._group is not None
        zone = self.zones[key]
        # No task name: naming 10,000 tasks was a twentieth of a restart.
        self._tasks[key] = self._group.create_task(self._guard(zone, disk))

    async def _stop(self, key: ZoneKey) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    async def apply_config(self, config: Config) -> ReloadSummary:
        """Move to a new config: start added zones, stop removed ones (their
        files stay), restart changed ones, leave unchanged ones undisturbed."""
        limits = self.limits
        if _limits(config).values != limits.values:
            limits = _limits(config)  # new server-wide limits: every zone restarts
        fresh = self._build(config, limits)
        old = self.zones
        removed = [key for key in old if key not in fresh]
        added = [key for key in fresh if key not in old]
        changed = [
            key
            for key in fresh
            if key in old
            and (
                limits is not self.limits
                or fingerprint(old[key]) != fingerprint(fresh[key])
            )
        ]
        for key in removed + changed:
            await self._stop(key)
        zones: dict[ZoneKey, SecondaryZone] = {}
        for key, zone in fresh.items():
            keep = key in old and key not in changed
            zones[key] = old[key] if keep else zone
        self.zones = zones
        self.config = config
        self.limits = limits
        if self._group is not None:
            for key in added + changed:
                self._start(key)
        return ReloadSummary(
            len(added),
            len(removed),
            len(changed),
            len(fresh) - len(added) - len(changed),
        )

    def transfer_counts(self) -> tuple[int, int]:
        """Transfers (running, queued) now."""
        return (self.limits.running, self.limits.queued)

    async def _guard(self, zone: SecondaryZone, disk: DiskState | None) -> None:
        while True:
            try:
                await zone.run(disk)
            except Exception:
                zone.log.exception(
                    "internal error, restarting in %d s", ZONE_RESTART_SECONDS
                )
            disk = None  # a restart after a crash reads the disk again
            await asyncio.sleep(ZONE_RESTART_SECONDS)

    def snapshot(self) -> tuple[ZoneSnapshot, ...]:
        """Every zone's state now, in config order."""
        return tuple(zone.snapshot() for zone in self.zones.values())

    def find(self, view: str, name: dns.name.Name) -> SecondaryZone | None:
        """The zone (view, name), or None."""
        return self.zones.get(zone_key(view, name))

    # NotifyTarget (server/notify_in.py)
    def notify_zone(self, view: str, name: dns.name.Name) -> ZoneConfig | None:
        """The config of the secondary zone run for (view, name), or None."""
        zone = self.zones.get(zone_key(view, name))
        return zone.config if zone is not None else None

    def notify(
        self, view: str, name: dns.name.Name, serial: int | None, source: str
    ) -> None:
        """Pass a NOTIFY to its zone."""
        zone = self.zones.get(zone_key(view, name))
        if zone is not None:
            zone.notify(serial, source)


# The zone settings `endpoints_for` reads besides the primaries.
_ENDPOINT_SETTINGS = ("transfer-source", "transfer-source-v6", "request-ixfr")


def endpoints_for(zone: ZoneConfig, config: Config) -> list[Endpoint]:
    """The zone's primaries in order, each with its port, key and source.

    The key comes from the primaries entry, else from a `server` statement
    for the address (BIND's order); so do transfer-source and request-ixfr,
    where a `server` statement's value wins over the zone's.
    """
    out = []
    for remote in zone.primaries:
        if remote.tls is not None:
            continue  # XFR over TLS comes later; the manager says so
        server = None
        for candidate in config.servers:
            if (
                remote.address.version == candidate.network.version
                and remote.address in candidate.network
            ):
                server = candidate
                break
        key_name = remote.key or (server.keys if server else None)
        key = config.key(key_name) if key_name else None
        v6 = remote.address.version == 6
        source_text = server.transfer_source if server else None
        if source_text is None:
            value = zone.setting("transfer-source-v6" if v6 else "transfer-source")
            source_text = str(value)
        request_ixfr = bool(zone.setting("request-ixfr"))
        if server is not None and server.request_ixfr is not None:
            request_ixfr = server.request_ixfr
        out.append(
            Endpoint(
                str(remote.address),
                remote.port or 53,
                key,
                parse_source(source_text, v6),
                request_ixfr,
            )
        )
    return out


def parse_source(text: str, v6: bool = False) -> tuple[str, int] | None:
    """A transfer-source value (`[address] ADDR|* [port N|*] [dscp N]`) as a bind tuple."""
    words = text.split()
    if words and words[0].lower() == "address":
        words = words[1:]
    address = words[0] if words else "*"
    port = 0
    for i, word in enumerate(words[:-1]):
        if word.lower() == "port" and words[i + 1] != "*":
            port = int(words[i + 1])
    if address == "*" and port == 0:
        return None
    if address == "*":
        address = "::" if v6 else "0.0.0.0"
    return (address, port)


def fingerprint(zone: SecondaryZone) -> tuple[object, ...]:
    """What makes a zone's replication differ: where from, where to, how.

    File and line of the zone statement are left out, so an edit elsewhere
    in named.conf does not restart it.
    """
    config = zone.config
    return (
        config.type,
        config.file,
        tuple(zone.endpoints),
        tuple((name, setting.value) for name, setting in config.settings.items()),
    )


def _limits(config: Config) -> RefreshLimits:
    settings = config.server_settings
    return RefreshLimits(
        _int(settings["transfers-in"].value),
        _int(settings["transfers-per-ns"].value),
        _int(settings["serial-query-rate"].value),
    )


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value
