"""Checks of `dnssec-policy` definitions, as BIND 9.18's kaspconf.c makes them.

named-checkconf 9.18 checks the top-level `dnssec-policy` blocks only when
the configuration has no `view` statements (`check_options()` at the config
level runs only then); the caller decides. Wording and order follow
`cfg_kasp_fromconfig()` and `cfg_kaspkey_fromconfig()` in
lib/isccfg/kaspconf.c, checked against named-checkconf 9.18.49.
"""

from __future__ import annotations

from collections.abc import Sequence

from zonesync.config.checks_util import (
    Opts,
    Problems,
    as_duration,
    as_int,
    block,
    block_opts,
    text,
    value,
)
from zonesync.config.grammar import Statement, Word

BUILTIN_POLICIES = ("none", "default", "insecure")

# Defaults from lib/dns/include/dns/kasp.h (9.18), in seconds.
_DEFAULTS = {
    "signatures-jitter": 12 * 3600,
    "signatures-refresh": 5 * 86400,
    "signatures-validity": 14 * 86400,
    "signatures-validity-dnskey": 14 * 86400,
    "max-zone-ttl": 86400,
    "zone-propagation-delay": 300,
    "parent-ds-ttl": 86400,
    "parent-propagation-delay": 3600,
    "dnskey-ttl": 3600,
    "publish-safety": 3600,
    "retire-safety": 3600,
}

# dns_secalg_fromtext() mnemonics in 9.18 (lib/dns/rcode.c SECALGNAMES).
_ALGORITHMS = {
    "RSAMD5": 1,
    "DH": 2,
    "DSA": 3,
    "RSASHA1": 5,
    "NSEC3DSA": 6,
    "NSEC3RSASHA1": 7,
    "RSASHA256": 8,
    "RSASHA512": 10,
    "ECCGOST": 12,
    "ECDSAP256SHA256": 13,
    "ECDSA256": 13,
    "ECDSAP384SHA384": 14,
    "ECDSA384": 14,
    "ED25519": 15,
    "ED448": 16,
    "INDIRECT": 252,
    "PRIVATEDNS": 253,
    "PRIVATEOID": 254,
}
_RSA = frozenset({5, 7, 8, 10})
# NSEC3 cannot be used with these (printed by dns_secalg_format()).
_NO_NSEC3 = {1: "RSAMD5", 3: "DSA", 5: "RSASHA1"}


def parse_algorithm(raw: str) -> int | None:
    """The number of a DNSSEC algorithm name or number, or None."""
    if raw.isdigit() and raw.isascii():
        number = int(raw)
        return number if number <= 255 else None
    return _ALGORITHMS.get(raw.upper())


def check_policies(statements: Sequence[Statement], problems: Problems) -> None:
    """Check every top-level `dnssec-policy` definition, in file order."""
    seen: set[str] = set()
    bad_name = False
    for statement in statements:
        name = text(statement)
        if name is None:
            continue
        if name in BUILTIN_POLICIES:
            bad_name = True
            continue
        if name in seen:
            problems.add(
                statement, f"dnssec-policy: duplicately named policy found '{name}'"
            )
            continue
        # A policy that fails to load is not added to BIND's list, so a
        # later one of the same name is not a duplicate.
        if _check_policy(statement, name, problems):
            seen.add(name)
    if bad_name and statements:
        problems.add(
            statements[0],
            "dnssec-policy name may not be 'insecure', 'none', or 'default' (which are built-in policies)",
        )


def _duration(opts: Opts, name: str) -> int:
    found = opts.get(name)
    if found is None:
        return _DEFAULTS[name]
    seconds = as_duration(value(found))
    return _DEFAULTS[name] if seconds is None else seconds


