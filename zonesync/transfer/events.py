"""What a zone reports as it works: the seam between the zones and metrics/logs.

Zones call a `ZoneEvents`; `metrics.py` implements it for Prometheus and
the JSON log reads `TransferOutcome`. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from zonesync.errors import FailureReason


class SoaResult(StrEnum):
    """How an SOA query ended, besides failing (failures use FailureReason)."""

    NEWER = "newer"
    UP_TO_DATE = "up_to_date"
    OLDER = "older"


class FallbackReason(StrEnum):
    """Why an IXFR was retried as AXFR."""

    RCODE = "rcode"  # the primary answered the IXFR with an error rcode
    APPLY = "apply"  # the IXFR did not apply to the version we hold


class TsigError(StrEnum):
    """A TSIG failure, by the error BIND would name."""

    BADSIG = "BADSIG"
    BADKEY = "BADKEY"
    BADTIME = "BADTIME"
    BADTRUNC = "BADTRUNC"
    UNSIGNED = "unsigned"  # a keyed exchange got an unsigned answer
    VERIFY = "verify"  # our check of the primary's signature failed
    UNSUPPORTED = "unsupported"  # an algorithm zonesync cannot use


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    """One transfer attempt from one primary, as the JSON log and metrics see it."""

    view: str
    zone: str  # e.g. "example.com"
    primary: str  # "192.0.2.1#53"
    key: str | None  # TSIG key name, never the secret
    requested: str  # "axfr" or "ixfr"
    actual: (
        str | None
    )  # "axfr", "ixfr", "axfr-style ixfr", "up to date"; None if none came
    serial_from: int | None
    serial_to: int | None
    messages: int
    records: int
    bytes: int
    duration_seconds: float
    reason: FailureReason | None  # None: success

    @property
    def outcome(self) -> str:
        """`success` or `failure`."""
        return "success" if self.reason is None else "failure"


class ZoneEvents(Protocol):
    """Receives what zones do; every method must be cheap and never raise."""

    def soa_query(
        self, view: str, zone: str, result: SoaResult | FailureReason
    ) -> None:
        """One SOA query to one primary ended."""

    def transfer(self, outcome: TransferOutcome) -> None:
        """One transfer attempt ended (success or failure)."""

    def refresh_failed(self, view: str, zone: str, reason: FailureReason) -> None:
        """A whole refresh (all primaries) failed; `reason` is the last one's."""

    def ixfr_fallback(self, view: str, zone: str, reason: FallbackReason) -> None:
        """An IXFR is being retried as AXFR."""

    def tsig_error(self, view: str, zone: str, error: TsigError) -> None:
        """A TSIG check failed on an SOA query or a transfer."""


class NoEvents:
    """A ZoneEvents that ignores everything (tests, and before metrics exist)."""

    def soa_query(
        self, view: str, zone: str, result: SoaResult | FailureReason
    ) -> None:
        """Ignore."""

    def transfer(self, outcome: TransferOutcome) -> None:
        """Ignore."""

    def refresh_failed(self, view: str, zone: str, reason: FailureReason) -> None:
        """Ignore."""

    def ixfr_fallback(self, view: str, zone: str, reason: FallbackReason) -> None:
        """Ignore."""

    def tsig_error(self, view: str, zone: str, error: TsigError) -> None:
        """Ignore."""
