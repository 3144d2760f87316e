"""Each control command against a fake ControlTarget: no sockets."""

from __future__ import annotations

import json
import logging

import dns.name
import pytest

from tests.unit.control.fakes import NOW, FakeTarget, snapshot
from zonesync.control.commands import handle_line, run_command, to_iso
from zonesync.control.protocol import Reply, Request
from zonesync.errors import ControlError

EXAMPLE = dns.name.from_text("example.com")


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget(
        zones=(
            snapshot("example.com", "_default"),
            snapshot("split.example", "inside"),
            snapshot(
                "split.example",
                "outside",
                serial=None,
                loaded=False,
                failures=3,
                last_error="refresh: timed out",
                last_refresh_at=None,
                last_transfer_at=None,
                expires_at=None,
                expire_seconds=None,
            ),
        )
    )


async def ask(target: FakeTarget, request: Request) -> Reply:
    """The reply a request line gets, parsed back."""
    return Reply.from_line(await handle_line(target, request.to_line()))


def test_to_iso_is_utc_to_the_second() -> None:
    assert to_iso(NOW) == "2026-11-21T10:00:00Z"
    assert to_iso(NOW + 0.999) == "2026-11-21T10:00:00Z"
    assert to_iso(None) is None


async def test_status_turns_times_to_iso_and_paths_to_text(target: FakeTarget) -> None:
    reply = await ask(target, Request("status"))
    assert reply == Reply.success(
        {
            "version": "0.1.0",
            "pid": 4242,
            "uptime_seconds": 12.5,
            "config": "/etc/bind/named.conf",
            "zones": 3,
            "last_reload": "2026-11-21T10:00:00Z",
            "last_reload_ok": True,
        }
    )


async def test_zones_lists_every_zone_in_target_order(target: FakeTarget) -> None:
    reply = await ask(target, Request("zones"))
    assert reply.ok
    assert isinstance(reply.result, list)
    assert [(z["zone"], z["view"], z["state"]) for z in reply.result] == [
        ("example.com", "_default", "loaded"),
        ("split.example", "inside", "loaded"),
        ("split.example", "outside", "failing"),
    ]
    assert reply.result[0] == {
        "zone": "example.com",
        "view": "_default",
        "serial": 2026112101,
        "state": "loaded",
        "loaded": True,
        "expired": False,
        "refreshing": False,
        "last_refresh": "2026-11-21T10:00:00Z",
        "last_transfer": "2026-11-21T09:59:00Z",
        "next_refresh": "2026-11-21T11:00:00Z",
        "expires": "2026-12-05T10:00:00Z",
        "expire_seconds": 1209600,
        "primary": "192.0.2.1#53",
        "primary_serial": 2026112101,
        "failures": 0,
        "last_error": None,
        "records": 120,
        "size_bytes": 5210,
    }
    failing = reply.result[2]
    assert failing["serial"] is None
    assert failing["last_refresh"] is None
    assert failing["last_error"] == "refresh: timed out"


async def test_zones_of_an_empty_config_is_an_empty_list() -> None:
    assert await ask(FakeTarget(), Request("zones")) == Reply.success([])


@pytest.mark.parametrize("name", ["example.com", "example.com.", "EXAMPLE.Com"])
async def test_zonestatus_finds_a_zone_as_a_dns_name(
    target: FakeTarget, name: str
) -> None:
    reply = await ask(target, Request("zonestatus", name))
    assert reply.ok
    assert isinstance(reply.result, dict)
    assert reply.result["zone"] == "example.com"
    assert reply.result["view"] == "_default"


