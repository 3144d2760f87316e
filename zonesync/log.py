"""Logging setup and the BIND-style prefixes for zone and transfer lines.

BIND 9.18 (`lib/dns/zone.c`, `lib/dns/xfrin.c`) prefixes zone lines with
`zone example.com/IN: ` and transfer lines with
`transfer of 'example.com/IN' from 192.0.2.1#53: `; a zone in a view other
than `_default` is named `example.com/IN/internal`. Operators grep for these.

`--log-format json` writes the same records as one JSON object per line,
with a transfer's details as fields of their own (see `JsonFormatter`).
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import dns.name
import dns.rdataclass

from zonesync.names import name_text

# The values of `--log-format`.
LOG_FORMATS = ("text", "json")

# BIND leaves these view names out of a zone's label (dns_zone_name()).
_HIDDEN_VIEWS = frozenset({"_default", "_bind"})


def zone_label(
    name: dns.name.Name, rdclass: dns.rdataclass.RdataClass, view: str
) -> str:
    """The zone as BIND names it in logs: `example.com/IN[/view]`."""
    return text_label(name_text(name, omit_final_dot=True) or ".", rdclass, view)


def text_label(zone: str, rdclass: dns.rdataclass.RdataClass, view: str) -> str:
    """`zone_label` of the zone whose text (no final dot) is `zone`."""
    label = f"{zone}/{_class_text(rdclass)}"
    if view not in _HIDDEN_VIEWS:
        label += f"/{view}"
    return label


@functools.cache
def _class_text(rdclass: dns.rdataclass.RdataClass) -> str:
    return dns.rdataclass.to_text(rdclass)


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


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line.

    The fields are `ts` (ISO 8601, UTC), `level`, `logger` and `message` (the
    same text the text format prints, BIND's prefixes included), then every
    key of a `transfer` dict passed as `extra={"transfer": {...}}`, and
    `exception` with the traceback when the record carries one. Nothing else
    of the record is written, so an attribute added by a library never leaks
    into the output.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line, without the trailing newline."""
        created = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        fields: dict[str, Any] = {
            "ts": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        transfer = getattr(record, "transfer", None)
        if isinstance(transfer, dict):
            # The four base fields win over a transfer key of the same name.
            for key, value in transfer.items():
                fields.setdefault(str(key), value)
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            fields["exception"] = record.exc_text
        # default=str: enum members and the like print as their text.
        return json.dumps(fields, ensure_ascii=False, default=str)


class _LoopBatchingHandler(logging.StreamHandler[TextIO]):
    """A StreamHandler that writes an event loop's lines once per loop turn.

    A line logged on a thread running an asyncio loop is held until the
    loop's next turn, and written with the others of this turn: a start of
    10,000 zones logs 10,000 lines, and a write per line was a sixth of the
    start (issue 5). A line from any other thread first writes out the
    lines held, then itself, so lines keep the order they were logged in.
    Formatting and writing run under the handler's lock (logging.Handler).
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._held: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Hold the line (on a loop's thread) or write it with those held."""
        try:
            line = self.format(record) + self.terminator
            self._held.append(line)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not a loop's thread
                self._write_held()
                return
            if len(self._held) == 1:
                loop.call_soon(self.flush)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 (a handler never raises: logging's rule)
            self.handleError(record)

    def flush(self) -> None:
        """Write the lines held, and flush the stream."""
        self.acquire()
        try:
            self._write_held()
        finally:
            self.release()

    def _write_held(self) -> None:
        if self._held:
            text = "".join(self._held)
            self._held.clear()
            self.stream.write(text)
        self.stream.flush()


REFRESH_LOGGER = "zonesync.refresh"
"""The logger of the per-refresh summary lines (see setup_logging)."""


def setup_logging(
    level: int = logging.INFO,
    timestamps: bool | None = None,
    fmt: str = "text",
) -> None:
    """Log to stderr, as BIND-worded text or as JSON lines.

    Text has no timestamps under systemd (journald adds them) unless
    `timestamps` says otherwise; JSON lines always carry `ts`.

    Raises:
        ValueError: `fmt` is neither "text" nor "json".
    """
    handler = _LoopBatchingHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif fmt == "text":
        if timestamps is None:
            timestamps = not _under_journald()
        line = "%(asctime)s %(levelname)s %(message)s" if timestamps else "%(message)s"
        handler.setFormatter(logging.Formatter(line, "%d-%b-%Y %H:%M:%S"))
    else:
        raise ValueError(f"unknown log format {fmt!r} (text or json)")
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Neither format shows the caller, thread or process; not looking them
    # up per record (the logging HOWTO's "Optimization") takes a third off
    # each line, and a start with 10,000 zones logs 10,000 (issue 5).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # One structured line per refresh that transferred nothing: wanted in
    # JSON, but BIND's text log has no such line, so text shows it only
    # when debugging.
    quiet = fmt == "text" and level > logging.DEBUG
    logging.getLogger(REFRESH_LOGGER).setLevel(
        logging.WARNING if quiet else logging.NOTSET
    )


def _under_journald() -> bool:
    return "JOURNAL_STREAM" in os.environ
