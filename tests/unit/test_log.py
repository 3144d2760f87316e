"""The log formats: BIND-worded text, and JSON lines with a transfer's fields."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterator

import dns.name
import dns.rdataclass
import pytest

from zonesync.errors import FailureReason
from zonesync.log import (
    JsonFormatter,
    setup_logging,
    transfer_logger,
    zone_label,
    zone_logger,
)

Stderr = Callable[[], str]

BASE_FIELDS = {"ts", "level", "logger", "message"}

# What the lead attaches to `Transfer completed` (TransferOutcome's fields).
TRANSFER = {
    "zone": "example.com",
    "view": "_default",
    "primary": "192.0.2.1#53",
    "key": "xfr-key",
    "requested": "ixfr",
    "actual": "axfr-style ixfr",
    "serial_from": 2026112101,
    "serial_to": 2026112102,
    "messages": 3,
    "records": 120,
    "bytes": 5210,
    "duration_seconds": 0.041,
    "outcome": "success",
    "reason": None,
}


def make_record(
    msg: str = "zone %s: Transfer started.",
    args: tuple[object, ...] = ("example.com/IN",),
    level: int = logging.INFO,
    **extra: object,
) -> logging.LogRecord:
    record = logging.LogRecord(
        "zonesync.transfer.secondary", level, __file__, 1, msg, args, None
    )
    record.created = 1795000000.25  # 2026-11-18T11:06:40.250Z
    record.__dict__.update(extra)
    return record


def test_json_line_has_exactly_the_base_fields() -> None:
    line = JsonFormatter().format(make_record())
    assert "\n" not in line
    assert json.loads(line) == {
        "ts": "2026-11-18T11:06:40.250Z",
        "level": "INFO",
        "logger": "zonesync.transfer.secondary",
        "message": "zone example.com/IN: Transfer started.",
    }


def test_json_line_adds_every_transfer_field_and_nothing_else() -> None:
    record = make_record(
        "Transfer completed: %d messages", (3,), transfer=dict(TRANSFER)
    )
    fields = json.loads(JsonFormatter().format(record))
    assert set(fields) == BASE_FIELDS | set(TRANSFER)
    assert {k: fields[k] for k in TRANSFER} == TRANSFER
    assert fields["message"] == "Transfer completed: 3 messages"


def test_json_failure_reason_is_its_word() -> None:
    transfer = dict(TRANSFER, outcome="failure", reason=FailureReason.TIMEOUT)
    record = make_record("failed", (), logging.ERROR, transfer=transfer)
    fields = json.loads(JsonFormatter().format(record))
    assert fields["reason"] == "timeout"
    assert fields["level"] == "ERROR"


def test_json_base_fields_win_over_transfer_keys() -> None:
    record = make_record(transfer={"message": "forged", "level": "forged", "x": 1})
    fields = json.loads(JsonFormatter().format(record))
    assert fields["message"] == "zone example.com/IN: Transfer started."
    assert fields["level"] == "INFO"
    assert fields["x"] == 1


def test_json_ignores_other_extras_and_a_non_dict_transfer() -> None:
    record = make_record(peer="192.0.2.1", transfer="not a dict")
    assert set(json.loads(JsonFormatter().format(record))) == BASE_FIELDS


def test_json_multiline_message_stays_one_line() -> None:
    line = JsonFormatter().format(make_record("a\nb", ()))
    assert "\n" not in line
    assert json.loads(line)["message"] == "a\nb"


def test_json_traceback_goes_in_exception() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = make_record("internal error", ())
    record.exc_info = exc_info
    fields = json.loads(JsonFormatter().format(record))
    assert set(fields) == BASE_FIELDS | {"exception"}
    assert "RuntimeError: boom" in fields["exception"]


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Stderr]:
    """What setup_logging's handler writes to stderr; restore the root logger.

    setup_logging binds its handler to sys.stderr as it is during the test,
    which is capsys's stream.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield lambda: capsys.readouterr().err
    root.handlers[:] = handlers
    root.setLevel(level)


def _adapter_logs(name: str) -> None:
    log = logging.getLogger(name)
    label = zone_label(dns.name.from_text("example.com"), dns.rdataclass.IN, "_default")
    zone_logger(log, label).info("Transfer started.")
    transfer_logger(log, label, "192.0.2.1#53").info(
        "Transfer completed: %d messages, %d records",
        3,
        120,
        extra={"transfer": dict(TRANSFER)},
    )


