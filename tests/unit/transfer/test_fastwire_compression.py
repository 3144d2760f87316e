"""fastwire's line mode on compression that dnspython's renderer never makes.

dnspython points a name at its longest known suffix. Primaries do more:
BIND 9.18 sends AXFR messages with no question, so the first owner is
written in full; it leaves some owners and every SRV target uncompressed;
and it points glue owners into the NS rdata before them. Line mode has quick
paths for owners and for the lone name of NS, CNAME and PTR rdata (labels
then a pointer, a bare pointer, labels then the root); here messages are
compressed at random, by a compressor of our own, and read as dnspython
reads them, then mutated (loops, forward pointers, bad lengths) and refused
where dnspython refuses them.
"""

import struct

import dns.name
import dns.rdatatype
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.transfer.test_fastwire import (
    ZONE,
    assert_same,
    by_dnspython,
    by_fastwire,
    in_line_mode,
    outcome,
    plain_prefix,
    rendered,
)
from zonesync.errors import TransferBroken
from zonesync.transfer.fastwire import parse_answers

A, NS, CNAME, PTR, MX, TXT, AAAA, SRV = 1, 2, 5, 12, 15, 16, 28, 33


class Message:
    """An AXFR reply written by hand, with compression chosen per name."""

    def __init__(self, question=False):
        self.wire = bytearray(struct.pack("!6H", 7, 0x8400, int(question), 0, 0, 0))
        self.suffixes = {}  # lower-cased labels of a suffix -> its offsets
        self.count = 0
        if question:
            self.name(ZONE, 0)
            self.wire += struct.pack("!HH", dns.rdatatype.AXFR, 1)

    def name(self, name, choice):
        """Write `name`: `choice` picks where to point (0: in full)."""
        labels = [label.lower() for label in name.labels]
        known = [
            i for i in range(len(labels) - 1) if tuple(labels[i:]) in self.suffixes
        ]
        cut = len(labels) - 1
        target = None
        if choice and known:
            cut = known[(choice - 1) % len(known)]
            offsets = self.suffixes[tuple(labels[cut:])]
            target = offsets[choice % len(offsets)]
        for i in range(cut):
            here = len(self.wire)
            if here < 0x4000:
                self.suffixes.setdefault(tuple(labels[i:]), []).append(here)
            self.wire += bytes((len(name.labels[i]),)) + name.labels[i]
        if target is None:
            self.wire += b"\x00"
        else:
            self.wire += struct.pack("!H", 0xC000 | target)

    def record(self, owner, choice, rdtype, parts, ttl=300):
        """Add an RR; `parts` are bytes, or (name, choice) to write a name."""
        self.name(owner, choice)
        at = len(self.wire)
        self.wire += struct.pack("!HHIH", rdtype, 1, ttl, 0)
        for part in parts:
            if isinstance(part, bytes):
                self.wire += part
            else:
                self.name(*part)
        struct.pack_into("!H", self.wire, at + 8, len(self.wire) - at - 10)
        self.count += 1
        struct.pack_into("!H", self.wire, 6, self.count)

    def bytes(self):
        return bytes(self.wire)


def name(text):
    return dns.name.from_text(text)


def bind_like():
    """What BIND 9.18 sends: glue pointing into NS rdata, SRV uncompressed."""
    m = Message()
    m.record(name("a1.example.com."), 0, A, [bytes(4)])
    m.record(name("d1.example.com."), 1, NS, [(name("ns1.d1.example.com."), 1)])
    m.record(name("d1.example.com."), 1, NS, [(name("ns2.d1.example.com."), 1)])
    m.record(name("ns1.d1.example.com."), 1, A, [bytes((192, 0, 2, 1))])
    m.record(name("ns1.d1.example.com."), 1, AAAA, [bytes(15) + b"\x01"])
    m.record(name("ns2.d1.example.com."), 1, A, [bytes((192, 0, 2, 2))])
    srv = name("_sip._tcp.s1.example.com.")
    target = (name("mx1.example.com."), 0)
    m.record(srv, 0, SRV, [struct.pack("!HHH", 10, 60, 5060), target])
    m.record(srv, 1, SRV, [struct.pack("!HHH", 20, 40, 5061), target])
    m.record(name("_sip._tcp.s2.example.com."), 2, SRV, [bytes(6), target])
    m.record(name("k1._domainkey.example.com."), 1, TXT, [b"\x02ab"])
    m.record(name("k2._domainkey.example.com."), 1, TXT, [b"\x02cd"])
    m.record(name("www.example.com."), 1, CNAME, [(name("h1.example.com."), 1)])
    m.record(name("h1.example.com."), 1, A, [bytes(4)])  # into the CNAME rdata
    m.record(name("1.2.rev.example.com."), 0, PTR, [(name("h1.example.com."), 1)])
    m.record(name("2.2.rev.example.com."), 2, PTR, [(name("h1.example.com."), 1)])
    m.record(name("m1.example.com."), 1, MX, [b"\x00\x0a", (name("mx1.x."), 1)])
    return m.bytes()


