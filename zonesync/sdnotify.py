"""systemd's readiness protocol (sd_notify) without a dependency.

With `Type=notify`, systemd passes a datagram socket in $NOTIFY_SOCKET and
waits for `READY=1`; `STOPPING=1` and `RELOADING=1` tell it what we do
(sd_notify(3)). Outside systemd the variable is unset and this does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(state: str) -> bool:
    """Send one state line (e.g. `READY=1`) to systemd; False if not under it."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    elif not address.startswith("/"):
        log.warning("NOTIFY_SOCKET %r is not a Unix socket path; ignored", address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError as err:
        log.warning("cannot tell systemd %s: %s", state, err.strerror or err)
        return False
    return True
