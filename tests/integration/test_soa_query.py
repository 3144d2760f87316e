"""SOA query transport fallbacks against a scripted peer on 127.0.0.1.

No real server truncates an SOA answer or drops UDP on purpose, so this is
the one place a scripted peer stands in for a primary: UDP answers are
truncated or dropped as each test asks, TCP answers properly.
"""

import asyncio
import struct

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rrset
import pytest

from zonesync.errors import TransferError, TransferRefused, TransferTimeout
from zonesync.transfer import client
from zonesync.transfer.client import Endpoint, query_soa

ZONE = dns.name.from_text("example.com.")
SOA = "ns.example.com. host.example.com. 42 3600 600 86400 300"


def answer(wire, rcode=0, truncated=False):
    query = dns.message.from_wire(wire)
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    response.set_rcode(rcode)
    if truncated:
        response.flags |= dns.flags.TC
    else:
        response.answer.append(dns.rrset.from_text(ZONE, 300, "IN", "SOA", SOA))
    return response.to_wire()


class ScriptedPeer(asyncio.DatagramProtocol):
    def __init__(self, udp_mode):
        self.udp_mode = udp_mode  # "tc", "drop" or "answer"
        self.udp_queries = 0
        self.tcp_queries = 0
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.udp_queries += 1
        if self.udp_mode == "drop":
            return
        self.transport.sendto(answer(data, truncated=self.udp_mode == "tc"), addr)

    async def tcp(self, reader, writer):
        size = struct.unpack("!H", await reader.readexactly(2))[0]
        wire = await reader.readexactly(size)
        self.tcp_queries += 1
        reply = answer(wire, rcode=5 if self.udp_mode == "refuse-tcp" else 0)
        writer.write(struct.pack("!H", len(reply)) + reply)
        await writer.drain()
        writer.close()


@pytest.fixture
async def peer_factory():
    started = []

    async def start(udp_mode):
        peer = ScriptedPeer(udp_mode)
        server = await asyncio.start_server(peer.tcp, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: peer, local_addr=("127.0.0.1", port)
        )
        started.append((server, transport))
        return peer, Endpoint("127.0.0.1", port)

    yield start
    for server, transport in started:
        transport.close()
        server.close()
        await server.wait_closed()


async def test_udp_answer_is_used(peer_factory):
    peer, endpoint = await peer_factory("answer")
    got = await query_soa(ZONE, dns.rdataclass.IN, endpoint)
    assert (got.serial, got.tcp) == (42, False)
    assert (peer.udp_queries, peer.tcp_queries) == (1, 0)


async def test_truncated_answer_is_retried_over_tcp(peer_factory):
    peer, endpoint = await peer_factory("tc")
    got = await query_soa(ZONE, dns.rdataclass.IN, endpoint)
    assert (got.serial, got.tcp) == (42, True)
    assert (peer.udp_queries, peer.tcp_queries) == (1, 1)


async def test_udp_timeout_falls_back_to_tcp_with_try_tcp_refresh(
    peer_factory, monkeypatch
):
    monkeypatch.setattr(client, "SOA_UDP_TRY_SECONDS", 0.05)
    peer, endpoint = await peer_factory("drop")
    got = await query_soa(ZONE, dns.rdataclass.IN, endpoint, try_tcp=True)
    assert (got.serial, got.tcp) == (42, True)
    assert peer.udp_queries == client.SOA_UDP_TRIES


async def test_udp_timeout_without_try_tcp_refresh_is_a_timeout(
    peer_factory, monkeypatch
):
    monkeypatch.setattr(client, "SOA_UDP_TRY_SECONDS", 0.05)
    peer, endpoint = await peer_factory("drop")
    with pytest.raises(TransferTimeout):
        await query_soa(ZONE, dns.rdataclass.IN, endpoint, try_tcp=False)
    assert peer.tcp_queries == 0


async def test_closed_port_fails_at_once_as_connection_refused():
    # ICMP port unreachable reaches a connected UDP socket: no 15 s wait.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransferError, match="connection refused") as caught:
        async with asyncio.timeout(3):
            await query_soa(ZONE, dns.rdataclass.IN, Endpoint("127.0.0.1", port))
    assert not isinstance(caught.value, TransferRefused)
