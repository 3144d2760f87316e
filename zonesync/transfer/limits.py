"""Server-wide limits on refresh work: transfers-in, transfers-per-ns, serial-query-rate."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable


class RefreshLimits:
    """The limits BIND applies across all zones (zonemgr.c).

    `transfers-in` caps concurrent inbound transfers, `transfers-per-ns` caps
    them per primary address, and `serial-query-rate` caps SOA queries per
    second (a token bucket that holds one second's worth).
    """

    def __init__(
        self,
        transfers_in: int = 10,
        transfers_per_ns: int = 2,
        serial_query_rate: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.values = (transfers_in, transfers_per_ns, serial_query_rate)
        self._transfers = asyncio.Semaphore(max(transfers_in, 1))
        self._per_ns_limit = max(transfers_per_ns, 1)
        self._per_ns: dict[str, asyncio.Semaphore] = {}
        self._rate = float(max(serial_query_rate, 1))
        self._tokens = self._rate
        self._clock = clock
        self._filled_at = clock()
        self.running = 0
        self.queued = 0

    @contextlib.asynccontextmanager
    async def transfer_slot(self, primary_address: str) -> AsyncIterator[TransferSlot]:
        """Hold one of the transfers-in and one of the primary's transfers-per-ns.

        The slot may be given back early (`TransferSlot.release`) once the
        primary's reply is read: the limits are on transfers from primaries,
        and as in BIND, storing the zone does not hold one (issue 5).
        """
        # One semaphore per primary address; bounded by the configured primaries.
        per_ns = self._per_ns.setdefault(
            primary_address, asyncio.Semaphore(self._per_ns_limit)
        )
        slot = TransferSlot(self, per_ns)
        try:
            await slot.acquire()
            yield slot
        finally:
            slot.release()

    def delay_for_query(self) -> float:
        """Take a token and say how long to wait until it is really there.

        Tokens may go into debt, so queries queue up in order without a loop.
        """
        now = self._clock()
        refill = (now - self._filled_at) * self._rate
        self._tokens = min(self._rate, self._tokens + refill) - 1.0
        self._filled_at = now
        return max(0.0, -self._tokens / self._rate)

    async def soa_query_token(self) -> None:
        """Wait until serial-query-rate allows one more SOA query."""
        delay = self.delay_for_query()
        if delay > 0:
            await asyncio.sleep(delay)


class TransferSlot:
    """One transfer's hold on transfers-in and transfers-per-ns."""

    def __init__(self, limits: RefreshLimits, per_ns: asyncio.Semaphore) -> None:
        self._limits = limits
        self._per_ns = per_ns
        self._held = False

    async def acquire(self) -> None:
        """Wait for both slots (again, after a `release`); no-op if held."""
        if self._held:
            return
        limits = self._limits
        limits.queued += 1
        try:
            # The per-primary slot first, so a transfer waiting on a busy
            # primary never holds one of the transfers-in slots meanwhile.
            await self._per_ns.acquire()
            try:
                await limits._transfers.acquire()
            except BaseException:
                self._per_ns.release()
                raise
        finally:
            limits.queued -= 1
        self._held = True
        limits.running += 1

    def release(self) -> None:
        """Give both slots back; no-op if not held."""
        if not self._held:
            return
        self._held = False
        self._limits.running -= 1
        self._limits._transfers.release()
        self._per_ns.release()
