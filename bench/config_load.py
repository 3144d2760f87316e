"""Time `load_config` against `named-checkconf` on the same large named.conf.

Generates a named.conf with N secondary zones (default 10,000) split over
two views with key-based match-clients, TSIG keys and a primaries list, then
runs, interleaved, `named-checkconf FILE` and zonesync's `load_config(FILE)`
(each in a fresh process, so imports and start-up count for both) and
reports the median wall time of each and their ratio.

    .venv/bin/python bench/config_load.py [--zones 10000] [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "c2VjcmV0LXZhbHVlLTEyMzQ="
# Measured inside the child process: only load_config, after imports.
_CHILD = """
import sys, time
from zonesync.config import load_config
t0 = time.perf_counter()
config = load_config(sys.argv[1])
elapsed = time.perf_counter() - t0
zones = sum(1 for _ in config.zones)
print(f"{elapsed:.6f} {zones}")
"""


def generate(zones: int, views: bool = True) -> str:
    """A named.conf with `zones` secondary zones, over two views or none."""
    out = [
        f'key "internal-xfr" {{ algorithm hmac-sha256; secret "{SECRET}"; }};',
        f'key "external-xfr" {{ algorithm hmac-sha512; secret "{SECRET}"; }};',
        "primaries upstream port 53 {",
        '    192.0.2.1 key "internal-xfr";',
        "    192.0.2.2;",
        "    2001:db8::53;",
        "};",
        "acl trusted { 10.0.0.0/8; 192.168.0.0/16; };",
        "options {",
        '    directory "/tmp";',
        "    recursion no;",
        "    allow-transfer { trusted; };",
        "    max-refresh-time 86400;",
        "};",
    ]
    for view, key in (("internal", "internal-xfr"), ("external", "external-xfr")):
        if views:
            out.append(f'view "{view}" {{')
            out.append(f'    match-clients {{ key "{key}"; trusted; }};')
        for i in range(zones // 2):
            out.append(
                f'    zone "{"" if views else view + "."}zone{i}.example.com" {{\n'
                "        type secondary;\n"
                f'        file "{view}/zone{i}.example.com.db";\n'
                "        primaries { upstream; };\n"
                "        // one comment per zone, as generated configs often have\n"
                "    };"
            )
        if views:
            out.append("};")
    return "\n".join(out) + "\n"


def time_checkconf(path: Path) -> float:
    checkconf = shutil.which("named-checkconf") or "/usr/bin/named-checkconf"
    t0 = time.perf_counter()
    subprocess.run([checkconf, str(path)], check=True)
    return time.perf_counter() - t0


def time_zonesync(path: Path) -> tuple[float, float, int]:
    """(load_config seconds, whole process seconds, zones loaded)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    load, zones = done.stdout.split()
    return float(load), wall, int(zones)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--no-views", action="store_true", help="all zones at the top level"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "named.conf"
        path.write_text(generate(args.zones, views=not args.no_views))
        size = path.stat().st_size
        bind, load, process = [], [], []
        zones = 0
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            bind.append(time_checkconf(path))
            seconds, wall, zones = time_zonesync(path)
            load.append(seconds)
            process.append(wall)
    result = {
        "zones": zones,
        "bytes": size,
        "runs": args.runs,
        "named_checkconf_seconds": statistics.median(bind),
        "load_config_seconds": statistics.median(load),
        "zonesync_process_seconds": statistics.median(process),
    }
    result["ratio_load_to_checkconf"] = (
        result["load_config_seconds"] / result["named_checkconf_seconds"]
    )
    print(
        f"| config | {zones} zones ({'no views' if args.no_views else 'two views'}), "
        f"{size / 1e6:.1f} MB, median of {args.runs} runs |"
    )
    print("| --- | --- |")
    print(
        f"| named-checkconf (whole process) | {result['named_checkconf_seconds']:.3f} s |"
    )
    print(f"| zonesync load_config | {result['load_config_seconds']:.3f} s |")
    print(
        f"| zonesync process (imports + load) | {result['zonesync_process_seconds']:.3f} s |"
    )
    print(
        f"| load_config / named-checkconf | {result['ratio_load_to_checkconf']:.2f}x |"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
