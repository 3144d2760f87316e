"""records.soa_text_info(): a zone's figures from its SOA in presentation form."""

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from zonesync.store.records import soa_text_info, zone_info


@pytest.mark.parametrize(
    "text",
    [
        "ns1.example.com. hostmaster.example.com. 1 3600 600 86400 300",
        r"a\032b.example. odd\.rname.example. 4294967295 0 1 2147483647 7",
        '\\"q\\"\\;.example. \\(x\\).example. 0 1 2 3 4',
    ],
)
def test_the_same_figures_as_from_the_rdata(text):
    rdata = dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.SOA, text, relativize=False
    )
    # The text is what fastwire and dnspython write for this rdata.
    assert rdata.to_text() == text
    record = (dns.name.from_text("example."), 300, rdata)
    info = soa_text_info(text, 12, 345)
    assert info == zone_info(record, 12, 345)
    assert info.soa_rdata() == rdata
