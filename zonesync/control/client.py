"""The CLI's side of the control channel: send one request, read one reply.

Blocking, with the `socket` module: the CLI verbs are plain synchronous
click commands and make exactly one call each.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from zonesync.control.protocol import MAX_REPLY_BYTES, Reply, Request
from zonesync.errors import ControlError

_CHUNK_BYTES = 65536


def call(path: Path, request: Request, timeout: float) -> object:
    """Send `request` to the zonesync listening on `path` and return the result.

    Raises:
        ControlError: zonesync is not running, did not answer within
            `timeout` seconds, or answered with an error (its message).
    """
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(request.to_line())
            line = _read_line(sock, deadline)
    except FileNotFoundError:
        raise ControlError(
            f"zonesync is not running (no control socket at {path})"
        ) from None
    except ConnectionRefusedError:
        raise ControlError(
            f"zonesync is not running (nothing listens on {path})"
        ) from None
    except TimeoutError:
        raise ControlError(
            f"no answer from zonesync within {timeout:g} seconds"
        ) from None
    except OSError as err:
        raise ControlError(f"control socket {path}: {err.strerror or err}") from None
    reply = Reply.from_line(line)
    if not reply.ok:
        raise ControlError(reply.error)
    return reply.result


def _read_line(sock: socket.socket, deadline: float) -> bytes:
    """Read up to the first newline, within `deadline` (time.monotonic())."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(_CHUNK_BYTES)
        if not chunk:
            raise ControlError("zonesync closed the connection without answering")
        end = chunk.find(b"\n")
        if end >= 0:
            chunks.append(chunk[: end + 1])
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise ControlError(
                f"reply from zonesync longer than {MAX_REPLY_BYTES} bytes"
            )
