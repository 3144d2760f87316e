"""The control channel's wire format: JSON lines in, dataclasses out."""

from __future__ import annotations

import json

import pytest

from zonesync.control.protocol import MAX_REQUEST_BYTES, Reply, Request
from zonesync.errors import ControlError


def test_request_round_trips_as_one_line() -> None:
    request = Request("refresh", "example.com", "inside", wait=True)
    line = request.to_line()
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == {
        "command": "refresh",
        "zone": "example.com",
        "view": "inside",
        "wait": True,
    }
    assert Request.from_line(line) == request


def test_request_fields_default_when_left_out() -> None:
    assert Request.from_line(b'{"command": "status"}') == Request("status")


def test_newlines_in_values_stay_escaped_on_one_line() -> None:
    request = Request("zonestatus", "a\nb.example", "v\r\n")
    line = request.to_line()
    assert line.count(b"\n") == 1
    assert Request.from_line(line) == request


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            b"not json",
            "bad request: not JSON (Expecting value: line 1 column 1 (char 0))",
        ),
        (b"\xff\xfe\xfa", "bad request: not JSON"),
        (b"[1, 2]", "bad request: not a JSON object"),
        (b'"refresh"', "bad request: not a JSON object"),
        (b"{}", "bad request: 'command' must be a non-empty string"),
        (b'{"command": ""}', "bad request: 'command' must be a non-empty string"),
        (b'{"command": 7}', "bad request: 'command' must be a non-empty string"),
        (
            b'{"command": "refresh", "zone": 1}',
            "bad request: 'zone' must be a string or null",
        ),
        (
            b'{"command": "refresh", "view": []}',
            "bad request: 'view' must be a string or null",
        ),
        (
            b'{"command": "refresh", "wait": "yes"}',
            "bad request: 'wait' must be true or false",
        ),
        (
            b'{"command": "refresh", "wait": 1}',
            "bad request: 'wait' must be true or false",
        ),
        (
            b'{"command": "refresh", "force": true}',
            "bad request: unknown field 'force'",
        ),
        (b"[" * 60_000, "bad request: nested too deeply"),
    ],
)
def test_bad_request_is_a_control_error(line: bytes, message: str) -> None:
    with pytest.raises(ControlError) as info:
        Request.from_line(line)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_request_longer_than_the_bound_is_refused_before_parsing() -> None:
    line = Request("zonestatus", "a" * MAX_REQUEST_BYTES).to_line()
    with pytest.raises(
        ControlError, match=f"^request longer than {MAX_REQUEST_BYTES} bytes$"
    ):
        Request.from_line(line)


def test_reply_success_and_failure_round_trip() -> None:
    ok = Reply.success([{"zone": "example.com", "serial": 1}])
    assert json.loads(ok.to_line()) == {
        "ok": True,
        "result": [{"zone": "example.com", "serial": 1}],
    }
    assert Reply.from_line(ok.to_line()) == ok
    failed = Reply.failure("a.conf:3: unknown option 'x'\na.conf:9: missing ';'")
    line = failed.to_line()
    assert line.count(b"\n") == 1
    assert json.loads(line) == {"ok": False, "error": failed.error}
    assert Reply.from_line(line) == failed


def test_reply_with_non_json_result_cannot_be_encoded() -> None:
    with pytest.raises(TypeError):
        Reply.success({"at": object()}).to_line()
    with pytest.raises(ValueError, match="JSON compliant"):
        Reply.success(float("nan")).to_line()


@pytest.mark.parametrize(
    "line",
    [b"{}", b'{"ok": false}', b'{"ok": "yes"}', b'{"ok": false, "error": 3}', b"[]"],
)
def test_bad_reply_is_a_control_error(line: bytes) -> None:
    with pytest.raises(ControlError, match=r"^bad reply"):
        Reply.from_line(line)
