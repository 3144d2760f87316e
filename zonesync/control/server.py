"""The control socket: a Unix stream socket answering one JSON line per request.

Local only, with no network exposure: the socket is mode 0660 in a 0750
directory, so the zonesync user and its group may use it. The commands
themselves are `control/commands.py`'s; this module only moves lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import stat
from pathlib import Path
from typing import Self

from zonesync.control.commands import ControlTarget, handle_line
from zonesync.control.protocol import MAX_REQUEST_BYTES, Reply
from zonesync.errors import ZoneSyncError

log = logging.getLogger(__name__)

# How long a connection may take to send its next request line, and a reply
# to be read. Our own CLI sends at once and reads at once; these bound a
# stuck or idle client, not a command (`refresh --wait` may run for hours).
READ_TIMEOUT_SECONDS = 30.0
WRITE_TIMEOUT_SECONDS = 30.0

# How long start() waits to learn whether another process listens on an
# existing socket file; a live zonesync accepts at once.
PROBE_TIMEOUT_SECONDS = 2.0

SOCKET_MODE = 0o660
DIRECTORY_MODE = 0o750


class ControlServer:
    """A listening control socket; `close()` stops it and removes the file."""

    def __init__(self, path: Path, target: ControlTarget) -> None:
        """Use `ControlServer.start()`, which also binds the socket."""
        self.path = path
        self._target = target
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[object]] = set()

    @classmethod
    async def start(cls, path: Path, target: ControlTarget) -> Self:
        """Listen on `path`, answering with `target`.

        Creates the parent directory (mode 0750) if missing. A socket file
        left by a zonesync that died is replaced; one that another process
        still listens on is a ZoneSyncError, as is any file that is not a
        socket (never removed).
        """
        self = cls(path, target)
        await asyncio.to_thread(_make_directory, path)
        if await _is_live(path):
            raise ZoneSyncError(f"control socket {path} is in use by another zonesync")
        await asyncio.to_thread(_remove_stale, path)
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=path, limit=MAX_REQUEST_BYTES
            )
            await asyncio.to_thread(path.chmod, SOCKET_MODE)
        except OSError as err:
            await self.close()
            raise ZoneSyncError(
                f"control socket {path}: {err.strerror or err}"
            ) from err
        log.info("control channel listening on %s", path)
        return self

    async def close(self) -> None:
        """Stop listening, end open connections and remove the socket file."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await server.wait_closed()
        await asyncio.to_thread(_unlink, self.path)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None  # asyncio runs each connection in a task
        self._connections.add(task)
        try:
            await self._answer(reader, writer)
        except (OSError, TimeoutError) as err:
            # The client hung up, or stopped sending or reading.
            log.debug("control: connection ended: %s", str(err) or type(err).__name__)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer request lines until the client closes or misbehaves."""
        while True:
            try:
                async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                    line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as err:
                # End of input; a last request without its newline is still
                # answered.
                if not err.partial.strip():
                    return
                line = err.partial
            except asyncio.LimitOverrunError:
                # The rest of an over-long line cannot be told from the next
                # request, so this connection ends here.
                await self._write(
                    writer,
                    Reply.failure(
                        f"request longer than {MAX_REQUEST_BYTES} bytes"
                    ).to_line(),
                )
                return
            if not line.strip():
                continue
            await self._write(writer, await handle_line(self._target, line))

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
            await writer.drain()


def _make_directory(path: Path) -> None:
    try:
        path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    except OSError as err:
        raise ZoneSyncError(
            f"control socket directory {path.parent}: {err.strerror or err}"
        ) from err


async def _is_live(path: Path) -> bool:
    """Whether a process accepts connections on the socket file `path`."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            _, writer = await asyncio.open_unix_connection(path)
    except (FileNotFoundError, ConnectionRefusedError):
        # No file, or nobody listens on it (Linux also refuses a connection
        # to a file that is not a socket; _remove_stale() deals with that).
        return False
    except TimeoutError:
        # A listener too busy to accept is still a listener.
        return True
    except OSError as err:
        if err.errno == errno.ENOTSOCK:
            return False
        raise ZoneSyncError(f"control socket {path}: {err.strerror or err}") from err
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _remove_stale(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise ZoneSyncError(f"control socket {path}: {err.strerror or err}") from err
    if not stat.S_ISSOCK(mode):
        raise ZoneSyncError(f"control socket {path}: exists and is not a socket")
    log.info("control: removing stale socket %s", path)
    _unlink(path)


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as err:
        log.warning("control: cannot remove %s: %s", path, err.strerror or err)
