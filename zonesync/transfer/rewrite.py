"""ZoneRewriter: brings one zone's file up to its IXFR journal (issue 5).

An IXFR is durable once journaled (FileZone.commit_ixfr); the zone file is
rewritten afterwards, in the background, by one task per zone, which has the
on-update hook run once the file holds the new serial. The zone's state
(serial, timers, the state file) stays with its SecondaryZone: the rewriter
tells it what happened through the callbacks it was given, and logs through
the zone's logger, so its lines read as the zone's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from zonesync.errors import StoreError, ZoneContentError
from zonesync.log import ZoneLogger
from zonesync.store.memory import MemoryZone
from zonesync.store.zonefile import FileZone, Rewrite, ZoneInfo
from zonesync.transfer.receive import in_thread

Rewritten = Callable[[Rewrite], Awaitable[None]]
RollBack = Callable[[ZoneInfo], Awaitable[None]]


class ZoneRewriter:
    """The journal side of one zone: its rewrite task, and the store lock."""

    __slots__ = ("_label", "_owner", "_store", "_task", "_wanted", "lock", "log")

    def __init__(
        self, store: FileZone | MemoryZone, log: ZoneLogger, label: str
    ) -> None:
        self._store = store
        self.log = log
        self._label = label
        # Held by a transfer until its version is in the zone's state, so a
        # failed rewrite's rollback (_failed) never interleaves with it.
        self.lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wanted = False  # a rewrite is asked for that the task has not begun
        # The task that asked for the rewrite task (the zone's): the rewrite
        # task is its, and is cancelled when it ends.
        self._owner: asyncio.Task[object] | None = None

    async def sync(self) -> None:
        """Wait until the zone file holds every journaled version (`rndc sync`)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def ended(self) -> None:
        """Let the rewrite task of the zone's last run end (a restarted zone)."""
        if self._task is not None:
            await asyncio.wait({self._task})

    def log_replay(
        self, journal: Rewrite | ZoneContentError | StoreError | None
    ) -> bool:
        """Say what the replay of the journal at load did (`read_disk`).

        True when the journal did not apply and was discarded: the next
        transfer should not be an IXFR.
        """
        if isinstance(journal, ZoneContentError):
            self.log.warning(
                "journal does not apply to the zone file, discarded: %s", journal
            )
            return True
        if isinstance(journal, StoreError):
            self.log.error("replaying the journal failed: %s", journal)
        elif journal is not None:
            self.log.info(
                "zone file rewritten from the journal: serial %d to %d "
                "(%d sequence(s))",
                journal.from_serial,
                journal.to_serial,
                journal.sequences,
            )
        return False

    def rewrite_soon(
        self, rewritten: Rewritten, roll_back: RollBack, retry: Callable[[], None]
    ) -> None:
        """Have the zone file rewritten from the journal, in the background.

        The zone's callbacks: `rewritten(done)` once the file holds a
        journaled version; `roll_back(info)` when the journal did not apply
        and was dropped, `info` being the file's version (under the lock),
        and `retry()` after it, for the AXFR that follows. Only the task
        holds them, while it runs: a zone and its rewriter make no reference
        cycle, which a zone frozen at start (gc.freeze) would never shed.
        """
        self._wanted = True
        if self._task is not None and not self._task.done():
            return  # it looks again when it is done
        self._task = asyncio.create_task(
            self._run(rewritten, roll_back, retry), name=f"rewrite {self._label}"
        )
        # The rewrite ends with the zone's task (shutdown, reconfig): a
        # cancelled rewrite lets its thread finish, leaving the old file or
        # the new one, and the journal of what the file lacks.
        owner = asyncio.current_task()
        if owner is not None and owner is not self._owner:
            self._owner = owner
            owner.add_done_callback(self._stop)

    def _stop(self, _owner: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(
        self, rewritten: Rewritten, roll_back: RollBack, retry: Callable[[], None]
    ) -> None:
        store = self._store
        assert isinstance(store, FileZone)
        while self._wanted:
            self._wanted = False
            started = time.monotonic()
            try:
                done = await in_thread(store.rewrite)
            except StoreError as err:
                # The journal stays: the next IXFR or start tries again.
                self.log.error("rewriting the zone file failed: %s", err)
                return
            except Exception:
                # This task is the rewrite's boundary, as _run is the zone's.
                self.log.exception("internal error rewriting the zone file")
                return
            if done is None:
                continue
            if done.info is None:
                await self._failed(done, roll_back, retry)
                continue
            self.log.info(
                "zone file rewritten: serial %d to %d, %d journaled sequence(s), "
                "%d records, %.3f secs",
                done.from_serial,
                done.to_serial,
                done.sequences,
                done.info.records,
                time.monotonic() - started,
            )
            await rewritten(done)

    async def _failed(
        self, failed: Rewrite, roll_back: RollBack, retry: Callable[[], None]
    ) -> None:
        """The journaled sequences do not apply to the zone file: AXFR.

        This is found after the new serial was declared durable, not before
        as when an IXFR was applied at once. That is safe: the file that was
        served never changed, the zone goes back to its serial, and an AXFR
        follows at once (BIND 9.18 xfrin.c retries an IXFR that fails to
        apply as AXFR), counted as such a fallback.
        """
        async with self.lock:
            store = self._store
            assert isinstance(store, FileZone)
            info = await in_thread(store.discard_journal, failed.generation)
            if info is None:
                return  # a full transfer superseded the journal meanwhile
            self.log.warning(
                "journaled IXFR to serial %d does not apply to the zone file: %s; "
                "journal discarded, back to serial %d, retrying with AXFR",
                failed.to_serial,
                failed.error,
                info.serial,
            )
            await roll_back(info)
        retry()
