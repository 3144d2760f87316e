"""XfrStream.wires(): a reply's raw messages, split from the TCP stream (RFC 1035 §4.2.2)."""

import asyncio
import struct

import dns.message
import dns.name
import dns.rdatatype
import pytest

from zonesync.errors import TransferError, TransferTimeout
from zonesync.transfer.client import Endpoint, XfrStream

ZONE = dns.name.from_text("example.com.")
ENDPOINT = Endpoint("192.0.2.1", 53)


def framed(messages):
    return b"".join(struct.pack("!H", len(m)) + m for m in messages)


async def batches(chunks, eof=True):
    """What wires() yields when the stream delivers `chunks` one by one."""
    reader = asyncio.StreamReader()
    query = dns.message.make_query(ZONE, dns.rdatatype.AXFR)
    stream = XfrStream(ENDPOINT, query, reader, 5.0)
    out = []

    async def feed():
        for chunk in chunks:
            reader.feed_data(chunk)
            await asyncio.sleep(0)  # let wires() take what has arrived
        if eof:
            reader.feed_eof()

    feeder = asyncio.ensure_future(feed())
    try:
        async for batch in stream.wires():
            out.append(batch)
    finally:
        await feeder
    return out


MESSAGES = [bytes([i]) * (i * 37 % 300) for i in range(1, 12)] + [b""]


async def test_whole_messages_in_order_however_the_stream_is_cut():
    data = framed(MESSAGES)
    for cut in (1, 2, 3, 7, 64, 1000, len(data)):
        chunks = [data[i : i + cut] for i in range(0, len(data), cut)]
        got = await batches(chunks)
        assert [m for batch in got for m in batch] == MESSAGES
        assert all(batch for batch in got)


async def test_one_batch_holds_every_message_already_received():
    got = await batches([framed(MESSAGES)])
    assert got == [MESSAGES]


@pytest.mark.parametrize("cut", [1, 2, 5])
async def test_end_of_input_inside_a_message_is_an_error(cut):
    data = framed(MESSAGES[:2])
    with pytest.raises(TransferError, match="unexpected end of input"):
        await batches([data[:-cut]])


async def test_end_of_input_between_messages_ends_the_reply():
    assert await batches([]) == []


async def test_a_silent_primary_trips_the_idle_limit():
    reader = asyncio.StreamReader()
    query = dns.message.make_query(ZONE, dns.rdatatype.AXFR)
    stream = XfrStream(ENDPOINT, query, reader, 0.0)
    with pytest.raises(TransferTimeout, match="idle"):
        async for _ in stream.wires():
            pass


async def test_first_seconds_bounds_only_the_wait_for_the_first_bytes():
    reader = asyncio.StreamReader()
    query = dns.message.make_query(ZONE, dns.rdatatype.AXFR)
    stream = XfrStream(ENDPOINT, query, reader, 5.0)
    with pytest.raises(TransferTimeout, match=r"timed out \(no reply\)"):
        async for _ in stream.wires(first_seconds=0.0):
            pass
    # Once bytes came, the idle limit (5 s here) applies, not first_seconds:
    # the second message, fed a loop turn later, still arrives.
    reader = asyncio.StreamReader()
    stream = XfrStream(ENDPOINT, query, reader, 5.0)
    data = framed(MESSAGES[:2])
    reader.feed_data(data[:3])

    async def feed_rest():
        await asyncio.sleep(0)
        reader.feed_data(data[3:])
        reader.feed_eof()

    feeder = asyncio.ensure_future(feed_rest())
    got = [m async for batch in stream.wires(first_seconds=0.0) for m in batch]
    await feeder
    assert got == MESSAGES[:2]
