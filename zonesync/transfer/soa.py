"""RFC 1982 serial number arithmetic for SOA serials."""

from __future__ import annotations

_HALF = 2**31
_MOD = 2**32


def serial_gt(a: int, b: int) -> bool:
    """Whether serial `a` is newer than `b` (RFC 1982 §3.2).

    Two serials exactly 2^31 apart are not comparable; RFC 1982 leaves it
    undefined and BIND (`isc_serial_gt`) treats it as "not newer", so a
    primary can never make us take a serial that far away.
    """
    a %= _MOD
    b %= _MOD
    return a != b and (a - b) % _MOD < _HALF


def serial_newer(candidate: int, held: int | None) -> bool:
    """Whether `candidate` should replace `held` (anything beats no data)."""
    return held is None or serial_gt(candidate, held)
