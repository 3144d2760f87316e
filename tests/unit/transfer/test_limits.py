import asyncio

from zonesync.transfer.limits import RefreshLimits


def test_serial_query_rate_spaces_queries_by_the_rate():
    now = [100.0]
    limits = RefreshLimits(serial_query_rate=4, clock=lambda: now[0])
    # a full bucket: one second's worth goes at once
    assert [limits.delay_for_query() for _ in range(4)] == [0.0] * 4
    # then each waits its turn, in order, a quarter second apart
    assert limits.delay_for_query() == 0.25
    assert limits.delay_for_query() == 0.5
    now[0] += 0.5  # time catches up with the debt
    assert limits.delay_for_query() == 0.25


async def test_transfers_per_ns_and_transfers_in_cap_concurrency():
    limits = RefreshLimits(transfers_in=3, transfers_per_ns=2)
    release = asyncio.Event()
    peak = {"a": 0, "all": 0}
    running = {"a": 0, "all": 0}

    async def transfer(address):
        async with limits.transfer_slot(address):
            running["all"] += 1
            peak["all"] = max(peak["all"], running["all"])
            if address == "a":
                running["a"] += 1
                peak["a"] = max(peak["a"], running["a"])
            await release.wait()
            running["all"] -= 1
            if address == "a":
                running["a"] -= 1

    async with asyncio.TaskGroup() as group:
        for address in ["a", "a", "a", "b", "c", "d"]:
            group.create_task(transfer(address))
        for _ in range(10):
            await asyncio.sleep(0)
        assert limits.running == 3
        assert limits.queued == 3
        release.set()
    assert peak == {"a": 2, "all": 3}
    assert limits.running == 0
    assert limits.queued == 0


async def test_a_slot_given_back_early_lets_the_next_transfer_in():
    limits = RefreshLimits(transfers_in=10, transfers_per_ns=1)
    second_in = asyncio.Event()
    order = []

    async def second():
        async with limits.transfer_slot("a"):
            order.append("second in")
            second_in.set()

    async with limits.transfer_slot("a") as slot:
        task = asyncio.create_task(second())
        for _ in range(10):
            await asyncio.sleep(0)
        assert order == []  # one per primary: it waits
        assert (limits.running, limits.queued) == (1, 1)
        slot.release()  # the reply is read; storing it holds no slot
        slot.release()  # idempotent
        await asyncio.wait_for(second_in.wait(), 10)
        await task
        assert (limits.running, limits.queued) == (0, 0)
        await slot.acquire()  # an IXFR that did not apply: AXFR next
        assert (limits.running, limits.queued) == (1, 0)
    assert (limits.running, limits.queued) == (0, 0)
