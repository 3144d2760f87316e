"""Shared test configuration: the integration marker and the named check."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration/ as `integration`."""
    integration = TESTS / "integration"
    for item in items:
        if integration in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def require_file(path: Path, package: str) -> Path:
    """A file a Debian package installs; skip without it, but fail in CI."""
    if not path.exists():
        if os.environ.get("ZONESYNC_REQUIRE_NAMED") == "1":
            pytest.fail(f"{path} is required (install {package}) but missing")
        pytest.skip(f"{path} is missing (install {package})")
    return path


def require_tool(name: str) -> str:
    """The path of a tool the tests need (BIND's, promtool, systemd's).

    Without it the test skips, but fails in CI.

    CI sets ZONESYNC_REQUIRE_NAMED=1 so that a missing `apt-get install bind9`
    can never pass as a green run of skipped tests.
    """
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        if os.environ.get("ZONESYNC_REQUIRE_NAMED") == "1":
            pytest.fail(
                f"{name} is required (ZONESYNC_REQUIRE_NAMED=1) but not installed"
            )
        pytest.skip(f"{name} is not installed")
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the measured figures (corpus fidelity) at the end of a run."""
    from tests.unit.config.test_corpus import FIGURES

    for line in FIGURES.values():
        terminalreporter.write_line(line)
