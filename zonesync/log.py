"""Logging setup and the BIND-style prefixes for zone and transfer lines.

BIND 9.18 (`lib/dns/zone.c`, `lib/dns/xfrin.c`) prefixes zone lines with
`zone example.com/IN: ` and transfer lines with
`transfer of 'example.com/IN' from 192.0.2.1#53: `; a zone in a view other
than `_default` is named `example.com/IN/internal`. Operators grep for these.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import dns.name
import dns.rdataclass

# BIND leaves these view names out of a zone's label (dns_zone_name()).
_HIDDEN_VIEWS = frozenset({"_default", "_bind"})


def zone_label(
    name: dns.name.Name, rdclass: dns.rdataclass.RdataClass, view: str
) -> str:
    """The zone as BIND names it in logs: `example.com/IN[/view]`."""
    text = name.to_text(omit_final_dot=True) or "."
    label = f"{text}/{dns.rdataclass.to_text(rdclass)}"
    if view not in _HIDDEN_VIEWS:
        label += f"/{view}"
    return label


def peer_text(address: str, port: int) -> str:
    """An address and port as BIND prints them: `192.0.2.1#53`."""
    return f"{address}#{port}"


class _Prefixed(logging.LoggerAdapter[logging.Logger]):
    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        prefix = self.extra["prefix"] if self.extra else ""
        return f"{prefix}{msg}", kwargs


ZoneLogger = _Prefixed


def zone_logger(logger: logging.Logger, label: str) -> ZoneLogger:
    """A logger whose lines start `zone <label>: `."""
    return _Prefixed(logger, {"prefix": f"zone {label}: "})


def transfer_logger(logger: logging.Logger, label: str, primary: str) -> ZoneLogger:
    """A logger whose lines start `transfer of '<label>' from <primary>: `."""
    return _Prefixed(logger, {"prefix": f"transfer of '{label}' from {primary}: "})


def setup_logging(level: int = logging.INFO, timestamps: bool | None = None) -> None:
    """Log to stderr; without timestamps under systemd (journald adds them)."""
    if timestamps is None:
        timestamps = not _under_journald()
    fmt = "%(asctime)s %(levelname)s %(message)s" if timestamps else "%(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt, "%d-%b-%Y %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _under_journald() -> bool:
    return "JOURNAL_STREAM" in os.environ
