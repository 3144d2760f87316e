"""Generated zones: large ones with a realistic mix of types, and small ones.

A large zone is `head + body`. The head is the apex (SOA, NS, MX, TXT, CAA)
and a block of `CHANGED` A records whose addresses depend on a version
number, so the IXFR step rewrites only the head and reuses the body file:
100 records change between two versions (an RFC 1995 difference of 100
deletions and 100 additions). The body is a deterministic mix, by weight,
of what real zones hold: hosts (A, AAAA), CNAMEs, TXT (SPF, DKIM in two
strings, verification tokens, text with quotes, backslashes, `;` and
parentheses), MX, SRV, delegations (two NS, glue A and AAAA, a DS), PTR
names, and a few of CAA, SSHFP, TLSA, NAPTR, HINFO, LOC, HTTPS, SVCB, URI.
Every RRset has one TTL, names never collide, and nothing is occluded.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

CHANGED = 100  # A records rewritten between two versions of a large zone
SERIAL_BASE = 2026112100
# Refresh 1 h, retry 15 min: nothing refreshes by timer during a run, and a
# zonesync restart waits at least retry/4 before its first SOA query.
SOA_TIMERS = "3600 900 1209600 300"

_HEX = "0123456789abcdef"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TTLS = (300, 3600, 86400)

Unit = Callable[[int, random.Random], list[str]]


def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_HEX) for _ in range(length))


def _ttl(i: int) -> int:
    return _TTLS[i % 3]


def _host(i: int, rng: random.Random) -> list[str]:
    return [f"a{i} {_ttl(i)} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"]


def _dual(i: int, rng: random.Random) -> list[str]:
    return [
        f"h{i} {_ttl(i)} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
        f"h{i} {_ttl(i)} AAAA 2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::1",
    ]


def _cname(i: int, rng: random.Random) -> list[str]:
    if i % 4 == 0:
        target = f"cdn{i % 97}.example.net."
    else:
        target = f"h{rng.randrange(max(i, 1))}"  # may dangle, as real CNAMEs do
    return [f"www{i} {_ttl(i)} CNAME {target}"]


def _txt(i: int, rng: random.Random) -> list[str]:
    kind = i % 5
    if kind == 0:
        text = (
            '"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net ~all"'
        )
        return [f"t{i} 3600 TXT {text}"]
    if kind == 1:
        key = "".join(rng.choice(_B64) for _ in range(300))
        return [
            f'k{i}._domainkey 3600 TXT "v=DKIM1; k=rsa; " "p={key[:200]}" "{key[200:]}"'
        ]
    if kind == 2:
        return [f't{i} 300 TXT "site-verification={_hex(rng, 32)}"']
    if kind == 3:
        return [f't{i} 3600 TXT "say \\"hello\\" to C:\\\\temp; (not a comment)"']
    return [f't{i} 3600 TXT "part one" "part two; three" ""']


def _mx(i: int, rng: random.Random) -> list[str]:
    return [
        f"m{i} 3600 MX 10 mx{i % 7}",
        f"m{i} 3600 MX 20 mx.example.net.",
    ]


def _srv(i: int, rng: random.Random) -> list[str]:
    return [
        f"_sip._tcp.s{i} 3600 SRV 10 60 5060 mx{i % 7}",
        f"_sip._tcp.s{i} 3600 SRV 20 40 5061 sip.example.net.",
    ]


def _delegation(i: int, rng: random.Random) -> list[str]:
    return [
        f"d{i} 86400 NS ns1.d{i}",
        f"d{i} 86400 NS ns2.d{i}",
        f"d{i} 86400 DS {i % 65536} 13 2 {_hex(rng, 64)}",
        f"ns1.d{i} 86400 A 198.51.{i >> 8 & 255}.{i & 255}",
        f"ns1.d{i} 86400 AAAA 2001:db8:ffff:{i & 0xFFFF:x}::53",
        f"ns2.d{i} 86400 A 203.0.{i >> 8 & 255}.{i & 255}",
    ]


def _ptr(i: int, rng: random.Random) -> list[str]:
    return [f"{i & 255}.{i >> 8 & 255}.{i >> 16}.rev 3600 PTR h{i}.example.com."]


def _caa(i: int, rng: random.Random) -> list[str]:
    return [
        f'c{i} 3600 CAA 0 issue "letsencrypt.org"',
        f'c{i} 3600 CAA 0 iodef "mailto:security@example.net"',
    ]


def _sshfp(i: int, rng: random.Random) -> list[str]:
    return [
        f"ssh{i} 3600 SSHFP 4 2 {_hex(rng, 64)}",
        f"ssh{i} 3600 SSHFP 1 1 {_hex(rng, 40)}",
    ]


def _tlsa(i: int, rng: random.Random) -> list[str]:
    return [f"_443._tcp.w{i} 3600 TLSA 3 1 1 {_hex(rng, 64)}"]


def _naptr(i: int, rng: random.Random) -> list[str]:
    return [
        f'n{i} 3600 NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:info@example.net!" .',
        f'n{i} 3600 NAPTR 102 10 "S" "SIP+D2U" "" _sip._udp.example.net.',
    ]


def _hinfo(i: int, rng: random.Random) -> list[str]:
    return [f'hi{i} 3600 HINFO "x86_64" "Debian GNU/Linux"']


def _loc(i: int, rng: random.Random) -> list[str]:
    return [f"loc{i} 3600 LOC 52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m"]


def _https(i: int, rng: random.Random) -> list[str]:
    return [
        f'svc{i} 300 HTTPS 1 . alpn="h2,h3" ipv4hint=192.0.2.{i & 255}',
        f"_dns.svc{i} 300 SVCB 1 dns.example.net. alpn=dot port=853",
    ]


def _uri(i: int, rng: random.Random) -> list[str]:
    return [f'_http._tcp.u{i} 3600 URI 10 1 "https://www.example.net/{i}"']


# (weight, unit): about 45 % A, 10 % AAAA, 10 % CNAME, 8 % TXT, 6 % MX,
# 6 % SRV, 10 % delegation records, and a sprinkle of everything else.
_MIX: tuple[tuple[int, Unit], ...] = (
    (40, _host),
    (10, _dual),
    (10, _cname),
    (8, _txt),
    (3, _mx),
    (3, _srv),
    (2, _delegation),
    (2, _ptr),
    (1, _caa),
    (1, _sshfp),
    (1, _tlsa),
    (1, _naptr),
    (1, _hinfo),
    (1, _loc),
    (1, _https),
    (1, _uri),
)


def head(origin: str, version: int) -> list[str]:
    """The apex and the changing block of a large zone, one RR per line."""
    lines = [
        f"$ORIGIN {origin}",
        "$TTL 3600",
        f"@ 3600 SOA ns1 hostmaster {SERIAL_BASE + version} {SOA_TIMERS}",
        "@ 3600 NS ns1",
        "@ 3600 NS ns2",
        "@ 3600 MX 10 mx0",
        '@ 3600 TXT "v=spf1 mx -all"',
        '@ 3600 CAA 0 issue "letsencrypt.org"',
        "ns1 3600 A 192.0.2.1",
        "ns2 3600 A 192.0.2.2",
        *(f"mx{i} 3600 A 192.0.2.{10 + i}" for i in range(7)),
    ]
    lines.extend(f"chg{i} 300 A 10.255.{version & 255}.{i}" for i in range(CHANGED))
    return lines


def _body(records: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    weights = [weight for weight, _ in _MIX]
    units = [unit for _, unit in _MIX]
    left = records
    i = 0
    while left > 6:  # the largest unit has 6 records
        unit = rng.choices(units, weights)[0]
        lines = unit(i, rng)
        yield from lines
        left -= len(lines)
        i += 1
    for j in range(left):
        yield f"tail{j} 3600 A 10.254.0.{j}"


def write_large(origin: str, records: int, directory: Path, seed: int = 1) -> Path:
    """Write the body of a large zone of `records` RRs in all; return its path.

    `write_version` then makes the zone file from it.
    """
    body = directory / f"{origin}body"
    count = records - len(head(origin, 0)) + 2  # $ORIGIN and $TTL are not RRs
    with body.open("w", encoding="ascii") as out:
        batch: list[str] = []
        for line in _body(count, seed):
            batch.append(line)
            if len(batch) >= 10_000:
                out.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            out.write("\n".join(batch) + "\n")
    return body


def write_version(origin: str, body: Path, target: Path, version: int) -> int:
    """Write zone file `target`: the head of `version`, then `body`; the serial."""
    temp = target.with_name(target.name + ".new")
    with temp.open("w", encoding="ascii") as out:
        out.write("\n".join(head(origin, version)) + "\n")
        with body.open(encoding="ascii") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    temp.replace(target)
    return SERIAL_BASE + version


def small(origin: str, index: int) -> str:
    """A small zone of `SMALL_RECORDS` RRs."""
    return (
        f"$ORIGIN {origin}\n"
        f"@ 3600 SOA ns1 hostmaster {SERIAL_BASE} {SOA_TIMERS}\n"
        "@ 3600 NS ns1\n"
        "@ 3600 NS ns2\n"
        "@ 3600 MX 10 mail\n"
        '@ 3600 TXT "v=spf1 mx -all"\n'
        f"ns1 3600 A 192.0.2.{index % 250 + 1}\n"
        f"ns2 3600 A 198.51.100.{index % 250 + 1}\n"
        f"www 300 A 203.0.113.{index % 250 + 1}\n"
        f"www 300 AAAA 2001:db8::{index:x}\n"
        f"mail 3600 A 203.0.113.{index % 250 + 1}\n"
    )


SMALL_RECORDS = 10
