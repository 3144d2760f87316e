"""The network side of a refresh: SOA queries and AXFR/IXFR streams, with TSIG.

This is the only module of `transfer/` that touches sockets or sees
dnspython's and the OS's exceptions; it translates them into
`zonesync.errors.TransferError` subclasses with BIND's wording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.rrset
import dns.tsig

from zonesync.config.model import TsigKey
from zonesync.errors import (
    FailureReason,
    TransferBroken,
    TransferError,
    TransferRefused,
    TransferTimeout,
)
from zonesync.log import peer_text
from zonesync.transfer.events import TsigError
from zonesync.transfer.fastwire import (
    FastMessage,
    LineMode,
    parse_answers,
    validate_tsig,
)

log = logging.getLogger(__name__)

TsigContext = dns.tsig.HMACTSig | dns.tsig.GSSTSig | None

# BIND 9.18 zone.c soa_query(): 15 s in all, UDP tries of 5 s each.
SOA_UDP_TRY_SECONDS = 5.0
SOA_UDP_TRIES = 3
SOA_TCP_SECONDS = 15.0
# The EDNS buffer size BIND 9.18 advertises by default (edns-udp-size 1232).
EDNS_PAYLOAD = 1232
# Connecting for a transfer: BIND's xfrin connect timeout is 30 s.
CONNECT_SECONDS = 30.0
# A transfer reply is read in chunks of up to this many bytes: what has
# arrived, split into whole messages, goes to the writer thread at once.
XFR_READ_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One primary as a refresh uses it: where, from where, and with which key."""

    address: str
    port: int
    key: TsigKey | None = None
    source: tuple[str, int] | None = None  # transfer-source; None: any
    request_ixfr: bool = True

    @property
    def text(self) -> str:
        """`192.0.2.1#53`, as BIND prints a primary."""
        return peer_text(self.address, self.port)

    @property
    def source_text(self) -> str:
        """The source as BIND prints it in refresh errors (`0.0.0.0#0` for any)."""
        if self.source is None:
            any_address = "::" if ":" in self.address else "0.0.0.0"
            return peer_text(any_address, 0)
        return peer_text(*self.source)


@dataclass(frozen=True, slots=True)
class SoaAnswer:
    """The serial of the SOA a primary returned, and whether it came over TCP."""

    serial: int
    tcp: bool


def make_query(
    zone: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
    rdtype: dns.rdatatype.RdataType,
    endpoint: Endpoint,
    ixfr_soa: dns.rdtypes.ANY.SOA.SOA | None = None,
) -> dns.message.Message:
    """An SOA, AXFR or IXFR query, TSIG-signed when the endpoint has a key."""
    query = dns.message.make_query(zone, rdtype, rdclass)
    query.flags &= ~dns.flags.RD
    if rdtype == dns.rdatatype.SOA:
        query.use_edns(0, payload=EDNS_PAYLOAD)
    if ixfr_soa is not None:
        rrset = dns.rrset.RRset(zone, rdclass, dns.rdatatype.SOA)
        rrset.add(ixfr_soa, 0)
        query.authority.append(rrset)
    if endpoint.key is not None:
        key = endpoint.key
        _check_supported(key, endpoint)
        query.use_tsig(
            {key.name: _dns_key(key)}, keyname=key.name, algorithm=key.algorithm
        )
    return query


def _check_supported(key: TsigKey, endpoint: Endpoint) -> None:
    """Refuse a truncated-MAC key (`hmac-sha256-128`) with a clear TSIG error.

    BIND signs with such a key under the plain algorithm name and a MAC cut
    to digest-bits (RFC 8945 §5.2.2.1); dnspython only knows the truncated
    algorithm names, which BIND answers with BADKEY. Until zonesync signs
    BIND's way, say so instead of failing obscurely.
    """
    full = dns.tsig.mac_sizes.get(key.algorithm)
    if key.digest_bits is None or (full is not None and key.digest_bits == full * 8):
        return
    raise TransferBroken(
        f"TSIG '{key_text(key)}': truncated algorithm "
        f"{key.algorithm.to_text(True)}-{key.digest_bits} is not supported by zonesync",
        endpoint.text,
        FailureReason.TSIG,
        TsigError.UNSUPPORTED.value,
    )


def _dns_key(key: TsigKey) -> dns.tsig.Key:
    return dns.tsig.Key(key.name, key.secret, key.algorithm)


def key_text(key: TsigKey) -> str:
    """The key's name as BIND logs it, without the final dot."""
    return key.name.to_text(omit_final_dot=True)