def test_a_bind_like_message_reads_as_dnspython_reads_it():
    wire = bind_like()
    expected = assert_same(wire)
    assert len(expected) == plain_prefix(expected) == 16
    assert in_line_mode(wire)[0].count("\n") == 16


def pointer_chain(hops):
    """Owners of two labels and a pointer to the owner before, `hops` deep."""
    m = Message(question=True)
    previous = ZONE
    for i in range(hops):
        owner = dns.name.Name([b"%d" % i, b"-y_", *previous.labels])
        m.record(owner, 1, A, [bytes(4)])
        previous = owner
    m.record(name("n.example.com."), 1, NS, [(previous, 1)])
    m.record(name("c.example.com."), 1, CNAME, [(previous, 1)])
    return m.bytes()


def test_an_owner_pointing_at_an_mx_target_at_the_end_of_a_chain():
    # The MX target is 16 pointers from the question: allowed. An owner
    # that is a bare pointer to it would be the 17th: refused.
    for hops, allowed in ((14, True), (15, False)):
        m = Message(question=True)
        previous = ZONE
        for i in range(hops):
            owner = dns.name.Name([b"%d" % i, *previous.labels])
            m.record(owner, 1, A, [bytes(4)])
            previous = owner
        target = dns.name.Name([b"mx", *previous.labels])
        m.record(name("m.example.com."), 1, MX, [b"\x00\x01", (target, 1)])
        m.record(target, 1, A, [bytes(4)])
        wire = m.bytes()
        if allowed:
            assert_same(wire)
        else:
            assert outcome(by_dnspython, wire) == "refused"
            assert outcome(by_fastwire, wire) == "refused"
            assert outcome(in_line_mode, wire) == "refused"


def test_labels_then_a_pointer_to_labels_then_a_pointer():
    # A chain of pointers through names of several labels: dnspython follows
    # at most 16 (dns.name.from_wire_parser), here in owners or rdata names.
    for hops in (1, 2, 14, 15):
        assert_same(pointer_chain(hops))
    for hops in (16, 17, 20):
        wire = pointer_chain(hops)
        assert outcome(by_dnspython, wire) == "refused"
        assert outcome(by_fastwire, wire) == "refused"
        assert outcome(in_line_mode, wire) == "refused"


ESCAPES = [b"a.b", b'q"\\', b"\x00\xff", b" sp", b"@$();", b"UP", b"*"]


def test_escaped_labels_before_a_pointer_or_the_root():
    for label in ESCAPES:
        for choice in (0, 1, 2):
            m = Message(question=choice == 2)
            owner = dns.name.Name([label, b"sub", *ZONE.labels])
            m.record(name("first.example.com."), 0, A, [bytes(4)])
            m.record(owner, choice, A, [bytes(4)])
            m.record(owner, 1, TXT, [b"\x01x"])  # a bare pointer to it
            m.record(name("n.example.com."), 1, NS, [(owner, 1)])
            target = dns.name.Name([label, *ZONE.labels])
            m.record(name("c.example.com."), 1, CNAME, [(target, 1)])
            m.record(dns.name.Name([b"z", *target.labels]), 2, A, [bytes(4)])
            assert_same(m.bytes())


def test_owners_and_rdata_names_outside_the_zone_or_at_the_apex():
    m = Message()
    m.record(name("a.example.com."), 0, A, [bytes(4)])
    m.record(name("b.example.com."), 1, NS, [(name("example.com."), 1)])
    m.record(name("c.example.com."), 1, CNAME, [(name("a.example.com."), 1)])
    m.record(name("d.example.com."), 1, PTR, [(name("x.other."), 0)])
    m.record(name("e.example.com."), 1, NS, [(name("."), 0)])
    m.record(name("example.com."), 1, A, [bytes(4)])  # the apex: lines stop
    m.record(name("f.example.com."), 1, A, [bytes(4)])
    expected = assert_same(m.bytes())
    assert plain_prefix(expected) == 5
    # The last one's wire ends in the zone's, but not on a label boundary.
    outside = ["example.com.", "other.", "a.b.other.", "xexample.com."]
    for owner in [*map(name, outside), dns.name.Name([b"a\x07example", b"com", b""])]:
        for choice in (0, 1):
            m = Message()
            m.record(name("a.example.com."), 0, A, [bytes(4)])
            m.record(owner, choice, A, [bytes(4)])
            assert plain_prefix(assert_same(m.bytes())) == 1


