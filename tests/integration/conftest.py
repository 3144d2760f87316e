"""Fixtures for the tests that run a real BIND primary on 127.0.0.1.

Each test builds the primaries it needs (their configs differ: keys, views,
allow-transfer, ixfr-from-differences), so the factory is function-scoped;
named starts in well under a second. Every named started is stopped by PID
at teardown, whatever the test did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool
from tests.integration.named import NamedPrimary
from tests.integration.zonesync_run import Secondary


@pytest.fixture
def named_bin() -> str:
    """The `named` binary; skips without it, fails in CI (ZONESYNC_REQUIRE_NAMED=1)."""
    return require_tool("named")


@pytest.fixture
def named_checkconf() -> str:
    """The `named-checkconf` binary, required like `named`."""
    return require_tool("named-checkconf")


@pytest.fixture
def make_primary(
    tmp_path: Path, named_bin: str
) -> Iterator[Callable[..., NamedPrimary]]:
    """A factory of `NamedPrimary`s in `tmp_path`, all stopped at teardown."""
    made: list[NamedPrimary] = []

    def make(**kwargs: Any) -> NamedPrimary:
        primary = NamedPrimary(
            tmp_path / f"primary{len(made)}", named=named_bin, **kwargs
        )
        made.append(primary)
        return primary

    yield make
    for primary in made:
        primary.stop()


@pytest.fixture
def secondary(tmp_path: Path, named_checkconf: str) -> Secondary:
    """zonesync's side: config path, zone directory and state directory."""
    return Secondary(tmp_path / "zonesync", named_checkconf)
