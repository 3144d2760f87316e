"""NOTIFY from primaries: BIND 9.18's rules as a secondary, with no sockets.

`NotifyHandler.handle()` takes one request as it came off the wire and
returns the reply to send and the outcome to count. The steps and every
answer copy what named 9.18 does (`lib/ns/client.c` ns__client_request,
`lib/ns/notify.c`, `lib/dns/zone.c` dns_zone_notifyreceive), checked
against the real named by `tests/integration/test_notify_bind_parity.py`:

- fewer than 12 octets, or a response (QR set): dropped, no reply;
- a message that does not parse: FORMERR, with its question if that parsed;
- EDNS version above 0: BADVERS;
- no question: FORMERR (QUERY, NOTIFY, UPDATE) or NOTIMP (other opcodes);
- the view is the first whose class is the question's and whose
  match-clients and match-destinations allow the source and destination
  address with the request's TSIG key (only when it verifies); CH has
  BIND's builtin `_bind` view after the configured ones. No view: REFUSED
  (NOTIMP for an opcode BIND does not implement), and a signed request gets
  an unsigned TSIG with BADKEY;
- a TSIG that fails (unknown key, bad MAC, clock skew): NOTAUTH with the
  TSIG error (BADKEY, BADSIG unsigned; BADTIME signed);
- a NOTIFY outside class IN: NOTIMP; not for an SOA: FORMERR; for a zone
  zonesync does not run in that view: NOTAUTH; from an address that is not
  one of the zone's primaries and not allowed by `allow-notify`: REFUSED;
  otherwise NOERROR with AA, and the zone is woken;
- QUERY: REFUSED (zonesync serves no data here); UPDATE: REFUSED for a zone
  zonesync runs (no update forwarding), NOTAUTH otherwise; other opcodes:
  NOTIMP without the question.

Replies carry the question, no other records, an OPT when the request had
one (payload 1232, DO echoed) and a TSIG signed with the request's key when
the request's verified. Flags are QR, plus AA on an accepted NOTIFY, plus
RD and CD copied from a QUERY only.
"""

from __future__ import annotations

import ipaddress
import logging
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig

from zonesync.config.model import (
    ANY,
    NONE,
    AddressMatchList,
    Config,
    IPAddress,
    View,
    ZoneConfig,
)
from zonesync.log import peer_text, zone_label, zone_logger

log = logging.getLogger(__name__)

# BIND 9.18's default edns-udp-size and max-udp-size: the payload size our
# OPT advertises and the most a UDP reply to an EDNS request may use.
EDNS_UDP_SIZE = 1232
# RFC 1035 §4.2.1: the UDP limit without EDNS.
PLAIN_UDP_SIZE = 512
# The fudge BIND puts in the TSIG of its replies (lib/dns/tsig.c).
TSIG_FUDGE_SECONDS = 300
HEADER_SIZE = 12

# The opcodes named dispatches; any other gets NOTIMP (lib/ns/client.c).
_IMPLEMENTED = frozenset({dns.opcode.QUERY, dns.opcode.NOTIFY, dns.opcode.UPDATE})
# Views BIND leaves out of its `client ...: view x:` log prefix.
_HIDDEN_VIEWS = frozenset({"_default", "_bind"})
# named's builtin view for class CH (version.bind and friends): it comes
# after the configured views and matches every client.
_BIND_VIEW = View("_bind", dns.rdataclass.CH, ANY, ANY, ())


class NotifyResult(StrEnum):
    """What became of a NOTIFY; the values are metric label values."""

    ACCEPTED = "accepted"
    UNKNOWN_ZONE = "unknown_zone"
    NOT_PRIMARY = "not_primary"
    MALFORMED = "malformed"
    REFUSED = "refused"  # no view matched, bad TSIG, not a NOTIFY we take


