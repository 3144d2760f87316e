"""transfer/fastwire.py against dnspython, record for record (issue 5, item 3).

Every answer record fastwire reads must equal what dnspython makes of the
same wire: `rrset.name.to_text()`, type, class, TTL and
`rdata.to_text(origin=None, relativize=False)`. Malformed wire must be
refused with TransferBroken wherever dnspython refuses it.
"""

import struct

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zonesync.errors import FailureReason, TransferBroken
from zonesync.store.records import TextForm, is_subdomain_wire, render_text
from zonesync.transfer.fastwire import LineMode, parse_answers, validate_tsig

ZONE = dns.name.from_text("example.com.")
H32 = "ab" * 32
B64 = "AwEAAcw5QLr0Zaen5ZfKqsMcmK8I8vD2ZHFaLW7mBGeFQ1PAlnhcvbvN"
SIG = f"A 8 3 86400 20300101000000 20000101000000 2143 example.com. {B64}"

# One valid rdata per type dnspython implements, written for these tests.
EXAMPLES = {
    "A": "192.0.2.1",
    "NS": "ns1.example.com.",
    "CNAME": "target.example.com.",
    "SOA": "ns1.example.com. hostmaster.example.com. 2026112101 3600 600 86400 300",
    "WKS": "192.0.2.1 6 25 80 443",
    "PTR": "host.example.com.",
    "HINFO": '"Generic PC" "Linux 6.1"',
    "MX": "10 mail.example.com.",
    "TXT": '"v=spf1 -all" "a \\"quoted\\" \\\\ string" "\\200\\255 bytes"',
    "RP": "admin.example.com. txt.example.com.",
    "AFSDB": "1 afsdb.example.com.",
    "X25": '"311061700956"',
    "ISDN": '"150862028003217" "004"',
    "RT": "10 relay.example.com.",
    "NSAP": "0x47000580005a0000000001e133ffffff00016100",
    "NSAP_PTR": "foo.example.com.",
    "SIG": SIG,
    "KEY": f"256 3 8 {B64}",
    "PX": "10 map822.example.com. mapx400.example.com.",
    "GPOS": "-32.6882 116.8652 10.0",
    "AAAA": "2001:db8::1",
    "LOC": "60 9 0.000 N 24 39 0.000 E 10.00m 20m 2000m 20m",
    "SRV": "0 5 5060 sip.example.com.",
    "NAPTR": '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .',
    "KX": "10 kx.example.com.",
    "CERT": f"1 0 8 {B64}",
    "DNAME": "other.example.",
    "APL": "1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/32",
    "DS": "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
    "SSHFP": "1 1 aa549bfe898489c02d1715d97d79c57ba2fa76ab",
    "IPSECKEY": "10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
    "RRSIG": SIG,
    "NSEC": "next.example.com. A MX RRSIG NSEC TYPE1234",
    "DNSKEY": f"257 3 8 {B64}",
    "DHCID": "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=",
    "NSEC3": "1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG",
    "NSEC3PARAM": "1 0 12 aabbccdd",
    "TLSA": f"3 1 1 {H32}",
    "SMIMEA": f"3 1 1 {H32}",
    "HIP": f"2 200100107B1A74DF365639CC39F1D578 {B64} rvs.example.com.",
    "NINFO": '"Here there be dragons"',
    "CDS": f"60485 5 2 {H32}",
    "CDNSKEY": f"257 3 8 {B64}",
    "OPENPGPKEY": B64,
    "CSYNC": "66 3 A NS AAAA",
    "ZONEMD": "2018031900 1 1 " + "cd" * 48,
    "SVCB": '1 svc.example.com. alpn="h2,h3" port=8443 ipv4hint=192.0.2.1',
    "HTTPS": '1 . alpn="h2,h3" ipv6hint=2001:db8::1',
    "DSYNC": "CDS 1 5359 cds-scanner.example.net.",
    "HHIT": "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=",
    "BRID": "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=",
    "SPF": '"v=spf1 ip4:192.0.2.0/24 -all"',
    "NID": "10 0014:4fff:ff20:ee64",
    "L32": "10 10.1.2.0",
    "L64": "10 2001:0db8:1140:1000",
    "LP": "10 l64-subnet1.example.com.",
    "EUI48": "00-00-5e-00-53-2a",
    "EUI64": "00-00-5e-ef-10-00-00-2a",
    "TKEY": "gss-tsig. 1594072425 1594158825 3 0 AAAA AAAA",
    "URI": '10 1 "ftp://ftp1.example.com/public"',
    "CAA": '0 issue "ca.example.net; account=230123"',
    "AVC": '"app-name:WOLFGANG|app-class:OAM"',
    "AMTRELAY": "0 0 3 relay.example.com.",
    "RESINFO": "qnamemin exterr=15,16,17",
    "WALLET": '"BTC" "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"',
    "DLV": "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
}
# Types dnspython has no class for (TYPE0, MD, NULL, A6, AXFR, ...) are
# opaque to it: they are sent in RFC 3597 form.
GENERIC = "\\# 3 abcdef"
# Not answer data at all: dnspython and fastwire both refuse them there
# (test_opt_or_tsig_in_the_answer_is_refused).
NOT_IN_ANSWERS = {"OPT": "EDNS pseudo-RR", "TSIG": "transaction signature"}

