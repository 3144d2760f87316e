"""Time zone transfers to a file: zonesync against BIND 9.18 and Knot, same run.

One BIND 9.18 primary on 127.0.0.1 serves generated zones (10k, 100k and 1M
records of a realistic mix of types, see lib/zonegen.py) with a TSIG key.
Then, interleaved round by round (lib/phases.py), a BIND secondary
(`masterfile-format text`), a Knot secondary and zonesync each:

- transfer each zone by AXFR to a zone file, without and with TSIG: wall
  time from the process start until the file is complete, peak RSS, CPU
  (lib/axfr.py says exactly when a file counts as complete);
- after the unsigned AXFR of the largest zone, take an IXFR of 100 changed
  records, timed from the primary's NOTIFY to the new serial durable and to
  the zone file rewritten;
- cold-start with 1,000 zones of 10 records, until every file is written
  (BIND with its defaults and tuned; zonesync with the same two named.conf);
- restart on 10,000 fresh zones on disk, until every zone is loaded, and
  the idle memory per zone (lib/manyzones.py).

It prints a Markdown table and writes it with the JSON of every run to
--out (latest.md, latest.json).

    .venv/bin/python bench/xfr.py [--sizes 10k,100k,1m] [--runs 3] [--out bench/results]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from lib import report, zonegen
from lib.phases import axfr_phase, cold_phase, progress, restart_phase, start_primary

PHASES = ("axfr", "cold", "restart")
HERE = Path(__file__).resolve().parent


def parse_size(text: str) -> int:
    """`10k`, `100k`, `1m` or a plain number of records."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def _output(argv: list[str], cwd: str | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=cwd)
    return (done.stdout or done.stderr).strip().splitlines()[0]


def describe(args: argparse.Namespace) -> dict[str, Any]:
    """Versions, machine and command of this run."""
    named = shutil.which("named") or "/usr/sbin/named"
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    # The zonesync the servers run: PYTHONPATH may point at a clean checkout.
    source = _output(
        [
            sys.executable,
            "-c",
            "import os, zonesync; print(os.path.dirname(zonesync.__file__))",
        ],
        cwd="/",  # `python -c` looks in the current directory first
    )
    commit = _output(["git", "-C", source, "describe", "--always", "--dirty"])
    # Installed zonesync is byte-compiled (pip and Debian do it at install);
    # with PYTHONDONTWRITEBYTECODE set, every start would compile it again.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", source], check=True, cwd="/"
    )
    command = shlex.join([".venv/bin/python", "bench/xfr.py", *sys.argv[1:]])
    if os.environ.get("PYTHONPATH"):
        command = f"PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])} {command}"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "machine": f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
        "bind": _output([named, "-v"]),
        "knot": _output([knotd, "-V"]),
        "zonesync": f"{commit} ({Path(source).parent})",
        "python": platform.python_version(),
        "runs": args.runs,
        "changed": zonegen.CHANGED,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="zone sizes in records")
    parser.add_argument("--runs", type=int, default=3, help="rounds of every case")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"any of {', '.join(PHASES)}"
    )
    parser.add_argument("--cold-zones", type=int, default=1_000)
    parser.add_argument("--restart-zones", type=int, default=10_000)
    parser.add_argument(
        "--work", type=Path, help="where servers run (default: a temp dir)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the servers' directories"
    )
    args = parser.parse_args()
    phases = [phase.strip() for phase in args.phases.split(",") if phase.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    sizes = {}
    if "axfr" in phases:
        sizes = {label.strip(): parse_size(label) for label in args.sizes.split(",")}
    meta = describe(args)
    work = Path(tempfile.mkdtemp(prefix="zonesync-xfr-", dir=args.work))
    progress(f"working in {work}")
    results: dict[str, Any] = {"meta": meta}
    summary: dict[str, Any] = {"notes": []}
    try:
        setup = start_primary(
            work / "primary",
            sizes,
            args.cold_zones if "cold" in phases else 0,
            args.restart_zones if "restart" in phases else 0,
        )
        try:
            if "axfr" in phases:
                rows, notes = axfr_phase(setup, work, args.runs, args.keep)
                results["axfr"] = rows
                summary["axfr"] = report.summarize_axfr(rows)
                summary["ixfr"] = report.summarize_ixfr(rows)
                summary["notes"] += notes
            if "cold" in phases:
                rows = cold_phase(setup, work, args.runs)
                results["cold"] = rows
                summary["cold"] = report.summarize_cold(rows)
            if "restart" in phases:
                rows, prep = restart_phase(setup, work, args.runs, args.keep)
                results["restart"] = rows
                results["restart_cold_start"] = prep
                summary["restart"] = report.summarize_restart(rows, prep)
        finally:
            setup.primary.stop()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["summary"] = summary
    text = report.markdown(summary, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(text)
    (args.out / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    print(text, end="")


if __name__ == "__main__":
    main()
