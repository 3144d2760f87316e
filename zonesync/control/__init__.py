"""The local control channel used by the CLI (issue 4)."""

from pathlib import Path

# Where `zonesync run` listens and the other verbs connect unless told
# otherwise; /run/zonesync is the systemd RuntimeDirectory. Here rather than
# in protocol.py so that `run --control off` need not import the protocol.
DEFAULT_CONTROL_PATH = Path("/run/zonesync/control")
