"""Medians, ratios to BIND, and the Markdown tables of the transfer benchmark."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

SERVERS = ("bind", "knot", "zonesync")
LABELS = {"bind": "BIND", "knot": "Knot", "zonesync": "zonesync"}

Row = dict[str, Any]


def _median(rows: Iterable[Row], get: Callable[[Row], float | None]) -> float | None:
    values = [value for value in map(get, rows) if value is not None]
    return statistics.median(values) if values else None


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def _group(rows: Iterable[Row], *keys: str) -> dict[tuple[Any, ...], list[Row]]:
    groups: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[key] for key in keys)].append(row)
    return groups


def summarize_axfr(rows: list[Row]) -> list[Row]:
    """One row per (size, TSIG, server): medians over the rounds, ratios to BIND."""
    out = []
    groups = _group(rows, "size", "tsig", "server")
    for (size, tsig, server), runs in groups.items():
        out.append(
            {
                "size": size,
                "records": runs[0]["records"],
                "tsig": tsig,
                "server": server,
                "runs": len(runs),
                "wall_seconds": _median(runs, lambda r: r["wall_seconds"]),
                "wall_min_seconds": min(r["wall_seconds"] for r in runs),
                "wall_max_seconds": max(r["wall_seconds"] for r in runs),
                "started_seconds": _median(runs, lambda r: r.get("started_seconds")),
                "cpu_seconds": _median(runs, lambda r: r["cpu_seconds"]),
                "peak_rss_bytes": _median(runs, lambda r: r["peak_rss_bytes"]),
            }
        )
    base = {(r["size"], r["tsig"]): r for r in out if r["server"] == "bind"}
    for row in out:
        bind = base.get((row["size"], row["tsig"]), {})
        for key in ("wall_seconds", "cpu_seconds", "peak_rss_bytes"):
            row[key.rsplit("_", 1)[0] + "_ratio"] = _ratio(row[key], bind.get(key))
    return out


def summarize_ixfr(rows: list[Row]) -> list[Row]:
    """One row per server: medians of the IXFR figures, ratios to BIND."""
    out = []
    for (server,), runs in _group([r for r in rows if "ixfr" in r], "server").items():
        steps = [r["ixfr"] for r in runs]
        out.append(
            {
                "server": server,
                "size": runs[0]["size"],
                "records": runs[0]["records"],
                "runs": len(steps),
                "notify_to_durable_seconds": _median(
                    steps, lambda s: s["notify_to_durable_seconds"]
                ),
                "notify_to_file_seconds": _median(
                    steps, lambda s: s["notify_to_file_seconds"]
                ),
                "file_rewritten_runs": sum(
                    1 for s in steps if s["notify_to_file_seconds"] is not None
                ),
                "file_wait_seconds": steps[0]["file_wait_seconds"],
                "steady_rss_bytes": _median(steps, lambda s: s["steady_rss_bytes"]),
                "transfer": sorted({t for s in steps for t in s["primary_saw"]}),
            }
        )
    bind = next((r for r in out if r["server"] == "bind"), {})
    for row in out:
        for key in ("notify_to_durable_seconds", "steady_rss_bytes"):
            row[key.rsplit("_", 1)[0] + "_ratio"] = _ratio(row[key], bind.get(key))
    return out


def summarize_cold(rows: list[Row]) -> list[Row]:
    """One row per (server, config): medians, ratios to BIND's defaults and tuned."""
    out = []
    for (server, config), runs in _group(rows, "server", "config").items():
        out.append(
            {
                "server": server,
                "config": config,
                "zones": runs[0]["zones"],
                "runs": len(runs),
                "wall_seconds": _median(runs, lambda r: r["wall_seconds"]),
                "wall_min_seconds": min(r["wall_seconds"] for r in runs),
                "wall_max_seconds": max(r["wall_seconds"] for r in runs),
                "cpu_seconds": _median(runs, lambda r: r["cpu_seconds"]),
                "peak_rss_bytes": _median(runs, lambda r: r["peak_rss_bytes"]),
            }
        )
    bases = {r["config"]: r for r in out if r["server"] == "bind"}
    for row in out:
        for config in ("defaults", "tuned"):
            wall = bases.get(config, {}).get("wall_seconds")
            row[f"wall_ratio_bind_{config}"] = _ratio(row["wall_seconds"], wall)
    return out


def summarize_restart(rows: list[Row], prep: list[Row]) -> list[Row]:
    """One row per server: restart time, idle RSS with and without zones."""
    out = []
    loaded = _group([r for r in rows if r["zones"] > 0], "server")
    empty = _group([r for r in rows if r["zones"] == 0], "server")
    cold = {r["server"]: r for r in prep}
    for (server,), runs in loaded.items():
        zones = runs[0]["zones"]
        rss = _median(runs, lambda r: r["idle_rss_bytes"])
        rss0 = _median(empty.get((server,), []), lambda r: r["idle_rss_bytes"])
        per_zone = (
            (rss - rss0) / zones if rss is not None and rss0 is not None else None
        )
        out.append(
            {
                "server": server,
                "zones": zones,
                "runs": len(runs),
                "wall_seconds": _median(runs, lambda r: r["wall_seconds"]),
                "wall_min_seconds": min(r["wall_seconds"] for r in runs),
                "wall_max_seconds": max(r["wall_seconds"] for r in runs),
                "idle_rss_bytes": rss,
                "idle_rss_no_zones_bytes": rss0,
                "per_zone_bytes": per_zone,
                "transfers": sum(r["transfers"] for r in runs),
                "cold_start_seconds": cold.get(server, {}).get("wall_seconds"),
            }
        )
    bind = next((r for r in out if r["server"] == "bind"), {})
    for row in out:
        for key in ("wall_seconds", "per_zone_bytes", "cold_start_seconds"):
            row[key.rsplit("_", 1)[0] + "_ratio"] = _ratio(row[key], bind.get(key))
    return out