# Odd cases of the hand-written types, and names with every escape.
VARIANTS = [
    ('a\\000b\\.c\\032d\\"e.example.com.', "TXT", '""'),
    ("\\(p\\)\\;s\\@a\\$d\\\\.example.com.", "TXT", '"' + "x" * 255 + '" "y"'),
    ("*.example.com.", "MX", "0 ."),
    ("*.wild.example.com.", "A", "10.0.0.255"),
    ("UPPER.Example.COM.", "CNAME", "MiXeD.Example.NET."),
    ("\\200\\255\\127.example.com.", "TXT", '"\\000\\001\\031\\127\\128\\255 ~"'),
    ("x" * 63 + ".example.com.", "NS", "y" * 63 + "." + "z" * 63 + "."),
    ("example.com.", "TXT", '"tab\\009nl\\010" "semi;colon" "(paren)" "@$"'),
    ("example.com.", "SPF", '"v=spf1 \\"quoted\\" -all"'),
    ("example.com.", "CAA", '128 tbs "\\"q\\" \\\\ \\200"'),
    ("example.com.", "CAA", '0 issuewild ""'),
    ("example.com.", "HINFO", '"" "\\"x\\""'),
    ("example.com.", "NAPTR", '0 0 "" "" "" example.com.'),
    ("example.com.", "NAPTR", '1 2 "\\"" "\\\\" "\\255" r\\.x.example.com.'),
    ("example.com.", "DS", "1 250 5 " + "0f" * 100),  # unknown digest type: chunked
    ("example.com.", "DS", "1 8 4 " + "aa" * 48),
    ("example.com.", "SSHFP", "4 3 " + "01" * 70),
    ("example.com.", "TLSA", "0 0 0 " + "ee" * 100),
    ("example.com.", "TLSA", "3 1 2 " + "ee" * 64),
    ("example.com.", "SOA", ". . 4294967295 0 2147483647 1 2"),
    ("_s._tcp.example.com.", "SRV", "65535 65535 65535 ."),
    ("example.com.", "AAAA", "::"),
    ("example.com.", "AAAA", "::1"),
    ("example.com.", "AAAA", "::ffff:1.2.3.4"),
    ("example.com.", "AAAA", "::1.2.3.4"),
    ("example.com.", "AAAA", "1::"),
    ("example.com.", "AAAA", "1:0:0:1::"),
    ("example.com.", "AAAA", "0:0:1::1"),
    ("example.com.", "AAAA", "1:0:1:0:1:0:1:0"),
    ("example.com.", "TYPE65280", "\\# 2 abcd"),
    ("example.com.", "TYPE65534", "\\# 0"),
    ("example.com.", "TYPE1234", "\\# 200 " + "5a" * 200),
    (".", "NS", "a.root-servers.net."),
    ("example.com.", "URI", '0 65535 "a \\"q\\" \\\\ \\000\\255 ~"'),
    ("example.com.", "URI", '1 2 "x"'),
    # LOC: the poles, the meridians, the equator, both signs, rounding
    ("example.com.", "LOC", "90 0 0.000 N 180 0 0.000 E -100000.00m 0m 0m 0m"),
    ("example.com.", "LOC", "90 0 0.000 S 180 0 0.000 W 42849672.95m"),
    ("example.com.", "LOC", "0 0 0.000 N 0 0 0.000 E 0.00m"),
    ("example.com.", "LOC", "0 0 0.001 S 0 0 0.001 W 0.01m 1m 10000m 90000000m"),
    ("example.com.", "LOC", "52 22 23.999 N 4 53 32.001 E -2.00m 1m 10000m 10m"),
    ("example.com.", "LOC", "42 21 54.500 N 71 6 18.123 W -24.00m 30m 1m 1m"),
    ("example.com.", "LOC", "89 59 59.999 N 179 59 59.999 E 1.00m"),
    # SVCB and HTTPS: every key dnspython knows, unknown keys, escapes
    ("example.com.", "SVCB", "0 alias.example.net."),
    ("example.com.", "HTTPS", "0 ."),
    ("example.com.", "SVCB", "1 ."),
    (
        "example.com.",
        "SVCB",
        '16 svc.example.com. mandatory=alpn,port,key9 alpn="h2,h3\\\\,x" '
        'no-default-alpn port=0 key9="\\"q\\"\\255"',
    ),
    (
        "example.com.",
        "HTTPS",
        "1 . ipv4hint=192.0.2.1,0.0.0.0,255.255.255.255 "
        "ipv6hint=::,::1,2001:db8::1,::ffff:1.2.3.4 port=65535",
    ),
    ("example.com.", "HTTPS", '2 . ech="AAX+DQABAA==" dohpath="/q{?dns}" ohttp'),
    ("example.com.", "SVCB", "3 x.example.com. docpath key9"),
    ("example.com.", "SVCB", '3 x.example.com. docpath="a,b\\\\,c"'),
    ("example.com.", "SVCB", "3 x.example.com. key65535 key11=a key7"),
    ("example.com.", "SVCB", '4 . alpn="\\\\\\\\,\\000,\\255 "'),
    (
        "example.com.",
        "HTTPS",
        "5 \\.odd\\032name.example.com. mandatory=key65535 key65535",
    ),
]


