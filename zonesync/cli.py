"""The `zonesync` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

import click

from zonesync import __version__
from zonesync.config import load_config
from zonesync.config.model import (
    AddressMatchList,
    Config,
    RemoteServer,
    Setting,
    Source,
    ZoneConfig,
)
from zonesync.control import DEFAULT_CONTROL_PATH
from zonesync.errors import ConfigError, ControlError, ZoneSyncError
from zonesync.hooks import split_command
from zonesync.log import setup_logging
from zonesync.settings import (
    DEFAULT_METRICS,
    DEFAULT_STATE_DIR,
    Settings,
    parse_listen,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zonesync")
def main() -> None:
    """zonesync: a BIND-compatible secondary-only DNS replication agent."""


@main.command("check-conf")
@click.option(
    "-l", "list_zones", is_flag=True, help="List the zones, as named-checkconf -l."
)
@click.option(
    "--effective", metavar="ZONE", help="Print one zone's effective configuration."
)
@click.option("--view", metavar="VIEW", help="The view of the --effective zone.")
@click.argument("file", default="/etc/bind/named.conf")
def check_conf(
    list_zones: bool, effective: str | None, view: str | None, file: str
) -> None:
    """Check a named.conf as named-checkconf does.

    Exit 0 when it is valid; otherwise print one `file:line: message` line
    per problem on stderr and exit 1.
    """
    try:
        config = load_config(file)
    except ConfigError as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    except Exception as err:  # noqa: BLE001 - an operator never gets a traceback
        click.echo(
            f"{file}: internal error ({type(err).__name__}: {err}); please report",
            err=True,
        )
        sys.exit(1)
    if list_zones:
        for line in config.zone_list():
            click.echo(line)
    if effective is not None:
        _print_effective(config, effective, view)


def _print_effective(config: Config, name: str, view: str | None) -> None:
    try:
        zones = config.find_zone(name, view)
    except ValueError:
        zones = []
    if not zones:
        where = f" in view '{view}'" if view else ""
        click.echo(f"zone '{name}'{where}: not found in {config.path}", err=True)
        sys.exit(1)
    if len(zones) > 1:
        views = ", ".join(z.view for z in zones)
        click.echo(
            f"zone '{name}' is in several views ({views}): choose one with --view",
            err=True,
        )
        sys.exit(1)
    for line in effective_lines(config, zones[0]):
        click.echo(line)


def effective_lines(config: Config, zone: ZoneConfig) -> list[str]:
    """A zone's effective configuration, one value per line with its source."""
    rdclass = zone.class_text.upper()
    lines = [
        f"zone {zone.name.to_text(omit_final_dot=True) or '.'}/{rdclass} "
        f"view {zone.view} ({zone.config_file}:{zone.line})",
    ]

    def row(name: str, value: str, source: str) -> None:
        lines.append(f"  {name:<24} {value:<40} {source}")

    row("type", zone.type_text, "zone")
    if zone.in_view is not None:
        return lines
    row("file", str(zone.file) if zone.file else "(none: kept in memory)", "zone")
    row("primaries", _servers(config, zone.primaries) or "(none)", "zone")
    for clause, setting in zone.settings.items():
        row(clause, _value(config, setting), setting.source.value)
    for clause, setting in config.server_settings.items():
        row(clause, _value(config, setting), f"{setting.source.value} (server-wide)")
    if zone.ignored:
        lines.append("  read but not used by zonesync: " + ", ".join(zone.ignored))
    return lines


def _value(config: Config, setting: Setting) -> str:
    value = setting.value
    if isinstance(value, AddressMatchList):
        return value.to_text()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        if all(isinstance(v, RemoteServer) for v in value):
            return _servers(config, value) or "{ }"
        parts = []
        for item in value:
            if (
                isinstance(item, tuple)
                and len(item) == 2
                and isinstance(item[0], AddressMatchList)
            ):
                parts.append(f"port {item[1]} {item[0].to_text()}")
            else:
                parts.append(str(item))
        return "; ".join(parts) or "(none)"
    if setting.source is Source.DEFAULT and value == "text":
        return "text (BIND's default for secondaries is raw; zonesync writes text)"
    return str(value)


def _servers(config: Config, servers: tuple[object, ...]) -> str:
    parts = []
    for server in servers:
        assert isinstance(server, RemoteServer)
        text = f"{server.address}#{server.port or 53}"
        if server.key:
            key = config.key(server.key)
            algorithm = (
                key.algorithm.to_text(omit_final_dot=True) if key else "undefined"
            )
            text += f' key "{server.key}" ({algorithm}, secret <redacted>)'
        if server.tls:
            text += f' tls "{server.tls}"'
        parts.append(text)
    return "; ".join(parts)


