"""Daemon: load the config, start zones, listeners, metrics and control; reload; stop.

Wiring only: behaviour lives in the objects wired here (STYLE §1).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from typing import TYPE_CHECKING, Protocol

import dns.name

from zonesync import __version__, sdnotify
from zonesync.collector import gc_paused
from zonesync.config import load_config
from zonesync.config.model import Config
from zonesync.errors import ConfigError, ControlError, ZoneSyncError
from zonesync.log import zone_label
from zonesync.server.listener import Listener
from zonesync.server.notify_in import NotifyHandler, NotifyResult
from zonesync.settings import Settings, listen_from_config
from zonesync.transfer.events import NoEvents, ZoneEvents
from zonesync.transfer.manager import ZoneManager
from zonesync.transfer.receive import soa_of
from zonesync.transfer.secondary import Hooks, SecondaryZone
from zonesync.transfer.snapshot import ZoneSnapshot

# Imported where used: with `--metrics off --control off` the daemon starts
# without prometheus_client, http.server or the control modules (issue 5:
# they were a fifth of the start-up's imports).
if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from zonesync.control.server import ControlServer
    from zonesync.metrics import Metrics
    from zonesync.metrics_http import MetricsServer

log = logging.getLogger(__name__)


class DaemonEvents(ZoneEvents, Protocol):
    """What the daemon reports besides the zones' events: `Metrics`, or nothing."""

    def notify_received(self, result: NotifyResult) -> None:
        """One NOTIFY was handled."""

    def config_reloaded(self, ok: bool, at: float) -> None:
        """A configuration load ended; `at` is Unix seconds."""


class NoMetrics(NoEvents):
    """A DaemonEvents that counts nothing, for a daemon whose metrics are off."""

    def notify_received(self, result: NotifyResult) -> None:
        """Ignore."""

    def config_reloaded(self, ok: bool, at: float) -> None:
        """Ignore."""


