"""Listener: real UDP and TCP sockets on 127.0.0.1 and ::1, free ports.

The handler here is a stand-in that echoes; what the bytes mean is the
NOTIFY handler's business (tests/unit/server). No sleeps: every wait is on a
reply, an EOF or an event, under a deadline.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from zonesync.errors import ZoneSyncError
from zonesync.server import listener as listener_module
from zonesync.server.listener import Listener

DEADLINE_SECONDS = 5.0

Address = tuple[str, int]


@dataclass
class Echo:
    """A handler that answers b"re:" + message and records each call."""

    calls: list[tuple[bytes, Address, Address, bool]] = field(default_factory=list)
    fail_on: bytes | None = None
    silent_on: bytes | None = None

    def __call__(
        self, wire: bytes, source: Address, destination: Address, tcp: bool
    ) -> bytes | None:
        self.calls.append((wire, source, destination, tcp))
        if wire == self.fail_on:
            raise RuntimeError("handler bug")
        if wire == self.silent_on:
            return None
        return b"re:" + wire


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.replies.put_nowait(data)


async def udp_ask(
    address: Address,
    messages: list[bytes],
    source: str | None = None,
    replies: int | None = None,
) -> list[bytes]:
    """Send each message from one socket; wait for `replies` (default: one each)."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    local = (source or address[0], 0)
    transport, protocol = await loop.create_datagram_endpoint(
        _Udp, local_addr=local, family=family
    )
    try:
        for message in messages:
            transport.sendto(message, address)
        async with asyncio.timeout(DEADLINE_SECONDS):
            count = len(messages) if replies is None else replies
            return [await protocol.replies.get() for _ in range(count)]
    finally:
        transport.close()


async def tcp_read(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(DEADLINE_SECONDS):
        size = int.from_bytes(await reader.readexactly(2), "big")
        return await reader.readexactly(size)


def framed(*messages: bytes) -> bytes:
    return b"".join(len(m).to_bytes(2, "big") + m for m in messages)


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: bytes
) -> bytes:
    """Send one message on an open connection and read one reply."""
    writer.write(framed(message))
    return await tcp_read(reader)


async def tcp_ask(
    address: Address, messages: list[bytes], replies: int | None = None
) -> list[bytes]:
    """Send the messages on one new connection; read `replies` (default: one each).

    The connection is closed (and the close waited for) at the end.
    """
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(framed(*messages))
        count = len(messages) if replies is None else replies
        return [await tcp_read(reader) for _ in range(count)]
    finally:
        writer.close()
        await writer.wait_closed()


async def at_eof(reader: asyncio.StreamReader) -> bool:
    async with asyncio.timeout(DEADLINE_SECONDS):
        try:
            return await reader.read(1) == b""
        except ConnectionResetError:
            return True


@pytest.fixture
async def echo() -> Echo:
    return Echo()


@pytest.fixture
async def listener(echo: Echo) -> AsyncIterator[Listener]:
    running = await Listener.start([("127.0.0.1", 0)], echo)
    yield running
    await running.close()


def before_each_bind(
    monkeypatch: pytest.MonkeyPatch,
    before: Callable[[socket.SocketKind, tuple[object, ...]], object],
) -> None:
    """Call `before(kind, sockaddr)` (which may raise) as the listener binds."""
    real = listener_module._bound

    def bound(
        family: socket.AddressFamily,
        kind: socket.SocketKind,
        sockaddr: tuple[object, ...],
    ) -> socket.socket:
        before(kind, sockaddr)
        return real(family, kind, sockaddr)

    monkeypatch.setattr(listener_module, "_bound", bound)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


async def test_udp_and_tcp_on_the_same_free_port(
    listener: Listener, echo: Echo
) -> None:
    [(host, port)] = listener.addresses
    assert host == "127.0.0.1"
    assert port != 0
    assert await udp_ask((host, port), [b"one"]) == [b"re:one"]
    assert await tcp_ask((host, port), [b"two"]) == [b"re:two"]
    (_, udp_source, udp_dest, udp_tcp), (_, tcp_source, tcp_dest, tcp_tcp) = echo.calls
    assert (udp_dest, udp_tcp) == ((host, port), False)
    assert (tcp_dest, tcp_tcp) == ((host, port), True)
    assert udp_source[0] == tcp_source[0] == "127.0.0.1"