def parse_response(
    wire: bytes, query: dns.message.Message, endpoint: Endpoint
) -> FastMessage:
    """Parse one reply to an SOA query, verifying its TSIG; raises TransferError.

    Read as the first message of a transfer reply (`parse_xfr_response`):
    fastwire, not a dnspython object per record (issue 5: dnspython's parse
    was a sixth of a cold start of 1,000 zones); TSIG in multi-message mode,
    so an unsigned reply to a signed query is not a parse error but
    `require_tsig()`'s clearer TSIG error.
    """
    message, _ = parse_xfr_response(wire, query, endpoint, None, first=True)
    return message


def parse_xfr_response(
    wire: bytes,
    query: dns.message.Message,
    endpoint: Endpoint,
    tsig_ctx: TsigContext,
    first: bool,
    mode: LineMode | None = None,
) -> tuple[FastMessage, TsigContext]:
    """Read one message of a transfer reply, verifying its TSIG.

    What dns.message.from_wire(multi=True, xfr=True) and is_response() do,
    without a dnspython object per record (transfer/fastwire.py): TSIG in
    multi-message mode over the raw wire (an unsigned message is covered by
    the next signature, RFC 8945 §5.3.1; the caller checks that the first
    and last are signed), then the reply's header and question. Returns the
    message and the TSIG context for the next one. `mode`: see parse_answers.
    """
    try:
        message = parse_answers(wire, mode)
        key = query.keyring if query.keyring else None
        tsig_ctx = validate_tsig(message, key, query.mac or b"", tsig_ctx)
    except TransferBroken as err:
        err.primary = endpoint.text
        raise
    except Exception as err:
        raise translate(err, endpoint) from err
    if not _answers(query, message, first):
        raise TransferBroken("unexpected response", endpoint.text)
    return message, tsig_ctx


# dns.message.Message.is_response() does not compare an empty question of
# these rcodes (RFC 1035 leaves it to the server).
_BARE_RCODES = {
    dns.rcode.FORMERR,
    dns.rcode.SERVFAIL,
    dns.rcode.NOTIMP,
    dns.rcode.REFUSED,
}


def _answers(query: dns.message.Message, message: FastMessage, first: bool) -> bool:
    """`query.is_response(message, xfr_continuation=not first)` on a FastMessage.

    After the first message the question may be empty (RFC 5936 §2.2.1).
    """
    if (
        not message.flags & dns.flags.QR
        or message.id != query.id
        or dns.opcode.from_flags(message.flags) != dns.opcode.from_flags(query.flags)
    ):
        return False
    if not message.question and (
        message.rcode in _BARE_RCODES
        or (
            not first
            and len(query.question) == 1
            and query.question[0].rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
        )
    ):
        return True
    ours = {(q.name.to_digestable(), q.rdtype, q.rdclass) for q in query.question}
    return set(message.question) == ours


def require_tsig(
    message: dns.message.Message | FastMessage, endpoint: Endpoint
) -> None:
    """A keyed exchange's first and last messages must be signed (RFC 8945)."""
    if endpoint.key is not None and not message.had_tsig:
        raise TransferBroken(
            f"TSIG '{key_text(endpoint.key)}': response not signed",
            endpoint.text,
            FailureReason.TSIG,
            TsigError.UNSIGNED.value,
        )


def translate(err: BaseException, endpoint: Endpoint) -> TransferError:
    """Our exception for a dnspython or socket error, in BIND's words."""
    primary = endpoint.text
    if isinstance(err, TransferError):
        return err
    if isinstance(err, dns.exception.Timeout | TimeoutError):
        return TransferTimeout("timed out", primary)
    key = f"TSIG '{key_text(endpoint.key)}'" if endpoint.key else "TSIG"
    tsig_errors: dict[type[BaseException], tuple[str, TsigError]] = {
        dns.tsig.PeerBadKey: (
            "BADKEY (the primary does not know the key)",
            TsigError.BADKEY,
        ),
        dns.tsig.PeerBadSignature: (
            "BADSIG (the primary rejected our signature)",
            TsigError.BADSIG,
        ),
        dns.tsig.PeerBadTime: ("BADTIME (clocks differ)", TsigError.BADTIME),
        dns.tsig.PeerBadTruncation: ("BADTRUNC", TsigError.BADTRUNC),
        dns.tsig.BadSignature: (
            "tsig verify failure (bad signature)",
            TsigError.VERIFY,
        ),
        dns.tsig.BadTime: ("tsig verify failure (bad time)", TsigError.VERIFY),
        dns.tsig.BadAlgorithm: ("unsupported algorithm", TsigError.UNSUPPORTED),
        dns.message.UnknownTSIGKey: ("unknown key in the response", TsigError.VERIFY),
    }
    for kind, (text, code) in tsig_errors.items():
        if isinstance(err, kind):
            return TransferBroken(
                f"{key}: {text}", primary, FailureReason.TSIG, code.value
            )
    if isinstance(err, ConnectionRefusedError):
        return TransferError("connection refused", primary)
    if isinstance(err, ConnectionResetError):
        return TransferError("connection reset", primary)
    if isinstance(err, asyncio.IncompleteReadError | EOFError):
        return TransferError("unexpected end of input", primary)
    if isinstance(err, OSError):
        return TransferError(err.strerror or str(err), primary)
    if isinstance(err, dns.exception.DNSException):
        return TransferBroken(f"malformed response: {err}", primary)
    return TransferBroken(f"malformed response: {type(err).__name__}", primary)