class NotifyTarget(Protocol):
    """The zone manager as the NOTIFY handler sees it."""

    def notify_zone(self, view: str, name: dns.name.Name) -> ZoneConfig | None:
        """The secondary zone zonesync runs for (view, name), or None."""

    def notify(
        self, view: str, name: dns.name.Name, serial: int | None, source: str
    ) -> None:
        """Wake the zone.

        `serial` is from the NOTIFY's answer SOA if it had one; `source` is
        "addr#port". The zone logs what it does next as BIND does
        (`zone example.com/IN: notify from 192.0.2.1#53: serial 5`, or
        `...: zone is up to date`).
        """


@dataclass(frozen=True, slots=True)
class _Tsig:
    """A request's TSIG: its record and how verification went."""

    name: dns.name.Name
    rdata: dns.rdtypes.ANY.TSIG.TSIG
    key: dns.tsig.Key | None  # the key, when it verified
    error: dns.rcode.Rcode  # BADSIG, BADKEY, BADTIME; NOERROR when it verified

    @property
    def name_text(self) -> str:
        return self.name.to_text(omit_final_dot=True)


@dataclass(frozen=True, slots=True)
class _State:
    """What one config gives the handler; swapped whole on reconfig."""

    config: Config
    keyring: Mapping[dns.name.Name, dns.tsig.Key]
    acls: Mapping[str, AddressMatchList]