async def test_udp_source_address_is_passed_on(listener: Listener, echo: Echo) -> None:
    [address] = listener.addresses
    assert await udp_ask(address, [b"x"], source="127.0.0.2") == [b"re:x"]
    assert echo.calls[0][1][0] == "127.0.0.2"


async def test_tcp_pipelined_split_and_silent_messages(
    listener: Listener, echo: Echo
) -> None:
    echo.silent_on = b"quiet"
    reader, writer = await asyncio.open_connection(*listener.addresses[0])
    stream = framed(b"a", b"quiet", b"", b"b", b"c")
    # Three messages and a half in one write, the rest one octet at a time.
    writer.write(stream[:9])
    for i in range(9, len(stream)):
        writer.write(stream[i : i + 1])
        await writer.drain()
    assert [await tcp_read(reader) for _ in range(4)] == [
        b"re:a",
        b"re:",
        b"re:b",
        b"re:c",
    ]
    assert [call[0] for call in echo.calls] == [b"a", b"quiet", b"", b"b", b"c"]
    writer.close()
    await writer.wait_closed()


async def test_largest_tcp_message(listener: Listener, echo: Echo) -> None:
    message = bytes(65535 - 3)  # the reply adds 3 octets: 65535 in all
    assert await tcp_ask(listener.addresses[0], [message]) == [b"re:" + message]


async def test_ipv6() -> None:
    if not ipv6_loopback():
        pytest.skip("no ::1 on this host")
    echo = Echo()
    listener = await Listener.start([("::1", 0)], echo)
    try:
        [(host, port)] = listener.addresses
        assert host == "::1"
        assert await udp_ask((host, port), [b"six"]) == [b"re:six"]
        assert await tcp_ask((host, port), [b"tcp6"]) == [b"re:tcp6"]
        assert echo.calls[0][1][0] == "::1"
    finally:
        await listener.close()


async def test_two_addresses() -> None:
    listener = await Listener.start([("127.0.0.1", 0), ("127.0.0.2", 0)], Echo())
    try:
        hosts = [host for host, _ in listener.addresses]
        assert hosts == ["127.0.0.1", "127.0.0.2"]
        for address in listener.addresses:
            assert await udp_ask(address, [b"hi"]) == [b"re:hi"]
    finally:
        await listener.close()


async def test_address_in_use_is_an_operator_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        # The first address binds, the second fails: nothing stays bound.
        with pytest.raises(ZoneSyncError) as info:
            await Listener.start([("127.0.0.2", 0), ("127.0.0.1", port)], Echo())
        assert str(info.value) == f"listen on 127.0.0.1#{port}: Address already in use"
        assert info.value.__cause__ is not None


async def test_nothing_stays_bound_after_a_failure() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        first = probe.getsockname()[1]
    with pytest.raises(ZoneSyncError):
        await Listener.start([("127.0.0.1", first), ("192.0.2.1", 0)], Echo())
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
        again.bind(("127.0.0.1", first))  # free again


async def test_an_address_not_on_this_host() -> None:
    with pytest.raises(ZoneSyncError) as info:
        await Listener.start([("192.0.2.1", 0)], Echo())
    assert str(info.value) == "listen on 192.0.2.1#0: Cannot assign requested address"


async def test_a_host_name_is_not_an_address() -> None:
    with pytest.raises(ZoneSyncError) as info:
        await Listener.start([("localhost", 5300)], Echo())
    assert str(info.value) == "listen on localhost#5300: not an IP address"


async def test_port_0_tries_again_when_udp_has_the_port_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused: list[int] = []

    def busy_udp_once(kind: socket.SocketKind, sockaddr: tuple[object, ...]) -> None:
        if kind == socket.SOCK_DGRAM and not refused:
            refused.append(int(str(sockaddr[1])))
            raise OSError(errno.EADDRINUSE, "Address already in use")

    before_each_bind(monkeypatch, busy_udp_once)
    listener = await Listener.start([("127.0.0.1", 0)], Echo())
    try:
        [address] = listener.addresses
        assert refused
        assert await udp_ask(address, [b"ok"]) == [b"re:ok"]
    finally:
        await listener.close()


