"""NOTIFY out: tell `also-notify` targets a zone has a new serial (RFC 1996).

zonesync does not serve zones yet, so only the zone's `also-notify` list is
notified (BIND also notifies the zone's NS addresses when it serves them).
Used by `zonesync notify ZONE`, as `rndc notify`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import dns.asyncquery
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
from zonesync.log import peer_text

log = logging.getLogger(__name__)

# BIND 9.18 notify.c retries a NOTIFY over UDP; 5 tries of ~3 s is its shape.
NOTIFY_TRY_SECONDS = 3.0
NOTIFY_TRIES = 5


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """One also-notify destination."""

    address: str
    port: int
    key: TsigKey | None = None

    @property
    def text(self) -> str:
        """`192.0.2.1#53`."""
        return peer_text(self.address, self.port)


def make_notify(
    zone: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
    soa: dns.rdtypes.ANY.SOA.SOA | None,
    key: TsigKey | None,
) -> dns.message.Message:
    """A NOTIFY as BIND sends one: AA set, our SOA in the answer section."""
    message = dns.message.make_query(zone, dns.rdatatype.SOA, rdclass)
    # The opcode lives in the flags word: set AA first, then the opcode.
    message.flags = dns.flags.AA
    message.set_opcode(dns.opcode.NOTIFY)
    if soa is not None:
        rrset = dns.rrset.RRset(zone, rdclass, dns.rdatatype.SOA)
        rrset.add(soa, 0)
        message.answer.append(rrset)
    if key is not None:
        dns_key = dns.tsig.Key(key.name, key.secret, key.algorithm)
        message.use_tsig({key.name: dns_key}, keyname=key.name)
    return message


async def send_notify(
    zone: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
    soa: dns.rdtypes.ANY.SOA.SOA | None,
    target: NotifyTarget,
) -> str | None:
    """Send one NOTIFY until answered; None when acknowledged, else why not."""
    for _ in range(NOTIFY_TRIES):
        message = make_notify(zone, rdclass, soa, target.key)
        try:
            reply = await dns.asyncquery.udp(
                message,
                target.address,
                timeout=NOTIFY_TRY_SECONDS,
                port=target.port,
                ignore_unexpected=True,
            )
        except dns.exception.Timeout:
            continue
        except (OSError, dns.exception.DNSException) as err:
            return str(err) or type(err).__name__
        if reply.opcode() != dns.opcode.NOTIFY:
            return f"answered with opcode {dns.opcode.to_text(reply.opcode())}"
        if reply.rcode() != dns.rcode.NOERROR:
            return dns.rcode.to_text(reply.rcode())
        return None
    return "timed out"


async def notify_all(
    zone: dns.name.Name,
    rdclass: dns.rdataclass.RdataClass,
    soa: dns.rdtypes.ANY.SOA.SOA | None,
    targets: list[NotifyTarget],
) -> dict[str, str | None]:
    """NOTIFY every target at once; the result per target text."""
    results = await asyncio.gather(
        *(send_notify(zone, rdclass, soa, target) for target in targets)
    )
    return {t.text: r for t, r in zip(targets, results, strict=True)}