async def test_zonestatus_in_a_view(target: FakeTarget) -> None:
    reply = await ask(target, Request("zonestatus", "split.example", "outside"))
    assert isinstance(reply.result, dict)
    assert (reply.result["view"], reply.result["state"]) == ("outside", "failing")


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (Request("zonestatus", "nosuch.example"), "zone 'nosuch.example': not found"),
        (
            Request("refresh", "example.com", "inside"),
            "zone 'example.com' in view 'inside': not found",
        ),
        (
            Request("zonestatus", "split.example"),
            "zone 'split.example' is in several views (inside, outside): "
            "choose one with --view",
        ),
        (
            Request("refresh", "a..example"),
            "bad zone name 'a..example': A DNS label is empty.",
        ),
        (Request("refresh"), "'refresh' needs a zone"),
        (Request("notify", ""), "'notify' needs a zone"),
        (Request("status", "example.com"), "'status' takes no zone or view"),
        (Request("reload", view="inside"), "'reload' takes no zone or view"),
        (Request("notify", "example.com", wait=True), "'notify' takes no wait"),
        (
            Request("reconfig"),
            "unknown command 'reconfig' (known: status, zones, zonestatus, "
            "refresh, retransfer, notify, reload)",
        ),
    ],
)
async def test_bad_commands_are_error_replies(
    target: FakeTarget, request_: Request, error: str
) -> None:
    assert await ask(target, request_) == Reply.failure(error)
    assert target.calls == []


async def test_refresh_passes_the_name_and_resolved_view(target: FakeTarget) -> None:
    reply = await ask(target, Request("refresh", "Example.COM."))
    assert reply == Reply.success("zone example.com/IN: refresh queued")
    assert target.calls == [("refresh", EXAMPLE, "_default", False, False)]
    assert isinstance(target.calls[0][1], dns.name.Name)


async def test_retransfer_forces_an_axfr_and_can_wait(target: FakeTarget) -> None:
    reply = await ask(target, Request("retransfer", "split.example", "inside", True))
    assert reply == Reply.success(
        "zone split.example/IN: transferred serial 2026112102"
    )
    assert target.calls == [
        ("refresh", dns.name.from_text("split.example"), "inside", True, True)
    ]


async def test_a_failed_wait_is_an_error_reply_saying_why(target: FakeTarget) -> None:
    target.refresh_error = (
        "transfer of 'example.com/IN' from 192.0.2.1#53: failed while receiving "
        "responses: timed out"
    )
    reply = await ask(target, Request("refresh", "example.com", wait=True))
    assert reply == Reply.failure(target.refresh_error)


async def test_notify(target: FakeTarget) -> None:
    reply = await ask(target, Request("notify", "split.example", "outside"))
    assert reply == Reply.success("zone split.example/IN: sending notifies")
    assert target.calls == [("notify", dns.name.from_text("split.example"), "outside")]


async def test_reload_and_its_problems(target: FakeTarget) -> None:
    assert await ask(target, Request("reload")) == Reply.success(
        "configuration reloaded: 2 zones"
    )
    target.reload_problems = (
        "/etc/bind/named.conf:14: missing ';' before '}'",
        "zones.conf:3: zone 'example.com': primaries: unknown key 'xfr'",
    )
    reply = await ask(target, Request("reload"))
    assert not reply.ok
    assert reply.error.splitlines() == list(target.reload_problems)


async def test_bad_json_is_an_error_reply(target: FakeTarget) -> None:
    reply = Reply.from_line(await handle_line(target, b"{nope\n"))
    assert not reply.ok
    assert reply.error.startswith("bad request: not JSON")


async def test_a_bug_in_a_command_is_logged_and_answered_internal_error(
    target: FakeTarget, caplog: pytest.LogCaptureFixture
) -> None:
    target.status_error = RuntimeError("boom")
    with caplog.at_level(logging.ERROR, "zonesync.control.commands"):
        line = await handle_line(target, Request("status").to_line())
    assert json.loads(line) == {
        "ok": False,
        "error": "internal error (see zonesync's log)",
    }
    [record] = caplog.records
    assert record.exc_info is not None
    assert "boom" in caplog.text
    assert "Traceback" in caplog.text


async def test_a_result_that_is_not_json_is_an_internal_error(
    target: FakeTarget, caplog: pytest.LogCaptureFixture
) -> None:
    target.status = lambda: {"handle": object()}  # type: ignore[method-assign]  # a buggy target
    with caplog.at_level(logging.ERROR, "zonesync.control.commands"):
        reply = Reply.from_line(await handle_line(target, Request("status").to_line()))
    assert reply == Reply.failure("internal error (see zonesync's log)")
    assert "TypeError" in caplog.text


async def test_run_command_raises_control_error(target: FakeTarget) -> None:
    with pytest.raises(ControlError, match="not found"):
        await run_command(target, Request("notify", "nosuch.example"))
