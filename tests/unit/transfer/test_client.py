"""TSIG and reply checks of transfer/client.py, on in-memory streams (no sockets)."""

import asyncio
import base64
import struct

import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest

from zonesync.config.model import TsigKey
from zonesync.errors import FailureReason, TransferBroken, TransferRefused
from zonesync.transfer.client import (
    Endpoint,
    XfrStream,
    check_rcode,
    make_query,
    parse_response,
)

ZONE = dns.name.from_text("example.com.")
SECRET = b"0123456789abcdef0123456789abcdef"
KEY = TsigKey(
    dns.name.from_text("xfr-key."),
    dns.name.from_text("hmac-sha256."),
    SECRET,
    None,
)
ENDPOINT = Endpoint("192.0.2.1", 53, KEY)
SOA = "ns.example.com. host.example.com. 7 3600 600 86400 300"


def rrset(rdtype, text, name="example.com."):
    return dns.rrset.from_text(name, 300, "IN", rdtype, text)


def server_messages(query, bodies, secret=SECRET, sign=None):
    """The wire of a transfer reply, signed as a primary signs it."""
    keyring = {KEY.name: dns.tsig.Key(KEY.name, secret, KEY.algorithm)}
    wires = []
    ctx = None
    sign = sign or [True] * len(bodies)
    for i, body in enumerate(bodies):
        response = dns.message.make_response(query)
        response.answer = list(body)
        if sign[i]:
            response.use_tsig(keyring, keyname=KEY.name, algorithm=KEY.algorithm)
            response.request_mac = query.mac
            wire = response.to_wire(multi=True, tsig_ctx=ctx)
            ctx = response.tsig_ctx
        else:
            response.tsig = None  # make_response() copies the query's TSIG setup
            wire = response.to_wire()
            if ctx is not None:
                ctx.update(wire)  # the next signature covers it (RFC 8945 §5.3.1)
        wires.append(wire)
    return wires


async def read_all(query, wires, endpoint=ENDPOINT):
    reader = asyncio.StreamReader()
    for wire in wires:
        reader.feed_data(struct.pack("!H", len(wire)) + wire)
    reader.feed_eof()
    stream = XfrStream(endpoint, query, reader, 5.0)
    got = [m async for m in stream.messages()]
    stream.check_last_signed()
    return got, stream


def axfr_bodies():
    return [
        [rrset("SOA", SOA), rrset("NS", "ns.example.com.")],
        [rrset("A", "192.0.2.1", "www.example.com.")],
        [rrset("SOA", SOA)],
    ]


async def test_signed_multi_message_transfer_is_verified():
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, ENDPOINT)
    got, stream = await read_all(query, server_messages(query, axfr_bodies()))
    assert len(got) == 3
    assert stream.messages_read == 3
    assert stream.bytes_read > 0
    assert all(m.had_tsig for m in got)


async def test_wrong_secret_fails_as_tsig_and_names_only_the_key():
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, ENDPOINT)
    wires = server_messages(query, axfr_bodies(), secret=b"x" * 32)
    with pytest.raises(TransferBroken) as caught:
        await read_all(query, wires)
    assert caught.value.reason is FailureReason.TSIG
    assert "TSIG 'xfr-key'" in str(caught.value)
    assert base64.b64encode(SECRET).decode() not in str(caught.value)
    assert SECRET.decode() not in str(caught.value)


async def test_unsigned_first_message_is_refused():
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, ENDPOINT)
    wires = server_messages(query, axfr_bodies(), sign=[False, True, True])
    with pytest.raises(TransferBroken, match="not signed") as caught:
        await read_all(query, wires)
    assert caught.value.reason is FailureReason.TSIG


async def test_unsigned_last_message_is_refused():
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, ENDPOINT)
    bodies = axfr_bodies()
    wires = server_messages(query, bodies[:2]) + server_messages(
        query, bodies[2:], sign=[False]
    )
    with pytest.raises(TransferBroken, match="not signed"):
        await read_all(query, wires)