async def test_a_given_port_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        calls: list[socket.SocketKind] = []
        before_each_bind(monkeypatch, lambda kind, _: calls.append(kind))
        with pytest.raises(ZoneSyncError):
            await Listener.start([("127.0.0.1", port)], Echo())
        assert calls == [socket.SOCK_STREAM, socket.SOCK_DGRAM]


async def test_idle_tcp_connection_is_closed(
    monkeypatch: pytest.MonkeyPatch, listener: Listener
) -> None:
    monkeypatch.setattr(listener_module, "TCP_IDLE_TIMEOUT_SECONDS", 0.05)
    reader, writer = await asyncio.open_connection(*listener.addresses[0])
    assert await exchange(reader, writer, b"once") == b"re:once"
    assert await at_eof(reader)
    writer.close()


async def test_tcp_connections_are_bounded(
    monkeypatch: pytest.MonkeyPatch, listener: Listener
) -> None:
    monkeypatch.setattr(listener_module, "TCP_CLIENTS", 1)
    first_reader, first_writer = await asyncio.open_connection(*listener.addresses[0])
    assert await exchange(first_reader, first_writer, b"1") == b"re:1"
    second_reader, second_writer = await asyncio.open_connection(*listener.addresses[0])
    assert await at_eof(second_reader)
    assert await exchange(first_reader, first_writer, b"still") == b"re:still"
    for writer in (first_writer, second_writer):
        writer.close()


async def test_a_handler_error_is_logged_and_the_listener_goes_on(
    listener: Listener, echo: Echo, caplog: pytest.LogCaptureFixture
) -> None:
    echo.fail_on = b"boom"
    address = listener.addresses[0]
    assert await udp_ask(address, [b"boom", b"after"], replies=1) == [b"re:after"]
    assert await tcp_ask(address, [b"boom", b"next"], replies=1) == [b"re:next"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[0].getMessage().startswith("client 127.0.0.1#")
    assert errors[0].exc_info is not None


async def test_close_ends_connections_and_frees_the_port(echo: Echo) -> None:
    listener = await Listener.start([("127.0.0.1", 0)], echo)
    host, port = listener.addresses[0]
    reader, writer = await asyncio.open_connection(host, port)
    assert await exchange(reader, writer, b"hello") == b"re:hello"
    async with asyncio.timeout(DEADLINE_SECONDS):
        await listener.close()
    assert await at_eof(reader)
    writer.close()
    await listener.close()  # twice is fine
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as again:
            # As a restarted listener does: TIME_WAIT connections remain.
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind((host, port))


async def test_a_peer_that_never_reads_is_cut_at_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listener_module, "CLOSE_TIMEOUT_SECONDS", 0.2)
    big = bytes(60000)

    calls: list[bytes] = []
    answering = asyncio.Event()

    def large(wire: bytes, *_: object) -> bytes:
        calls.append(wire)
        answering.set()
        return big

    listener = await Listener.start([("127.0.0.1", 0)], large)
    reader, writer = await asyncio.open_connection(*listener.addresses[0])
    requests = 2000  # 120 MB of replies if nothing held them back
    writer.write(framed(*[b"q"] * requests))
    await writer.drain()
    async with asyncio.timeout(DEADLINE_SECONDS):
        await answering.wait()
    async with asyncio.timeout(DEADLINE_SECONDS):
        await listener.close()
    assert len(calls) < requests  # backpressure: it stopped answering
    writer.close()
    del reader


async def test_requests_before_a_half_close_are_answered(listener: Listener) -> None:
    reader, writer = await asyncio.open_connection(*listener.addresses[0])
    writer.write(framed(b"1", b"2"))
    writer.write_eof()
    assert [await tcp_read(reader), await tcp_read(reader)] == [b"re:1", b"re:2"]
    assert await at_eof(reader)
    writer.close()
