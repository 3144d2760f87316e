"""packaging/ is valid: alert rules (promtool), the unit (systemd-analyze),
tmpfiles and sysusers entries (systemd's own tools), the Grafana dashboard,
and the many-zones sample's generated include.

promtool comes from Debian's `prometheus` package: without it the tests
skip, and in CI (ZONESYNC_REQUIRE_NAMED=1) they fail. systemd's tools are
used where the machine has them (a container may not); the tmpfiles and
sysusers files also get a format check that needs no tool.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import require_tool
from tests.metrics_support import exported_names

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SAMPLES = REPO / "conf-samples"

# What zonesync exports, read from its own registry: the dashboard and the
# alerts may query nothing else of ours.
METRICS = exported_names()
METRIC_NAME = re.compile(r"\bzonesync_[a-z0-9_]+")


def unknown_metrics(text: str) -> set[str]:
    """The zonesync_* names in a PromQL text that zonesync does not export."""
    unknown = set()
    for name in METRIC_NAME.findall(text):
        if name not in METRICS:
            unknown.add(name)
    return unknown


def systemd_tool(name: str) -> str:
    """A systemd tool's path; skip without it, fail in CI (scripts/test installs systemd)."""
    return require_tool(name)


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )


# Alert rules


def test_promtool_accepts_the_rules() -> None:
    result = run(require_tool("promtool"), "check", "rules", PACKAGING / "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_the_rules_pass_their_unit_tests() -> None:
    """alerts.test.yml: expired, expiring soon, failing, serial, reload, down."""
    result = run(
        require_tool("promtool"),
        "test",
        "rules",
        "alerts.test.yml",
        cwd=PACKAGING,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_query_only_our_metrics() -> None:
    text = (PACKAGING / "alerts.yml").read_text()
    exprs = re.findall(r"expr: (.*?)\n\s+(?:for|labels):", text, re.DOTALL)
    assert len(exprs) == 6
    assert unknown_metrics("\n".join(exprs)) == set()
    names = set(re.findall(r"- alert: (\w+)", text))
    assert {
        "ZonesyncZoneExpired",
        "ZonesyncZoneExpiringSoon",
        "ZonesyncTransfersFailing",
        "ZonesyncSerialBehindPrimary",
        "ZonesyncDown",
    } <= names


# systemd unit, tmpfiles, sysusers


def unit_text() -> str:
    return (PACKAGING / "zonesync.service").read_text()


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    """The unit is clean apart from /usr/bin/zonesync not being installed here.

    The check runs on a copy whose ExecStart names the zonesync this test
    runs with, so systemd-analyze's only possible complaint about the
    missing binary cannot hide another.
    """
    analyze = systemd_tool("systemd-analyze")
    zonesync = Path(sys.executable).with_name("zonesync")
    assert zonesync.exists(), f"{zonesync}: install the package (pip install -e .)"
    text = unit_text()
    assert "ExecStart=/usr/bin/zonesync run " in text
    copy = tmp_path / "zonesync.service"
    copy.write_text(
        text.replace("ExecStart=/usr/bin/zonesync ", f"ExecStart={zonesync} ")
    )
    result = run(analyze, "verify", copy, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.strip() == "", output


def test_unit_runs_as_the_brief_says() -> None:
    settings: dict[str, list[str]] = {}
    for line in unit_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    assert settings["Type"] == ["notify"]
    assert settings["User"] == ["zonesync"]
    assert settings["ExecStart"] == [
        "/usr/bin/zonesync run -c /etc/bind/named.conf --state-dir /var/lib/zonesync"
        " --control /run/zonesync/control $ZONESYNC_OPTS"
    ]
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert settings["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert settings["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["ReadWritePaths"] == [
        "/var/cache/bind /var/lib/zonesync /run/zonesync"
    ]
    assert settings["NoNewPrivileges"] == ["yes"]
    assert settings["Restart"] == ["on-failure"]
    assert settings["TimeoutStopSec"] == ["10"]


def test_tmpfiles_creates_the_directories(tmp_path: Path) -> None:
    """systemd-tmpfiles --create under a scratch root makes both directories.

    The scratch root's passwd and group map `zonesync` and `bind` to the
    user running the test, so the chown works without root.
    """
    tmpfiles = systemd_tool("systemd-tmpfiles")
    (tmp_path / "etc").mkdir()
    uid, gid = os.getuid(), os.getgid()
    (tmp_path / "etc" / "passwd").write_text(
        f"root:x:0:0::/root:/bin/sh\nzonesync:x:{uid}:{gid}::/:/usr/sbin/nologin\n"
    )
    (tmp_path / "etc" / "group").write_text(f"root:x:0:\nbind:x:{gid}:\n")
    result = run(
        tmpfiles, "--create", f"--root={tmp_path}", PACKAGING / "zonesync.tmpfiles"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for directory in ("run/zonesync", "var/lib/zonesync"):
        info = (tmp_path / directory).stat()
        assert oct(info.st_mode & 0o7777) == "0o750", directory
        assert (info.st_uid, info.st_gid) == (uid, gid), directory


def entries(name: str) -> list[list[str]]:
    """The non-comment lines of a packaging file, split into fields."""
    lines = (PACKAGING / name).read_text().splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


def test_tmpfiles_format() -> None:
    """tmpfiles.d(5): type, path, mode, user, group, age."""
    assert entries("zonesync.tmpfiles") == [
        ["d", "/run/zonesync", "0750", "zonesync", "bind", "-"],
        ["d", "/var/lib/zonesync", "0750", "zonesync", "bind", "-"],
    ]


def test_sysusers_format() -> None:
    """sysusers.d(5): the user, then its membership of `bind`."""
    rows = entries("zonesync.sysusers")
    assert [row[:3] for row in rows] == [
        ["u", "zonesync", "-"],
        ["m", "zonesync", "bind"],
    ]


def test_sysusers_creates_the_user(tmp_path: Path) -> None:
    sysusers = systemd_tool("systemd-sysusers")
    (tmp_path / "etc").mkdir()
    result = run(
        sysusers,
        "--dry-run",
        f"--root={tmp_path}",
        PACKAGING / "zonesync.sysusers",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Creating user 'zonesync'" in output


# Grafana dashboard


def dashboard() -> dict[str, Any]:
    data = json.loads((PACKAGING / "grafana-dashboard.json").read_text())
    assert isinstance(data, dict)
    return data


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(all_panels(panel.get("panels", [])))
    return out


def test_dashboard_queries_only_our_metrics() -> None:
    board = dashboard()
    exprs = [
        target["expr"]
        for panel in all_panels(board["panels"])
        for target in panel.get("targets", [])
    ]
    exprs += [
        variable["definition"]
        for variable in board["templating"]["list"]
        if variable["type"] == "query"
    ]
    assert len(exprs) > 20
    assert unknown_metrics("\n".join(exprs)) == set()


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Each query, its Grafana variables filled in, parses as a recording rule."""
    board = dashboard()
    exprs = [
        target["expr"]
        for panel in all_panels(board["panels"])
        for target in panel.get("targets", [])
    ]
    filled = {"$__rate_interval": "5m", "$instance": ".*", "$view": ".*", "$zone": ".*"}
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for number, expr in enumerate(exprs):
        for variable, value in filled.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        lines += [
            f"      - record: dashboard:query{number}",
            f"        expr: {json.dumps(expr)}",
        ]
    rules = tmp_path / "dashboard-rules.yml"
    rules.write_text("\n".join(lines) + "\n")
    result = run(require_tool("promtool"), "check", "rules", rules)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_has_the_panels_operators_need() -> None:
    board = dashboard()
    text = json.dumps(board)
    for family in (
        "zonesync_zone_refresh_timestamp_seconds",  # freshness
        "zonesync_zone_expiry_timestamp_seconds",  # expiry countdown
        "zonesync_transfers_total",  # transfer rate
        "zonesync_transfer_failures_total",  # failures by reason
        "zonesync_notifies_received_total",  # NOTIFY by result
        "zonesync_transfer_duration_seconds_bucket",  # duration quantiles
        "zonesync_transfers_running",
        "zonesync_transfers_queued",
    ):
        assert family in text, family
    assert "histogram_quantile(0.99" in text


def test_dashboard_panels_use_the_datasource_variable() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = []
    for panel in all_panels(board["panels"]):
        ids.append(panel["id"])
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    assert len(ids) == len(set(ids)), "panel ids repeat"


# Samples that go with the package


def test_many_zones_include_is_what_make_zones_writes() -> None:
    sample = SAMPLES / "many-zones"
    result = run(require_tool("sh"), sample / "make-zones.sh")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (sample / "zones.conf").read_text()
    assert result.stdout.count("type secondary;") == 1000


def test_env_file_sets_only_zonesync_opts() -> None:
    assignments = [
        line
        for line in (SAMPLES / "zonesync.env").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert [line.partition("=")[0] for line in assignments] == ["ZONESYNC_OPTS"]
    assert "$ZONESYNC_OPTS" in unit_text()
    assert "EnvironmentFile=-/etc/default/zonesync" in unit_text()


def test_the_unit_and_env_file_use_only_real_run_options() -> None:
    from zonesync.cli import run as run_command

    known = {opt for param in run_command.params for opt in param.opts}
    exec_start = re.search(r"^ExecStart=(.*)$", unit_text(), re.MULTILINE)
    assert exec_start is not None
    env = (SAMPLES / "zonesync.env").read_text()
    opts = re.search(r'^ZONESYNC_OPTS="(.*)"$', env, re.MULTILINE)
    assert opts is not None
    # The options the comments list, too, as `#   --name ...`.
    listed = re.findall(r"^#\s+(--[a-z-]+)", env, re.MULTILINE)
    used = re.findall(
        r"(?<!\S)(--?[a-z][a-z-]*)", exec_start.group(1) + " " + opts.group(1)
    )
    assert listed
    assert set(used + listed) <= known
