"""One AXFR run of one secondary, and the IXFR step that may follow it.

Completion of an AXFR, by server:

- zonesync publishes its zone file by an atomic rename, so the first moment
  the file is seen with the expected record count is completion;
- BIND and Knot: completion is the first moment at which both their log line
  of a completed transfer (`zone Z/IN: transferred serial N`, Knot's
  `[Z.] refresh, ... zone updated, ... serial none -> N`) has been written
  and the zone file holds the expected record count.

Wall time runs from the moment the process is started (the time to its
`Transfer started.` line, Knot's `AXFR, incoming, ... started`, is kept
apart as start-up); CPU (user + system,
all threads) and peak RSS (VmHWM) are read from /proc at completion, so
start-up counts and shutdown does not. wait4's figures after the stop,
which include shutdown, go into the JSON beside them.

The IXFR step (on the largest zone, without TSIG) edits 100 A records at the
primary and SIGHUPs it; its NOTIFY goes to the secondary under test. Times
run from the primary's `zone Z/IN: sending notifies (serial N)` line: to the
secondary's log line that the new serial is stored (BIND: in its journal;
Knot: in its journal; zonesync: in its zone file and state file), and to
the zone file on disk holding serial N.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib import zonegen
from lib.process import BenchError, Deadline, Process
from lib.servers import KEY_NAME, Primary, Secondary, Zone
from lib.zonefiles import count_records, wait_file_complete, wait_serial

NOTIFY_SECONDS = 300.0  # the primary rereads and diffs the 1M-record file
IXFR_SECONDS = 120.0
# BIND writes IXFR changes to its journal and the zone file only
# DNS_DUMP_DELAY (900 s, lib/dns/zone.c) later; wait this long, then say so.
IXFR_FILE_SECONDS = 20.0


def axfr_seconds(records: int) -> float:
    """The deadline of one AXFR: generous, zonesync is slow before issue 5."""
    return 60.0 + records * 0.0006


@dataclass
class IxfrStep:
    """What the IXFR step needs: the primary, the zone's body and its version."""

    primary: Primary
    zone: Zone
    zone_file: Path
    body: Path
    version: int = 0


def _xfr_types(primary: Primary, zone: Zone, since: int) -> list[str]:
    assert primary.process is not None
    pattern = re.compile(
        rf"transfer of '{re.escape(zone.name)}/IN': "
        rf"(AXFR-style IXFR|IXFR|AXFR) started(: TSIG {KEY_NAME})?"
    )
    found = []
    for line in primary.process.log.since(since):
        match = pattern.search(line)
        if match is not None:
            found.append(match.group(1) + (" TSIG" if match.group(2) else ""))
    return found


def run_axfr(
    secondary: Secondary, zone: Zone, primary: Primary, ixfr: IxfrStep | None
) -> dict[str, Any]:
    """Start `secondary`, time its AXFR of `zone`, maybe the IXFR; stop it."""
    assert primary.process is not None
    mark = primary.process.log.mark()
    secondary.write_config()
    process = secondary.start()
    result: dict[str, Any] = {}
    try:
        deadline = Deadline(axfr_seconds(zone.records), f"{secondary.kind} AXFR")
        path = secondary.zone_file(zone)
        pattern = secondary.transferred_pattern(zone.name)
        if secondary.kind == "zonesync":
            seen = wait_file_complete(path, zone.records, deadline)
            usage = process.usage()
            _, logged_at = process.wait_for(pattern, deadline)
        else:
            _, logged_at = process.wait_for(pattern, deadline)
            seen = wait_file_complete(path, zone.records, deadline)
            usage = process.usage()
        done_at = seen.seen_at
        if secondary.kind != "zonesync":
            done_at = max(done_at, logged_at)
        started_at = process.log.first(secondary.transfer_started_pattern)
        result = {
            "wall_seconds": done_at - process.started_at,
            "started_seconds": (
                started_at - process.started_at if started_at is not None else None
            ),
            "log_seconds": logged_at - process.started_at,
            "cpu_seconds": usage.cpu_seconds,
            "peak_rss_bytes": usage.peak_rss_bytes,
            "file_bytes": seen.size_bytes,
            "primary_saw": _xfr_types(primary, zone, mark),
        }
        if ixfr is not None:
            result["ixfr"] = run_ixfr(secondary, process, ixfr)
    finally:
        rusage = process.stop()
    result["rusage_cpu_seconds"] = rusage.cpu_seconds
    result["rusage_maxrss_bytes"] = rusage.peak_rss_bytes
    return result


def run_ixfr(secondary: Secondary, process: Process, step: IxfrStep) -> dict[str, Any]:
    """Edit 100 records at the primary, reload it, time the secondary's IXFR."""
    primary = step.primary
    assert primary.process is not None
    step.version += 1
    serial = zonegen.write_version(
        step.zone.origin, step.body, step.zone_file, step.version
    )
    mark = primary.reload(secondary.port)
    _, notified_at = primary.process.wait_for(
        rf"zone {re.escape(step.zone.name)}/IN: sending notifies \(serial {serial}\)",
        Deadline(NOTIFY_SECONDS, "primary reload and NOTIFY"),
        mark,
    )
    _, durable_at = process.wait_for(
        secondary.transferred_pattern(step.zone.name, serial),
        Deadline(IXFR_SECONDS, f"{secondary.kind} IXFR"),
    )
    path = secondary.zone_file(step.zone)
    file_seconds: float | None = None
    try:
        file_at = wait_serial(
            path, serial, Deadline(IXFR_FILE_SECONDS, f"{secondary.kind} file rewrite")
        )
        file_seconds = file_at - notified_at
    except BenchError:  # not rewritten within the wait: BIND's case, reported
        file_seconds = None
    steady = process.wait_idle_rss(Deadline(10.0, "steady RSS"))
    records = count_records(path) if file_seconds is not None else None
    return {
        "serial": serial,
        "notify_to_durable_seconds": durable_at - notified_at,
        "notify_to_file_seconds": file_seconds,
        "file_wait_seconds": IXFR_FILE_SECONDS,
        "file_records": records,
        "steady_rss_bytes": steady,
        "primary_saw": _xfr_types(primary, step.zone, mark),
    }


def discard(directory: Path, keep: bool) -> None:
    """Remove a run's directory unless asked to keep it."""
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)
