"""NOTIFY through a running daemon: answered as BIND answers, and counted."""

import dns.asyncquery
import dns.flags
import dns.message
import dns.opcode
import dns.rcode

from tests.integration.named import free_port
from tests.integration.zonesync_run import (
    Secondary,
    run_daemon,
    secondary_zone,
    send_notify,
)
from zonesync.server.notify_in import NotifyResult


async def notify_from(address, source, zone="example.com"):
    query = dns.message.make_query(f"{zone}.", "SOA", flags=dns.flags.AA)
    query.set_opcode(dns.opcode.NOTIFY)
    host, port = address
    return await dns.asyncquery.udp(query, host, timeout=5, port=port, source=source)


async def test_notify_results_are_answered_and_counted(secondary: Secondary) -> None:
    # The primary's port is closed: only NOTIFY handling matters here.
    secondary.write(secondary_zone("example.com", [(free_port(), None)]))
    async with run_daemon(secondary) as zs:
        reply = await send_notify(zs.address, "example.com", 7)
        assert reply.rcode() == dns.rcode.NOERROR
        assert reply.flags & dns.flags.AA
        reply = await notify_from(zs.address, "127.0.0.2")
        assert reply.rcode() == dns.rcode.REFUSED
        reply = await notify_from(zs.address, "127.0.0.1", zone="unknown.example")
        assert reply.rcode() == dns.rcode.NOTAUTH
        await zs.wait_for_log(
            r"^zone example\.com/IN: refused notify from non-primary: 127\.0\.0\.2#\d+$",
            5,
        )

        def count(result):
            return zs.daemon.registry.get_sample_value(
                "zonesync_notifies_received_total", {"result": result.value}
            )

        assert count(NotifyResult.ACCEPTED) == 1
        assert count(NotifyResult.NOT_PRIMARY) == 1
        assert count(NotifyResult.UNKNOWN_ZONE) == 1
        assert count(NotifyResult.MALFORMED) == 0
