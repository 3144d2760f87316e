"""Every config in conf-samples/ is valid BIND (named-checkconf) and zonesync reads it.

A sample's relative paths are relative to the working directory, as in BIND:
each check runs in a fresh directory where every relative `directory` of the
sample exists and holds a copy of the sample's `zones/`, which is what
./scripts/quickstart sets up, so `named-checkconf -z` loads the zone files too.
An absolute `directory` (/var/cache/bind) must exist: Debian's bind9 makes it.
An absolute include of a file that lies beside the sample (many-zones includes
/etc/bind/zones.conf) reads that file, through a copy of the sample; the
included file is checked as part of the sample, not alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_file, require_tool
from zonesync.config import load_config

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "conf-samples"
DIRECTORY = re.compile(r'^\s*directory\s+"([^"]+)"\s*;', re.MULTILINE)
INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"\s*;', re.MULTILINE)


def local_includes(conf: Path) -> dict[str, Path]:
    """`conf`'s absolute includes that name a file beside it, to that file."""
    out = {}
    for included in INCLUDE.findall(conf.read_text()):
        beside = conf.parent / Path(included).name
        if Path(included).is_absolute() and beside.is_file():
            out[included] = beside
    return out


ALL_CONFS = sorted(SAMPLES.rglob("*.conf"))
INCLUDED = {path for conf in ALL_CONFS for path in local_includes(conf).values()}
CONFS = [conf for conf in ALL_CONFS if conf not in INCLUDED]


def sample_id(path: Path) -> str:
    return str(path.relative_to(SAMPLES))


def working_directory(conf: Path, root: Path) -> Path:
    """A working directory in which `conf`'s relative directories exist."""
    zones = conf.parent / "zones"
    for directory in DIRECTORY.findall(conf.read_text()):
        if Path(directory).is_absolute():
            require_file(Path(directory), "bind9")
            continue
        target = root / directory
        target.mkdir(parents=True, exist_ok=True)
        if zones.is_dir():
            for zone_file in zones.iterdir():
                shutil.copy(zone_file, target)
    return root


def checked_copy(conf: Path, root: Path) -> Path:
    """`conf`, or a copy in `root` whose local includes read the files beside it."""
    includes = local_includes(conf)
    if not includes:
        return conf
    text = conf.read_text()
    for included, beside in includes.items():
        text = text.replace(f'"{included}"', f'"{beside}"')
    copy = root / "conf-samples" / conf.relative_to(SAMPLES)
    copy.parent.mkdir(parents=True)
    copy.write_text(text)
    return copy


def test_the_quickstart_samples_are_there() -> None:
    names = {sample_id(path) for path in CONFS}
    assert {"quickstart/named.conf", "quickstart/primary.conf"} <= names


@pytest.mark.parametrize("conf", CONFS, ids=sample_id)
def test_named_checkconf_accepts(conf: Path, tmp_path: Path) -> None:
    checkconf = require_tool("named-checkconf")
    cwd = working_directory(conf, tmp_path)
    result = subprocess.run(
        [checkconf, "-z", str(checked_copy(conf, tmp_path))],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("conf", CONFS, ids=sample_id)
def test_zonesync_loads(conf: Path, tmp_path: Path) -> None:
    cwd = working_directory(conf, tmp_path)
    config = load_config(checked_copy(conf, tmp_path), cwd=cwd)
    if conf.name == "named.conf":
        assert list(config.zones), f"{conf} has no zones"


def test_quickstart_script_is_valid_bash() -> None:
    script = REPO / "scripts" / "quickstart"
    assert script.stat().st_mode & 0o111, "scripts/quickstart is not executable"
    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_quickstart_ports_agree() -> None:
    """The primary NOTIFYs where zonesync listens; zonesync asks the primary's port."""
    primary = (SAMPLES / "quickstart" / "primary.conf").read_text()
    secondary = (SAMPLES / "quickstart" / "named.conf").read_text()
    listen_primary = re.search(r"listen-on port (\d+)", primary)
    notify_to = re.search(r"also-notify \{ 127\.0\.0\.1 port (\d+); \}", primary)
    listen_secondary = re.search(r"listen-on port (\d+)", secondary)
    asks = re.search(r"primaries \S+ \{ 127\.0\.0\.1 port (\d+); \}", secondary)
    assert listen_primary is not None
    assert notify_to is not None
    assert listen_secondary is not None
    assert asks is not None
    assert notify_to.group(1) == listen_secondary.group(1)
    assert asks.group(1) == listen_primary.group(1)
