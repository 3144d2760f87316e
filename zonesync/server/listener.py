"""UDP and TCP sockets for the DNS side: bind, frame and hand on each message.

The listener knows nothing of DNS beyond TCP's two-octet length prefix
(RFC 1035 §4.2.2). Each message goes to one synchronous `handle` callable
with the source and destination addresses; what it returns is sent back
(None: nothing). A UDP and a TCP socket are bound on each address, on the
same port, as named binds its `listen-on` addresses. There are no tasks:
asyncio protocols do the work in callbacks, so closing is closing
transports.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Sequence
from typing import cast

from zonesync.errors import ZoneSyncError
from zonesync.log import peer_text

log = logging.getLogger(__name__)

Handle = Callable[[bytes, tuple[str, int], tuple[str, int], bool], bytes | None]

# BIND 9.18's tcp-idle-timeout default (300 units of 100 ms): a connection
# with nothing received for this long is closed.
TCP_IDLE_TIMEOUT_SECONDS = 30.0
# BIND 9.18's tcp-clients default: connections open at once; more are
# closed as they arrive.
TCP_CLIENTS = 150
# BIND 9.18's tcp-listen-queue default.
TCP_LISTEN_QUEUE = 10
# Port 0: how often to pick a new TCP port when UDP cannot have the same.
BIND_ATTEMPTS = 20
# How long close() lets TCP connections flush before cutting them.
CLOSE_TIMEOUT_SECONDS = 2.0


class Listener:
    """UDP and TCP sockets on a list of addresses, sharing one handler."""

    def __init__(self, handle: Handle) -> None:
        self._handle = handle
        self._servers: list[asyncio.Server] = []
        self._udp: list[tuple[asyncio.DatagramTransport, _UdpProtocol]] = []
        self._addresses: list[tuple[str, int]] = []
        self._connections: set[_TcpConnection] = set()
        self._drained = asyncio.Event()
        self._closed = False

    @classmethod
    async def start(
        cls, addresses: Sequence[tuple[str, int]], handle: Handle
    ) -> Listener:
        """Bind UDP and TCP on each (host, port) and start serving.

        Port 0 picks a free port, the same for UDP and TCP of one address.

        Raises:
            ZoneSyncError: an address could not be bound, e.g.
                `listen on 127.0.0.1#53: Address already in use`; nothing
                stays bound.
        """
        listener = cls(handle)
        started = False
        try:
            for host, port in addresses:
                await listener._listen(host, port)
            started = True
        finally:
            if not started:
                await listener.close()
        return listener

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The (host, port) pairs actually bound, in the order given."""
        return list(self._addresses)

    async def close(self) -> None:
        """Stop accepting, close the sockets and the open TCP connections.

        Replies already written get CLOSE_TIMEOUT_SECONDS to leave; then the
        remaining connections are cut.
        """
        if self._closed:
            return
        self._closed = True
        for server in self._servers:
            server.close()
        for transport, _ in self._udp:
            transport.close()
        for connection in list(self._connections):
            connection.close()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                for _, protocol in self._udp:
                    await protocol.closed.wait()
                if self._connections:
                    await self._drained.wait()
                for server in self._servers:
                    await server.wait_closed()
        except TimeoutError:
            for connection in list(self._connections):
                connection.abort()

    async def _listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        tcp, udp = _bind_pair(host, port)
        bound = tcp.getsockname()
        local = (str(bound[0]), int(bound[1]))
        try:
            server = await loop.create_server(
                lambda: _TcpConnection(self), sock=tcp, backlog=TCP_LISTEN_QUEUE
            )
        except OSError as err:
            tcp.close()
            udp.close()
            raise _listen_error(host, port, err) from err
        self._servers.append(server)
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self, local), sock=udp
            )
        except OSError as err:
            udp.close()
            raise _listen_error(host, port, err) from err
        self._udp.append((transport, protocol))
        self._addresses.append(local)
        log.info("listening on %s (UDP and TCP)", peer_text(*local))

    def _dispatch(
        self,
        wire: bytes,
        source: tuple[str, int],
        destination: tuple[str, int],
        tcp: bool,
    ) -> bytes | None:
        try:
            return self._handle(wire, source, destination, tcp)
        except Exception:  # one bad message must not stop the listener; logged
            log.exception(
                "client %s: internal error handling a %s message",
                peer_text(*source),
                "TCP" if tcp else "UDP",
            )
            return None

    def _add(self, connection: _TcpConnection) -> bool:
        if self._closed or len(self._connections) >= TCP_CLIENTS:
            return False
        self._connections.add(connection)
        self._drained.clear()
        return True

    def _remove(self, connection: _TcpConnection) -> None:
        self._connections.discard(connection)
        if not self._connections:
            self._drained.set()


