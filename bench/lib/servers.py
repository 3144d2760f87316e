"""The servers of the transfer benchmark: a BIND primary and three secondaries.

Each server gets a directory of its own, a config written here, and runs in
the foreground on 127.0.0.1 and a free port, its log in `<dir>/server.log`.
The secondaries share one interface (`Secondary`): the zone file of a zone,
the log line that says a transfer finished (`transferred_pattern`), and the
line that says a restart has loaded everything (`loaded_patterns`). BIND and
zonesync run the same named.conf; Knot gets the equivalent knot.conf.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.process import HOST, Deadline, Process, free_port

KEY_NAME = "bench-key"
KEY_SECRET = base64.b64encode(b"zonesync-bench-tsig-key-32-bytes").decode()
BIN = Path(sys.executable).parent  # the venv's bin: zonesync is installed there


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise SystemExit(f"{name} is not installed (apt-get install bind9 knot)")
    return found


@dataclass(frozen=True)
class Zone:
    """A zone of the run: its name (no final dot) and how many RRs it holds."""

    name: str
    records: int

    @property
    def origin(self) -> str:
        """The name with the final dot."""
        return self.name + "."


# -- the primary ----------------------------------------------------------------


class Primary:
    """One BIND 9.18 primary serving every zone of the run, with a TSIG key.

    `allow-transfer { key bench-key; 127.0.0.1; }` lets both the signed and
    the unsigned secondaries in. The primary is tuned so that it is never the
    bottleneck: `transfers-out 1000` and `tcp-clients 1000` (defaults 10 and
    150) for the many-zone cold starts. NOTIFY is off except for the IXFR
    zone, which notifies exactly one port: the secondary under test.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.zones: list[tuple[Zone, Path]] = []
        self.ixfr_zone: Zone | None = None
        self.notify_port: int | None = None
        self.process: Process | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def add_zone(self, zone: Zone, path: Path, ixfr: bool = False) -> None:
        """Serve `zone` from zone file `path`; `ixfr` marks the one edited later."""
        self.zones.append((zone, path))
        if ixfr:
            self.ixfr_zone = zone

    def config_text(self) -> str:
        """named.conf for the zones so far."""
        lines = [
            "options {",
            f'\tdirectory "{self.directory}";',
            "\tpid-file none;",
            "\tsession-keyfile none;",
            "\trecursion no;",
            "\tdnssec-validation no;",
            f"\tlisten-on port {self.port} {{ {HOST}; }};",
            "\tlisten-on-v6 { none; };",
            "\tnotify no;",
            "\tnotify-delay 0;",
            "\ttransfers-out 1000;",
            "\ttcp-clients 1000;",
            f'\tallow-transfer {{ key "{KEY_NAME}"; {HOST}; }};',
            "};",
            "controls { };",
            f'key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{KEY_SECRET}"; }};',
        ]
        for zone, path in self.zones:
            clauses = ""
            if zone == self.ixfr_zone:
                clauses = " ixfr-from-differences yes;"
                if self.notify_port is not None:
                    clauses += (
                        " notify explicit;"
                        f" also-notify {{ {HOST} port {self.notify_port}; }};"
                    )
            lines.append(
                f'zone "{zone.name}" {{ type primary; file "{path}";{clauses} }};'
            )
        return "\n".join(lines) + "\n"

    def start(self, seconds: float) -> None:
        """Start named and wait until every zone is loaded (`running`)."""
        conf = self.directory / "named.conf"
        conf.write_text(self.config_text())
        self.process = Process(
            "primary",
            [_tool("named"), "-g", "-c", str(conf)],
            self.directory,
            self.directory / "server.log",
        )
        started = False
        try:
            self.process.wait_for(r" running$", Deadline(seconds, "primary start"))
            started = True
        finally:
            if not started:
                self.process.stop()

    def reload(self, notify_port: int) -> int:
        """Rewrite named.conf to notify `notify_port`, SIGHUP; the log mark."""
        assert self.process is not None
        self.notify_port = notify_port
        (self.directory / "named.conf").write_text(self.config_text())
        mark = self.process.log.mark()
        os.kill(self.process.pid, signal.SIGHUP)
        return mark

    def stop(self) -> None:
        """Stop named by PID."""
        if self.process is not None:
            self.process.stop()


# -- the secondaries --------------------------------------------------------------


class Secondary:
    """A secondary server of the run; subclasses write the config and command."""

    kind = ""  # "bind", "knot", "zonesync": JSON keys
    label = ""  # for the tables

    def __init__(
        self,
        directory: Path,
        primary_port: int,
        zones: Sequence[Zone],
        *,
        tsig: bool,
        port: int | None = None,
        options: Sequence[str] = (),
    ) -> None:
        self.directory = directory
        self.primary_port = primary_port
        self.zones = list(zones)
        self.tsig = tsig
        self.port = port if port is not None else free_port()
        self.options = list(options)
        self.zones_dir = directory / "zones"
        self.zones_dir.mkdir(parents=True, exist_ok=True)

    def zone_file(self, zone: Zone) -> Path:
        """Where this secondary writes `zone`."""
        return self.zones_dir / f"{zone.name}.db"

    def transferred_pattern(self, zone: str | None, serial: int | None = None) -> str:
        """The log line of a transfer of `zone` (None: any) made durable."""
        name = re.escape(zone) if zone is not None else r"\S+"
        serial_text = str(serial) if serial is not None else r"\d+"
        return rf"zone {name}/IN: transferred serial {serial_text}\b"

    def loaded_patterns(self, zones: int) -> list[tuple[str, int]]:
        """(pattern, count) lines that end a start with `zones` zones on disk."""
        raise NotImplementedError

    transfer_started_pattern = r"Transfer started\."

    def write_config(self) -> None:
        """Write the config for the zones, port and TSIG setting."""
        raise NotImplementedError

    def argv(self) -> list[str]:
        """The command that runs the server in the foreground."""
        raise NotImplementedError

    def start(self) -> Process:
        """Start the server (the config must be written)."""
        return Process(
            self.kind, self.argv(), self.directory, self.directory / "server.log"
        )