def check_rcode(message: dns.message.Message | FastMessage, endpoint: Endpoint) -> None:
    """Raise TransferRefused for any rcode but NOERROR."""
    rcode = message.rcode if isinstance(message, FastMessage) else message.rcode()
    if rcode != dns.rcode.NOERROR:
        text = dns.rcode.to_text(dns.rcode.Rcode.make(rcode))
        raise TransferRefused(text, endpoint.text, text)


async def query_soa(
    zone: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
    endpoint: Endpoint,
    try_tcp: bool = True,
) -> SoaAnswer:
    """Ask one primary for the zone's SOA: UDP with EDNS, TCP on TC or timeout.

    As BIND 9.18 (zone.c soa_query/refresh_callback): a truncated answer is
    retried over TCP; a UDP timeout is retried over TCP when try-tcp-refresh
    is on. Raises TransferRefused, TransferTimeout, TransferBroken or
    TransferError.
    """
    query = make_query(zone, rdclass, dns.rdatatype.SOA, endpoint)
    response: FastMessage | None = None
    try:
        response = await _udp_exchange(query, endpoint)
    except TransferTimeout:
        if not try_tcp:
            raise
    tcp = response is None or bool(response.flags & dns.flags.TC)
    if response is None or tcp:
        query = make_query(zone, rdclass, dns.rdatatype.SOA, endpoint)
        response = await _tcp_exchange(query, endpoint)
    require_tsig(response, endpoint)
    check_rcode(response, endpoint)
    if not response.flags & dns.flags.AA:
        raise TransferBroken("non-authoritative answer", endpoint.text)
    zone_wire = zone.to_digestable()
    for record in response.answers:
        if (
            record.rdtype == dns.rdatatype.SOA
            and record.owner_wire == zone_wire
            and record.rdclass == rdclass
            and record.serial is not None
        ):
            return SoaAnswer(record.serial, tcp)
    raise TransferBroken("NODATA response (no SOA in the answer)", endpoint.text)


class _UdpReplies(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes | Exception] = asyncio.Queue(maxsize=64)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.replies.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.replies.put_nowait(exc)


async def _udp_exchange(query: dns.message.Message, endpoint: Endpoint) -> FastMessage:
    """Send over a connected UDP socket (so ICMP port unreachable is seen)."""
    loop = asyncio.get_running_loop()
    wire = query.to_wire()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            _UdpReplies,
            local_addr=endpoint.source,
            remote_addr=(endpoint.address, endpoint.port),
        )
    except OSError as err:
        raise translate(err, endpoint) from err
    try:
        for _ in range(SOA_UDP_TRIES):
            transport.sendto(wire)
            deadline = loop.time() + SOA_UDP_TRY_SECONDS
            while (left := deadline - loop.time()) > 0:
                try:
                    reply = await asyncio.wait_for(protocol.replies.get(), left)
                except TimeoutError:
                    break
                if isinstance(reply, Exception):
                    raise translate(reply, endpoint) from reply
                if len(reply) < 2 or reply[:2] != wire[:2]:
                    continue  # not ours: BIND ignores unexpected replies too
                return parse_response(reply, query, endpoint)
        raise TransferTimeout("timed out", endpoint.text)
    finally:
        transport.close()


async def _tcp_exchange(query: dns.message.Message, endpoint: Endpoint) -> FastMessage:
    try:
        async with asyncio.timeout(SOA_TCP_SECONDS):
            reader, writer = await asyncio.open_connection(
                endpoint.address, endpoint.port, local_addr=endpoint.source
            )
            try:
                wire = query.to_wire()
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                reply = await reader.readexactly(size)
            finally:
                writer.close()
    except (OSError, asyncio.IncompleteReadError) as err:
        raise translate(err, endpoint) from err
    return parse_response(reply, query, endpoint)


class ByteReader(Protocol):
    """Where an XfrStream reads the reply from (a socket; a StreamReader in tests)."""

    async def read(self, n: int) -> bytes:
        """Up to `n` bytes; b"" at the end of the stream."""


