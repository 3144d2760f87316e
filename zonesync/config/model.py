"""The configuration model: frozen dataclasses built by `loader.py`.

Nothing here reads files or talks to the network. Address match lists can be
evaluated for an address and an optional TSIG key name, with BIND's
first-match semantics (`lib/dns/acl.c`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ZoneType(StrEnum):
    """A zone's type, with `master`/`slave` folded into their current names."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    MIRROR = "mirror"
    STUB = "stub"
    STATIC_STUB = "static-stub"
    FORWARD = "forward"
    HINT = "hint"
    REDIRECT = "redirect"
    DELEGATION_ONLY = "delegation-only"
    IN_VIEW = "in-view"


# Each spelling of `type` BIND 9.18 accepts; `master` and `slave` are the
# old names of primary and secondary.
ZONE_TYPES: Mapping[str, ZoneType] = {
    "master": ZoneType.PRIMARY,
    "primary": ZoneType.PRIMARY,
    "slave": ZoneType.SECONDARY,
    "secondary": ZoneType.SECONDARY,
    "mirror": ZoneType.MIRROR,
    "stub": ZoneType.STUB,
    "static-stub": ZoneType.STATIC_STUB,
    "forward": ZoneType.FORWARD,
    "hint": ZoneType.HINT,
    "redirect": ZoneType.REDIRECT,
    "delegation-only": ZoneType.DELEGATION_ONLY,
}
# The builtin acl names of address match lists.
BUILTIN_ACLS = frozenset({"any", "none", "localhost", "localnets"})


class Source(StrEnum):
    """Where an effective value came from."""

    DEFAULT = "default"
    OPTIONS = "options"
    VIEW = "view"
    ZONE = "zone"


@dataclass(frozen=True, slots=True)
class TsigKey:
    """A TSIG key: name, algorithm (with optional truncation) and secret."""

    name: dns.name.Name
    algorithm: dns.name.Name
    secret: bytes = field(repr=False)
    digest_bits: int | None  # hmac-sha256-128 -> 128; None when not truncated

    def __repr__(self) -> str:
        return (
            f"TsigKey(name={self.name}, algorithm={self.algorithm}, secret=<redacted>)"
        )


@dataclass(frozen=True, slots=True)
class MatchElement:
    """One element of an address match list.

    `kind` is one of: prefix, key, acl, any, none, localhost, localnets,
    nested, other (GeoIP and other elements zonesync cannot evaluate; they
    never match).
    """

    kind: str
    negated: bool = False
    network: IPNetwork | None = None
    name: str = ""  # key or acl name
    nested: AddressMatchList | None = None


@dataclass(frozen=True, slots=True)
class AddressMatchList:
    """An address match list; evaluated with BIND's first-match rule."""

    elements: tuple[MatchElement, ...] = ()

    def to_text(self) -> str:
        """The list in named.conf syntax, e.g. `{ !192.0.2.1/32; key "k"; any; }`."""
        if not self.elements:
            return "{ }"
        return "{ " + " ".join(_element_text(e) + ";" for e in self.elements) + " }"

    def match(
        self,
        address: IPAddress,
        key: dns.name.Name | None = None,
        acls: Mapping[str, AddressMatchList] | None = None,
        local_addresses: tuple[IPNetwork, ...] = (),
    ) -> bool:
        """Whether the list allows `address` (optionally signed with `key`)."""
        return self.evaluate(address, key, acls or {}, local_addresses, 0) is True

    def evaluate(
        self,
        address: IPAddress,
        key: dns.name.Name | None,
        acls: Mapping[str, AddressMatchList],
        local_addresses: tuple[IPNetwork, ...],
        depth: int,
    ) -> bool | None:
        """True (allow), False (deny) or None (no element matched)."""
        if depth > 32:  # acl definitions cannot loop, but stay bounded anyway
            return None
        for element in self.elements:
            if _element_matches(element, address, key, acls, local_addresses, depth):
                return not element.negated
        return None


def _element_text(element: MatchElement) -> str:
    bang = "!" if element.negated else ""
    if element.kind == "prefix":
        return f"{bang}{element.network}"
    if element.kind == "key":
        return f'{bang}key "{element.name}"'
    if element.kind == "acl":
        return f'{bang}"{element.name}"'
    if element.kind == "nested" and element.nested is not None:
        return bang + element.nested.to_text()
    if element.kind == "other":
        return f"{bang}<not evaluated>"
    return bang + element.kind


def _element_matches(
    element: MatchElement,
    address: IPAddress,
    key: dns.name.Name | None,
    acls: Mapping[str, AddressMatchList],
    local_addresses: tuple[IPNetwork, ...],
    depth: int,
) -> bool:
    """Whether one element matches positively.

    A nested list (or named acl) that *denies* counts as no match, so that a
    negated nested list never allows by double negation (`lib/dns/acl.c`).
    """
    kind = element.kind
    if kind == "any":
        return True
    if kind == "prefix":
        net = element.network
        return net is not None and address.version == net.version and address in net
    if kind == "key":
        return key is not None and key == dns.name.from_text(element.name)
    if kind in {"localhost", "localnets"}:
        for net in local_addresses:
            if address.version == net.version and address in net:
                return True
        return kind == "localhost" and address.is_loopback
    if kind in {"acl", "nested"}:
        inner = element.nested if kind == "nested" else acls.get(element.name.lower())
        if inner is None:
            return False
        return inner.evaluate(address, key, acls, local_addresses, depth + 1) is True
    return False  # none, and elements zonesync cannot evaluate (GeoIP)