def _check_policy(statement: Statement, name: str, problems: Problems) -> bool:
    """Check one policy like cfg_kasp_fromconfig(); False if it fails."""
    opts = block_opts(statement)
    jitter = _duration(opts, "signatures-jitter")
    refresh = _duration(opts, "signatures-refresh")
    failed = False
    validity = 0
    for option in ("signatures-validity-dnskey", "signatures-validity"):
        validity = _duration(opts, option)
        if refresh >= validity * 0.9:
            problems.add(
                statement,
                f"dnssec-policy: policy '{name}' signatures-refresh must be at most 90% of the {option}",
            )
            failed = True
        if jitter > validity:
            problems.add(
                statement,
                f"dnssec-policy: policy '{name}' signatures-jitter cannot be larger than {option}",
            )
            failed = True
    if failed:
        return False

    ipub = (
        _duration(opts, "dnskey-ttl")
        + _duration(opts, "publish-safety")
        + _duration(opts, "zone-propagation-delay")
    )
    retire = _duration(opts, "retire-safety")
    ksk_min = max(
        ipub,
        _duration(opts, "parent-ds-ttl")
        + retire
        + _duration(opts, "parent-propagation-delay"),
    )
    zsk_retire = (
        (validity - refresh)
        + _duration(opts, "max-zone-ttl")
        + retire
        + _duration(opts, "zone-propagation-delay")
    )
    zsk_min = max(ipub, zsk_retire)

    keys = opts.get("keys")
    algorithms: list[int] = []
    if keys is not None:
        roles: dict[int, set[str]] = {}
        keys_block = block(keys)
        for entry in keys_block.statements if keys_block is not None else ():
            if not entry.items:
                continue
            result = _check_key(entry, ksk_min, zsk_min, problems)
            if result is None:
                return False
            algorithm, key_roles = result
            algorithms.append(algorithm)
            roles.setdefault(algorithm, set()).update(key_roles)
        at = keys_block if keys_block is not None else keys
        for algorithm in sorted(roles):
            if roles[algorithm] != {"ksk", "zsk"}:
                problems.add(
                    at,
                    f"dnssec-policy: algorithm {algorithm} requires both KSK and ZSK roles",
                )
                failed = True
        if failed:
            return False

    nsec3 = opts.get("nsec3param")
    return nsec3 is None or _check_nsec3(nsec3, algorithms, problems)


def _check_key(
    entry: Statement, ksk_min: int, zsk_min: int, problems: Problems
) -> tuple[int, set[str]] | None:
    """Check one `keys` entry; None when BIND stops on it."""
    role = entry.keyword
    roles = {"ksk", "zsk"} if role == "csk" else {role}
    words = [item for item in entry.items if isinstance(item, Word)]
    lowered = [item.text.lower() for item in words]
    if "lifetime" in lowered:
        index = lowered.index("lifetime") + 1
        lifetime = as_duration(words[index]) if index < len(words) else None
        if lifetime:
            too_short = ("ksk" in roles and lifetime <= ksk_min) or (
                "zsk" in roles and lifetime <= zsk_min
            )
            if too_short:
                problems.add(
                    words[index],
                    "dnssec-policy: key lifetime is shorter than the time it takes to do a rollover",
                )
                return None
    if "algorithm" not in lowered:
        return None
    index = lowered.index("algorithm") + 1
    if index >= len(words):
        return None
    raw = words[index].text
    algorithm = parse_algorithm(raw)
    if algorithm is None:
        problems.add(words[index], f"dnssec-policy: bad algorithm {raw}")
        return None
    length = as_int(words[index + 1]) if index + 1 < len(words) else None
    if length is not None and algorithm in _RSA and not 1024 <= length <= 4096:
        problems.add(
            words[index + 1],
            f"dnssec-policy: key with algorithm {raw} has invalid key length {length}",
        )
        return None
    return algorithm, roles


def _check_nsec3(nsec3: Statement, algorithms: list[int], problems: Problems) -> bool:
    """Check `nsec3param` against the policy's keys; False on failure."""
    words = [item for item in nsec3.items[1:] if isinstance(item, Word)]
    lowered = [item.text.lower() for item in words]
    iterations: Word | None = None
    salt: Word | None = None
    for i, keyword in enumerate(lowered[:-1]):
        if keyword == "iterations":
            iterations = words[i + 1]
        elif keyword == "salt-length":
            salt = words[i + 1]
    at = iterations if iterations is not None else nsec3
    bad = [algorithm for algorithm in algorithms if algorithm in _NO_NSEC3]
    if bad:
        problems.add(
            at, f"dnssec-policy: cannot use nsec3 with algorithm '{_NO_NSEC3[bad[-1]]}'"
        )
        return False
    count = as_int(iterations)
    if count is not None and count > 150:
        problems.add(at, f"dnssec-policy: nsec3 iterations value {count} out of range")
        return False
    length = as_int(salt)
    if salt is not None and length is not None and length > 0xFF:
        problems.add(salt, f"dnssec-policy: nsec3 salt length {length} too high")
        return False
    return True


def find_policy(name: str, policies: Sequence[Statement]) -> bool:
    """Whether a policy named `name` (compared case-sensitively) is defined."""
    return any(text(statement) == name for statement in policies)
