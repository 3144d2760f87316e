"""Many small zones: a cold start (every zone transferred) and a restart.

Cold start: from the process start until every zone file holds its 10
records; for BIND and Knot also until their log holds one completed
transfer line per zone (whichever comes last), for zonesync the files alone
(each appears by an atomic rename).

Restart: the same server, stopped after a cold start of its own, is started
again on the zone files (and, for zonesync, the state files) it wrote. Time
runs from the process start until every zone is loaded and scheduled:
BIND's `running` (logged after `all zones loaded`), one Knot
`[Z.] loaded, serial ...` line per zone, zonesync's `running: N zone(s)`
and one `zone Z/IN: loaded serial N` per zone. Idle RSS is read once it
holds still (two samples 0.25 s apart within 1 %); the same with no zones
gives the per-zone memory: (RSS with N zones - RSS with none) / N. A
transfer started during the restart is counted and reported.
"""

from __future__ import annotations

from typing import Any

from lib.process import Deadline
from lib.servers import Secondary, Zone
from lib.zonefiles import wait_files_complete

COLD_SECONDS = 600.0  # BIND's defaults take 50 s for 1,000 zones
RESTART_SECONDS = 600.0  # zonesync before issue 5: over 3 minutes for 10,000
IDLE_SECONDS = 15.0


def run_cold_start(
    secondary: Secondary, zones: list[Zone], records: int
) -> dict[str, Any]:
    """Start `secondary` with no zone files; time until every zone is on disk."""
    secondary.write_config()
    process = secondary.start()
    try:
        deadline = Deadline(COLD_SECONDS, f"{secondary.kind} cold start")
        files_at = wait_files_complete(
            [secondary.zone_file(zone) for zone in zones], records, deadline
        )
        usage = process.usage()
        _, logged_at = process.wait_for(
            secondary.transferred_pattern(None), deadline, count=len(zones)
        )
        done_at = files_at if secondary.kind == "zonesync" else max(files_at, logged_at)
        result = {
            "wall_seconds": done_at - process.started_at,
            "cpu_seconds": usage.cpu_seconds,
            "peak_rss_bytes": usage.peak_rss_bytes,
        }
    finally:
        rusage = process.stop()
    result["rusage_cpu_seconds"] = rusage.cpu_seconds
    result["rusage_maxrss_bytes"] = rusage.peak_rss_bytes
    return result


def run_restart(secondary: Secondary, zones: int) -> dict[str, Any]:
    """Start `secondary` on the zones it holds on disk; time until all are loaded."""
    secondary.write_config()
    process = secondary.start()
    try:
        deadline = Deadline(RESTART_SECONDS, f"{secondary.kind} restart")
        done_at = process.started_at
        for pattern, count in secondary.loaded_patterns(zones):
            if count > 0:
                _, at = process.wait_for(pattern, deadline, count=count)
                done_at = max(done_at, at)
        usage = process.usage()
        idle = process.wait_idle_rss(Deadline(IDLE_SECONDS, "idle RSS"))
        result = {
            "zones": zones,
            "wall_seconds": done_at - process.started_at,
            "cpu_seconds": usage.cpu_seconds,
            "idle_rss_bytes": idle,
            "transfers": process.log.count(secondary.transfer_started_pattern),
        }
    finally:
        process.stop()
    return result
