"""The AXFR/IXFR reply state machine, fed text-form records (no sockets).

Each message is made by dnspython and read back by transfer/fastwire.py, as
XfrStream reads a primary's.
"""

import dns.message
import dns.name
import dns.rdataclass
import dns.rrset
import pytest

from zonesync.errors import TransferBroken
from zonesync.transfer.fastwire import parse_answers
from zonesync.transfer.xfrin import XfrIn, XfrKind

ZONE = dns.name.from_text("example.com.")
IN = dns.rdataclass.IN


def soa(serial):
    return f"example.com. 300 IN SOA ns.example.com. host.example.com. {serial} 3600 600 86400 300"


def message(*lines):
    """One message, one RR per RRset, in order."""
    msg = dns.message.Message()
    for line in lines:
        name, ttl, rdclass, rdtype, rdata = line.split(None, 4)
        msg.answer.append(dns.rrset.from_text(name, int(ttl), rdclass, rdtype, rdata))
    return parse_answers(msg.to_wire())


A1 = "www.example.com. 300 IN A 192.0.2.1"
A2 = "www.example.com. 300 IN A 192.0.2.2"
NS = "example.com. 300 IN NS ns.example.com."


def texts(records):
    return [f"{n} {t} {r.to_text()}" for n, t, r in records]


def test_axfr_in_several_messages_streams_records_in_order():
    machine = XfrIn(ZONE, IN, None)
    first = machine.feed(message(soa(5), NS))
    assert machine.kind is XfrKind.AXFR
    assert not machine.done
    second = machine.feed(message(A1, soa(5)))
    assert machine.done
    machine.finish()
    assert len(first) == 2
    assert len(second) == 1
    assert machine.serial == 5
    assert machine.records == 4  # every RR counts, both SOAs too (BIND's nrecs)


def test_axfr_without_closing_soa_is_incomplete():
    machine = XfrIn(ZONE, IN, None)
    machine.feed(message(soa(5), NS, A1))
    with pytest.raises(TransferBroken, match="unexpected end of input"):
        machine.finish()


def test_closing_soa_with_another_serial_is_broken():
    machine = XfrIn(ZONE, IN, None)
    with pytest.raises(TransferBroken, match="closing SOA serial 6"):
        machine.feed(message(soa(5), NS, soa(6)))


def test_data_after_the_closing_soa_is_broken():
    machine = XfrIn(ZONE, IN, None)
    with pytest.raises(TransferBroken, match="extra data"):
        machine.feed(message(soa(5), NS, soa(5), A1))


def test_first_record_must_be_the_zone_soa():
    with pytest.raises(TransferBroken, match="first record"):
        XfrIn(ZONE, IN, None).feed(message(NS, soa(5)))
    other = "other.com. 300 IN SOA ns. host. 5 1 1 1 1"
    with pytest.raises(TransferBroken, match="first record"):
        XfrIn(ZONE, IN, None).feed(message(other))


def test_ixfr_deltas_are_collected():
    machine = XfrIn(ZONE, IN, 3)
    out = machine.feed(
        message(soa(5), soa(3), A1, soa(4), A2, soa(4), A2, soa(5), A1, soa(5))
    )
    assert out == []
    assert machine.kind is XfrKind.IXFR
    assert machine.done
    assert len(machine.deltas) == 2
    first, second = machine.deltas
    assert texts(first.deleted) == ["www.example.com. 300 192.0.2.1"]
    assert texts(first.added) == ["www.example.com. 300 192.0.2.2"]
    assert first.new_soa[2].serial == 4
    assert texts(second.deleted) == ["www.example.com. 300 192.0.2.2"]
    assert second.new_soa[2].serial == 5


def test_ixfr_split_across_messages_after_the_first_soa():
    machine = XfrIn(ZONE, IN, 3)
    assert machine.feed(message(soa(5))) == []
    assert machine.kind is None  # style not known until the next record
    machine.feed(message(soa(3), soa(5), A1, soa(5)))
    assert machine.kind is XfrKind.IXFR
    assert machine.done


def test_ixfr_delta_chain_must_start_at_our_serial():
    machine = XfrIn(ZONE, IN, 3)
    with pytest.raises(TransferBroken, match="starts at serial 5, not 4"):
        # soa(3) first matches ours; then a second delta that skips 4 -> 5
        machine.feed(message(soa(6), soa(3), soa(4), soa(5), soa(6), soa(6)))


def test_axfr_style_ixfr_reply_is_a_full_zone():
    machine = XfrIn(ZONE, IN, 3)
    out = machine.feed(message(soa(5), NS, A1, soa(5)))
    assert machine.kind is XfrKind.AXFR_STYLE
    assert machine.done
    assert [r.rdtype for r in out] == [6, 2, 1]  # SOA first, once


def test_axfr_style_reply_split_right_after_the_first_soa():
    machine = XfrIn(ZONE, IN, 3)
    assert machine.feed(message(soa(5))) == []
    out = machine.feed(message(NS, soa(5)))
    assert machine.kind is XfrKind.AXFR_STYLE
    assert len(out) == 2


@pytest.mark.parametrize("their", [3, 2])
def test_single_soa_not_newer_means_up_to_date(their):
    machine = XfrIn(ZONE, IN, 3)
    machine.feed(message(soa(their)))
    assert machine.kind is XfrKind.UP_TO_DATE
    assert machine.done


def test_wrong_class_is_broken():
    machine = XfrIn(ZONE, IN, None)
    with pytest.raises(TransferBroken, match="class"):
        machine.feed(message(soa(5).replace(" IN ", " CH ")))


def test_ixfr_differences_are_dnspython_records_of_the_wire():
    odd = 'MiXeD\\.x.Example.COM. 300 IN TXT "a \\"b\\" \\\\ \\255"'
    wire_message = message(soa(5), soa(3), odd, soa(5), A1, soa(5))
    machine = XfrIn(ZONE, IN, 3)
    machine.feed(wire_message)
    expected = dns.message.from_wire(wire_message.wire, one_rr_per_rrset=True)
    (deleted,) = machine.deltas[0].deleted
    assert deleted == (expected.answer[2].name, 300, expected.answer[2][0])
    assert deleted[0].labels[0] == b"MiXeD.x"
    assert machine.deltas[0].added[0][2].to_text() == "192.0.2.1"


def test_axfr_records_are_passed_on_as_read():
    machine = XfrIn(ZONE, IN, None)
    out = machine.feed(message(soa(5), NS, A1, soa(5)))
    assert [(r.owner, r.text) for r in out] == [
        ("example.com.", "ns.example.com. host.example.com. 5 3600 600 86400 300"),
        ("example.com.", "ns.example.com."),
        ("www.example.com.", "192.0.2.1"),
    ]
    assert machine.records == 4