class _UdpProtocol(asyncio.DatagramProtocol):
    """One UDP socket: each datagram is one message."""

    def __init__(self, listener: Listener, local: tuple[str, int]) -> None:
        self._listener = listener
        self._local = local
        self._transport: asyncio.DatagramTransport | None = None
        self.closed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # UDP endpoint

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        source = (str(addr[0]), cast(int, addr[1]))  # (host, port[, flow, scope])
        reply = self._listener._dispatch(data, source, self._local, False)
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors for earlier replies (port unreachable): nothing to do.
        log.debug("UDP %s: %s", peer_text(*self._local), exc)


class _TcpConnection(asyncio.Protocol):
    """One TCP connection: length-prefixed messages, answered in order."""

    def __init__(self, listener: Listener) -> None:
        self._listener = listener
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._source = ("", 0)
        self._local = ("", 0)
        self._idle: asyncio.TimerHandle | None = None
        self._writing_paused = False
        self._eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a stream server
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self._source = (str(peer[0]), int(peer[1]))
        self._local = (str(local[0]), int(local[1]))
        if not self._listener._add(self):
            log.debug(
                "client %s: TCP connection refused: %d connections open",
                peer_text(*self._source),
                TCP_CLIENTS,
            )
            self._transport.abort()
            return
        self._restart_timer()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._restart_timer()
        self._answer()

    def eof_received(self) -> bool:
        # The peer is done sending: answer what it sent, then close.
        self._eof = True
        self._answer()
        return True

    def pause_writing(self) -> None:
        # The peer does not read its replies: stop answering and reading
        # until it does, so neither buffer grows past one read.
        self._writing_paused = True
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()
            self._answer()

    def _answer(self) -> None:
        """Answer each whole message in the buffer, in order."""
        transport = self._transport
        if transport is None:
            return
        while len(self._buffer) >= 2 and not self._writing_paused:
            if transport.is_closing():
                return
            size = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + size:
                break
            message = bytes(self._buffer[2 : 2 + size])
            del self._buffer[: 2 + size]
            reply = self._listener._dispatch(message, self._source, self._local, True)
            if reply is not None and not transport.is_closing():
                transport.write(len(reply).to_bytes(2, "big") + reply)
        if self._eof and not self._writing_paused:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._buffer.clear()
        self._listener._remove(self)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _restart_timer(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(TCP_IDLE_TIMEOUT_SECONDS, self._idle_timeout)

    def _idle_timeout(self) -> None:
        log.debug("client %s: TCP connection idle, closed", peer_text(*self._source))
        self.close()


def _bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A bound TCP and UDP socket on (host, port), on one port.

    With port 0, TCP picks the port and UDP takes the same; if UDP's is in
    use, both start again on a new port (a bounded number of times).
    """
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(
            host,
            port,
            type=socket.SOCK_STREAM,
            flags=socket.AI_NUMERICHOST | socket.AI_PASSIVE,
        )[0]
    except (OSError, UnicodeError) as err:
        raise ZoneSyncError(
            f"listen on {peer_text(host, port)}: not an IP address"
        ) from err
    for _ in range(BIND_ATTEMPTS if port == 0 else 1):
        try:
            tcp = _bound(family, socket.SOCK_STREAM, sockaddr)
        except OSError as err:
            raise _listen_error(host, port, err) from err
        taken = tcp.getsockname()[1]
        try:
            udp = _bound(family, socket.SOCK_DGRAM, (sockaddr[0], taken, *sockaddr[2:]))
        except OSError as err:
            tcp.close()
            if port == 0 and err.errno == errno.EADDRINUSE:
                continue
            raise _listen_error(host, taken, err) from err
        return tcp, udp
    raise ZoneSyncError(
        f"listen on {peer_text(host, port)}: no port free for both UDP and TCP "
        f"after {BIND_ATTEMPTS} tries"
    )


def _bound(
    family: socket.AddressFamily, kind: socket.SocketKind, sockaddr: tuple[object, ...]
) -> socket.socket:
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            # Rebind at once after a restart despite TIME_WAIT connections.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # Like named: an IPv6 socket takes IPv6 only, so an IPv4 peer is
            # never seen as ::ffff:a.b.c.d.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
        sock.bind(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock


def _listen_error(host: str, port: int, err: OSError) -> ZoneSyncError:
    reason = err.strerror or str(err)
    return ZoneSyncError(f"listen on {peer_text(host, port)}: {reason}")
