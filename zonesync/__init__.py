"""zonesync: a BIND-compatible secondary-only DNS replication agent."""

__version__ = "0.1.0"
