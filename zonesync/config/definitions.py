"""Top-level named definitions: keys, acls, primaries lists, servers, tls.

Converts them to the model and checks them with BIND 9.18's rules (the parts
of `lib/isccfg/check.c` about keys, acls and remote-server lists). The zone
and view loader builds on this class.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
from collections.abc import Iterator, Sequence

import dns.exception
import dns.name
import dns.tsig

from zonesync.config.checks_util import Problems, block, parse_address
from zonesync.config.grammar import Block, Statement, Word
from zonesync.config.model import (
    BUILTIN_ACLS,
    NONE,
    Acl,
    AddressMatchList,
    MatchElement,
    Remote,
    RemoteEntry,
    RemoteServer,
    Server,
    Tls,
    TsigKey,
    key_id,
)

BUILTIN_TLS = frozenset({"ephemeral", "none"})
_ALGORITHMS: dict[str, tuple[dns.name.Name, int]] = {
    "hmac-md5": (dns.tsig.HMAC_MD5, 128),
    "hmac-md5.sig-alg.reg.int": (dns.tsig.HMAC_MD5, 128),
    "hmac-sha1": (dns.tsig.HMAC_SHA1, 160),
    "hmac-sha224": (dns.tsig.HMAC_SHA224, 224),
    "hmac-sha256": (dns.tsig.HMAC_SHA256, 256),
    "hmac-sha384": (dns.tsig.HMAC_SHA384, 384),
    "hmac-sha512": (dns.tsig.HMAC_SHA512, 512),
}


_AML_CLAUSES = frozenset(
    {
        "allow-notify", "allow-query", "allow-query-cache", "allow-query-cache-on",
        "allow-query-on", "allow-recursion", "allow-recursion-on", "allow-transfer",
        "allow-update", "allow-update-forwarding", "allow-v6-synthesis", "blackhole",
        "deny-answer-addresses", "keep-response-order", "listen-on", "listen-on-v6",
        "match-clients", "match-destinations", "no-case-compress", "sortlist",
        "topology", "clients", "exclude", "mapped", "exempt-clients",
        "response-padding", "allow", "allow-new-zones",
    }
)  # fmt: skip


# Zone ACLs: checked through the zones that inherit them.
ZONE_ACLS = (
    "allow-notify",
    "allow-transfer",
    "allow-update",
    "allow-update-forwarding",
)
_NOT_ACLS = frozenset(
    {"key", "tls", "primaries", "masters", "parental-agents", "server"}
)


def words_of(st: Statement) -> list[str]:
    """The words of a statement after its keyword, up to its first block."""
    out = []
    for item in st.items[1:]:
        if isinstance(item, Block):
            break
        out.append(item.text)
    return out


def index_block(body: Block | None) -> dict[str, list[Statement]]:
    """Statements of a block by keyword, in file order."""
    out: dict[str, list[Statement]] = {}
    if body is None:
        return out
    for st in body.statements:
        out.setdefault(st.keyword, []).append(st)
    return out


def location(node: Word | Statement | Block) -> str:
    return f"{node.file}:{node.line}"


@functools.lru_cache(maxsize=1024)
def _remote_entries(statements: tuple[tuple[str, ...], ...]) -> tuple[RemoteEntry, ...]:
    entries = []
    for words in statements:
        if not words:
            continue
        address = parse_address(words[0])
        opts = _pairs(list(words[1:]))
        port = opts.get("port")
        entries.append(
            RemoteEntry(
                address,
                None if address is not None else words[0],
                int(port) if port is not None and port.isdigit() else None,
                opts.get("key"),
                opts.get("tls"),
            )
        )
    return tuple(entries)


class Definitions:
    """The named objects of a config, converted and checked."""

    def __init__(self, top: dict[str, list[Statement]]) -> None:
        self.top = top
        self.problems = Problems()
        # Named by case-insensitive names, as in BIND: keys are lower case.
        self.acls: dict[str, Acl] = {}
        self.remotes: dict[str, Remote] = {}
        self.parental: dict[str, Remote] = {}
        self.tls: dict[str, Tls] = {}
        self.keys: dict[str, tuple[TsigKey | None, Statement]] = {}
        self._acl_statements: dict[str, Statement] = {}
        self._acls_checked: set[str] = set()
        self._expanded: dict[
            tuple[tuple[RemoteEntry, ...], int | None], tuple[RemoteServer, ...]
        ] = {}

    def load_keys(
        self,
        statements: list[Statement],
        outer: dict[str, tuple[TsigKey | None, Statement]],
    ) -> dict[str, tuple[TsigKey | None, Statement]]:
        keys: dict[str, tuple[TsigKey | None, Statement]] = {}
        for st in statements:
            words = words_of(st)
            if not words:
                continue
            name = words[0]
            try:
                dns.name.from_text(name)
            except dns.exception.DNSException:
                self.problems.add(st, f"key '{name}': is not a valid name")
                continue
            canonical = key_id(name)
            previous = outer.get(canonical) or keys.get(canonical)
            if previous is not None:
                self.problems.add(
                    st,
                    f"key '{name}': already exists previous definition: {location(previous[1])}",
                )
                continue
            keys[canonical] = (self.load_key(st, name), st)
        return keys

    def load_key(self, st: Statement, name: str) -> TsigKey | None:
        body = index_block(block(st))
        algorithm = body.get("algorithm")
        secret = body.get("secret")
        if not algorithm or not secret:
            self.problems.add(
                st, f"key '{name}' must have both 'secret' and 'algorithm' defined"
            )
            return None
        alg_words = words_of(algorithm[0])
        secret_words = words_of(secret[0])
        if not alg_words or not secret_words:
            return None
        alg_text = alg_words[0].lower().rstrip(".")
        base, _, bits_text = alg_text.rpartition("-")
        bits: int | None = None
        if base in _ALGORITHMS and bits_text.isdigit():
            bits = int(bits_text)
        else:
            base = alg_text
        if base not in _ALGORITHMS:
            self.problems.add(algorithm[0], f"unknown algorithm '{alg_words[0]}'")
            return None
        alg_name, size = _ALGORITHMS[base]
        if bits is not None:
            if bits % 8:
                self.problems.add(
                    algorithm[0], f"key '{name}' digest-bits not multiple of 8"
                )
                return None
            floor = 80 if base in {"hmac-md5", "hmac-sha1"} else size // 2
            if bits > size or bits < floor:
                self.problems.add(
                    algorithm[0],
                    f"key '{name}' digest-bits too large [{floor}..{size}]",
                )
                return None
        try:
            raw = base64.b64decode(secret_words[0].encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            self.problems.add(secret[0], "bad secret 'bad base64 encoding'")
            return None
        return TsigKey(dns.name.from_text(name), alg_name, raw, bits)

    # --- tls, acls, primaries lists, servers -------------------------------

    def load_tls(self) -> None:
        for st in self.top.get("tls", []):
            words = words_of(st)
            if not words:
                continue
            body = index_block(block(st))

            def text(
                clause: str, body: dict[str, list[Statement]] = body
            ) -> str | None:
                found = body.get(clause)
                return words_of(found[0])[0] if found and words_of(found[0]) else None

            self.tls[words[0].lower()] = Tls(
                words[0],
                text("ca-file"),
                text("cert-file"),
                text("key-file"),
                text("remote-hostname"),
            )

    def load_acls(self) -> None:
        seen: dict[str, Statement] = {}
        for st in self.top.get("acl", []):
            words = words_of(st)
            if not words:
                continue
            name = words[0]
            if name.lower() in seen:
                self.problems.add(
                    st,
                    f"attempt to redefine acl '{name}' previous definition: "
                    f"{location(seen[name.lower()])}",
                )
                continue
            if name.lower() in BUILTIN_ACLS:
                self.problems.add(st, f"attempt to redefine builtin acl '{name}'")
                continue
            seen[name.lower()] = st
        for key, st in seen.items():
            self.acls[key] = Acl(words_of(st)[0], self.aml(block(st)))
        self._acl_statements = seen

    def aml(self, body: Block | None) -> AddressMatchList:
        """Convert an address match list (its shape was checked by the grammar)."""
        if body is None:
            return NONE
        elements = []
        for st in body.statements:
            items = list(st.items)
            negated = False
            if (
                items
                and isinstance(items[0], Word)
                and items[0].text == "!"
                and not items[0].quoted
            ):
                negated = True
                items = items[1:]
            if not items:
                continue
            first = items[0]
            if isinstance(first, Block):
                elements.append(MatchElement("nested", negated, nested=self.aml(first)))
                continue
            text = first.text
            lower = text.lower()
            if lower == "key" and len(items) > 1 and isinstance(items[1], Word):
                elements.append(MatchElement("key", negated, name=items[1].text))
            elif lower in BUILTIN_ACLS:
                elements.append(MatchElement(lower, negated))
            elif lower == "geoip" and len(items) > 1:
                elements.append(MatchElement("other", negated))
            else:
                network = _parse_network(text)
                if network is not None:
                    elements.append(MatchElement("prefix", negated, network=network))
                else:
                    elements.append(MatchElement("acl", negated, name=text))
        return AddressMatchList(tuple(elements))

    def check_acl_references(
        self, statements: Sequence[Statement], context: str = ""
    ) -> None:
        """Every acl named in an address match list must be defined.

        In `options` and `view`, BIND leaves the zone ACLs (ZONE_ACLS) to the
        zones that inherit them, so an undefined acl there is an error only
        when some zone uses it (`lib/isccfg/check.c`).
        """
        for st in statements:
            keyword = st.keyword
            if keyword in _NOT_ACLS:
                continue
            if context in {"options", "view"} and keyword in ZONE_ACLS:
                continue
            if keyword == "acl":
                continue
            if keyword in _AML_CLAUSES:
                found = block(st)
                if found is not None:
                    self.check_aml_names(found)
                continue
            for item in st.items:
                if isinstance(item, Block):
                    self.check_acl_references(item.statements, keyword)

    def check_aml_names(self, body: Block) -> None:
        for st in body.statements:
            items = [i for i in st.items if not (isinstance(i, Word) and i.text == "!")]
            if not items:
                continue
            first = items[0]
            if isinstance(first, Block):
                self.check_aml_names(first)
                continue
            lower = first.text.lower()
            if lower in {"key", "geoip"} and len(items) > 1:
                continue
            if lower in BUILTIN_ACLS:
                continue
            if _parse_network(first.text) is not None or "/" in first.text:
                continue
            key = first.text.lower()
            if key not in self.acls:
                self.problems.add(first, f"undefined ACL '{first.text}'")
            elif key not in self._acls_checked:
                # An acl's own references are checked when something uses
                # it: BIND accepts `acl a { nosuch; };` if `a` is unused.
                self._acls_checked.add(key)
                definition = block(self._acl_statements[key])
                if definition is not None:
                    self.check_aml_names(definition)

    def load_remotes(self) -> None:
        """Top-level primaries/masters and parental-agents lists (check.c order)."""
        defined: dict[str, Statement] = {}
        for keyword in ("primaries", "masters"):
            for st in self.top.get(keyword, []):
                self.define_remote(st, keyword, defined, self.remotes)
        parental: dict[str, Statement] = {}
        for st in self.top.get("parental-agents", []):
            self.define_remote(st, "parental-agents", parental, self.parental)
        for st in (*self.top.get("primaries", []), *self.top.get("masters", [])):
            self.check_remote_entries(st, self.remotes, "primaries")
        for st in self.top.get("parental-agents", []):
            self.check_remote_entries(st, self.parental, "parental-agents")

    def define_remote(
        self,
        st: Statement,
        keyword: str,
        defined: dict[str, Statement],
        into: dict[str, Remote],
    ) -> None:
        words = words_of(st)
        if not words:
            return
        name = words[0]
        key = name.lower()
        if key in defined:
            self.problems.add(
                st,
                f"{keyword} list '{name}' is duplicated: also defined at {location(defined[key])}",
            )
            return
        defined[key] = st
        port = port_after(words[1:])
        into[key] = Remote(name, port, self.remote_entries(block(st)))

    def remote_entries(self, body: Block | None) -> tuple[RemoteEntry, ...]:
        """The entries of a remote list as written (named lists not expanded)."""
        if body is None:
            return ()
        return _remote_entries(
            tuple(
                tuple(i.text for i in st.items if isinstance(i, Word))
                for st in body.statements
            )
        )

    def expand_servers(
        self, entries: tuple[RemoteEntry, ...], port: int | None
    ) -> tuple[RemoteServer, ...]:
        """`expand()` as a tuple, cached: many zones name the same lists."""
        key = (entries, port)
        found = self._expanded.get(key)
        if found is None:
            found = self._expanded[key] = tuple(self.expand(entries, port))
        return found

    def check_remote_entries(
        self, st: Statement, lists: dict[str, Remote], kind: str
    ) -> list[RemoteEntry]:
        """Check the entries of a remote list: named lists exist, tls is defined."""
        body = block(st)
        entries = list(self.remote_entries(body))
        nodes = body.statements if body is not None else ()
        for entry, node in zip(entries, nodes, strict=False):
            if entry.list_name is not None and entry.list_name.lower() not in lists:
                noun = "parental-agents" if kind == "parental-agents" else "primaries"
                self.problems.add(
                    node, f"unable to find {noun} list '{entry.list_name}'"
                )
            if (
                entry.tls is not None
                and entry.tls.lower() not in self.tls
                and entry.tls.lower() not in BUILTIN_TLS
            ):
                self.problems.add(node, f"tls '{entry.tls}' is not defined")
        return entries

    def expand(
        self,
        entries: Sequence[RemoteEntry],
        port: int | None,
        visiting: frozenset[str] = frozenset(),
        lists: dict[str, Remote] | None = None,
    ) -> Iterator[RemoteServer]:
        """Flatten a remote list, named lists expanded in place.

        BIND accepts reference cycles between lists; a list already being
        expanded is not entered again.
        """
        for entry in entries:
            if entry.address is not None:
                yield RemoteServer(
                    entry.address, entry.port or port, entry.key, entry.tls
                )
            elif entry.list_name is not None:
                name = entry.list_name.lower()
                lists = self.remotes if lists is None else lists
                remote = lists.get(name)
                if remote is not None and name not in visiting:
                    inner = visiting | {name}
                    yield from self.expand(
                        remote.entries, remote.port or port, inner, lists
                    )

    def load_servers(
        self,
        statements: list[Statement],
        keys: dict[str, tuple[TsigKey | None, Statement]],
    ) -> list[Server]:
        servers = []
        for st in statements:
            words = words_of(st)
            if not words:
                continue
            network = _parse_network(words[0])
            if network is None:
                continue
            body = index_block(block(st))
            key_name: str | None = None
            for key_st in body.get("keys", []):
                key_words = [w for w in words_of(key_st) if w]
                inner = block(key_st)
                if inner is not None:
                    key_words = [
                        s.items[0].text
                        for s in inner.statements
                        if isinstance(s.items[0], Word)
                    ]
                for word in key_words:
                    canonical = key_id(word)
                    if canonical not in keys and canonical not in self.keys:
                        self.problems.add(key_st, f"unknown key '{word}'")
                    elif key_name is None:
                        key_name = word

            def opt(clause: str, body: dict[str, list[Statement]] = body) -> str | None:
                found = body.get(clause)
                return " ".join(words_of(found[0])) if found else None

            request_ixfr = opt("request-ixfr")
            provide_ixfr = opt("provide-ixfr")
            servers.append(
                Server(
                    network,
                    key_name,
                    opt("transfer-source")
                    if network.version == 4
                    else opt("transfer-source-v6"),
                    None
                    if request_ixfr is None
                    else request_ixfr.lower() in {"yes", "true", "1"},
                    None
                    if provide_ixfr is None
                    else provide_ixfr.lower() in {"yes", "true", "1"},
                )
            )
        return servers

    # --- views and zones ---------------------------------------------------


def _pairs(words: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for keyword, value in zip(words[::2], words[1::2], strict=False):
        out.setdefault(keyword.lower(), value)
    return out


def port_after(words: list[str]) -> int | None:
    opts = _pairs(words)
    port = opts.get("port")
    if port is None:
        # `primaries NAME port N` has its name first: skip it.
        opts = _pairs(words[1:])
        port = opts.get("port")
    return int(port) if port is not None and port.isdigit() else None


def _parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    address, slash, length = text.partition("/")
    ip = parse_address(address)
    if ip is None:
        # BIND accepts abbreviated IPv4 prefixes such as 10/8 and 192.168/16.
        parts = address.split(".")
        if slash and 0 < len(parts) < 4 and all(p.isdigit() for p in parts):
            ip = parse_address(".".join(parts + ["0"] * (4 - len(parts))))
        if ip is None:
            return None
    try:
        if slash:
            return ipaddress.ip_network(f"{ip}/{length}", strict=False)
        return ipaddress.ip_network(ip)
    except ValueError:
        return None