# -- Markdown ---------------------------------------------------------------------


def seconds(value: float | None) -> str:
    """Seconds with three significant figures or so."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.3f} s"
    if value < 100:
        return f"{value:.2f} s"
    return f"{value:.0f} s"


def megabytes(value: float | None) -> str:
    """Bytes as MB (10^6)."""
    return "-" if value is None else f"{value / 1e6:.1f} MB"


def ratio(value: float | None) -> str:
    """A ratio as `1.23x`."""
    return "-" if value is None else f"{value:.2f}x"


def _order(server: str) -> int:
    return SERVERS.index(server)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def markdown(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    """The tables of a run, with the versions and the command on top."""
    runs = meta["runs"]
    lines = [
        f"# Zone transfer benchmark, {meta['date']}",
        "",
        f"`{meta['command']}`",
        "",
        f"{meta['machine']}; {meta['bind']}; {meta['knot']}; zonesync "
        f"{meta['zonesync']}; Python {meta['python']}. Medians of {runs} "
        "rounds; x BIND is the ratio to the BIND secondary in the same table.",
    ]
    axfr = summary.get("axfr")
    if axfr:
        lines += ["", "## AXFR to a zone file (start to file complete)", ""]
        rows = []
        for row in sorted(
            axfr, key=lambda r: (r["records"], r["tsig"], _order(r["server"]))
        ):
            rows.append(
                [
                    f"{row['records']:,}",
                    "TSIG" if row["tsig"] else "none",
                    LABELS[row["server"]],
                    seconds(row["wall_seconds"]),
                    ratio(row["wall_ratio"]),
                    seconds(row["started_seconds"]),
                    megabytes(row["peak_rss_bytes"]),
                    ratio(row["peak_rss_ratio"]),
                    seconds(row["cpu_seconds"]),
                    ratio(row["cpu_ratio"]),
                ]
            )
        lines += _table(
            [
                "records",
                "TSIG",
                "secondary",
                "wall",
                "x BIND",
                "of which start-up",
                "peak RSS",
                "x BIND",
                "CPU",
                "x BIND",
            ],
            rows,
        )
    ixfr = summary.get("ixfr")
    if ixfr:
        first = ixfr[0]
        lines += [
            "",
            f"## IXFR of {meta['changed']} changed records in the "
            f"{first['records']:,}-record zone (from the primary's NOTIFY)",
            "",
        ]
        rows = []
        for row in sorted(ixfr, key=lambda r: _order(r["server"])):
            file_text = seconds(row["notify_to_file_seconds"])
            if row["file_rewritten_runs"] < row["runs"]:
                file_text = (
                    f"not within {row['file_wait_seconds']:.0f} s"
                    if row["file_rewritten_runs"] == 0
                    else f"{file_text} ({row['file_rewritten_runs']}/{row['runs']})"
                )
            rows.append(
                [
                    LABELS[row["server"]],
                    seconds(row["notify_to_durable_seconds"]),
                    ratio(row["notify_to_durable_ratio"]),
                    file_text,
                    megabytes(row["steady_rss_bytes"]),
                    ratio(row["steady_rss_ratio"]),
                    ", ".join(row["transfer"]),
                ]
            )
        lines += _table(
            [
                "secondary",
                "new serial durable",
                "x BIND",
                "zone file rewritten",
                "steady RSS",
                "x BIND",
                "primary served",
            ],
            rows,
        )
    cold = summary.get("cold")
    if cold:
        lines += ["", f"## {cold[0]['zones']:,} zones of 10 records, cold start", ""]
        rows = []
        for row in sorted(cold, key=lambda r: (_order(r["server"]), r["config"])):
            rows.append(
                [
                    LABELS[row["server"]],
                    row["config"],
                    seconds(row["wall_seconds"]),
                    ratio(row["wall_ratio_bind_defaults"]),
                    ratio(row["wall_ratio_bind_tuned"]),
                    megabytes(row["peak_rss_bytes"]),
                    seconds(row["cpu_seconds"]),
                ]
            )
        lines += _table(
            [
                "secondary",
                "named.conf",
                "all files written",
                "x BIND defaults",
                "x BIND tuned",
                "peak RSS",
                "CPU",
            ],
            rows,
        )
    restart = summary.get("restart")
    if restart:
        zones = restart[0]["zones"]
        lines += ["", f"## Restart with {zones:,} fresh zones on disk", ""]
        rows = []
        for row in sorted(restart, key=lambda r: _order(r["server"])):
            per_zone = row["per_zone_bytes"]
            rows.append(
                [
                    LABELS[row["server"]],
                    seconds(row["wall_seconds"]),
                    ratio(row["wall_ratio"]),
                    megabytes(row["idle_rss_bytes"]),
                    megabytes(row["idle_rss_no_zones_bytes"]),
                    "-" if per_zone is None else f"{per_zone / 1e3:.1f} KB",
                    ratio(row["per_zone_ratio"]),
                    str(row["transfers"]),
                    seconds(row["cold_start_seconds"]),
                ]
            )
        lines += _table(
            [
                "secondary",
                "all zones loaded",
                "x BIND",
                "idle RSS",
                "RSS, no zones",
                "per zone",
                "x BIND",
                "transfers",
                "cold start (tuned)",
            ],
            rows,
        )
    notes = summary.get("notes")
    if notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"
