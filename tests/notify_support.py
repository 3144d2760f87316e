"""What the NOTIFY-in tests share: TSIG keys, a NOTIFY builder, a fake target.

tests/unit/server/test_notify_in.py drives `NotifyHandler` without sockets;
tests/integration/test_notify_bind_parity.py sends the same requests to a
real named and compares. Both build their requests here and give the
handler a `RecordingTarget` in place of the zone manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rrset
import dns.tsig

from zonesync.config.model import Config, ZoneConfig

SECRET_INT = "c2VjcmV0LXZhbHVlLTEyMzQ="
SECRET_EXT = "b3RoZXItc2VjcmV0LXZhbHVl"
WRONG_SECRET = "d3Jvbmctc2VjcmV0LXZhbHVl"
K_INT = dns.tsig.Key("k-int", SECRET_INT, "hmac-sha256")
K_EXT = dns.tsig.Key("k-ext", SECRET_EXT, "hmac-sha256")


def make_notify(
    zone: str = "example.com",
    *,
    key: dns.tsig.Key | None = None,
    serial: int | None = None,
    rdclass: str = "IN",
    rdtype: str = "SOA",
    edns: int | None = None,
    dnssec: bool = False,
    opcode: int = dns.opcode.NOTIFY,
    flags: int = dns.flags.AA,
) -> dns.message.Message:
    """A NOTIFY as a primary sends it: AA, the zone's SOA question.

    With `serial`, the zone's SOA in the answer; with `key`, signed. The
    header flags are `flags` exactly (not dnspython's default RD).
    """
    message = dns.message.make_query(
        zone, rdtype, rdclass, use_edns=edns, want_dnssec=dnssec
    )
    message.flags = flags
    message.set_opcode(dns.opcode.Opcode(opcode))
    if serial is not None:
        message.answer.append(
            dns.rrset.from_text(
                dns.name.from_text(zone),
                3600,
                rdclass,
                "SOA",
                f"ns1.{zone}. hostmaster.{zone}. {serial} 3600 600 86400 300",
            )
        )
    if key is not None:
        message.use_tsig(key)
    return message


@dataclass
class RecordingTarget:
    """The zone manager: the config's secondary zones; records notify()."""

    config: Config
    calls: list[tuple[str, dns.name.Name, int | None, str]] = field(
        default_factory=list
    )

    def notify_zone(self, view: str, name: dns.name.Name) -> ZoneConfig | None:
        """The secondary zone `name` of `view`, if the config has one."""
        for zone in self.config.secondary_zones():
            if zone.view == view and zone.name == name:
                return zone
        return None

    def notify(
        self, view: str, name: dns.name.Name, serial: int | None, source: str
    ) -> None:
        """Record the call."""
        self.calls.append((view, name, serial, source))
