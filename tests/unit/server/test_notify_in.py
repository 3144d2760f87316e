"""NotifyHandler: NOTIFY wire in, reply wire and result out, no sockets.

The answers asserted here are the ones named 9.18 gives as a secondary
(see tests/integration/test_notify_bind_parity.py, which compares the two).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from unittest import mock

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rrset
import dns.tsig
import pytest

from tests.notify_support import (
    K_EXT,
    K_INT,
    SECRET_EXT,
    SECRET_INT,
    WRONG_SECRET,
    RecordingTarget,
    make_notify,
)
from zonesync.config import load_config
from zonesync.config.model import Config
from zonesync.server.notify_in import NotifyHandler, NotifyResult

LONG_KEY = ".".join(["k" * 60] * 4)
K_LONG = dns.tsig.Key(LONG_KEY, SECRET_EXT, "hmac-sha256")
ZONE = dns.name.from_text("example.com")
HERE = ("192.0.2.53", 53)
ELSEWHERE = ("198.51.100.53", 53)

CONFIG = f"""
key "k-int" {{ algorithm hmac-sha256; secret "{SECRET_INT}"; }};
key "k-ext" {{ algorithm hmac-sha256; secret "{SECRET_EXT}"; }};
key "{LONG_KEY}" {{ algorithm hmac-sha256; secret "{SECRET_EXT}"; }};
acl "notifiers" {{ 192.0.2.7; }};
view "dest" {{
    match-destinations {{ 198.51.100.53; }};
    zone "example.com" {{ type secondary; primaries {{ 192.0.2.9; }}; file "dest.db"; }};
}};
view "internal" {{
    match-clients {{ key k-int; 10.0.0.0/8; }};
    zone "example.com" {{
        type secondary; primaries {{ 192.0.2.1; }};
        allow-notify {{ key k-int; }}; file "int.db";
    }};
}};
view "external" {{
    match-clients {{ !203.0.113.0/24; any; }};
    zone "example.com" {{
        type secondary; primaries {{ 192.0.2.1 port 5300; 2001:db8::1; }};
        allow-notify {{ notifiers; key k-ext; key "{LONG_KEY}"; }}; file "ext.db";
    }};
    zone "primary.test" {{ type primary; file "primary.db"; }};
}};
"""


def load(tmp_path: Path, text: str = CONFIG) -> Config:
    (tmp_path / "named.conf").write_text(text)
    return load_config("named.conf", cwd=tmp_path)


@pytest.fixture
def target(tmp_path: Path) -> RecordingTarget:
    return RecordingTarget(load(tmp_path))


@pytest.fixture
def handler(target: RecordingTarget) -> NotifyHandler:
    return NotifyHandler(target.config, target)


def ask(
    handler: NotifyHandler,
    request: dns.message.Message | bytes,
    source: tuple[str, int] = ("192.0.2.1", 4321),
    destination: tuple[str, int] = HERE,
    tcp: bool = False,
    *,
    verify: dns.tsig.Key | None = None,
) -> tuple[dns.message.Message | None, NotifyResult | None]:
    """The handler's reply, parsed, and its result.

    With `verify`, the reply's TSIG is checked with that key: its MAC
    covers the reply and the request's MAC.
    """
    wire = request if isinstance(request, bytes) else request.to_wire()
    reply, result = handler.handle(wire, source, destination, tcp)
    if reply is None:
        return None, result
    if verify is None:
        return dns.message.from_wire(reply, keyring=False), result
    assert isinstance(request, dns.message.Message)
    return (
        dns.message.from_wire(reply, keyring=verify, request_mac=request.mac),
        result,
    )


def check_reply(
    reply: dns.message.Message | None,
    request: dns.message.Message,
    rcode: dns.rcode.Rcode,
    flags: int = dns.flags.QR,
) -> dns.message.Message:
    """The reply BIND sends: id, opcode, flags, rcode, the question only."""
    assert reply is not None
    assert reply.id == request.id
    assert reply.opcode() == request.opcode()
    assert reply.rcode() == rcode
    assert reply.flags & ~0x780F == flags  # flags without opcode and rcode
    assert (reply.answer, reply.authority, reply.additional) == ([], [], [])
    return reply


# -- accepted ----------------------------------------------------------------


def test_accepted_from_a_primary_on_any_port(
    handler: NotifyHandler, target: RecordingTarget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    request = make_notify()
    reply, result = ask(handler, request, ("192.0.2.1", 4321))
    assert result is NotifyResult.ACCEPTED
    check_reply(reply, request, dns.rcode.NOERROR, dns.flags.QR | dns.flags.AA)
    assert reply is not None
    assert reply.question == request.question
    assert target.calls == [("external", ZONE, None, "192.0.2.1#4321")]
    assert caplog.messages == [
        "client 192.0.2.1#4321: view external: received notify for zone 'example.com'"
    ]


def test_accepted_from_an_ipv6_primary(
    handler: NotifyHandler, target: RecordingTarget
) -> None:
    _, result = ask(handler, make_notify(), ("2001:db8::1", 5353), ("2001:db8::53", 53))
    assert result is NotifyResult.ACCEPTED
    assert target.calls == [("external", ZONE, None, "2001:db8::1#5353")]


def test_serial_from_the_answer_soa(
    handler: NotifyHandler, target: RecordingTarget
) -> None:
    _, result = ask(handler, make_notify(serial=2026112101))
    assert result is NotifyResult.ACCEPTED
    assert target.calls[-1][2] == 2026112101


def test_an_soa_of_another_name_gives_no_serial(
    handler: NotifyHandler, target: RecordingTarget
) -> None:
    request = make_notify()
    request.answer.append(
        dns.rrset.from_text("other.test.", 3600, "IN", "SOA", "a. b. 7 1 1 1 1")
    )
    ask(handler, request)
    assert target.calls[-1][2] is None


def test_accepted_through_a_named_acl_in_allow_notify(
    handler: NotifyHandler, target: RecordingTarget
) -> None:
    _, result = ask(handler, make_notify(), ("192.0.2.7", 53))
    assert result is NotifyResult.ACCEPTED
    assert target.calls == [("external", ZONE, None, "192.0.2.7#53")]


def test_accepted_through_a_key_in_allow_notify_and_signed_back(
    handler: NotifyHandler, target: RecordingTarget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    request = make_notify(key=K_EXT)
    reply, result = ask(handler, request, ("198.51.100.5", 53), verify=K_EXT)
    assert result is NotifyResult.ACCEPTED
    assert reply is not None
    assert reply.rcode() == dns.rcode.NOERROR
    assert reply.flags & dns.flags.AA
    assert reply.keyname == K_EXT.name
    assert caplog.messages == [
        "client 198.51.100.5#53/key k-ext: view external: "
        "received notify for zone 'example.com': TSIG 'k-ext'"
    ]


# -- refused, unknown, view selection -----------------------------------------


def test_not_a_primary(
    handler: NotifyHandler, target: RecordingTarget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    request = make_notify()
    reply, result = ask(handler, request, ("198.51.100.5", 1234))
    assert result is NotifyResult.NOT_PRIMARY
    check_reply(reply, request, dns.rcode.REFUSED)
    assert target.calls == []
    assert caplog.messages == [
        "client 198.51.100.5#1234: view external: received notify for zone 'example.com'",
        "zone example.com/IN/external: refused notify from non-primary: 198.51.100.5#1234",
    ]


def test_unknown_zone(
    handler: NotifyHandler, target: RecordingTarget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    request = make_notify("nothere.test")
    reply, result = ask(handler, request)
    assert result is NotifyResult.UNKNOWN_ZONE
    check_reply(reply, request, dns.rcode.NOTAUTH)
    assert target.calls == []
    assert caplog.messages == [
        "client 192.0.2.1#4321: view external: "
        "received notify for zone 'nothere.test': not authoritative"
    ]


def test_a_zone_zonesync_does_not_run_is_unknown(handler: NotifyHandler) -> None:
    _, result = ask(handler, make_notify("primary.test"))
    assert result is NotifyResult.UNKNOWN_ZONE


def test_view_chosen_by_key(handler: NotifyHandler, target: RecordingTarget) -> None:
    _, result = ask(handler, make_notify(key=K_INT), ("198.51.100.5", 53))
    assert result is NotifyResult.ACCEPTED
    assert target.calls == [("internal", ZONE, None, "198.51.100.5#53")]


def test_view_chosen_by_address(
    handler: NotifyHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    _, result = ask(handler, make_notify(), ("10.1.1.1", 53))
    assert result is NotifyResult.NOT_PRIMARY
    assert caplog.messages[-1] == (
        "zone example.com/IN/internal: refused notify from non-primary: 10.1.1.1#53"
    )


def test_view_chosen_by_destination(
    handler: NotifyHandler, target: RecordingTarget
) -> None:
    _, result = ask(handler, make_notify(), ("192.0.2.9", 53), ELSEWHERE)
    assert result is NotifyResult.ACCEPTED
    assert target.calls == [("dest", ZONE, None, "192.0.2.9#53")]


def test_no_view_matches(handler: NotifyHandler, target: RecordingTarget) -> None:
    request = make_notify()
    reply, result = ask(handler, request, ("203.0.113.1", 53))
    assert result is NotifyResult.REFUSED
    check_reply(reply, request, dns.rcode.REFUSED)
    assert target.calls == []


def test_set_config_swaps_the_rules(
    handler: NotifyHandler, target: RecordingTarget, tmp_path: Path
) -> None:
    assert ask(handler, make_notify(), ("198.51.100.5", 53))[1] is (
        NotifyResult.NOT_PRIMARY
    )
    (tmp_path / "new").mkdir()
    config = load(
        tmp_path / "new",
        'view "external" { zone "example.com" { type secondary; '
        "primaries { 192.0.2.1; }; allow-notify { 198.51.100.5; }; }; };",
    )
    target.config = config
    handler.set_config(config)
    assert ask(handler, make_notify(), ("198.51.100.5", 53))[1] is (
        NotifyResult.ACCEPTED
    )


def test_a_config_without_views(tmp_path: Path) -> None:
    config = load(
        tmp_path, 'zone "example.com" { type secondary; primaries { 192.0.2.1; }; };'
    )
    target = RecordingTarget(config)
    handler = NotifyHandler(config, target)
    assert ask(handler, make_notify())[1] is NotifyResult.ACCEPTED
    assert target.calls == [("_default", ZONE, None, "192.0.2.1#4321")]


# -- TSIG failures ------------------------------------------------------------


def tsig_of(reply: dns.message.Message | None) -> tuple[str, int, bytes]:
    assert reply is not None
    assert reply.tsig is not None
    rdata = reply.tsig[0]
    return reply.tsig.name.to_text(), rdata.error, rdata.mac


def test_unknown_key(
    handler: NotifyHandler, target: RecordingTarget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    request = make_notify(key=dns.tsig.Key("nokey", SECRET_INT, "hmac-sha256"))
    reply, result = ask(handler, request)
    assert result is NotifyResult.REFUSED
    check_reply(reply, request, dns.rcode.NOTAUTH)
    assert tsig_of(reply) == ("nokey.", dns.rcode.BADKEY, b"")  # unsigned
    assert target.calls == []
    assert caplog.record_tuples == [
        (
            "zonesync.server.notify_in",
            logging.ERROR,
            "client 192.0.2.1#4321: view external: request has invalid "
            "signature: TSIG nokey: tsig verify failure (BADKEY)",
        )
    ]


def test_bad_signature_logs_the_key_name_never_the_secret(
    handler: NotifyHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = make_notify(key=dns.tsig.Key("k-ext", WRONG_SECRET, "hmac-sha256"))
    reply, result = ask(handler, request)
    assert result is NotifyResult.REFUSED
    check_reply(reply, request, dns.rcode.NOTAUTH)
    assert tsig_of(reply) == ("k-ext.", dns.rcode.BADSIG, b"")
    assert "TSIG k-ext: tsig verify failure (BADSIG)" in caplog.text
    for secret in (SECRET_EXT, WRONG_SECRET, SECRET_INT):
        assert secret not in caplog.text


def test_bad_time_is_answered_signed_with_the_request_time(
    handler: NotifyHandler,
) -> None:
    skewed = time.time() - 10000
    with mock.patch("time.time", return_value=skewed):
        request = make_notify(key=K_EXT)
        wire = request.to_wire()
    reply, result = ask(handler, wire)
    assert result is NotifyResult.REFUSED
    check_reply(reply, request, dns.rcode.NOTAUTH)
    assert reply is not None
    assert reply.tsig is not None
    rdata = reply.tsig[0]
    assert rdata.error == dns.rcode.BADTIME
    assert rdata.time_signed == int(skewed)
    assert abs(int.from_bytes(rdata.other, "big") - time.time()) < 60
    # The MAC covers the reply and the request's MAC, with the key.
    reply.tsig = None
    expected, _ = dns.tsig.sign(  # type: ignore[no-untyped-call]
        reply.to_wire(), K_EXT, rdata.replace(mac=b""), rdata.time_signed, request.mac
    )
    assert rdata.mac == expected.mac
    assert len(rdata.mac) == 32


def test_bad_tsig_from_a_client_no_view_takes(handler: NotifyHandler) -> None:
    # Not k-int's secret: internal's `key k-int` does not match either.
    request = make_notify(key=dns.tsig.Key("k-int", WRONG_SECRET, "hmac-sha256"))
    reply, result = ask(handler, request, ("203.0.113.1", 53))
    assert result is NotifyResult.REFUSED
    check_reply(reply, request, dns.rcode.REFUSED)
    # BIND verifies again with no view, so with no keys: BADKEY.
    assert tsig_of(reply) == ("k-int.", dns.rcode.BADKEY, b"")


def test_a_signed_notify_in_a_view_taken_by_address(
    handler: NotifyHandler, target: RecordingTarget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    # internal takes 10/8 first; its zone allows only k-int, not k-ext.
    request = make_notify(key=K_EXT)
    reply, result = ask(handler, request, ("10.1.1.1", 53), verify=K_EXT)
    assert result is NotifyResult.NOT_PRIMARY
    assert reply is not None
    assert reply.rcode() == dns.rcode.REFUSED
    assert target.calls == []
    assert caplog.messages == [
        "client 10.1.1.1#53/key k-ext: view internal: "
        "received notify for zone 'example.com': TSIG 'k-ext'",
        "zone example.com/IN/internal: refused notify from non-primary: 10.1.1.1#53",
    ]


# -- malformed and other messages ---------------------------------------------


def test_short_garbage_is_dropped(handler: NotifyHandler) -> None:
    assert handler.handle(b"\x01\x02\x03", ("192.0.2.1", 53), HERE, False) == (
        None,
        NotifyResult.MALFORMED,
    )


def test_a_response_is_dropped(handler: NotifyHandler) -> None:
    request = make_notify()
    request.flags |= dns.flags.QR
    assert handler.handle(request.to_wire(), ("192.0.2.1", 53), HERE, False) == (
        None,
        None,
    )


def test_a_notify_that_does_not_parse_gets_formerr(handler: NotifyHandler) -> None:
    request = make_notify(serial=5)
    wire = request.to_wire()[:-3]  # the answer's SOA cut short
    reply, result = ask(handler, wire)
    assert result is NotifyResult.MALFORMED
    check_reply(reply, request, dns.rcode.FORMERR)
    assert reply is not None
    assert reply.question == request.question


def test_a_header_and_junk_gets_formerr_without_question(
    handler: NotifyHandler,
) -> None:
    wire = bytes.fromhex("1234 2400 0001 0000 0000 0000") + b"\xff\xff\xff"
    reply, result = ask(handler, wire)
    assert result is NotifyResult.MALFORMED
    assert reply is not None
    assert reply.rcode() == dns.rcode.FORMERR
    assert (reply.id, reply.opcode(), reply.question) == (0x1234, 4, [])


def test_a_query_that_does_not_parse_is_not_counted(handler: NotifyHandler) -> None:
    wire = bytes.fromhex("1234 0100 0001 0000 0000 0000") + b"\xff\xff\xff"
    reply, result = ask(handler, wire)
    assert result is None
    assert reply is not None
    assert reply.rcode() == dns.rcode.FORMERR
    assert reply.flags & dns.flags.RD


def test_notify_for_a_type_other_than_soa(handler: NotifyHandler) -> None:
    request = make_notify(rdtype="A")
    reply, result = ask(handler, request)
    assert result is NotifyResult.MALFORMED
    check_reply(reply, request, dns.rcode.FORMERR)
    assert reply is not None
    assert len(reply.question) == 1


def test_notify_with_two_questions(handler: NotifyHandler) -> None:
    request = make_notify()
    request.question.append(make_notify("other.test").question[0])
    reply, result = ask(handler, request)
    assert result is NotifyResult.MALFORMED
    assert reply is not None
    assert reply.rcode() == dns.rcode.FORMERR
    assert reply.question == []


def test_notify_without_a_question(handler: NotifyHandler) -> None:
    request = make_notify()
    request.question = []
    reply, result = ask(handler, request)
    assert result is NotifyResult.MALFORMED
    check_reply(reply, request, dns.rcode.FORMERR)


def test_notify_in_class_ch_is_not_implemented(handler: NotifyHandler) -> None:
    request = make_notify(rdclass="CH")
    reply, result = ask(handler, request, ("203.0.113.1", 53))
    assert result is NotifyResult.REFUSED
    check_reply(reply, request, dns.rcode.NOTIMP)


def test_notify_in_a_class_without_views(handler: NotifyHandler) -> None:
    request = make_notify(rdclass="HS")
    reply, result = ask(handler, request)
    assert result is NotifyResult.REFUSED
    check_reply(reply, request, dns.rcode.REFUSED)


def test_notify_in_class_any(handler: NotifyHandler) -> None:
    reply, result = ask(handler, make_notify(rdclass="ANY"))
    assert result is NotifyResult.MALFORMED
    assert reply is not None
    assert reply.rcode() == dns.rcode.FORMERR
    assert reply.question == []


def test_edns_is_echoed(handler: NotifyHandler) -> None:
    request = make_notify(edns=0)
    reply, result = ask(handler, request)
    assert result is NotifyResult.ACCEPTED
    assert reply is not None
    assert (reply.edns, reply.payload, reply.options) == (0, 1232, ())


def test_edns_version_1_gets_badvers(handler: NotifyHandler) -> None:
    reply, result = ask(handler, make_notify(edns=1, key=K_EXT))
    assert result is NotifyResult.REFUSED
    assert reply is not None
    assert reply.rcode() == dns.rcode.BADVERS
    assert reply.edns == 0
    assert not reply.had_tsig  # BIND answers BADVERS before looking at TSIG


def test_a_query_is_refused(handler: NotifyHandler) -> None:
    request = make_notify(opcode=dns.opcode.QUERY)
    request.flags |= dns.flags.RD | dns.flags.CD
    reply, result = ask(handler, request)
    assert result is None
    check_reply(
        reply, request, dns.rcode.REFUSED, dns.flags.QR | dns.flags.RD | dns.flags.CD
    )


def test_an_update(handler: NotifyHandler) -> None:
    known, result = ask(handler, make_notify(opcode=dns.opcode.UPDATE))
    assert result is None
    assert known is not None
    assert known.rcode() == dns.rcode.REFUSED
    unknown, _ = ask(handler, make_notify("nothere.test", opcode=dns.opcode.UPDATE))
    assert unknown is not None
    assert unknown.rcode() == dns.rcode.NOTAUTH


@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 15])
def test_other_opcodes_are_not_implemented(handler: NotifyHandler, opcode: int) -> None:
    request = make_notify(opcode=dns.opcode.Opcode(opcode))
    reply, result = ask(handler, request)
    assert result is None
    check_reply(reply, request, dns.rcode.NOTIMP)
    assert reply is not None
    assert reply.question == []


def test_a_long_signed_reply_is_truncated_over_udp_only(
    handler: NotifyHandler,
) -> None:
    zone = ".".join(["z" * 60] * 3) + ".example.com"
    request = make_notify(zone, key=K_LONG)
    udp, _ = ask(handler, request, tcp=False)
    tcp, result = ask(handler, request, tcp=True)
    assert result is NotifyResult.UNKNOWN_ZONE
    assert udp is not None
    assert udp.flags & dns.flags.TC
    assert udp.rcode() == dns.rcode.NOTAUTH
    assert tcp is not None
    assert not tcp.flags & dns.flags.TC
    assert tcp.question == request.question
    assert tcp.had_tsig


def test_a_key_with_a_bad_time_does_not_pick_the_view(
    handler: NotifyHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    with mock.patch("time.time", return_value=time.time() - 10000):
        wire = make_notify(key=K_INT).to_wire()
    reply, result = ask(handler, wire, ("198.51.100.5", 53))
    assert result is NotifyResult.REFUSED
    assert reply is not None
    assert reply.rcode() == dns.rcode.NOTAUTH
    # Not internal (`key k-int`): a key that fails is no identity, as in BIND.
    assert caplog.messages == [
        "client 198.51.100.5#53: view external: request has invalid signature: "
        "TSIG k-int: tsig verify failure (BADTIME)"
    ]