def rrsets(entries, rdclass="IN", ttl=3600):
    return [
        dns.rrset.from_text(name, ttl, rdclass, rdtype, text)
        for name, rdtype, text in entries
    ]


def reply(answer, question=True):
    """A reply to an AXFR query, rendered by dnspython with compression."""
    query = dns.message.make_query(ZONE, dns.rdatatype.AXFR)
    response = dns.message.make_response(query)
    if not question:
        response.question = []
    response.answer = list(answer)
    return response.to_wire(max_size=65535)


def by_dnspython(wire):
    message = dns.message.from_wire(wire, xfr=True, one_rr_per_rrset=True, multi=True)
    return [
        (
            rrset.name.to_text(),
            rrset.rdtype,
            rrset.rdclass,
            rrset.ttl,
            rdata.to_text(origin=None, relativize=False),
        )
        for rrset in message.answer
        for rdata in rrset
    ]


def by_fastwire(wire):
    return [
        (r.owner, r.rdtype, r.rdclass, r.ttl, r.text)
        for r in parse_answers(wire).answers
    ]


def in_line_mode(wire, zone=ZONE, rdclass=dns.rdataclass.IN):
    """The zone file text of a message read in line mode, and its line count."""
    message = parse_answers(wire, LineMode(zone.to_digestable(), rdclass))
    return message.lines + render_text(message.answers), message.line_count


def plain_prefix(records, zone=ZONE, rdclass=dns.rdataclass.IN):
    """How many leading records line mode must give as lines."""
    zone_wire = zone.to_digestable()
    count = 0
    for owner, rdtype, rrclass, _, _ in records:
        owner_wire = dns.name.from_text(owner).to_digestable()
        if (
            rrclass != rdclass
            or rdtype == dns.rdatatype.SOA
            or owner_wire == zone_wire
            or not is_subdomain_wire(owner_wire, zone_wire)
        ):
            break
        count += 1
    return count


def rendered(records):
    return render_text(
        TextForm(owner, b"", rdtype, rdclass, ttl, text, None)
        for owner, rdtype, rdclass, ttl, text in records
    )


def assert_same(wire):
    """fastwire reads `wire` as dnspython does, records and zone file lines."""
    expected = by_dnspython(wire)
    assert by_fastwire(wire) == expected
    text, count = in_line_mode(wire)
    assert text == rendered(expected)
    assert count == plain_prefix(expected)
    return expected


def outcome(read, wire):
    try:
        return read(wire)
    except Exception:  # noqa: BLE001 - any refusal counts as one outcome
        return "refused"


def example_entries():
    entries = []
    for rdtype in dns.rdatatype.RdataType:
        name = rdtype.name
        if name in NOT_IN_ANSWERS:
            continue
        cls = dns.rdata.get_rdata_class(dns.rdataclass.IN, rdtype)
        text = EXAMPLES.get(name)
        if text is None:
            assert cls is dns.rdata.GenericRdata, f"no example for {name}"
            text = GENERIC
        entries.append((f"{name.lower().replace('_', '-')}.example.com.", name, text))
    return entries


def test_every_type_dnspython_knows_reads_the_same():
    entries = example_entries()
    covered = {e[1] for e in entries} | set(NOT_IN_ANSWERS)
    assert covered == {t.name for t in dns.rdatatype.RdataType}
    wire = reply(rrsets(entries))
    expected = assert_same(wire)
    assert len(expected) == len(entries)


@pytest.mark.parametrize("entry", example_entries(), ids=lambda e: e[1])
def test_each_type_alone_reads_the_same(entry):
    assert_same(reply(rrsets([entry]), question=False))


