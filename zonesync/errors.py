"""The zonesync exception tree: one root, structured attributes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ZoneSyncError(Exception):
    """Something zonesync reports to an operator."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration file, in BIND's `file:line: message` shape."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        if not self.file:
            return self.message
        if self.line:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}: {self.message}"


class ConfigError(ZoneSyncError):
    """The configuration has one or more problems."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FailureReason(StrEnum):
    """Why a refresh or transfer failed; the values are metric label values."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    NOTAUTH = "notauth"
    TSIG = "tsig"
    NETWORK = "network"
    MALFORMED = "malformed"
    TOO_LARGE = "too-large"
    STORE = "store"
    INTERNAL = "internal"


class TransferError(ZoneSyncError):
    """A zone transfer or SOA query failed."""

    reason = FailureReason.NETWORK

    def __init__(self, message: str, primary: str = "") -> None:
        super().__init__(message)
        self.primary = primary  # "192.0.2.1#53", as BIND prints it; "" if none


class TransferRefused(TransferError):  # noqa: N818 - the name STYLE §4 gives it
    """The primary answered with a non-zero rcode (REFUSED, NOTAUTH, ...)."""

    def __init__(self, message: str, primary: str = "", rcode: str = "") -> None:
        super().__init__(message, primary)
        self.rcode = rcode
        self.reason = (
            FailureReason.NOTAUTH if rcode == "NOTAUTH" else FailureReason.REFUSED
        )


class TransferTimeout(TransferError):  # noqa: N818 - as STYLE §4
    """The primary did not answer, or a transfer ran past its time limit."""

    reason = FailureReason.TIMEOUT


class TransferBroken(TransferError):  # noqa: N818 - as STYLE §4
    """The answer was malformed, failed TSIG, or broke the zone's limits."""

    def __init__(
        self,
        message: str,
        primary: str = "",
        reason: FailureReason = FailureReason.MALFORMED,
        tsig_error: str | None = None,
    ) -> None:
        super().__init__(message, primary)
        self.reason = reason
        self.tsig_error = tsig_error  # a transfer.events.TsigError value, or None


class SerialNotNewer(TransferError):  # noqa: N818 - as STYLE §4
    """The primary's serial is not newer than ours (RFC 1982 comparison)."""


class StoreError(ZoneSyncError):
    """A zone file or state file could not be read or written."""

    reason = FailureReason.STORE

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class ZoneContentError(StoreError):
    """Received zone data fails validation (no SOA, out-of-zone name, too big)."""

    def __init__(
        self,
        message: str,
        path: str = "",
        reason: FailureReason = FailureReason.MALFORMED,
    ) -> None:
        super().__init__(message, path)
        self.reason = reason


class ControlError(ZoneSyncError):
    """A control command was bad or named an unknown zone."""
