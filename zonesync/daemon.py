"""Daemon: load the config, start the zones and the NOTIFY listener, stop cleanly.

Wiring only: behaviour lives in the objects wired here (STYLE §1).
"""

from __future__ import annotations

import asyncio
import collections
import logging

from zonesync.config import load_config
from zonesync.errors import ZoneSyncError
from zonesync.server.listener import Listener
from zonesync.server.notify_in import NotifyHandler, NotifyResult
from zonesync.settings import Settings, listen_from_config
from zonesync.transfer.manager import ZoneManager
from zonesync.transfer.secondary import Hooks

log = logging.getLogger(__name__)


class Daemon:
    """One zonesync process: a config, its zones and its listeners."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready = asyncio.Event()
        self.listen_addresses: list[tuple[str, int]] = []
        self._manager: ZoneManager | None = None
        # NOTIFYs by result; the metrics endpoint (issue 4) exports these.
        self.notify_counts: collections.Counter[NotifyResult] = collections.Counter()

    @property
    def manager(self) -> ZoneManager:
        """The zone manager (available once `ready` is set)."""
        if self._manager is None:
            raise RuntimeError("the daemon has not started yet")
        return self._manager

    async def run(self, shutdown: asyncio.Event) -> None:
        """Run until `shutdown` is set; raises ConfigError or ZoneSyncError at start."""
        settings = self.settings
        config = await asyncio.to_thread(load_config, str(settings.config_path))
        try:
            settings.state_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        except OSError as err:
            raise ZoneSyncError(
                f"state directory {settings.state_dir}: {err.strerror or err}"
            ) from err
        manager = ZoneManager(
            config,
            settings.state_dir,
            Hooks(settings.on_update, settings.on_expire),
        )
        self._manager = manager
        handler = NotifyHandler(config, manager)
        addresses = settings.listen
        if addresses is None:
            addresses = listen_from_config(config)

        def handle(
            wire: bytes,
            source: tuple[str, int],
            destination: tuple[str, int],
            tcp: bool,
        ) -> bytes | None:
            reply, result = handler.handle(wire, source, destination, tcp)
            if result is not None:
                self.notify_counts[result] += 1
            return reply

        listener = await Listener.start(addresses, handle)
        self.listen_addresses = listener.addresses
        try:
            async with asyncio.TaskGroup() as group:
                zones = group.create_task(manager.run())
                stop = group.create_task(shutdown.wait())
                log.info(
                    "running: %d zone(s), listening on %s",
                    len(manager.zones),
                    ", ".join(f"{a}#{p}" for a, p in self.listen_addresses)
                    or "nothing",
                )
                self.ready.set()
                await asyncio.wait({zones, stop}, return_when=asyncio.FIRST_COMPLETED)
                log.info("shutting down")
                await listener.close()
                zones.cancel()
                stop.cancel()
        finally:
            await listener.close()
        log.info("stopped")