async def test_an_unsigned_middle_message_is_covered_by_the_next_signature():
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, ENDPOINT)
    wires = server_messages(query, axfr_bodies(), sign=[True, False, True])
    got, _stream = await read_all(query, wires)
    assert [m.had_tsig for m in got] == [True, False, True]


async def test_a_changed_byte_in_an_unsigned_middle_message_fails_tsig():
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, ENDPOINT)
    wires = server_messages(query, axfr_bodies(), sign=[True, False, True])
    wires[1] = wires[1].replace(bytes([192, 0, 2, 1]), bytes([192, 0, 2, 9]))
    with pytest.raises(TransferBroken, match="bad signature") as caught:
        await read_all(query, wires)
    assert caught.value.reason is FailureReason.TSIG


async def test_records_come_in_presentation_form_in_order():
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, ENDPOINT)
    got, _stream = await read_all(query, server_messages(query, axfr_bodies()))
    records = [(r.owner, r.rdtype, r.ttl, r.text) for m in got for r in m.answers]
    assert records == [
        ("example.com.", dns.rdatatype.SOA, 300, SOA),
        ("example.com.", dns.rdatatype.NS, 300, "ns.example.com."),
        ("www.example.com.", dns.rdatatype.A, 300, "192.0.2.1"),
        ("example.com.", dns.rdatatype.SOA, 300, SOA),
    ]
    assert got[0].answers[0].serial == 7


async def test_a_malformed_message_is_broken_and_names_the_primary():
    endpoint = Endpoint("192.0.2.1", 53)
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, endpoint)
    wire = server_messages(query, axfr_bodies(), sign=[False, False, False])[0]
    with pytest.raises(TransferBroken, match="malformed response") as caught:
        await read_all(query, [wire[:-3]], endpoint)
    assert caught.value.reason is FailureReason.MALFORMED
    assert caught.value.primary == "192.0.2.1#53"


async def test_only_later_messages_may_leave_the_question_out():
    endpoint = Endpoint("192.0.2.1", 53)
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, endpoint)
    wires = []
    for i, body in enumerate(axfr_bodies()):
        response = dns.message.make_response(query)
        response.answer = body
        if i > 0:
            response.question = []  # RFC 5936 §2.2.1
        wires.append(response.to_wire())
    got, _stream = await read_all(query, wires, endpoint)
    assert len(got) == 3
    with pytest.raises(TransferBroken, match="unexpected response"):
        await read_all(query, wires[1:], endpoint)


async def test_a_reply_to_another_question_or_id_is_unexpected():
    endpoint = Endpoint("192.0.2.1", 53)
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, endpoint)
    other = make_query(
        dns.name.from_text("example.net."),
        dns.rdataclass.IN,
        dns.rdatatype.AXFR,
        endpoint,
    )
    other.id = query.id
    for reply_to in (other, dns.message.make_query(ZONE, dns.rdatatype.AXFR)):
        response = dns.message.make_response(reply_to)
        response.answer = axfr_bodies()[0]
        if reply_to is not other:
            response.id = (query.id + 1) % 65536
        with pytest.raises(TransferBroken, match="unexpected response"):
            await read_all(query, [response.to_wire()], endpoint)


async def test_refused_without_a_question_reads_as_refused():
    endpoint = Endpoint("192.0.2.1", 53)
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, endpoint)
    response = dns.message.make_response(query)
    response.question = []
    response.set_rcode(dns.rcode.REFUSED)
    got, _stream = await read_all(query, [response.to_wire()], endpoint)
    with pytest.raises(TransferRefused, match="REFUSED"):
        check_rcode(got[0], endpoint)


def test_badkey_from_the_primary_is_a_tsig_failure():
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.SOA, ENDPOINT)
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.NOTAUTH)
    keyring = {KEY.name: dns.tsig.Key(KEY.name, SECRET, KEY.algorithm)}
    response.use_tsig(
        keyring, keyname=KEY.name, algorithm=KEY.algorithm, tsig_error=dns.rcode.BADKEY
    )
    with pytest.raises(TransferBroken, match="BADKEY") as caught:
        parse_response(response.to_wire(), query, ENDPOINT)
    assert caught.value.reason is FailureReason.TSIG