def _listen_option(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, int], ...] | None:
    if not values:
        return None
    try:
        return tuple(parse_listen(v) for v in values)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _hook_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is None:
        return None
    try:
        split_command(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    return value


@main.command("run")
@click.option(
    "-c",
    "--config",
    "config_path",
    default="/etc/bind/named.conf",
    show_default=True,
    help="The named.conf to replicate the secondary zones of.",
)
@click.option(
    "--state-dir",
    default=str(DEFAULT_STATE_DIR),
    show_default=True,
    help="Where per-zone state is kept.",
)
@click.option(
    "--listen",
    multiple=True,
    callback=_listen_option,
    metavar="ADDR:PORT",
    help="Listen for NOTIFY here (repeatable); default: named.conf's listen-on.",
)
@click.option(
    "--on-update",
    callback=_hook_option,
    metavar="CMD",
    help="Run after each new zone version; {zone} {view} {file} {serial} substituted.",
)
@click.option(
    "--on-expire",
    callback=_hook_option,
    metavar="CMD",
    help="Run when a zone expires; same substitutions.",
)
@click.option(
    "--metrics",
    "metrics",
    default=f"{DEFAULT_METRICS[0]}:{DEFAULT_METRICS[1]}",
    show_default=True,
    metavar="ADDR:PORT|off",
    help="Serve Prometheus metrics, /healthz and /readyz here.",
)
@click.option(
    "--metrics-per-zone",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    help="Export the per-zone families (off for very many zones).",
)
@click.option(
    "--metrics-bind-compat",
    is_flag=True,
    help="Also export bind_exporter's zone serial and transfer counters.",
)
@click.option(
    "--control",
    default=str(DEFAULT_CONTROL_PATH),
    show_default=True,
    metavar="PATH|off",
    help="The control socket the zonesync verbs talk to.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="BIND-worded text, or one JSON object per line.",
)
@click.option("--debug", is_flag=True, help="Log per-message detail.")
def run(
    config_path: str,
    state_dir: str,
    listen: tuple[tuple[str, int], ...] | None,
    on_update: str | None,
    on_expire: str | None,
    metrics: str,
    metrics_per_zone: str,
    metrics_bind_compat: bool,
    control: str,
    log_format: str,
    debug: bool,
) -> None:
    """Replicate every secondary zone of a named.conf, in the foreground.

    SIGTERM or SIGINT stops it; a transfer in flight is abandoned and the
    old zone file stays. SIGHUP reloads the configuration.
    """
    try:
        metrics_address = None if metrics == "off" else parse_listen(metrics)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--metrics") from None
    setup_logging(logging.DEBUG if debug else logging.INFO, fmt=log_format)
    settings = Settings(
        Path(config_path),
        Path(state_dir),
        listen,
        on_update,
        on_expire,
        metrics=metrics_address,
        metrics_per_zone=metrics_per_zone == "on",
        metrics_bind_compat=metrics_bind_compat,
        control=None if control == "off" else Path(control),
    )
    try:
        asyncio.run(_run(settings))
    except ConfigError as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    except ZoneSyncError as err:
        click.echo(f"zonesync: {err}", err=True)
        sys.exit(1)
    except Exception as err:
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        click.echo(
            f"zonesync: internal error ({type(err).__name__}: {err}); please report",
            err=True,
        )
        sys.exit(1)


async def _run(settings: Settings) -> None:
    # Imported here, not at the top: the other verbs have no use for the
    # daemon's modules (issue 5).
    from zonesync.daemon import Daemon

    shutdown = asyncio.Event()
    daemon = Daemon(settings, collect_metrics=settings.metrics is not None)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shutdown.set)
    loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)
    await daemon.run(shutdown)


# -- control verbs: talk to a running zonesync, named as rndc's --------------

# A verb other than `refresh --wait` is answered at once; a reload of a
# 10,000-zone config takes about a second, so this is generous.
CONTROL_TIMEOUT_SECONDS = 120.0
# `--wait`'s default bound: BIND's max-transfer-time-in default (120 minutes).
WAIT_TIMEOUT_SECONDS = 7200.0