class NotifyHandler:
    """Answer NOTIFY (and turn away anything else) as BIND 9.18 does."""

    def __init__(self, config: Config, target: NotifyTarget) -> None:
        self._target = target
        self._state = _state_from(config)

    def set_config(self, config: Config) -> None:
        """Use `config` from the next request on (reconfig)."""
        self._state = _state_from(config)

    def handle(
        self,
        wire: bytes,
        source: tuple[str, int],
        destination: tuple[str, int],
        tcp: bool,
    ) -> tuple[bytes | None, NotifyResult | None]:
        """Answer one request.

        Returns the reply (None: send nothing) and the result to count
        (None when the request was not a NOTIFY).
        """
        state = self._state
        peer = peer_text(source[0], source[1])
        if len(wire) < HEADER_SIZE:
            # BIND cannot tell a request from a response: it drops it.
            log.debug("client %s: dropped a %d-octet message", peer, len(wire))
            return None, NotifyResult.MALFORMED
        flags, qdcount = struct.unpack_from("!H H", wire, 2)
        if flags & dns.flags.QR:
            log.debug("client %s: dropped an unexpected response", peer)
            return None, None
        is_notify = dns.opcode.from_flags(flags) == dns.opcode.NOTIFY
        try:
            request = dns.message.from_wire(wire, keyring=False, ignore_trailing=True)
        except dns.exception.DNSException as err:
            log.debug("client %s: message parsing failed: %s", peer, err)
            reply = _unparsed_reply(wire, qdcount, is_notify)
            return reply, NotifyResult.MALFORMED if is_notify else None
        answer = _Answer(request, tcp)
        if qdcount > 1 or (
            is_notify and request.question and _meta_class(request.question[0])
        ):
            # named's parser takes one question and, for NOTIFY, no meta
            # class: FORMERR without the question.
            return answer.wire(dns.rcode.FORMERR, question=False, edns=False), (
                NotifyResult.MALFORMED if is_notify else None
            )
        if request.edns > 0:
            return answer.wire(dns.rcode.BADVERS), _refused(is_notify)
        opcode = request.opcode()
        if not request.question:
            rcode = dns.rcode.NOTIMP if opcode not in _IMPLEMENTED else None
            return answer.wire(rcode or dns.rcode.FORMERR), _malformed(is_notify)

        rdclass = request.question[0].rdclass
        tsig = _verify(state, wire, request)
        # Only a TSIG that verifies is an identity for match lists (BIND's
        # dns_tsigkey_identity() after dns_message_rechecksig()).
        key = None
        if tsig is not None and tsig.error == dns.rcode.NOERROR:
            key = tsig.name
        view = _match_view(state, rdclass, source[0], destination[0], key)
        if view is None:
            log.debug(
                "client %s: no matching view in class '%s'",
                peer,
                dns.rdataclass.to_text(rdclass),
            )
            # BIND verifies once more with no view and so no keys: BADKEY.
            if tsig is not None:
                tsig = _Tsig(tsig.name, tsig.rdata, None, dns.rcode.BADKEY)
            rcode = dns.rcode.REFUSED if opcode in _IMPLEMENTED else dns.rcode.NOTIMP
            return answer.wire(rcode, tsig=tsig), _refused(is_notify)

        client = _client_text(peer, key, view)
        if tsig is not None and tsig.error != dns.rcode.NOERROR:
            log.error(
                "%s: request has invalid signature: TSIG %s: tsig verify failure (%s)",
                client,
                tsig.name_text,
                dns.rcode.to_text(tsig.error, tsig=True),
            )
            # BIND lets an UPDATE signed with an unknown key through, for
            # update forwarding; it is answered unsigned.
            if not (tsig.error == dns.rcode.BADKEY and opcode == dns.opcode.UPDATE):
                return answer.wire(dns.rcode.NOTAUTH, tsig=tsig), _refused(is_notify)
            tsig = None

        if opcode == dns.opcode.NOTIFY:
            return self._notify(state, answer, view, tsig, source, client)
        if opcode == dns.opcode.QUERY:
            return answer.wire(dns.rcode.REFUSED, tsig=tsig), None
        if opcode == dns.opcode.UPDATE:
            ours = self._zone(view, request.question[0].name) is not None
            rcode = dns.rcode.REFUSED if ours else dns.rcode.NOTAUTH
            return answer.wire(rcode, tsig=tsig), None
        return answer.wire(dns.rcode.NOTIMP, question=False, tsig=tsig), None

    def _notify(
        self,
        state: _State,
        answer: _Answer,
        view: View,
        tsig: _Tsig | None,
        source: tuple[str, int],
        client: str,
    ) -> tuple[bytes | None, NotifyResult | None]:
        """The NOTIFY itself, once the view and TSIG are settled."""
        question = answer.request.question[0]
        if view.rdclass != dns.rdataclass.IN:
            # named 9.18 answers NOTIMP to a NOTIFY in any class but IN
            # (checked with 9.18.49: CH through `_bind`, HS in a view).
            return answer.wire(dns.rcode.NOTIMP, tsig=tsig), NotifyResult.REFUSED
        if question.rdtype != dns.rdatatype.SOA:
            log.info("%s: notify question section contains no SOA", client)
            return answer.wire(dns.rcode.FORMERR, tsig=tsig), NotifyResult.MALFORMED
        zone_text = question.name.to_text(omit_final_dot=True) or "."
        signed = f": TSIG '{tsig.name_text}'" if tsig is not None else ""
        zone = self._zone(view, question.name)
        if zone is None:
            # BIND logs this at notice, which Python's levels lack.
            log.info(
                "%s: received notify for zone '%s'%s: not authoritative",
                client,
                zone_text,
                signed,
            )
            reply = answer.wire(dns.rcode.NOTAUTH, tsig=tsig)
            return reply, NotifyResult.UNKNOWN_ZONE
        log.info("%s: received notify for zone '%s'%s", client, zone_text, signed)
        peer = peer_text(source[0], source[1])
        key = tsig.name if tsig is not None else None
        if not _allowed(state, zone, source[0], key):
            zone_log = zone_logger(log, zone_label(zone.name, zone.rdclass, zone.view))
            zone_log.info("refused notify from non-primary: %s", peer)
            reply = answer.wire(dns.rcode.REFUSED, tsig=tsig)
            return reply, NotifyResult.NOT_PRIMARY
        serial = _serial(answer.request, zone.name, question.rdclass)
        self._target.notify(view.name, zone.name, serial, peer)
        reply = answer.wire(dns.rcode.NOERROR, tsig=tsig, aa=True)
        return reply, NotifyResult.ACCEPTED

    def _zone(self, view: View, name: dns.name.Name) -> ZoneConfig | None:
        if view is _BIND_VIEW:
            return None
        return self._target.notify_zone(view.name, name)