@pytest.mark.parametrize("entry", VARIANTS, ids=lambda e: f"{e[1]}:{e[2][:20]}")
def test_odd_names_and_rdata_read_the_same(entry):
    assert_same(reply(rrsets([entry])))


def test_one_message_of_everything_compressed_together():
    wire = reply(rrsets(example_entries() + VARIANTS))
    assert len(assert_same(wire)) == len(example_entries()) + len(VARIANTS)


@pytest.mark.parametrize("rdclass", ["CH", "HS", "NONE", "ANY", "CLASS4321"])
def test_other_classes_are_dnspython_s_reading(rdclass):
    entries = [
        ("example.com.", "TXT", '"x"'),
        ("example.com.", "NS", "ns.example.com."),
        ("example.com.", "A", "\\# 3 000001"),  # CH A: a name and an address
        ("example.com.", "TYPE999", "\\# 1 00"),
    ]
    assert_same(reply(rrsets(entries, rdclass)))


def test_owner_wire_serial_and_question():
    entries = [("WWW.Example.COM.", "SOA", EXAMPLES["SOA"]), *VARIANTS[:3]]
    message = parse_answers(reply(rrsets(entries), question=False))
    first = message.answers[0]
    assert first.owner == "WWW.Example.COM."
    assert first.owner_wire == dns.name.from_text("www.example.com.").to_wire()
    assert first.serial == 2026112101
    assert all(r.serial is None for r in message.answers[1:])
    assert message.question == ()
    question = parse_answers(reply([])).question
    assert question == ((ZONE.to_wire(), dns.rdatatype.AXFR, dns.rdataclass.IN),)
    assert message.flags & dns.flags.QR
    assert message.rcode == 0
    assert not message.had_tsig


def test_ttl_over_2_to_the_31_reads_as_zero_as_dnspython_does():
    wire = bytearray(
        reply(rrsets([("example.com.", "A", "192.0.2.1")]), question=False)
    )
    # header 12, owner 13, type 2, class 2: the TTL follows
    struct.pack_into("!I", wire, 12 + 13 + 4, 0x80000000)
    assert assert_same(bytes(wire))[0][3] == 0


# Random records, compared with dnspython.

labels = st.binary(min_size=1, max_size=63)
suffixes = st.sampled_from(
    [
        ZONE,
        dns.name.root,
        dns.name.from_text("Example.COM."),
        dns.name.from_text("x.y."),
    ]
)


@st.composite
def names(draw):
    suffix = draw(suffixes)
    prefix = draw(st.lists(labels, max_size=4))
    while sum(len(x) + 1 for x in prefix) + len(suffix.to_wire()) > 255:
        prefix.pop()
    return dns.name.Name([*prefix, *suffix.labels])


def from_wire(rdtype, data):
    try:
        return dns.rdata.from_wire(dns.rdataclass.IN, rdtype, data, 0, len(data))
    except dns.exception.FormError:
        assume(False)
        raise


def name_wire(name):
    return name.to_wire()


u16 = st.integers(0, 0xFFFF)
words = st.one_of(st.just(0), st.just(0xFFFF), st.just(1), u16)
strings = st.binary(max_size=255)


@st.composite
def rdatas(draw):
    kind = draw(st.sampled_from(["A", "AAAA", "MX", "TXT", "SRV", "CAA"]))
    rdtype = dns.rdatatype.from_text(kind)
    if kind == "A":
        data = draw(st.binary(min_size=4, max_size=4))
    elif kind == "AAAA":
        data = struct.pack("!8H", *draw(st.lists(words, min_size=8, max_size=8)))
    elif kind == "MX":
        data = struct.pack("!H", draw(u16)) + name_wire(draw(names()))
    elif kind == "TXT":
        parts = draw(st.lists(strings, min_size=1, max_size=4))
        data = b"".join(bytes((len(p),)) + p for p in parts)
    elif kind == "SRV":
        data = struct.pack("!HHH", draw(u16), draw(u16), draw(u16))
        data += name_wire(draw(names()))
    else:
        tag = draw(
            st.one_of(
                st.binary(min_size=1, max_size=20),
                st.sampled_from([b"issue", b"iodef"]),
            )
        )
        data = (
            bytes((draw(st.integers(0, 255)), len(tag)))
            + tag
            + draw(st.binary(max_size=300))
        )
    return from_wire(rdtype, data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(names(), rdatas(), st.integers(0, 0x7FFFFFFF)),
        min_size=1,
        max_size=12,
    )
)
def test_random_records_read_the_same(records):
    answer = []
    for name, rdata, ttl in records:
        rrset = dns.rrset.RRset(name, rdata.rdclass, rdata.rdtype)
        rrset.add(rdata, ttl)
        answer.append(rrset)
    wire = reply(answer)
    assert len(assert_same(wire)) == len(records)
    owners = [r.owner_wire for r in parse_answers(wire).answers]
    assert owners == [name.canonicalize().to_wire() for name, _, _ in records]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_messages_are_refused_or_read_as_dnspython_reads_them(data):
    wire = bytearray(reply(rrsets(example_entries()[:40] + VARIANTS)))
    for _ in range(data.draw(st.integers(1, 4))):
        # From offset 4: a mutated opcode would make dnspython read an UPDATE.
        at = data.draw(st.integers(4, len(wire) - 1))
        wire[at] = data.draw(st.integers(0, 255))
    mutated = bytes(wire)
    expected = outcome(by_dnspython, mutated)
    assert outcome(by_fastwire, mutated) == expected
    lines = outcome(in_line_mode, mutated)
    if expected == "refused":
        assert lines == "refused"
    else:
        assert lines == (rendered(expected), plain_prefix(expected))


