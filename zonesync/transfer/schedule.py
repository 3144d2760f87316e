"""When to refresh, retry and expire a secondary zone: BIND 9.18's timers, no I/O.

Everything here is a pure function of the SOA, the zone's limits, the time
and a random draw, so tests drive it with fixed numbers. The rules and
constants are BIND's (`lib/dns/zone.c`: zone_postload, dns_zone_refresh,
setrl/`DNS_ZONE_JITTER_ADD`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zonesync.config.model import ZoneConfig

# A zone that has never loaded starts retrying after 60 s
# (DNS_ZONE_DEFAULTRETRY) and doubles up to 6 h (dns_zone_refresh).
UNLOADED_FIRST_RETRY_SECONDS = 60
UNLOADED_MAX_RETRY_SECONDS = 6 * 3600
# The upper bound of expire (DNS_MAX_EXPIRE): 24 weeks.
MAX_EXPIRE_SECONDS = 14515200

Uniform = Callable[[float, float], float]
"""A random draw in [a, b]; `random.uniform` in production."""


@dataclass(frozen=True, slots=True)
class TimerLimits:
    """min/max-refresh-time and min/max-retry-time of one zone, in seconds."""

    min_refresh: int = 300
    max_refresh: int = 2419200
    min_retry: int = 500
    max_retry: int = 1209600

    @classmethod
    def from_zone(cls, zone: ZoneConfig) -> TimerLimits:
        """The limits of a configured zone (defaults are BIND's)."""

        def get(name: str) -> int:
            value = zone.setting(name)
            assert isinstance(value, int), name  # effective.py converts these
            return value

        return cls(
            get("min-refresh-time"),
            get("max-refresh-time"),
            get("min-retry-time"),
            get("max-retry-time"),
        )


@dataclass(frozen=True, slots=True)
class Timers:
    """A zone's refresh, retry and expire intervals after BIND's clamps."""

    refresh: int
    retry: int
    expire: int


def clamp_timers(refresh: int, retry: int, expire: int, limits: TimerLimits) -> Timers:
    """Clamp the SOA's timers as BIND does (zone.c, zone_postload/xfrdone)."""
    refresh = _range(refresh, limits.min_refresh, limits.max_refresh)
    retry = _range(retry, limits.min_retry, limits.max_retry)
    expire = _range(expire, refresh + retry, MAX_EXPIRE_SECONDS)
    return Timers(refresh, retry, expire)


def _range(value: int, low: int, high: int) -> int:
    # BIND's RANGE(): the lower bound wins if the bounds cross.
    return max(low, min(value, high))


def refresh_delay(timers: Timers, uniform: Uniform) -> float:
    """Seconds to the next SOA check after a successful one: 75-100 % of refresh."""
    return timers.refresh * uniform(0.75, 1.0)


def retry_delay(timers: Timers | None, failures: int, uniform: Uniform) -> float:
    """Seconds to the next attempt after `failures` failures in a row.

    A loaded zone retries at 75-100 % of its retry interval. A zone that has
    never loaded (`timers` None) retries from 60 s, doubling to 6 h, as BIND
    does for a zone without SOA timers.
    """
    if timers is None:
        steps = max(failures - 1, 0)
        base = float(UNLOADED_MAX_RETRY_SECONDS)
        if steps < 16:
            base = min(UNLOADED_FIRST_RETRY_SECONDS * 2**steps, base)
    else:
        base = timers.retry
    return base * uniform(0.75, 1.0)


def startup_delay(timers: Timers, uniform: Uniform) -> float:
    """Seconds to the first SOA check of a zone loaded from disk: [retry/4, retry].

    BIND 9.18 zone_postload: `retry - random(retry * 3 / 4)`, so a restart
    never re-transfers a fresh zone at once.
    """
    return timers.retry * uniform(0.25, 1.0)