def test_in_the_root_zone():
    m = Message()
    m.record(name("com."), 0, NS, [(name("a.gtld.net."), 0)])
    m.record(name("x.com."), 1, NS, [(name("com."), 1)])
    m.record(name("y.x.com."), 1, CNAME, [(name("x.com."), 1)])
    m.record(name("net."), 1, NS, [(name("."), 0)])
    wire = m.bytes()
    text, count = in_line_mode(wire, dns.name.root)
    expected = by_dnspython(wire)
    assert text == rendered(expected)
    assert count == plain_prefix(expected, dns.name.root) == 4


def test_a_name_over_255_octets_by_its_pointer_is_refused():
    long = dns.name.Name([b"a" * 63] * 3 + [b"b" * 49, *ZONE.labels])  # 255
    m = Message(question=True)
    m.record(long, 1, A, [bytes(4)])
    m.record(long, 1, NS, [(long, 1)])
    assert_same(m.bytes())
    at = 12 + len(ZONE.to_wire()) + 4  # the first owner
    for prefix, rdata in [(b"\x01c", None), (b"", b"\x01c")]:
        wire = bytearray(m.bytes())
        pointer = struct.pack("!H", 0xC000 | at)
        rdata_wire = (rdata or b"") + pointer
        wire += prefix + pointer + struct.pack("!HHIH", NS, 1, 300, len(rdata_wire))
        wire += rdata_wire
        struct.pack_into("!H", wire, 6, 3)
        assert outcome(by_dnspython, bytes(wire)) == "refused"
        assert outcome(by_fastwire, bytes(wire)) == "refused"
        assert outcome(in_line_mode, bytes(wire)) == "refused"


# Random records, random compression, and random damage.

zone_labels = st.sampled_from([b"a", b"B", b"ns1", b"_tcp", b"x-y", b"\x00.", b"*"])
other_labels = st.binary(min_size=1, max_size=8)


@st.composite
def owner_names(draw):
    suffix = draw(
        st.sampled_from(
            [ZONE, ZONE, ZONE, name("Example.COM."), name("other."), dns.name.root]
        )
    )
    labels = draw(st.lists(st.one_of(zone_labels, other_labels), max_size=4))
    return dns.name.Name([*labels, *suffix.labels])


choices = st.integers(0, 3)


@st.composite
def records(draw):
    rdtype = draw(st.sampled_from([A, NS, CNAME, PTR, MX, TXT, AAAA, SRV]))
    if rdtype == A:
        parts = [draw(st.binary(min_size=4, max_size=4))]
    elif rdtype == AAAA:
        parts = [draw(st.binary(min_size=16, max_size=16))]
    elif rdtype == TXT:
        text = draw(st.binary(max_size=10))
        parts = [bytes((len(text),)) + text]
    else:
        head = {MX: b"\x00\x01", SRV: b"\x00\x01\x00\x02\x00\x03"}.get(rdtype, b"")
        parts = [head, (draw(owner_names()), draw(choices))]
    ttl = draw(st.sampled_from([0, 300, 0x7FFFFFFF, 0x80000000]))
    return draw(owner_names()), draw(choices), rdtype, parts, ttl


def message(question, entries):
    m = Message(question)
    for owner, choice, rdtype, parts, ttl in entries:
        m.record(owner, choice, rdtype, parts, ttl)
    return m.bytes()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.lists(records(), min_size=1, max_size=16))
def test_random_compression_reads_as_dnspython_reads_it(question, entries):
    assert_same(message(question, entries))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_compression_is_refused_or_read_as_dnspython_reads_it(data):
    wire = bytearray(
        data.draw(
            st.one_of(
                st.just(bind_like()),
                st.builds(
                    message, st.booleans(), st.lists(records(), min_size=2, max_size=12)
                ),
            )
        )
    )
    pointers = [i for i in range(12, len(wire) - 1) if wire[i] >= 0xC0]
    for _ in range(data.draw(st.integers(1, 3))):
        if pointers and data.draw(st.booleans()):
            # Re-aim a pointer: backwards, at itself, forwards, into a label.
            at = data.draw(st.sampled_from(pointers))
            target = data.draw(st.integers(0, min(len(wire), 0x3FFF)))
            struct.pack_into("!H", wire, at, 0xC000 | target)
        else:
            at = data.draw(st.integers(12, len(wire) - 1))
            wire[at] = data.draw(st.integers(0, 255))
    damaged = bytes(wire)
    expected = outcome(by_dnspython, damaged)
    assert outcome(by_fastwire, damaged) == expected
    lines = outcome(in_line_mode, damaged)
    if expected == "refused":
        assert lines == "refused"
        # The same words in line mode as record by record.
        assert error(lambda: in_line_mode(damaged)) == error(
            lambda: parse_answers(damaged)
        )
    else:
        assert lines == (rendered(expected), plain_prefix(expected))


def error(read):
    with pytest.raises(TransferBroken) as caught:
        read()
    return str(caught.value)