class _SocketReader:
    """Reads a connected non-blocking socket through the event loop."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._sock = sock
        self._loop = loop

    async def read(self, n: int) -> bytes:
        """Up to `n` bytes; b"" once the primary closed its side."""
        return await self._loop.sock_recv(self._sock, n)


@dataclass(slots=True)
class XfrStream:
    """An open AXFR/IXFR connection.

    Iterate `messages()` to read the reply; or iterate `wires()` for its
    messages raw, in batches, and `read()` each in order, in any one thread
    at a time (issue 5: the parse is O(zone), so it runs off the event loop).
    """

    endpoint: Endpoint
    query: dns.message.Message
    reader: ByteReader
    idle_seconds: float
    local: str = ""
    messages_read: int = 0
    bytes_read: int = 0
    started_at: float = field(default_factory=time.monotonic)
    last: FastMessage | None = None
    tsig_ctx: TsigContext = None

    async def messages(self) -> AsyncIterator[FastMessage]:
        """Each reply message, TSIG-verified, in order; stops at EOF."""
        async for batch in self.wires():
            for wire in batch:
                yield self.read(wire)

    async def wires(
        self, first_seconds: float | None = None
    ) -> AsyncIterator[list[bytes]]:
        """The reply's messages as they arrive, raw and unchecked; stops at EOF.

        Each batch is every whole message received so far (up to
        XFR_READ_BYTES at a time), so a fast primary costs one hand-off per
        batch, not per message. Raises TransferError if the connection ends
        inside a message, TransferTimeout after idle_seconds without data,
        or, if `first_seconds` is given, that long without any data at all.
        """
        pending = b""
        first = first_seconds is not None
        while True:
            seconds = self.idle_seconds
            if first and first_seconds is not None:
                seconds = min(seconds, first_seconds)
            try:
                async with asyncio.timeout(seconds):
                    chunk = await self.reader.read(XFR_READ_BYTES)
            except TimeoutError as err:
                why = "timed out (no reply)" if first else "timed out (idle)"
                raise TransferTimeout(why, self.endpoint.text) from err
            except OSError as err:
                raise translate(err, self.endpoint) from err
            first = False
            if not chunk:
                if pending:
                    raise TransferError("unexpected end of input", self.endpoint.text)
                return
            data = pending + chunk if pending else chunk
            batch = []
            pos = 0
            end = len(data)
            while pos + 2 <= end:
                size = data[pos] << 8 | data[pos + 1]
                if pos + 2 + size > end:
                    break
                batch.append(data[pos + 2 : pos + 2 + size])
                pos += 2 + size
            pending = data[pos:]
            if batch:
                yield batch

    def read(self, wire: bytes, mode: LineMode | None = None) -> FastMessage:
        """The next message of the reply, from its wire: parsed, TSIG-verified."""
        first = self.messages_read == 0
        message, self.tsig_ctx = parse_xfr_response(
            wire, self.query, self.endpoint, self.tsig_ctx, first, mode
        )
        if first:
            require_tsig(message, self.endpoint)
        self.messages_read += 1
        self.bytes_read += len(wire)
        self.last = message
        return message

    def check_last_signed(self) -> None:
        """The last message of a keyed transfer must carry a TSIG."""
        if self.last is not None:
            require_tsig(self.last, self.endpoint)


@contextlib.asynccontextmanager
async def open_xfr(
    query: dns.message.Message, endpoint: Endpoint, idle_seconds: float
) -> AsyncIterator[XfrStream]:
    """Connect over TCP (from transfer-source) and send an AXFR/IXFR query.

    On the socket itself, through the loop's sock_* calls: no transport,
    protocol and stream objects for a connection that sends one query and
    reads one reply (issue 5: a third less CPU per exchange, which a cold
    start of many small zones makes once each).
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in endpoint.address else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as err:
        raise translate(err, endpoint) from err
    try:
        try:
            sock.setblocking(False)
            if endpoint.source is not None:
                sock.bind(endpoint.source)
            async with asyncio.timeout(CONNECT_SECONDS):
                await loop.sock_connect(sock, (endpoint.address, endpoint.port))
            address, port = sock.getsockname()[:2]
            wire = query.to_wire()
            await loop.sock_sendall(sock, struct.pack("!H", len(wire)) + wire)
        except TimeoutError as err:
            raise TransferTimeout("timed out (connect)", endpoint.text) from err
        except OSError as err:
            raise translate(err, endpoint) from err
        local = peer_text(str(address), int(port))
        yield XfrStream(endpoint, query, _SocketReader(sock, loop), idle_seconds, local)
    finally:
        sock.close()


@dataclass(frozen=True, slots=True)
class Network:
    """The client calls a zone makes; tests swap in in-memory ones."""

    query_soa: Callable[..., Awaitable[SoaAnswer]] = query_soa
    open_xfr: Callable[..., contextlib.AbstractAsyncContextManager[XfrStream]] = (
        open_xfr
    )
