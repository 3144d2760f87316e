"""The zonesync exception tree: one root, structured attributes."""

from __future__ import annotations

from dataclasses import dataclass


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


class TransferError(ZoneSyncError):
    """A zone transfer or SOA query failed."""


class StoreError(ZoneSyncError):
    """A zone file or state file could not be read or written."""


class ControlError(ZoneSyncError):
    """A control command was bad or named an unknown zone."""