def test_text_format_is_unchanged_and_ignores_the_transfer_extra(
    stderr: Stderr,
) -> None:
    setup_logging(logging.INFO, timestamps=False)
    _adapter_logs("zonesync.test_log.text")
    assert stderr().splitlines() == [
        "zone example.com/IN: Transfer started.",
        "transfer of 'example.com/IN' from 192.0.2.1#53: "
        "Transfer completed: 3 messages, 120 records",
    ]


def test_text_format_with_timestamps(stderr: Stderr) -> None:
    setup_logging(logging.INFO, timestamps=True, fmt="text")
    logging.getLogger("zonesync.test_log.ts").warning("zone nearing expiry")
    line = stderr().rstrip("\n")
    # BIND's date shape, 22-Nov-2026 00:05:45, then level and message.
    assert line.endswith(" WARNING zone nearing expiry")
    assert len(line.split(" ", 2)[0].split("-")) == 3


def test_json_format_through_the_adapters(stderr: Stderr) -> None:
    setup_logging(logging.INFO, fmt="json")
    _adapter_logs("zonesync.test_log.json")
    started, completed = (json.loads(x) for x in stderr().splitlines())
    assert set(started) == BASE_FIELDS
    assert started["message"] == "zone example.com/IN: Transfer started."
    assert set(completed) == BASE_FIELDS | set(TRANSFER)
    assert completed["message"] == (
        "transfer of 'example.com/IN' from 192.0.2.1#53: "
        "Transfer completed: 3 messages, 120 records"
    )
    assert completed["logger"] == "zonesync.test_log.json"


def test_json_format_respects_the_level(stderr: Stderr) -> None:
    setup_logging(logging.INFO, fmt="json")
    logging.getLogger("zonesync.test_log.level").debug("per-message detail")
    assert stderr() == ""


def test_unknown_format_is_refused(stderr: Stderr) -> None:
    with pytest.raises(ValueError, match="unknown log format 'yaml'"):
        setup_logging(logging.INFO, fmt="yaml")


def test_refresh_lines_show_in_json_and_debug_text_only():
    import logging as logging_

    from zonesync.log import REFRESH_LOGGER, setup_logging

    refresh = logging_.getLogger(REFRESH_LOGGER)
    root = logging_.getLogger()
    saved = (root.handlers[:], root.level, refresh.level)
    try:
        setup_logging(logging_.INFO, fmt="text")
        assert not refresh.isEnabledFor(logging_.INFO)
        setup_logging(logging_.DEBUG, fmt="text")
        assert refresh.isEnabledFor(logging_.INFO)
        setup_logging(logging_.INFO, fmt="json")
        assert refresh.isEnabledFor(logging_.INFO)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        refresh.setLevel(saved[2])


def test_a_loop_writes_its_lines_once_per_turn_in_order(stderr: Stderr) -> None:
    setup_logging(logging.INFO, timestamps=False)
    log = logging.getLogger("zonesync.test_log.batch")
    seen: dict[str, str] = {}

    def in_thread() -> None:
        seen["thread"] = stderr()  # the loop's lines are still held here
        log.info("3 from a thread")  # writes them first, then itself
        seen["after thread"] = stderr()

    async def turns() -> None:
        log.info("1 on the loop")
        log.info("2 on the loop")
        seen["same turn"] = stderr()
        await asyncio.to_thread(in_thread)
        log.info("4 on the loop")
        seen["same turn again"] = stderr()
        await asyncio.sleep(0)  # the next turn writes it
        seen["next turn"] = stderr()

    asyncio.run(turns())
    assert seen["same turn"] == ""
    assert seen["thread"] == ""
    assert seen["after thread"].splitlines() == [
        "1 on the loop",
        "2 on the loop",
        "3 from a thread",
    ]
    assert seen["same turn again"] == ""
    assert seen["next turn"] == "4 on the loop\n"


def test_flush_writes_the_lines_held(stderr: Stderr) -> None:
    # as logging.shutdown() does at exit
    setup_logging(logging.INFO, timestamps=False)
    log = logging.getLogger("zonesync.test_log.batch")

    async def last_words() -> str:
        log.info("stopped")
        held = stderr()
        logging.getLogger().handlers[0].flush()
        return held

    assert asyncio.run(last_words()) == ""
    assert stderr() == "stopped\n"