def test_rcode_refused_is_transfer_refused():
    query = make_query(
        ZONE, dns.rdataclass.IN, dns.rdatatype.SOA, Endpoint("192.0.2.1", 53)
    )
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.NOTAUTH)
    parsed = parse_response(response.to_wire(), query, Endpoint("192.0.2.1", 53))
    with pytest.raises(TransferRefused) as caught:
        check_rcode(parsed, ENDPOINT)
    assert caught.value.rcode == "NOTAUTH"
    assert caught.value.reason is FailureReason.NOTAUTH


def test_reply_to_another_query_is_rejected():
    endpoint = Endpoint("192.0.2.1", 53)
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.SOA, endpoint)
    other = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.SOA, endpoint)
    other.id = (query.id + 1) % 65536
    response = dns.message.make_response(other)
    with pytest.raises(TransferBroken, match="unexpected response"):
        parse_response(response.to_wire(), query, endpoint)


def test_ixfr_query_carries_our_soa_and_no_rd():
    endpoint = Endpoint("192.0.2.1", 53)
    soa = rrset("SOA", SOA)[0]
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.IXFR, endpoint, soa)
    assert not query.flags & dns.flags.RD
    assert query.authority[0][0].serial == 7


@pytest.mark.parametrize(
    ("algorithm", "bits"),
    [
        ("hmac-sha256.", None),
        ("hmac-sha256.", 256),  # digest-bits of the full size: no truncation
        ("hmac-md5.sig-alg.reg.int.", None),
        ("hmac-sha512.", None),
    ],
)
def test_query_is_signed_with_the_keys_algorithm(algorithm, bits):
    key = TsigKey(KEY.name, dns.name.from_text(algorithm), SECRET, bits)
    endpoint = Endpoint("192.0.2.1", 53, key)
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.SOA, endpoint)
    parsed = dns.message.from_wire(
        query.to_wire(), keyring={KEY.name: dns.tsig.Key(KEY.name, SECRET, algorithm)}
    )
    assert parsed.had_tsig
    assert parsed.tsig[0].algorithm == dns.name.from_text(algorithm)


@pytest.mark.parametrize(
    ("algorithm", "bits"), [("hmac-sha256.", 128), ("hmac-sha1.", 80)]
)
def test_truncated_keys_are_a_clear_tsig_error(algorithm, bits):
    key = TsigKey(KEY.name, dns.name.from_text(algorithm), SECRET, bits)
    with pytest.raises(
        TransferBroken, match=f"truncated algorithm .*-{bits} is not supported"
    ) as caught:
        make_query(
            ZONE, dns.rdataclass.IN, dns.rdatatype.SOA, Endpoint("192.0.2.1", 53, key)
        )
    assert caught.value.reason is FailureReason.TSIG


async def test_a_silent_primary_trips_the_idle_limit():
    from zonesync.errors import TransferTimeout

    endpoint = Endpoint("192.0.2.1", 53)
    query = make_query(ZONE, dns.rdataclass.IN, dns.rdatatype.AXFR, endpoint)
    reader = asyncio.StreamReader()  # no data, no EOF: the primary went quiet
    stream = XfrStream(endpoint, query, reader, 0.05)
    with pytest.raises(TransferTimeout, match="idle"):
        async for _message in stream.messages():
            pass


def test_notify_out_is_a_notify_with_aa_and_our_soa():
    from zonesync.server.notify_out import make_notify

    soa = rrset("SOA", SOA)[0]
    message = make_notify(ZONE, dns.rdataclass.IN, soa, KEY)
    parsed = dns.message.from_wire(
        message.to_wire(),
        keyring={KEY.name: dns.tsig.Key(KEY.name, SECRET, KEY.algorithm)},
    )
    assert parsed.opcode() == dns.opcode.NOTIFY
    assert parsed.flags & dns.flags.AA
    assert not parsed.flags & dns.flags.RD
    assert parsed.answer[0][0].serial == 7
    assert parsed.had_tsig