class NamedConfSecondary(Secondary):
    """A secondary configured by a named.conf (BIND itself, and zonesync)."""

    @property
    def conf_path(self) -> Path:
        """The named.conf."""
        return self.directory / "named.conf"

    def write_config(self) -> None:
        """named.conf: one secondary zone per zone, text zone files."""
        key = f' key "{KEY_NAME}"' if self.tsig else ""
        lines = [
            "options {",
            f'\tdirectory "{self.directory}";',
            "\tpid-file none;",
            "\tsession-keyfile none;",
            "\trecursion no;",
            "\tdnssec-validation no;",
            f"\tlisten-on port {self.port} {{ {HOST}; }};",
            "\tlisten-on-v6 { none; };",
            "\tnotify no;",
            "\tmasterfile-format text;",
            *(f"\t{option}" for option in self.options),
            "};",
            "controls { };",
            f'key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{KEY_SECRET}"; }};',
            f"primaries upstream {{ {HOST} port {self.primary_port}{key}; }};",
        ]
        lines.extend(
            f'zone "{zone.name}" {{ type secondary; '
            f'file "{self.zone_file(zone)}"; primaries {{ upstream; }}; }};'
            for zone in self.zones
        )
        self.conf_path.write_text("\n".join(lines) + "\n")


class BindSecondary(NamedConfSecondary):
    """BIND 9.18 (`named -g`, its default worker threads)."""

    kind = "bind"
    label = "BIND 9.18"

    def argv(self) -> list[str]:
        """named in the foreground."""
        return [_tool("named"), "-g", "-c", str(self.conf_path)]

    def loaded_patterns(self, zones: int) -> list[tuple[str, int]]:
        """BIND logs `running` once every zone file is loaded."""
        return [(r" running$", 1)]


class ZonesyncSecondary(NamedConfSecondary):
    """zonesync, from the venv this script runs in."""

    kind = "zonesync"
    label = "zonesync"

    def argv(self) -> list[str]:
        """`zonesync run` on the same named.conf, metrics and control off."""
        return [
            str(BIN / "zonesync"),
            "run",
            "-c",
            str(self.conf_path),
            "--state-dir",
            str(self.directory / "state"),
            "--listen",
            f"{HOST}:{self.port}",
            "--metrics",
            "off",
            "--control",
            "off",
        ]

    def loaded_patterns(self, zones: int) -> list[tuple[str, int]]:
        """`running:`, then one `loaded serial` per zone read from disk."""
        return [(r" running: \d+ zone", 1), (r": loaded serial \d+$", zones)]


class KnotSecondary(Secondary):
    """Knot DNS (`knotd`), zone files written at once after each change.

    `zonefile-sync: 0` (the default, set anyway) writes the zone file
    immediately after every change; `journal-content: changes` (the default)
    keeps IXFR differences in the journal, which Knot makes durable
    (`journal-db-mode: robust`, the default) before it logs the update.
    """

    kind = "knot"
    label = "Knot 3.2"
    transfer_started_pattern = r"[AI]XFR, incoming, remote .*, started"

    @property
    def conf_path(self) -> Path:
        """knot.conf."""
        return self.directory / "knot.conf"

    def transferred_pattern(self, zone: str | None, serial: int | None = None) -> str:
        """`[zone.] refresh, remote ..., zone updated, ..., serial A -> B`."""
        name = re.escape(zone + ".") if zone is not None else r"[^]]+"
        serial_text = str(serial) if serial is not None else r"\d+"
        return (
            rf"\[{name}\] refresh, remote .*zone updated.*"
            rf"serial (none|\d+) -> {serial_text}\b"
        )

    def loaded_patterns(self, zones: int) -> list[tuple[str, int]]:
        """`server started`, and one `loaded, serial` line per zone."""
        return [
            (r"server started in the foreground", 1),
            (r"\] loaded, serial ", zones),
        ]

    def write_config(self) -> None:
        """knot.conf: a template with the primary, the NOTIFY acl, zone files."""
        key = f"\n    key: {KEY_NAME}" if self.tsig else ""
        text = f"""\
server:
    rundir: "{self.directory / "run"}"
    listen: {HOST}@{self.port}
log:
  - target: stderr
    any: info
database:
    storage: "{self.directory / "db"}"
key:
  - id: {KEY_NAME}
    algorithm: hmac-sha256
    secret: {KEY_SECRET}
remote:
  - id: primary
    address: {HOST}@{self.primary_port}{key}
acl:
  - id: notify-from-primary
    address: {HOST}
    action: notify
template:
  - id: default
    storage: "{self.zones_dir}"
    file: "%s.db"
    master: primary
    acl: notify-from-primary
    zonefile-sync: 0
    journal-content: changes
"""
        if self.zones:  # an empty `zone:` section is a syntax error
            text += "zone:\n"
            text += "".join(f"  - domain: {zone.origin}\n" for zone in self.zones)
        (self.directory / "run").mkdir(exist_ok=True)
        (self.directory / "db").mkdir(exist_ok=True)  # knotd does not create it
        self.conf_path.write_text(text)

    def argv(self) -> list[str]:
        """knotd in the foreground."""
        return [_tool("knotd"), "-c", str(self.conf_path)]


SECONDARIES: dict[str, type[Secondary]] = {
    cls.kind: cls for cls in (BindSecondary, KnotSecondary, ZonesyncSecondary)
}
