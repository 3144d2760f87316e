"""The daemon's start: what `zonesync run` imports, and metrics that are off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import zonesync
from zonesync.daemon import Daemon
from zonesync.settings import Settings

# `zonesync run` in a child process that stops itself once it logs that it
# runs (the SIGTERM goes through the daemon's own handler), then lists every
# module it imported on the way.
RUN_AND_LIST_MODULES = """
import logging, os, signal, sys
from zonesync.cli import main

class StopWhenRunning(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("running:"):
            os.kill(os.getpid(), signal.SIGTERM)

logging.getLogger("zonesync.daemon").addHandler(StopWhenRunning())
main(sys.argv[1:], standalone_mode=False)
print("\\n".join(sorted(sys.modules)))
"""

# Nothing binds: no zones, no listen-on.
CONF = """\
options {
    directory "%s";
    listen-on { none; };
    listen-on-v6 { none; };
};
"""

# What only the metrics endpoint, the control socket or a control verb uses.
NOT_AT_START = (
    "prometheus_client",
    "http.server",
    "zonesync.metrics",
    "zonesync.metrics_http",
    "zonesync.control.client",
    "zonesync.control.commands",
    "zonesync.control.protocol",
    "zonesync.control.server",
    "zonesync.server.notify_out",
    "dns.asyncquery",
    "dns.query",
    # and what only a file the config's fast regex cannot read needs
    "pyparsing",
)


def test_run_with_metrics_and_control_off_imports_neither(tmp_path: Path) -> None:
    conf = tmp_path / "named.conf"
    conf.write_text(CONF % tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    tree = str(Path(zonesync.__file__).parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (tree, env.get("PYTHONPATH"))))
    args = ["run", "-c", str(conf), "--state-dir", str(tmp_path / "state")]
    args += ["--metrics", "off", "--control", "off"]
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "running: 0 zone(s), listening on nothing" in result.stderr
    assert result.stderr.splitlines()[-1].endswith("INFO stopped")
    modules = set(result.stdout.split())
    assert "zonesync.daemon" in modules
    assert sorted(modules.intersection(NOT_AT_START)) == []


def test_a_daemon_without_metrics_has_no_registry(tmp_path: Path) -> None:
    daemon = Daemon(Settings(tmp_path / "named.conf"), collect_metrics=False)
    with pytest.raises(RuntimeError, match="does not collect metrics"):
        daemon.registry  # noqa: B018 - the property raises
    with pytest.raises(RuntimeError, match="does not collect metrics"):
        daemon.metrics  # noqa: B018 - the property raises


def test_a_metrics_endpoint_needs_metrics(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "named.conf", metrics=("127.0.0.1", 0))
    with pytest.raises(ValueError, match="needs collect_metrics"):
        Daemon(settings, collect_metrics=False)