HAND_WRITTEN = ["A", "AAAA", "NS", "CNAME", "PTR", "DNAME", "MX", "TXT", "SPF", "SRV"]
HAND_WRITTEN += ["SOA", "CAA", "DS", "SSHFP", "TLSA", "NAPTR", "HINFO", "LOC"]
HAND_WRITTEN += ["SVCB", "HTTPS", "URI"]


def with_rdata(rdtype, data):
    """A reply of one RR of `rdtype` whose rdata is `data`, whatever it is."""
    header = struct.pack("!6H", 1, 0x8400, 0, 1, 0, 0)
    owner = ZONE.to_wire()
    rr = struct.pack("!HHIH", dns.rdatatype.from_text(rdtype), 1, 300, len(data))
    return header + owner + rr + data


def same_outcome(wire):
    expected = outcome(by_dnspython, wire)
    assert outcome(by_fastwire, wire) == expected
    lines = outcome(lambda w: in_line_mode(w)[0], wire)
    assert lines == ("refused" if expected == "refused" else rendered(expected))


@pytest.mark.parametrize("rdtype", HAND_WRITTEN)
def test_every_cut_of_a_hand_written_rdata_reads_as_dnspython_reads_it(rdtype):
    text = EXAMPLES[rdtype]
    data = dns.rdata.from_text("IN", rdtype, text).to_wire()
    for size in range(len(data) + 1):
        same_outcome(with_rdata(rdtype, data[:size]))
        same_outcome(with_rdata(rdtype, data[:size] + b"\x00"))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(HAND_WRITTEN), st.binary(max_size=40))
def test_random_rdata_bytes_read_as_dnspython_reads_them(rdtype, data):
    same_outcome(with_rdata(rdtype, data))


@pytest.mark.parametrize(
    "entry",
    [v for v in VARIANTS if v[1] in ("SVCB", "HTTPS", "LOC", "URI")],
    ids=lambda e: f"{e[1]}:{e[2][:30]}",
)
def test_every_cut_of_an_odd_svcb_loc_or_uri_reads_as_dnspython_reads_it(entry):
    data = dns.rdata.from_text("IN", entry[1], entry[2]).to_wire()
    for size in range(len(data) + 1):
        same_outcome(with_rdata(entry[1], data[:size]))
        same_outcome(with_rdata(entry[1], data[:size] + b"\x00"))


# SvcParams at wire level: any key (known, unknown, out of order, repeated),
# with a value that is well-formed for it or random bytes.
svc_keys = st.one_of(st.integers(0, 12), st.sampled_from([65534, 65535]), u16)


def counted(parts):
    return b"".join(bytes((len(p),)) + p for p in parts)


@st.composite
def svc_values(draw, key):
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=20))
    if key == 0:
        keys = sorted(set(draw(st.lists(svc_keys, min_size=1, max_size=4))))
        return struct.pack(f"!{len(keys)}H", *keys)
    if key in (1, 10):
        return counted(draw(st.lists(st.binary(min_size=1, max_size=6), max_size=3)))
    if key == 3:
        return struct.pack("!H", draw(u16))
    if key == 4:
        return draw(
            st.binary(min_size=4, max_size=12).filter(lambda b: len(b) % 4 == 0)
        )
    if key == 6:
        return b"".join(
            struct.pack("!8H", *draw(st.lists(words, min_size=8, max_size=8)))
            for _ in range(draw(st.integers(1, 2)))
        )
    if key == 5:
        body = draw(st.binary(min_size=4, max_size=20))
        return struct.pack("!H", len(body)) + body
    if key in (2, 8):
        return b""
    return draw(st.binary(max_size=12))