ANY = AddressMatchList((MatchElement("any"),))
NONE = AddressMatchList((MatchElement("none"),))


@dataclass(frozen=True, slots=True)
class Acl:
    """A named `acl`."""

    name: str
    elements: AddressMatchList


@dataclass(frozen=True, slots=True)
class RemoteServer:
    """One server of an expanded primaries/also-notify list."""

    address: IPAddress
    port: int | None  # None: the list's or the default port
    key: str | None  # TSIG key name as written, or None
    tls: str | None


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """One entry of a primaries list as written: an address or a list name."""

    address: IPAddress | None
    list_name: str | None
    port: int | None
    key: str | None
    tls: str | None


@dataclass(frozen=True, slots=True)
class Remote:
    """A named `primaries` (or `masters`, `parental-agents`) list."""

    name: str
    port: int | None
    entries: tuple[RemoteEntry, ...]


@dataclass(frozen=True, slots=True)
class Server:
    """A `server` statement: per-peer settings, chiefly its TSIG key."""

    network: IPNetwork
    keys: str | None
    transfer_source: str | None
    request_ixfr: bool | None
    provide_ixfr: bool | None


@dataclass(frozen=True, slots=True)
class Tls:
    """A `tls` block (parsed now, used by transfer over TLS later)."""

    name: str
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    remote_hostname: str | None = None


@dataclass(frozen=True, slots=True)
class Setting:
    """An effective value and where it came from."""

    value: object
    source: Source


@dataclass(frozen=True, slots=True)
class ZoneConfig:
    """One zone in one view with its effective configuration."""

    name: dns.name.Name
    name_text: str  # as written in the config
    rdclass: dns.rdataclass.RdataClass
    class_text: str  # as `named-checkconf -l` prints it
    view: str
    type: ZoneType | None  # None for a zone of only `in-view`
    type_text: str  # as written: master, slave, secondary, ...
    in_view: str | None
    file: Path | None  # resolved against `directory`; None: memory only
    file_text: str | None
    primaries: tuple[RemoteServer, ...]
    settings: Mapping[
        str, Setting
    ]  # the options of effective.ZONE_OPTIONS and ZONE_LISTS
    ignored: tuple[str, ...]  # clauses given for this zone that zonesync does not use
    config_file: str
    line: int

    def setting(self, name: str) -> object:
        """The effective value of option `name` (a clause name, with '-')."""
        return self.settings[name].value


@dataclass(frozen=True, slots=True)
class View:
    """A `view`, or the implicit `_default` view."""

    name: str
    rdclass: dns.rdataclass.RdataClass
    match_clients: AddressMatchList
    match_destinations: AddressMatchList
    zones: tuple[ZoneConfig, ...]


@dataclass(frozen=True, slots=True)
class Config:
    """A whole named.conf as zonesync uses it."""

    path: str
    directory: Path
    views: tuple[View, ...]
    keys: Mapping[str, TsigKey]
    acls: Mapping[str, Acl]  # by lower-case name: BIND's acl names ignore case
    remotes: Mapping[str, Remote]  # by lower-case name, as acls
    servers: tuple[Server, ...]
    tls: Mapping[str, Tls]  # by lower-case name, as acls
    server_settings: Mapping[str, Setting]  # transfers-in, listen-on, ...

    @property
    def zones(self) -> Iterator[ZoneConfig]:
        """Every zone of every view, in config order."""
        for view in self.views:
            yield from view.zones

    def secondary_zones(self) -> Iterator[ZoneConfig]:
        """The zones zonesync replicates: type secondary (or slave)."""
        return (z for z in self.zones if z.type is ZoneType.SECONDARY)

    def zone_list(self) -> list[str]:
        """The lines `named-checkconf -l` prints: NAME CLASS VIEW TYPE."""
        return [
            f"{z.name_text} {z.class_text} {z.view} {z.type_text}" for z in self.zones
        ]

    def key(self, name: str) -> TsigKey | None:
        """The top-level key `name` as a config writes it (`xfr`, `"xfr."`), or None."""
        return self.keys.get(key_id(name))

    def find_zone(self, name: str, view: str | None = None) -> list[ZoneConfig]:
        """Zones named `name` (compared as DNS names), optionally in one view."""
        target = dns.name.from_text(name)
        return [
            z
            for z in self.zones
            if z.name == target and (view is None or z.view == view)
        ]


def key_id(name: str) -> str:
    """How `Config.keys` names a key: absolute and lower-cased (`xfr.`)."""
    try:
        return dns.name.from_text(name).to_text().lower()
    except dns.exception.DNSException:
        return name.lower()