class Daemon:
    """One zonesync process: a config, its zones, its listeners and endpoints.

    Args:
        settings: what to run.
        registry: where the metrics go; by default a new one.
        collect_metrics: False when nothing will read the metrics (`zonesync
            run --metrics off`): nothing is counted, there is no `registry`,
            and prometheus_client is not imported. An endpoint in
            `settings.metrics` needs them.
    """

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry | None = None,
        *,
        collect_metrics: bool = True,
    ) -> None:
        if not collect_metrics and (
            registry is not None or settings.metrics is not None
        ):
            raise ValueError("a metrics registry or endpoint needs collect_metrics")
        if collect_metrics and registry is None:
            from prometheus_client import CollectorRegistry

            registry = CollectorRegistry()
        self.settings = settings
        self._registry = registry
        self.ready = asyncio.Event()
        self.listen_addresses: list[tuple[str, int]] = []
        self.metrics_address: tuple[str, int] | None = None
        self.started_at = time.time()
        self.last_reload_at: float | None = None
        self.last_reload_ok: bool | None = None
        self._manager: ZoneManager | None = None
        self._metrics: Metrics | None = None
        self._events: DaemonEvents | None = None
        self._handler: NotifyHandler | None = None
        self._group: asyncio.TaskGroup | None = None
        self._reload_lock = asyncio.Lock()

    @property
    def manager(self) -> ZoneManager:
        """The zone manager (available once `ready` is set)."""
        if self._manager is None:
            raise RuntimeError("the daemon has not started yet")
        return self._manager

    @property
    def registry(self) -> CollectorRegistry:
        """Where the metrics go (none when they are not collected)."""
        if self._registry is None:
            raise RuntimeError("the daemon does not collect metrics")
        return self._registry

    @property
    def metrics(self) -> Metrics:
        """The metrics (available once `ready` is set, if they are collected)."""
        if self._metrics is None:
            if self._registry is None:
                raise RuntimeError("the daemon does not collect metrics")
            raise RuntimeError("the daemon has not started yet")
        return self._metrics

    def _start(self, config: Config) -> ZoneManager:
        """The state directory, the metrics and the zones of `config`."""
        settings = self.settings
        try:
            settings.state_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        except OSError as err:
            raise ZoneSyncError(
                f"state directory {settings.state_dir}: {err.strerror or err}"
            ) from err
        events: DaemonEvents = NoMetrics()
        if self._registry is not None:
            from zonesync.metrics import Metrics

            self._metrics = events = Metrics(
                self._registry,
                self._snapshot,
                self._transfer_counts,
                per_zone=settings.metrics_per_zone,
                bind_compat=settings.metrics_bind_compat,
            )
        self._events = events
        self._reloaded(True, time.time())  # the config in force and when it loaded
        self._manager = ZoneManager(
            config,
            settings.state_dir,
            Hooks(settings.on_update, settings.on_expire),
            events=events,
        )
        return self._manager

    async def run(self, shutdown: asyncio.Event) -> None:
        """Run until `shutdown` is set; raises ConfigError or ZoneSyncError at start."""
        settings = self.settings
        # The config and the zones made of it are a great many objects that
        # live as long as the config: no cyclic collection while they are
        # made, then out of its sight (issue 5). Loading leaves no cyclic
        # garbage, unless a file needs pyparsing's slow path (grammar.py);
        # its tree then stays, once.
        with gc_paused():
            config = await asyncio.to_thread(load_config, str(settings.config_path))
            manager = self._start(config)
            gc.freeze()
        events = self._events
        assert events is not None  # set by _start
        handler = NotifyHandler(config, manager)
        self._handler = handler

        def handle(
            wire: bytes,
            source: tuple[str, int],
            destination: tuple[str, int],
            tcp: bool,
        ) -> bytes | None:
            reply, result = handler.handle(wire, source, destination, tcp)
            if result is not None:
                events.notify_received(result)
            return reply

        addresses = settings.listen
        if addresses is None:
            addresses = listen_from_config(config)
        listener = await Listener.start(addresses, handle)
        self.listen_addresses = listener.addresses
        metrics_server: MetricsServer | None = None
        control: ControlServer | None = None
        try:
            if settings.metrics is not None:
                from zonesync.metrics_http import MetricsServer

                host, port = settings.metrics
                metrics_server = MetricsServer.start(
                    host, port, self.registry, self._is_ready
                )
                self.metrics_address = metrics_server.address
            if settings.control is not None:
                from zonesync.control.server import ControlServer

                control = await ControlServer.start(settings.control, self)
            async with asyncio.TaskGroup() as group:
                self._group = group
                zones = group.create_task(manager.run())
                stop = group.create_task(shutdown.wait())
                log.info(
                    "running: %d zone(s), listening on %s",
                    len(manager.zones),
                    ", ".join(f"{a}#{p}" for a, p in self.listen_addresses)
                    or "nothing",
                )
                self.ready.set()
                sdnotify.notify("READY=1")
                await asyncio.wait({zones, stop}, return_when=asyncio.FIRST_COMPLETED)
                log.info("shutting down")
                sdnotify.notify("STOPPING=1")
                await listener.close()
                zones.cancel()
                stop.cancel()
        finally:
            self._group = None
            await listener.close()
            if control is not None:
                await control.close()
            if metrics_server is not None:
                await asyncio.to_thread(metrics_server.close)
        log.info("stopped")

    # -- reconfig -----------------------------------------------------------------

    def request_reload(self) -> None:
        """Reload soon (SIGHUP); problems are logged, the running config stays."""
        if self._group is None:
            log.warning("reload requested before the daemon runs; ignored")
            return
        self._group.create_task(self._reload_quietly())

    async def _reload_quietly(self) -> None:
        try:
            await self.reload()
        except ControlError:
            pass  # already logged, problem by problem
        except Exception:  # a reload's bug must not bring the daemon down
            log.exception("reloading configuration failed: internal error")

    async def reload(self) -> str:
        """Load the config again and apply it; ControlError lists every problem."""
        async with self._reload_lock:
            sdnotify.notify("RELOADING=1")
            try:
                return await self._reload()
            finally:
                sdnotify.notify("READY=1")

    async def _reload(self) -> str:
        path = str(self.settings.config_path)
        log.info("loading configuration from '%s'", path)
        now = time.time()
        try:
            config = await asyncio.to_thread(load_config, path)
        except ConfigError as err:
            for problem in err.problems:
                log.error("%s", problem)
            log.error("reloading configuration failed: the running one stays")
            self._reloaded(False, now)
            raise ControlError(
                "reloading configuration failed:\n"
                + "\n".join(str(p) for p in err.problems)
            ) from None
        summary = await self.manager.apply_config(config)
        if self._handler is not None:
            self._handler.set_config(config)
        self._reloaded(True, now)
        text = (
            f"reloading configuration succeeded: {summary.added} zone(s) added, "
            f"{summary.removed} removed, {summary.changed} changed, "
            f"{summary.unchanged} unchanged"
        )
        log.info("%s", text)
        return text

    def _reloaded(self, ok: bool, at: float) -> None:
        self.last_reload_at = at
        self.last_reload_ok = ok
        if self._events is None:
            raise RuntimeError("the daemon has not started yet")
        self._events.config_reloaded(ok, at)

    # -- what the metrics endpoint reads (from its own thread) -----------------------

    def _snapshot(self) -> tuple[ZoneSnapshot, ...]:
        manager = self._manager
        return manager.snapshot() if manager is not None else ()

    def _transfer_counts(self) -> tuple[int, int]:
        manager = self._manager
        return manager.transfer_counts() if manager is not None else (0, 0)

    def _is_ready(self) -> bool:
        """Ready once every zone has loaded or been tried once."""
        if not self.ready.is_set():
            return False
        return all(
            s.loaded or s.expired or s.failures > 0 or s.last_refresh_at is not None
            for s in self._snapshot()
        )

    # -- ControlTarget (control/commands.py) --------------------------------------------

    def status(self) -> dict[str, object]:
        """The daemon's state for `zonesync status`."""
        snapshots = self._snapshot()
        running, queued = self._transfer_counts()
        return {
            "version": __version__,
            "pid": os.getpid(),
            "uptime_seconds": int(time.time() - self.started_at),
            "config": str(self.settings.config_path),
            "zones": len(snapshots),
            "loaded": sum(1 for s in snapshots if s.loaded),
            "expired": sum(1 for s in snapshots if s.expired),
            "failing": sum(1 for s in snapshots if s.state == "failing"),
            "transfers_running": running,
            "transfers_queued": queued,
            "last_reload_at": self.last_reload_at,
            "last_reload_ok": self.last_reload_ok,
        }

    def snapshot(self) -> tuple[ZoneSnapshot, ...]:
        """Every zone's state now."""
        return self._snapshot()

    def _zone(self, zone: dns.name.Name, view: str) -> SecondaryZone:
        found = self.manager.find(view, zone)
        if found is None:
            raise ControlError(
                f"zone '{zone.to_text(True)}' in view '{view}': not found"
            )
        return found

    async def refresh(
        self, zone: dns.name.Name, view: str, force_axfr: bool, wait: bool
    ) -> str:
        """`zonesync refresh` / `retransfer`: wake the zone, maybe wait for it."""
        target = self._zone(zone, view)
        done = target.refresh(force_axfr)
        if not wait:
            what = "retransfer" if force_axfr else "refresh"
            return f"zone {target.label}: {what} queued"
        result = await done
        if not result.ok:
            raise ControlError(result.message)
        if force_axfr and not result.transferred:
            raise ControlError(f"{result.message} (no transfer took place)")
        return result.message

    async def notify(self, zone: dns.name.Name, view: str) -> str:
        """`zonesync notify`: NOTIFY the zone's also-notify targets now."""
        from zonesync.server.notify_out import NotifyTarget, notify_all

        target = self._zone(zone, view)
        config = target.config
        label = zone_label(config.name, config.rdclass, config.view)
        remotes = config.setting("also-notify")
        assert isinstance(remotes, tuple)
        targets = []
        for remote in remotes:
            key = self.manager.config.key(remote.key) if remote.key else None
            targets.append(NotifyTarget(str(remote.address), remote.port or 53, key))
        if not targets:
            raise ControlError(f"zone {label}: no also-notify targets")
        info = target.store_info()
        if info is None:
            raise ControlError(f"zone {label}: not loaded, nothing to notify")
        results = await notify_all(config.name, config.rdclass, soa_of(info), targets)
        failed = {t: r for t, r in results.items() if r is not None}
        for where, why in failed.items():
            log.info("zone %s: notify to %s failed: %s", label, where, why)
        if failed:
            raise ControlError(
                f"zone {label}: NOTIFY acknowledged by {len(results) - len(failed)}"
                f" of {len(results)}; "
                + "; ".join(f"{t}: {r}" for t, r in failed.items())
            )
        return (
            f"zone {label}: NOTIFY sent to {len(results)} target(s), all acknowledged"
        )