@st.composite
def svcb_rdatas(draw):
    priority = draw(st.sampled_from([0, 1, 65535]))
    data = struct.pack("!H", priority) + name_wire(draw(names()))
    keys = draw(st.lists(svc_keys, max_size=6))
    if draw(st.booleans()):
        keys = sorted(set(keys))
    for key in keys:
        value = draw(svc_values(key))
        data += struct.pack("!HH", key, len(value)) + value
    return data


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["SVCB", "HTTPS"]), svcb_rdatas())
def test_random_svcparams_read_as_dnspython_reads_them(rdtype, data):
    same_outcome(with_rdata(rdtype, data))


@st.composite
def loc_rdatas(draw):
    """LOC rdata dnspython accepts (edges included), or random bytes."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(min_size=16, max_size=16))
    middle = 0x80000000

    def angle(limit):
        span = limit * 3600000
        edges = st.sampled_from([middle, middle - 1, middle - span, middle + span])
        return draw(st.one_of(st.integers(middle - span, middle + span), edges))

    digits = st.integers(0, 9)
    size = st.builds(lambda base, exponent: base << 4 | exponent, digits, digits)
    size = size.filter(lambda octet: octet > 0x0F or octet == 0)
    return struct.pack(
        "!BBBBIII",
        0,
        draw(size),
        draw(size),
        draw(size),
        angle(90),
        angle(180),
        draw(st.one_of(st.integers(0, 0xFFFFFFFF), st.just(10000000))),
    )


@settings(max_examples=600, deadline=None)
@given(loc_rdatas())
def test_random_loc_reads_as_dnspython_reads_it(data):
    same_outcome(with_rdata("LOC", data))


@settings(max_examples=300, deadline=None)
@given(u16, u16, st.binary(max_size=300))
def test_random_uri_reads_as_dnspython_reads_it(priority, weight, target):
    same_outcome(with_rdata("URI", struct.pack("!HH", priority, weight) + target))


# Malformed wire.


def refused(wire):
    with pytest.raises(TransferBroken) as caught:
        parse_answers(wire)
    assert caught.value.reason is FailureReason.MALFORMED
    with pytest.raises(TransferBroken):
        in_line_mode(wire)
    assert outcome(by_dnspython, wire) == "refused"
    return str(caught.value)


def test_truncation_at_every_offset_is_refused():
    wire = reply(rrsets(example_entries()[:30] + VARIANTS[:10]))
    for size in range(len(wire)):
        refused(wire[:size])


HEADER = struct.pack("!6H", 1, 0x8400, 1, 0, 0, 0)


def test_self_referencing_pointer_is_refused():
    assert "not backwards" in refused(HEADER + b"\xc0\x0c" + b"\x00\xfc\x00\x01")


def test_forward_pointer_is_refused():
    wire = HEADER + b"\xc0\x12" + b"\x00\xfc\x00\x01" + b"\x03com\x00"
    assert "not backwards" in refused(wire)


def test_pointer_into_its_own_name_is_refused():
    # a.<pointer to 12>: the target is the start of this very name
    assert "not backwards" in refused(HEADER + b"\x01a\xc0\x0c\x00\xfc\x00\x01")


def test_pointer_target_running_past_the_pointing_name_is_refused():
    # Question 1 is the root name, its class \x02\x41 at offsets 15-16.
    # Question 2 at 17 is the label "\x00x" and a pointer to 15, where a
    # name would be the label "\x41\x02" ended by the \x00 at 18: inside
    # question 2 itself, so the pointer is refused (dns.name restrict_end).
    header = struct.pack("!6H", 1, 0x8400, 2, 0, 0, 0)
    wire = header + b"\x00\x00\xfc\x02\x41" + b"\x02\x00x\xc0\x0f\x00\xfc\x00\x01"
    assert "overlaps" in refused(wire)


def pointer_chain(hops):
    """A message whose last question name is `hops` pointers from "com."."""
    wire = struct.pack("!6H", 1, 0x8400, hops + 1, 0, 0, 0)
    wire += b"\x03com\x00\x00\xfc\x00\x01"
    previous = 12
    for _ in range(hops):
        here = len(wire)
        wire += struct.pack("!H", 0xC000 | previous) + b"\x00\xfc\x00\x01"
        previous = here
    return wire


def test_a_chain_of_16_pointers_is_read_and_17_refused():
    wire = pointer_chain(16)
    assert parse_answers(wire).question[-1][0] == b"\x03com\x00"
    assert outcome(by_dnspython, wire) == []
    assert "pointers" in refused(pointer_chain(17))


def owner_chain(hops, labelled):
    """An AXFR message of A records whose owner k points at owner k-1.

    The first owner is `a.` and a pointer to the zone in the question;
    each next one is a bare pointer, or a label and a pointer (`labelled`).
    """
    header = struct.pack("!6H", 1, 0x8400, 1, hops + 1, 0, 0)
    wire = header + ZONE.to_wire() + b"\x00\xfc\x00\x01"
    previous = len(wire)
    wire += b"\x01a\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes(4)
    for i in range(hops):
        here = len(wire)
        label = bytes((1, 97 + i % 26)) if labelled else b""
        wire += label + struct.pack("!H", 0xC000 | previous)
        wire += struct.pack("!HHIH", 1, 1, 300, 4) + bytes((10, 0, 0, i))
        previous = here
    return wire


@pytest.mark.parametrize("labelled", [False, True], ids=["bare", "labelled"])
def test_owner_chains_read_as_dnspython_reads_them_in_line_mode(labelled):
    # The last owner of a chain of `hops` is hops + 1 pointers from the
    # question: at most 16 are allowed (dns.name.from_wire_parser).
    for hops in (1, 2, 3, 14, 15):
        assert_same(owner_chain(hops, labelled))
    assert outcome(in_line_mode, owner_chain(15, labelled))[1] == 16
    for hops in (16, 17, 20):
        same_outcome(owner_chain(hops, labelled))
        wire = owner_chain(hops, labelled)
        assert outcome(in_line_mode, wire) == "refused"


def test_line_mode_stops_at_the_first_record_that_is_not_plain_data():
    entries = [
        ("a.example.com.", "A", "192.0.2.1"),
        ("b.a.example.com.", "TXT", '"x"'),
        ("example.com.", "NS", "ns.example.com."),  # the apex
        ("c.example.com.", "A", "192.0.2.3"),
    ]
    wire = reply(rrsets(entries))
    message = parse_answers(wire, LineMode(ZONE.to_digestable(), 1))
    assert message.line_count == 2
    assert message.lines == (
        'a.example.com. 3600 IN A 192.0.2.1\nb.a.example.com. 3600 IN TXT "x"\n'
    )
    assert [r.owner for r in message.answers] == ["example.com.", "c.example.com."]
    for stop in [
        ("other.example.", "A", "192.0.2.1"),
        ("x.example.com.", "SOA", EXAMPLES["SOA"]),
        ("example.com.", "A", "192.0.2.1"),
    ]:
        message = parse_answers(
            reply(rrsets([entries[0], stop, entries[3]])),
            LineMode(ZONE.to_digestable(), 1),
        )
        assert message.line_count == 1
        assert len(message.answers) == 2
    chaos = parse_answers(wire, LineMode(ZONE.to_digestable(), 3))
    assert chaos.line_count == 0


def test_label_of_64_octets_is_refused():
    assert "label type" in refused(
        HEADER + b"\x40" + b"a" * 64 + b"\x00\x00\xfc\x00\x01"
    )


def test_name_over_255_octets_is_refused():
    name = (b"\x3f" + b"a" * 63) * 4 + b"\x00"  # 257 octets
    assert "255" in refused(HEADER + name + b"\x00\xfc\x00\x01")


def a_record_wire(rdtype="A", text="192.0.2.1"):
    return bytearray(reply(rrsets([("example.com.", rdtype, text)]), question=False))


@pytest.mark.parametrize(
    ("rdtype", "text"),
    [
        ("A", "192.0.2.1"),
        ("MX", "10 mail.example.com."),
        ("TXT", '"abc" "de"'),
        ("SOA", EXAMPLES["SOA"]),
        ("SRV", EXAMPLES["SRV"]),
        ("NAPTR", EXAMPLES["NAPTR"]),
        ("DS", EXAMPLES["DS"]),
        ("LOC", EXAMPLES["LOC"]),
        ("HINFO", EXAMPLES["HINFO"]),
    ],
)
@pytest.mark.parametrize("delta", [-1, 1])
def test_wrong_rdlength_is_refused(rdtype, text, delta):
    wire = a_record_wire(rdtype, text)
    at = 12 + 13 + 8
    (rdlen,) = struct.unpack_from("!H", wire, at)
    struct.pack_into("!H", wire, at, rdlen + delta)
    if delta > 0:
        wire += b"\xff"  # the byte the longer RDLENGTH claims
    refused(bytes(wire))


@pytest.mark.parametrize("rdtype", ["OPT", "TSIG"])
def test_opt_or_tsig_in_the_answer_is_refused(rdtype):
    wire = a_record_wire()
    struct.pack_into("!H", wire, 12 + 13, dns.rdatatype.from_text(rdtype))
    refused(bytes(wire))


def test_trailing_junk_is_refused():
    assert "trailing" in refused(bytes(a_record_wire()) + b"\x00")


def test_compressed_dname_target_is_refused_as_dnspython_does():
    # dnspython never compresses a DNAME target; point it at the owner
    wire = a_record_wire("DNAME", "example.com.")
    wire[-13:] = b"\xc0\x0c"
    struct.pack_into("!H", wire, 12 + 13 + 8, 2)
    refused(bytes(wire))


# TSIG over the raw wire.

KEYNAME = dns.name.from_text("xfr-key.")
ALGORITHM = dns.name.from_text("hmac-sha256.")
SECRET = b"0123456789abcdef0123456789abcdef"
KEY = dns.tsig.Key(KEYNAME, SECRET, ALGORITHM)


def signed_transfer(sign):
    """A 3-message AXFR reply signed by a primary (RFC 8945 §5.3.1)."""
    query = dns.message.make_query(ZONE, dns.rdatatype.AXFR)
    query.use_tsig({KEYNAME: KEY}, keyname=KEYNAME, algorithm=ALGORITHM)
    query.to_wire()  # sets query.mac
    bodies = [
        rrsets(
            [
                ("example.com.", "SOA", EXAMPLES["SOA"]),
                ("example.com.", "NS", "ns.example.com."),
            ]
        ),
        rrsets([(f"h{i}.example.com.", "A", f"192.0.2.{i}") for i in range(50)]),
        rrsets([("example.com.", "SOA", EXAMPLES["SOA"])]),
    ]
    wires = []
    ctx = None
    for body, signed in zip(bodies, sign, strict=True):
        response = dns.message.make_response(query)
        response.answer = body
        if signed:
            response.use_tsig({KEYNAME: KEY}, keyname=KEYNAME, algorithm=ALGORITHM)
            response.request_mac = query.mac
            wire = response.to_wire(multi=True, tsig_ctx=ctx)
            ctx = response.tsig_ctx
        else:
            response.tsig = None
            wire = response.to_wire()
            ctx.update(wire)  # the next signature covers this message too
        wires.append(wire)
    return query, wires


def verify_all(query, wires, key=KEY):
    ctx = None
    messages = []
    for wire in wires:
        message = parse_answers(wire)
        ctx = validate_tsig(message, key, query.mac, ctx)
        messages.append(message)
    return messages


def verify_all_by_dnspython(query, wires):
    ctx = None
    for wire in wires:
        message = dns.message.from_wire(
            wire, keyring=KEY, request_mac=query.mac, xfr=True, tsig_ctx=ctx, multi=True
        )
        ctx = message.tsig_ctx


@pytest.mark.parametrize(
    "sign", [(True, True, True), (True, False, True)], ids=["all", "middle-unsigned"]
)
def test_signed_transfer_verifies_on_the_raw_wire(sign):
    query, wires = signed_transfer(sign)
    verify_all_by_dnspython(query, wires)
    messages = verify_all(query, wires)
    assert [m.had_tsig for m in messages] == list(sign)
    assert messages[0].tsig_start is not None
    assert messages[0].tsig_owner == KEYNAME
    assert sum(len(m.answers) for m in messages) == 53


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize(
    "sign", [(True, True, True), (True, False, True)], ids=["all", "middle-unsigned"]
)
def test_a_tampered_byte_fails_verification(which, sign):
    query, wires = signed_transfer(sign)
    wire = bytearray(wires[which])
    wire[40] ^= 0x01  # inside the first answer record's rdata or owner
    wires[which] = bytes(wire)
    with pytest.raises(dns.exception.DNSException):
        verify_all_by_dnspython(query, wires)
    with pytest.raises((dns.tsig.BadSignature, TransferBroken)):
        verify_all(query, wires)


def test_a_tampered_answer_in_the_signed_part_is_a_bad_signature():
    query, wires = signed_transfer((True, True, True))
    wire = bytearray(wires[1])
    at = wire.index(bytes([192, 0, 2, 7]))
    wire[at + 3] = 8  # 192.0.2.7 becomes 192.0.2.8: still well-formed
    wires[1] = bytes(wire)
    with pytest.raises(dns.tsig.BadSignature):
        verify_all(query, wires)


def test_wrong_secret_or_no_key_fails():
    query, wires = signed_transfer((True, True, True))
    with pytest.raises(dns.tsig.BadSignature):
        verify_all(query, wires, dns.tsig.Key(KEYNAME, b"x" * 32, ALGORITHM))
    with pytest.raises(dns.message.UnknownTSIGKey):
        verify_all(query, wires, None)
    other = dns.tsig.Key(dns.name.from_text("other."), SECRET, ALGORITHM)
    with pytest.raises(dns.tsig.BadKey):
        verify_all(query, wires, other)


def test_tsig_must_be_the_last_additional_record():
    _, wires = signed_transfer((True, True, True))
    wire = bytearray(wires[2])
    (arcount,) = struct.unpack_from("!H", wire, 10)
    struct.pack_into("!H", wire, 10, arcount + 1)
    wire += b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00"  # an OPT after it
    assert "TSIG" in refused(bytes(wire))
