"""named.conf -> frozen model; knows nothing of sockets."""

from zonesync.config.loader import load_config
from zonesync.config.model import Config, ZoneConfig

__all__ = ["Config", "ZoneConfig", "load_config"]
