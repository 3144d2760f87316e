"""The phases of the transfer benchmark, each interleaved round by round.

In every round each server runs once per case, and the order of the servers
turns by one from round to round (BIND, Knot, zonesync; then Knot,
zonesync, BIND; ...), so slow drift of this VM hits all of them alike.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.zone

from lib import zonegen
from lib.axfr import IxfrStep, discard, run_axfr
from lib.manyzones import run_cold_start, run_restart
from lib.servers import SECONDARIES, Primary, Zone

KINDS = ("bind", "knot", "zonesync")
# BIND "tuned" for many zones, as in issue 5: SOA queries and transfers are
# otherwise rate-limited to 20/s and 10 at once (2 per primary).
TUNED = ("serial-query-rate 1000;", "transfers-in 100;")
PRIMARY_SECONDS = 900.0  # loading 1.1M records and 11,000 zones


def rotated(items: Sequence[Any], round_: int) -> list[Any]:
    """`items` turned left by `round_`."""
    shift = round_ % len(items)
    return [*items[shift:], *items[:shift]]


def progress(text: str) -> None:
    """One progress line on stderr (the tables go to stdout)."""
    print(text, file=sys.stderr, flush=True)


@dataclass
class Setup:
    """The primary and the zones it serves."""

    primary: Primary
    large: dict[str, Zone] = field(default_factory=dict)  # by size label
    ixfr: IxfrStep | None = None
    cold: list[Zone] = field(default_factory=list)
    restart: list[Zone] = field(default_factory=list)


def start_primary(
    directory: Path, sizes: dict[str, int], cold: int, restart: int
) -> Setup:
    """Write every zone, start the primary, wait until it has loaded them."""
    setup = Setup(Primary(directory))
    largest = max(sizes, key=lambda label: sizes[label]) if sizes else None
    for label, records in sizes.items():
        zone = Zone(f"bench{label}.example", records)
        progress(f"generating {zone.name}: {records:,} records")
        body = zonegen.write_large(zone.origin, records, directory)
        path = directory / f"{zone.name}.db"
        zonegen.write_version(zone.origin, body, path, 0)
        setup.primary.add_zone(zone, path, ixfr=label == largest)
        setup.large[label] = zone
        if label == largest:
            setup.ixfr = IxfrStep(setup.primary, zone, path, body)
    small = directory / "small"
    small.mkdir(exist_ok=True)
    for family, count, target in (
        ("cold", cold, setup.cold),
        ("restart", restart, setup.restart),
    ):
        for i in range(count):
            zone = Zone(f"z{i}.{family}.example", zonegen.SMALL_RECORDS)
            path = small / f"{zone.name}.db"
            path.write_text(zonegen.small(zone.origin, i))
            setup.primary.add_zone(zone, path)
            target.append(zone)
    progress("starting the primary")
    setup.primary.start(PRIMARY_SECONDS)
    return setup


def axfr_phase(
    setup: Setup, work: Path, runs: int, keep: bool
) -> tuple[list[dict[str, Any]], list[str]]:
    """AXFR of every size, with and without TSIG; the IXFR step on the largest."""
    rows: list[dict[str, Any]] = []
    smallest = min(setup.large, key=lambda label: setup.large[label].records)
    compare = work / "compare"
    compare.mkdir(exist_ok=True)
    for round_ in range(runs):
        cases = itertools.product(setup.large.items(), (False, True))
        for (label, zone), tsig in cases:
            for kind in rotated(KINDS, round_):
                name = f"axfr-{label}-{'tsig' if tsig else 'plain'}-{kind}-r{round_}"
                secondary = SECONDARIES[kind](
                    work / name, setup.primary.port, [zone], tsig=tsig
                )
                ixfr = setup.ixfr
                if ixfr is None or zone != ixfr.zone or tsig:
                    ixfr = None
                row = run_axfr(secondary, zone, setup.primary, ixfr)
                row.update(
                    size=label,
                    records=zone.records,
                    tsig=tsig,
                    server=kind,
                    round=round_,
                )
                rows.append(row)
                progress(_axfr_text(name, row))
                # The signed runs: the IXFR step edits the zone between the
                # unsigned ones, never between these.
                if round_ == 0 and label == smallest and tsig:
                    secondary.zone_file(zone).replace(compare / f"{kind}.db")
                discard(work / name, keep)
    notes = _compare(compare, setup.large[smallest])
    unexpected = [
        row
        for row in rows
        if row["primary_saw"] != (["AXFR TSIG"] if row["tsig"] else ["AXFR"])
    ]
    if unexpected:
        notes.append(
            f"{len(unexpected)} run(s) where the primary did not log exactly one "
            "AXFR, signed when asked: see primary_saw in the JSON."
        )
    return rows, notes


def _axfr_text(name: str, row: dict[str, Any]) -> str:
    text = f"{name}: {row['wall_seconds']:.3f} s, {row['peak_rss_bytes'] / 1e6:.0f} MB"
    step = row.get("ixfr")
    if step is not None:
        file_seconds = step["notify_to_file_seconds"]
        file_text = "-" if file_seconds is None else f"{file_seconds:.3f} s"
        durable = step["notify_to_durable_seconds"]
        text += f"; IXFR durable {durable:.3f} s, file {file_text}"
    return text


def _compare(directory: Path, zone: Zone) -> list[str]:
    """Whether the three secondaries wrote the same records (read by dnspython)."""
    sets = {}
    for kind in KINDS:
        path = directory / f"{kind}.db"
        if path.exists():
            parsed = dns.zone.from_file(str(path), zone.origin, relativize=False)
            sets[kind] = {
                (name, ttl, rdata) for name, ttl, rdata in parsed.iterate_rdatas()
            }
    if len(sets) < 2:
        return []
    first = next(iter(sets.values()))
    same = all(records == first for records in sets.values())
    verdict = "the same" if same else "DIFFERENT"
    return [
        f"The {zone.name} zone files written by {', '.join(sets)} hold {verdict} "
        f"records ({len(first):,}, compared by dnspython)."
    ]


COLD_CONFIGS = (
    ("bind", "defaults"),
    ("bind", "tuned"),
    ("knot", "defaults"),
    ("zonesync", "defaults"),
    ("zonesync", "tuned"),
)


def cold_phase(setup: Setup, work: Path, runs: int) -> list[dict[str, Any]]:
    """Many small zones from nothing, each config of `COLD_CONFIGS` per round."""
    rows = []
    for round_ in range(runs):
        for kind, config in rotated(COLD_CONFIGS, round_):
            name = f"cold-{kind}-{config}-r{round_}"
            secondary = SECONDARIES[kind](
                work / name,
                setup.primary.port,
                setup.cold,
                tsig=False,
                options=TUNED if config == "tuned" else (),
            )
            row = run_cold_start(secondary, setup.cold, zonegen.SMALL_RECORDS)
            row.update(server=kind, config=config, zones=len(setup.cold), round=round_)
            rows.append(row)
            progress(f"{name}: {row['wall_seconds']:.3f} s")
            # Kept until the whole run ends (see bench/README.md, "How to
            # read"): on ext4 without a journal, inodes freed in the last
            # minutes are skipped one by one when new files are made, so
            # deleting 1,000 files here slowed whichever server ran next.
    return rows


def restart_phase(
    setup: Setup, work: Path, runs: int, keep: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fill each server with the restart zones once, then restart it per round."""
    prep = []
    secondaries = {}
    for kind in KINDS:
        secondary = SECONDARIES[kind](
            work / f"restart-{kind}",
            setup.primary.port,
            setup.restart,
            tsig=False,
            options=TUNED,
        )
        row = run_cold_start(secondary, setup.restart, zonegen.SMALL_RECORDS)
        row.update(server=kind, config="tuned", zones=len(setup.restart))
        prep.append(row)
        secondaries[kind] = secondary
        progress(
            f"restart-{kind}: cold start of {len(setup.restart):,} zones {row['wall_seconds']:.3f} s"
        )
    rows = []
    for round_ in range(runs):
        for kind in rotated(KINDS, round_):
            row = run_restart(secondaries[kind], len(setup.restart))
            row.update(server=kind, round=round_)
            rows.append(row)
            empty_dir = work / f"empty-{kind}-r{round_}"
            empty = SECONDARIES[kind](empty_dir, setup.primary.port, [], tsig=False)
            row0 = run_restart(empty, 0)
            row0.update(server=kind, round=round_)
            rows.append(row0)
            discard(empty_dir, keep)
            progress(
                f"restart-{kind}-r{round_}: {row['wall_seconds']:.3f} s, idle "
                f"{row['idle_rss_bytes'] / 1e6:.1f} MB (no zones {row0['idle_rss_bytes'] / 1e6:.1f} MB), "
                f"{row['transfers']} transfers"
            )
    for kind in KINDS:
        discard(work / f"restart-{kind}", keep)
    return rows, prep