_ZONE_COLUMNS = (
    ("ZONE", "zone"),
    ("VIEW", "view"),
    ("SERIAL", "serial"),
    ("STATE", "state"),
    ("LAST REFRESH", "last_refresh"),
    ("NEXT REFRESH", "next_refresh"),
    ("EXPIRES", "expires"),
    ("PRIMARY", "primary"),
    ("LAST ERROR", "last_error"),
)

_control_option = click.option(
    "--control",
    "control_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    default=DEFAULT_CONTROL_PATH,
    show_default=True,
    help="The control socket of the running zonesync.",
)
_view_option = click.option("--view", metavar="VIEW", help="The zone's view.")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_wait_option = click.option(
    "--wait", is_flag=True, help="Return when the transfer ends; exit 1 if it failed."
)
_timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=WAIT_TIMEOUT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="With --wait, give up waiting after this long.",
)


def _control(
    path: Path,
    command: str,
    zone: str | None = None,
    view: str | None = None,
    wait: bool = False,
    timeout: float = CONTROL_TIMEOUT_SECONDS,
) -> object:
    """The result of one control request; on error its message on stderr, exit 1.

    The message is one line, except a failed reload's: one `file:line:
    message` line per config problem, as check-conf prints them.
    """
    # Imported here: `run` has no use for the control client (issue 5).
    from zonesync.control.client import call as control_call
    from zonesync.control.protocol import Request

    try:
        return control_call(path, Request(command, zone, view, wait), timeout)
    except ControlError as err:
        click.echo(str(err), err=True)
        sys.exit(1)
    except Exception as err:  # noqa: BLE001 - an operator never gets a traceback
        click.echo(
            f"zonesync: internal error ({type(err).__name__}: {err}); please report",
            err=True,
        )
        sys.exit(1)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)


def _echo_fields(result: object) -> None:
    if not isinstance(result, dict):
        click.echo(_text(result))
        return
    for key, value in result.items():
        click.echo(f"{key}: {_text(value)}")


@main.command("status")
@_control_option
@_json_option
def status(control_path: Path, as_json: bool) -> None:
    """Show the running zonesync's state, as rndc status."""
    result = _control(control_path, "status")
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        _echo_fields(result)


@main.command("zones")
@_control_option
@_json_option
def zones(control_path: Path, as_json: bool) -> None:
    """List every zone with its serial, state and timers (times in UTC)."""
    result = _control(control_path, "zones")
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    rows = [[title for title, _ in _ZONE_COLUMNS]]
    for zone in result if isinstance(result, list) else []:
        rows.append([_text(zone.get(key)) for _, key in _ZONE_COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_ZONE_COLUMNS))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


@main.command("zonestatus")
@_control_option
@_view_option
@_json_option
@click.argument("zone")
def zonestatus(control_path: Path, view: str | None, as_json: bool, zone: str) -> None:
    """Show one zone's state in full, as rndc zonestatus."""
    result = _control(control_path, "zonestatus", zone, view)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        _echo_fields(result)


def _refresh(
    command: str,
    control_path: Path,
    view: str | None,
    wait: bool,
    timeout: float,
    zone: str,
) -> None:
    result = _control(
        control_path,
        command,
        zone,
        view,
        wait,
        timeout if wait else CONTROL_TIMEOUT_SECONDS,
    )
    click.echo(_text(result))


@main.command("refresh")
@_control_option
@_view_option
@_wait_option
@_timeout_option
@click.argument("zone")
def refresh(
    control_path: Path, view: str | None, wait: bool, timeout: float, zone: str
) -> None:
    """Check the zone's primaries for a newer serial now, as rndc refresh."""
    _refresh("refresh", control_path, view, wait, timeout, zone)


@main.command("retransfer")
@_control_option
@_view_option
@_wait_option
@_timeout_option
@click.argument("zone")
def retransfer(
    control_path: Path, view: str | None, wait: bool, timeout: float, zone: str
) -> None:
    """Transfer the whole zone (AXFR) now whatever its serial, as rndc retransfer."""
    _refresh("retransfer", control_path, view, wait, timeout, zone)


@main.command("notify")
@_control_option
@_view_option
@click.argument("zone")
def notify(control_path: Path, view: str | None, zone: str) -> None:
    """Send the zone's NOTIFY messages again, as rndc notify."""
    click.echo(_text(_control(control_path, "notify", zone, view)))


@main.command("reload")
@_control_option
def reload(control_path: Path) -> None:
    """Load the configuration again; on problems the running one stays."""
    click.echo(_text(_control(control_path, "reload")))
