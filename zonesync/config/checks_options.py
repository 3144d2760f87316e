"""Checks of option values at the options, view and zone levels.

`check_options()` copies the routine of that name in BIND 9.18's
lib/isccfg/check.c (ports, intervals, signing options, names, limits,
cookie secrets, fstrm and dnstap output, check-names and listeners), with
the wording named-checkconf 9.18.49 prints. `Context` carries what these
checks need from the rest of the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from zonesync.config.checks_acl import AclTable
from zonesync.config.checks_util import (
    Opts,
    Problems,
    as_duration,
    as_int,
    as_size,
    block,
    format_name,
    hex_decode,
    keyword_value,
    parse_name,
    text,
    value,
    where,
    word,
    word_set,
)
from zonesync.config.grammar import Block, Statement, Word


class Level(Enum):
    """Where `check_options()` runs (BIND's optlevel_t)."""

    CONFIG = "config"
    OPTIONS = "options"
    VIEW = "view"
    ZONE = "zone"


@dataclass
class Context:
    """What the option checks need to know about the whole configuration."""

    dns_port: int = 53
    tls_names: frozenset[str] = frozenset()
    http_names: frozenset[str] = frozenset()
    acls: AclTable = field(default_factory=lambda: AclTable(()))

    def expand_acl(self, acl: Block, problems: Problems) -> bool:
        """Expand an address match list as BIND does; False on failure."""
        return self.acls.expand(acl, problems)


# (name, scale, max): values are in minutes unless a duration (check.c).
_INTERVALS = (
    ("heartbeat-interval", 60, 28 * 24 * 60),
    ("interface-interval", 60, 28 * 24 * 60),
    ("max-transfer-idle-in", 60, 28 * 24 * 60),
    ("max-transfer-idle-out", 60, 28 * 24 * 60),
    ("max-transfer-time-in", 60, 28 * 24 * 60),
    ("max-transfer-time-out", 60, 28 * 24 * 60),
    ("min-cache-ttl", 1, 90),
    ("max-cache-ttl", 1, 0xFFFFFFFF),
    ("min-ncache-ttl", 1, 90),
    ("max-ncache-ttl", 1, 7 * 24 * 3600),
)
_SERVER_CONTACT = ("empty-server", "empty-contact", "dns64-server", "dns64-contact")
# (name, min, max); a max of 0 means none (libfstrm's limits).
_FSTRM = (
    ("fstrm-set-buffer-hint", 1024, 65536),
    ("fstrm-set-flush-timeout", 1, 600),
    ("fstrm-set-input-queue-size", 2, 16384),
    ("fstrm-set-output-notify-threshold", 1, 0),
    ("fstrm-set-output-queue-size", 2, 1024),
    ("fstrm-set-reopen-interval", 1, 600),
)
_QUERY_SOURCES = ("query-source", "query-source-v6")


# Every option check_options() looks at: a map with none of them is skipped.
OPTION_KEYWORDS = frozenset(
    {
        "port",
        "tls-port",
        "http-port",
        "https-port",
        *_QUERY_SOURCES,
        *(name for name, _, _ in _INTERVALS),
        "max-rsa-exponent-size",
        "sig-validity-interval",
        "dnskey-sig-validity",
        "root-delegation-only",
        "disable-algorithms",
        "disable-ds-digests",
        "auto-dnssec",
        "dnssec-must-be-secure",
        *_SERVER_CONTACT,
        "disable-empty-zone",
        "server-id",
        "nta-lifetime",
        "nta-recheck",
        "cookie-secret",
        *(name for name, _, _ in _FSTRM),
        "dnstap-output",
        "lmdb-mapsize",
        "resolver-nonbackoff-tries",
        "max-ixfr-ratio",
        "check-names",
        "listen-on",
        "listen-on-v6",
        "max-query-restarts",
    }
)


def _number(statement: Statement) -> int | None:
    """An option's value as an integer or a duration in seconds."""
    item = value(statement)
    found = as_int(item)
    return found if found is not None else as_duration(item)


def source_port(statement: Statement) -> int:
    """The port of a `*-source` option (0 when none or `*`)."""
    port = keyword_value(statement, "port")
    number = as_int(port)
    return number if number is not None else 0


def check_port(opts: Opts, name: str, problems: Problems) -> int | None:
    """A valid port number set by option `name`, reporting one out of range."""
    statement = opts.get(name)
    if statement is None:
        return None
    number = as_int(value(statement))
    if number is None:
        return None
    if number >= 0xFFFF:
        problems.add(where(statement), f"port '{number}' out of range")
        return None
    return number


def check_options(opts: Opts, level: Level, ctx: Context, problems: Problems) -> None:
    """Check the options of one map, in the order BIND 9.18 checks them."""
    if level is Level.OPTIONS:
        for name in ("port", "tls-port", "http-port", "https-port"):
            check_port(opts, name, problems)
    if level in (Level.OPTIONS, Level.VIEW):
        for name in _QUERY_SOURCES:
            statement = opts.get(name)
            if statement is not None and source_port(statement) == ctx.dns_port:
                # BIND logs a query source at its last token.
                problems.add(
                    statement.items[-1],
                    f"'{name}' cannot specify the DNS listener port ({ctx.dns_port})",
                )
    for name, scale, maximum in _INTERVALS:
        statement = opts.get(name)
        if statement is None:
            continue
        number = _number(statement)
        if number is None:
            continue
        if number > maximum:
            problems.add(
                where(statement), f"{name} '{number}' is out of range (0..{maximum})"
            )
        elif number > 0xFFFFFFFF // scale:
            problems.add(where(statement), f"{name} '{number}' is out of range")
    has_policy = level is not Level.CONFIG and "dnssec-policy" in opts
    _check_signing(opts, has_policy, problems)
    _check_names(opts, level, problems)
    _check_limits(opts, problems)
    _check_check_names(opts, problems)
    for name in ("listen-on", "listen-on-v6"):
        for statement in opts.all(name):
            _check_listener(statement, ctx, problems)
    statement = opts.get("max-query-restarts")
    restarts = as_int(value(statement))
    if statement is not None and restarts is not None and not 1 <= restarts <= 255:
        problems.add(where(statement), "'max-query-restarts' is out of range 1..255)")


def _check_signing(opts: Opts, has_policy: bool, problems: Problems) -> None:
    statement = opts.get("max-rsa-exponent-size")
    number = as_int(value(statement))
    if (
        statement is not None
        and number is not None
        and number != 0
        and not 35 <= number <= 4096
    ):
        problems.add(
            where(statement),
            f"max-rsa-exponent-size '{number}' is out of range (35..4096)",
        )
    statement = opts.get("sig-validity-interval")
    if statement is not None:
        validity = as_int(value(statement, 1))
        resign = as_int(value(statement, 2))
        at = statement  # a tuple: BIND logs the option's own line
        if validity is not None:
            if validity > 3660 or validity == 0:
                problems.add(
                    at, f"sig-validity-interval '{validity}' is out of range (1..3660)"
                )
            if resign is not None:
                if resign > 3660 or resign == 0:
                    problems.add(
                        at,
                        f"sig-validity-interval (re-sign) '{validity}' is out of range (1..3660)",
                    )
                elif (validity > 7 and validity < resign) or (
                    validity <= 7 and validity * 24 < resign
                ):
                    unit = "days" if validity > 7 else "hours"
                    problems.add(
                        at,
                        f"validity interval ({validity} days) less than re-signing interval ({resign} {unit})",
                    )
        if has_policy:
            problems.add(
                at,
                "sig-validity-interval: cannot be configured if dnssec-policy is also set",
            )
    statement = opts.get("dnskey-sig-validity")
    if statement is not None:
        number = as_int(value(statement))
        if number is not None and number > 3660:
            problems.add(
                where(statement),
                f"dnskey-sig-validity '{number}' is out of range (0..3660)",
            )
        if has_policy:
            problems.add(
                where(statement),
                "dnskey-sig-validity: cannot be configured if dnssec-policy is also set",
            )


def _check_names(opts: Opts, level: Level, problems: Problems) -> None:
    statement = opts.get("root-delegation-only")
    excludes = block(statement)
    if statement is not None and excludes is not None:
        for entry in excludes.statements:
            name = text(entry, 0)
            if name is not None and parse_name(name) is None:
                problems.add(where(statement), f"bad domain name '{name}'")
    for statement in opts.all("disable-algorithms") + opts.all("disable-ds-digests"):
        name = text(statement)
        if name is not None and parse_name(name) is None:
            problems.add(where(statement), f"bad domain name '{name}'")
        listed = block(statement)
        digests = statement.keyword == "disable-ds-digests"
        for entry in listed.statements if listed is not None else ():
            item = text(entry, 0)
            if item is None:
                continue
            if digests and not _is_digest(item):
                problems.add(entry, f"invalid digest type '{item}'")
            elif not digests and not _is_algorithm(item):
                problems.add(entry, f"invalid algorithm '{item}'")
    statement = opts.get("auto-dnssec")
    mode = text(statement)
    if (
        statement is not None
        and mode is not None
        and level is not Level.ZONE
        and mode.lower() != "off"
    ):
        problems.add(
            where(statement), "auto-dnssec may only be activated at the zone level"
        )
    seen: dict[str, Statement] = {}
    for statement in opts.all("dnssec-must-be-secure"):
        name = text(statement)
        if name is None:
            continue
        if parse_name(name) is None:
            problems.add(where(statement), f"bad domain name '{name}'")
            continue
        key = format_name(name)
        first = seen.get(key.lower())
        if first is not None:
            problems.add(
                statement,
                f"dnssec-must-be-secure '{key}': already exists previous definition: {first.file}:{first.line}",
            )
        else:
            seen[key.lower()] = statement
    for option in _SERVER_CONTACT:
        statement = opts.get(option)
        name = text(statement)
        if statement is not None and name is not None and parse_name(name) is None:
            problems.add(where(statement), f"{option}: invalid name '{name}'")
    for statement in opts.all("disable-empty-zone"):
        name = text(statement)
        if name is not None and parse_name(name) is None:
            problems.add(where(statement), f"disable-empty-zone: invalid name '{name}'")
    statement = opts.get("server-id")
    server_id = word(statement)
    if server_id is not None and len(server_id.text.encode("utf-8")) > 1024:
        problems.add(server_id, "'server-id' too big (>1024 bytes)")


# dns_secalg_fromtext() and dns_dsdigest_fromtext() accept these or a number.
_ALGORITHM_NAMES = word_set(
    """
    RSAMD5 DH DSA RSASHA1 NSEC3DSA NSEC3RSASHA1 RSASHA256 RSASHA512 ECCGOST
    ECDSAP256SHA256 ECDSA256 ECDSAP384SHA384 ECDSA384 ED25519 ED448 INDIRECT
    PRIVATEDNS PRIVATEOID
    """
)
_DIGEST_NAMES = frozenset(
    {"SHA1", "SHA-1", "SHA256", "SHA-256", "GOST", "SHA384", "SHA-384"}
)


def _is_algorithm(raw: str) -> bool:
    if raw.isdigit() and raw.isascii():
        return int(raw) <= 255
    return raw.upper() in _ALGORITHM_NAMES


def _is_digest(raw: str) -> bool:
    if raw.isdigit() and raw.isascii():
        return int(raw) <= 255
    return raw.upper() in _DIGEST_NAMES


def _check_limits(opts: Opts, problems: Problems) -> None:
    statement = opts.get("nta-lifetime")
    if statement is not None:
        seconds = as_duration(value(statement))
        if seconds is not None:
            if seconds > 604800:
                problems.add(where(statement), "'nta-lifetime' cannot exceed one week")
            elif seconds == 0:
                problems.add(where(statement), "'nta-lifetime' may not be zero")
    statement = opts.get("nta-recheck")
    if statement is not None:
        seconds = as_duration(value(statement))
        if seconds is not None and seconds > 604800:
            problems.add(where(statement), "'nta-recheck' cannot exceed one week")
    algorithm = (text(opts.get("cookie-algorithm")) or "siphash24").lower()
    for statement in opts.all("cookie-secret"):
        secret = text(statement)
        if secret is None:
            continue
        outcome, length = hex_decode(secret, 32)
        at = where(statement)
        if outcome == "nospace":
            problems.add(at, "cookie-secret: too long")
        elif outcome == "badhex":
            problems.add(at, "cookie-secret: invalid hex string")
        elif algorithm == "aes" and length != 16:
            problems.add(at, "AES cookie-secret must be 128 bits")
        elif algorithm == "siphash24" and length != 16:
            problems.add(at, "SipHash-2-4 cookie-secret must be 128 bits")
    for name, low, high in _FSTRM:
        statement = opts.get(name)
        if statement is None:
            continue
        number = _number(statement)
        if number is None:
            continue
        at = where(statement)
        if number < low or (high and number > high):
            if high:
                problems.add(at, f"{name} '{number}' out of range ({low}..{high})")
            else:
                problems.add(at, f"{name} out of range ({number} < {low})")
        if name == "fstrm-set-input-queue-size" and bin(number).count("1") != 1:
            problems.add(at, f"{name} '{number}' not a power-of-2")
    _check_dnstap_output(opts, problems)
    statement = opts.get("lmdb-mapsize")
    size = as_size(value(statement))
    if statement is not None and size is not None:
        if size < 1 << 20:
            problems.add(where(statement), f"'lmdb-mapsize {size}' is too small")
        elif size > 1 << 40:
            problems.add(where(statement), f"'lmdb-mapsize {size}' is too large")
    statement = opts.get("resolver-nonbackoff-tries")
    if statement is not None and as_int(value(statement)) == 0:
        problems.add(where(statement), "'resolver-nonbackoff-tries' must be >= 1")
    statement = opts.get("max-ixfr-ratio")
    ratio = text(statement)
    if (
        statement is not None
        and ratio is not None
        and ratio.endswith("%")
        and ratio[:-1].isdigit()
    ) and int(ratio[:-1]) == 0:
        problems.add(
            where(statement),
            "'ixfr-max-ratio' must be a nonzero percentage or 'unlimited')",
        )


def _check_dnstap_output(opts: Opts, problems: Problems) -> None:
    statement = opts.get("dnstap-output")
    mode = text(statement)
    if statement is None or mode is None or mode.lower() == "file":
        return
    lowered = [
        item.text.lower()
        for item in statement.items[3:]
        if isinstance(item, Word) and not item.quoted
    ]
    for part in ("size", "versions", "suffix"):
        if part in lowered:
            problems.add(
                statement, f"dnstap-output {part} cannot be set with mode unix"
            )


def _check_check_names(opts: Opts, problems: Problems) -> None:
    entries = [
        statement for statement in opts.all("check-names") if len(statement.items) >= 3
    ]
    if not entries:
        return
    at = entries[0]
    seen: set[str] = set()
    for statement in entries:
        kind = (text(statement) or "").lower()
        if kind not in ("primary", "master", "secondary", "slave"):
            continue
        if kind in seen:
            problems.add(at, f"'check-names {kind}' duplicated")
        seen.add(kind)
    if {"primary", "master"} <= seen:
        problems.add(at, "'check-names' cannot take both 'primary' and 'master'")
    if {"secondary", "slave"} <= seen:
        problems.add(at, "'check-names' cannot take both 'secondary' and 'slave'")


def _check_listener(statement: Statement, ctx: Context, problems: Problems) -> None:
    tls = keyword_value(statement, "tls")
    do_tls = no_tls = False
    if tls is not None:
        lowered = tls.text.lower()
        if lowered == "none":
            no_tls = True
        elif lowered == "ephemeral":
            do_tls = True
        else:
            do_tls = True
            if lowered not in ctx.tls_names:
                problems.add(tls, f"tls '{tls.text}' is not defined")
    http = keyword_value(statement, "http")
    if http is not None:
        if not do_tls and not no_tls:
            problems.add(
                http,
                "http must specify a 'tls' statement, 'tls ephemeral', or 'tls none'",
            )
        if http.text.lower() not in ctx.http_names and http.text.lower() != "default":
            problems.add(http, f"http '{http.text}' is not defined")
    port = keyword_value(statement, "port")
    number = as_int(port)
    if port is not None and number is not None and number >= 0xFFFF:
        problems.add(port, f"port value '{number}' is out of range")
    acl = block(statement)
    if acl is not None:
        ctx.expand_acl(acl, problems)
