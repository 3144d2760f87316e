"""Agent settings: what the command line adds to named.conf."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from zonesync.config.model import AddressMatchList, Config

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = Path("/var/lib/zonesync")
# The metrics endpoint `zonesync run` opens unless told otherwise (issue 4).
DEFAULT_METRICS = ("127.0.0.1", 9853)


@dataclass(frozen=True, slots=True)
class Settings:
    """How to run: the named.conf, where state lives, where to listen, hooks."""

    config_path: Path
    state_dir: Path = DEFAULT_STATE_DIR
    listen: tuple[tuple[str, int], ...] | None = None  # None: named.conf listen-on
    on_update: str | None = None
    on_expire: str | None = None
    metrics: tuple[str, int] | None = (
        None  # None: no endpoint (the CLI's default is DEFAULT_METRICS)
    )
    metrics_per_zone: bool = True
    metrics_bind_compat: bool = False
    control: Path | None = None  # None: no control socket (the CLI has a default)


def parse_listen(text: str) -> tuple[str, int]:
    """`ADDR:PORT`, `[v6]:PORT` or a bare address (port 53), as --listen takes it.

    Raises ValueError with a message for the operator.
    """
    host, port_text = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad listen address '{text}'")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    try:
        ipaddress.ip_address(host)
        port = int(port_text)
    except ValueError:
        raise ValueError(f"bad listen address '{text}' (want ADDR:PORT)") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"bad port in '{text}'")
    return (host, port)


def listen_from_config(config: Config) -> tuple[tuple[str, int], ...]:
    """The addresses named.conf's listen-on and listen-on-v6 name.

    Host addresses are bound one by one; `any` and anything zonesync cannot
    enumerate (networks, acls) bind the wildcard address of that family.
    """
    out: list[tuple[str, int]] = []
    for clause, wildcard in (("listen-on", "0.0.0.0"), ("listen-on-v6", "::")):
        setting = config.server_settings.get(clause)
        if setting is None:
            continue
        value = setting.value
        assert isinstance(value, tuple)
        for aml, port in value:
            assert isinstance(aml, AddressMatchList)
            assert isinstance(port, int)
            for address in _addresses(aml, wildcard):
                if (address, port) not in out:
                    out.append((address, port))
    return tuple(out)


def _addresses(aml: AddressMatchList, wildcard: str) -> list[str]:
    version = 6 if ":" in wildcard else 4
    out: list[str] = []
    for element in aml.elements:
        if element.negated or element.kind == "none":
            continue
        if element.kind == "prefix" and element.network is not None:
            net = element.network
            if net.version != version:
                continue
            if net.num_addresses == 1:
                out.append(str(net.network_address))
                continue
        if element.kind == "localhost":
            out.append("127.0.0.1" if version == 4 else "::1")
            continue
        return [wildcard]
    return out