class _Answer:
    """Builds the reply to one parsed request."""

    def __init__(self, request: dns.message.Message, tcp: bool) -> None:
        self.request = request
        if tcp:
            self.limit = 65535
        elif request.edns >= 0:
            self.limit = max(PLAIN_UDP_SIZE, min(request.payload, EDNS_UDP_SIZE))
        else:
            self.limit = PLAIN_UDP_SIZE

    def wire(
        self,
        rcode: dns.rcode.Rcode,
        *,
        question: bool = True,
        edns: bool = True,
        tsig: _Tsig | None = None,
        aa: bool = False,
    ) -> bytes:
        """The reply as BIND renders it (dns_message_reply, ns_client_send)."""
        request = self.request
        opcode = request.opcode()
        response = dns.message.Message(id=request.id)
        response.flags = _reply_flags(request.flags, opcode)
        if aa:
            response.flags |= dns.flags.AA
        if question:
            response.question = list(request.question)
        if edns and request.edns >= 0:
            dnssec_ok = request.ednsflags & dns.flags.DO
            response.use_edns(0, dnssec_ok, EDNS_UDP_SIZE)
        response.set_rcode(rcode)
        wire = _render(response, request, tsig)
        if len(wire) > self.limit:
            # Only a huge question with a long key name gets here: send
            # the header with TC, as a server does when nothing fits.
            response.question = []
            response.flags |= dns.flags.TC
            wire = response.to_wire()
        return wire


def _render(
    response: dns.message.Message, request: dns.message.Message, tsig: _Tsig | None
) -> bytes:
    """The reply's wire form, with the TSIG BIND would add.

    BADKEY and BADSIG are answered with an unsigned TSIG (RFC 8945 §5.3.2);
    BADTIME is signed but keeps the request's time, with ours in other data
    (§5.2.3). dnspython's `use_tsig()` always signs with the current time,
    so the MAC is computed here with `dns.tsig.sign()` and the finished
    record handed to the message as is.
    """
    if tsig is None:
        return response.to_wire()
    now = int(time.time())
    time_signed, other = now, b""
    if tsig.error == dns.rcode.BADTIME:
        time_signed = tsig.rdata.time_signed
        other = struct.pack("!HI", (now >> 32) & 0xFFFF, now & 0xFFFFFFFF)
    template = tsig.rdata.replace(
        time_signed=time_signed,
        fudge=TSIG_FUDGE_SECONDS,
        mac=b"",
        error=tsig.error,
        other=other,
    )
    if tsig.key is not None and tsig.error in (dns.rcode.NOERROR, dns.rcode.BADTIME):
        unsigned = response.to_wire()
        # dns.tsig.sign() has no annotations (dnspython 2.9).
        signed, _ = dns.tsig.sign(  # type: ignore[no-untyped-call]
            unsigned, tsig.key, template, time_signed, request.mac
        )
        template = signed
    response.tsig = dns.rrset.from_rdata(tsig.name, 0, template)
    response.want_tsig_sign = False
    return response.to_wire()


def _reply_flags(request_flags: int, opcode: dns.opcode.Opcode) -> int:
    """QR, with RD and CD kept for a QUERY only (seen from named 9.18)."""
    flags = dns.flags.QR | dns.opcode.to_flags(opcode)
    if opcode == dns.opcode.QUERY:
        flags |= request_flags & (dns.flags.RD | dns.flags.CD)
    return flags


def _unparsed_reply(wire: bytes, qdcount: int, is_notify: bool) -> bytes:
    """FORMERR to a request that does not parse.

    BIND keeps the question when that much parsed (and there was one).
    """
    msg_id, flags = struct.unpack_from("!HH", wire)
    opcode = dns.opcode.from_flags(flags)
    response = dns.message.Message(id=msg_id)
    response.flags = _reply_flags(flags, opcode)
    response.set_rcode(dns.rcode.FORMERR)
    if qdcount == 1:
        try:
            partial = dns.message.from_wire(wire, keyring=False, question_only=True)
        except dns.exception.DNSException:
            partial = None
        if partial is not None and not (is_notify and _meta_class(partial.question[0])):
            response.question = list(partial.question)
    return response.to_wire()


def _meta_class(rrset: dns.rrset.RRset) -> bool:
    return rrset.rdclass in (dns.rdataclass.ANY, dns.rdataclass.NONE)


def _verify(state: _State, wire: bytes, request: dns.message.Message) -> _Tsig | None:
    """Check the request's TSIG against the config's keys (None: unsigned)."""
    if not request.had_tsig or request.tsig is None:
        return None
    name = request.tsig.name
    rdata = cast(dns.rdtypes.ANY.TSIG.TSIG, request.tsig[0])  # a TSIG rrset
    key = state.keyring.get(name)
    if key is None:
        return _Tsig(name, rdata, None, dns.rcode.BADKEY)
    try:
        dns.message.from_wire(wire, keyring={name: key}, ignore_trailing=True)
    except (dns.tsig.BadAlgorithm, dns.tsig.BadKey):
        return _Tsig(name, rdata, None, dns.rcode.BADKEY)
    except dns.tsig.BadTime:
        return _Tsig(name, rdata, key, dns.rcode.BADTIME)
    except dns.exception.DNSException:
        # A bad MAC, or a request carrying a TSIG error of its own.
        return _Tsig(name, rdata, None, dns.rcode.BADSIG)
    return _Tsig(name, rdata, key, dns.rcode.NOERROR)


def _match_view(
    state: _State,
    rdclass: dns.rdataclass.RdataClass,
    source: str,
    destination: str,
    key: dns.name.Name | None,
) -> View | None:
    """BIND's view selection: the first view of the class that matches."""
    client = _ip(source)
    local = _ip(destination)
    if client is None or local is None:
        return None
    views = list(state.config.views)
    if rdclass == dns.rdataclass.CH:
        views.append(_BIND_VIEW)
    for view in views:
        if view.rdclass != rdclass:
            continue
        if view.match_clients.match(
            client, key, state.acls
        ) and view.match_destinations.match(local, key, state.acls):
            return view
    return None


def _allowed(
    state: _State, zone: ZoneConfig, address: str, key: dns.name.Name | None
) -> bool:
    """Whether the zone takes a NOTIFY from `address` signed with `key`.

    RFC 1996 §3.10 as BIND does it (dns_zone_notifyreceive): any of the
    zone's primaries, comparing the address only (any port), or whatever
    the zone's `allow-notify` allows.
    """
    ip = _ip(address)
    if ip is None:
        return False
    if any(primary.address == ip for primary in zone.primaries):
        return True
    allow = zone.settings.get("allow-notify")
    acl = allow.value if allow is not None else NONE
    if not isinstance(acl, AddressMatchList):
        return False
    return acl.match(ip, key, state.acls)


def _serial(
    request: dns.message.Message,
    zone: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
) -> int | None:
    """The serial of the zone's SOA in the answer section, if one is there."""
    rrset = request.get_rrset(request.answer, zone, rdclass, dns.rdatatype.SOA)
    if not rrset:
        return None
    soa = cast(dns.rdtypes.ANY.SOA.SOA, rrset[0])  # an SOA rrset
    return int(soa.serial)


def _client_text(peer: str, key: dns.name.Name | None, view: View) -> str:
    """BIND's client log prefix, without the `@0x...` pointer."""
    text = f"client {peer}"
    if key is not None:
        text += f"/key {key.to_text(omit_final_dot=True)}"
    if view.name not in _HIDDEN_VIEWS:
        text += f": view {view.name}"
    return text


def _ip(address: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _refused(is_notify: bool) -> NotifyResult | None:
    return NotifyResult.REFUSED if is_notify else None


def _malformed(is_notify: bool) -> NotifyResult | None:
    return NotifyResult.MALFORMED if is_notify else None


def _state_from(config: Config) -> _State:
    keyring = {
        key.name: dns.tsig.Key(key.name, key.secret, key.algorithm)
        for key in config.keys.values()
    }
    acls = {name: acl.elements for name, acl in config.acls.items()}
    return _State(config, keyring, acls)
