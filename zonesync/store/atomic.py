"""Files published atomically, so a reader never sees a partial one.

A file is published the way BIND 9.18 dumps zones (`lib/dns/zone.c`,
`isc_file_openunique()` then rename): a temporary file beside the target,
fsync, `os.replace`, fsync of the directory. A crash leaves the old file or
the new one, and perhaps a temporary file that `remove_stale_temp_files`
clears at the next start.

Everything here blocks; the daemon calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

from zonesync.errors import StoreError

_TEMP_INFIX = ".zonesync-"
_TEMP_SUFFIX = ".tmp"
_TEMP_RANDOM_BYTES = 8
_FLUSH_CHARS = 1 << 20


def store_error(
    action: str, where: Path, err: OSError, path: Path | None = None
) -> StoreError:
    """`writing /var/cache/bind/x.db: No space left on device`.

    The error's `path` is `path`, or `where` if it is not given.
    """
    reason = err.strerror or str(err)
    return StoreError(f"{action} {where}: {reason}", str(path or where))


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _DirectorySync:
    """Group commit of one directory's fsyncs.

    Many zones publish into one directory at once (a cold start of 1,000
    zones, issue 5). A caller whose rename is done needs one fsync of the
    directory that starts after it; one that starts while another runs
    waits for that one to end and then, if no later one has started for
    it, runs the next, which covers every rename made meanwhile.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._requested = 0  # renames done and waiting for a sync
        self._synced = 0  # requests covered by a finished sync
        self._running = False

    def sync(self, directory: Path) -> None:
        with self._lock:
            self._requested += 1
            mine = self._requested
            while self._synced < mine:
                if self._running:
                    self._lock.wait()
                    continue
                self._running = True
                covers = self._requested
                self._lock.release()
                try:
                    _fsync_directory(directory)
                finally:
                    self._lock.acquire()
                    self._running = False
                    self._lock.notify_all()
                self._synced = max(self._synced, covers)


_directory_syncs: dict[Path, _DirectorySync] = {}
_directory_syncs_lock = threading.Lock()


def sync_directory(directory: Path) -> None:
    """fsync `directory`, shared with the other threads that need it now."""
    with _directory_syncs_lock:
        syncer = _directory_syncs.get(directory)
        if syncer is None:
            syncer = _directory_syncs[directory] = _DirectorySync()
    syncer.sync(directory)


def _is_temp_name(name: str, target: str) -> bool:
    """Whether `name` is one of our temporary files for the file `target`."""
    prefix = f".{target}{_TEMP_INFIX}"
    if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX)):
        return False
    middle = name[len(prefix) : -len(_TEMP_SUFFIX)]
    hexdigits = "0123456789abcdef"
    return len(middle) == 2 * _TEMP_RANDOM_BYTES and all(c in hexdigits for c in middle)


class AtomicFile:
    """A new file beside `target`, published over it by an atomic rename.

    Every failure is a StoreError worded `writing <target>: ...`, except a
    failed sync of the directory after the rename, worded `<sync_action>
    <target>: ...`. Used as a context manager, it is discarded on leaving
    unless published.
    """

    def __init__(
        self,
        target: Path,
        mode: int = 0o644,
        *,
        sync_action: str = "syncing directory of",
        durable: bool = True,
    ) -> None:
        self.target = target
        self._sync_action = sync_action
        self._durable = durable
        self._chunks: list[str] = []
        self._pending = 0
        self._size = 0
        self._published = False
        while True:
            random = secrets.token_hex(_TEMP_RANDOM_BYTES)
            self.path = target.with_name(
                f".{target.name}{_TEMP_INFIX}{random}{_TEMP_SUFFIX}"
            )
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            try:
                # `mode` less the umask, as BIND's isc_file_openunique().
                self._fd = os.open(self.path, flags, mode)
                return
            except FileExistsError:
                continue
            except FileNotFoundError as err:
                message = f"writing {target}: directory {target.parent} does not exist"
                raise StoreError(message, str(target)) from err
            except OSError as err:
                raise store_error("writing", target, err) from err

    def write(self, text: str) -> None:
        """Add `text` to the file, writing it out in chunks of about 1 MiB."""
        self._chunks.append(text)
        self._pending += len(text)
        if self._pending >= _FLUSH_CHARS:
            self._flush()

    def _flush(self) -> None:
        data = "".join(self._chunks).encode()
        self._chunks.clear()
        self._pending = 0
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as err:
            raise store_error("writing", self.target, err) from err
        self._size += len(data)

    def publish(self) -> int:
        """Sync the file, rename it onto the target, sync the directory.

        Not `durable`: rename only. A crash of the process still leaves the
        old file or the new one; a power loss may lose the new one.
        Returns the size of the file in bytes.
        """
        self._flush()
        try:
            if self._durable:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            self.path.replace(self.target)
            self._published = True
        except OSError as err:
            raise store_error("writing", self.target, err) from err
        if not self._durable:
            return self._size
        try:
            sync_directory(self.target.parent)
        except OSError as err:
            raise store_error(self._sync_action, self.target, err) from err
        return self._size

    def discard(self) -> None:
        """Close and remove the temporary file, if not published; never raises."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if not self._published:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()


def remove_stale_temp_files(target: Path) -> int:
    """Remove the temporary files for `target` left by a crash; return how many."""
    removed = 0
    # Path objects only for a name that matches: at start this runs once per
    # zone, and making them was most of its cost (issue 5).
    directory, target_name = os.path.split(target)
    for name in _temp_names(directory or "."):
        if not _is_temp_name(name, target_name):
            continue
        path = target.parent / name
        try:
            if not path.is_file() or path.is_symlink():
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as err:
            raise store_error("removing", path, err) from err
        removed += 1
    return removed


# Directory -> (its mtime, the names in it that look like our temp files).
# At start every zone asks about its own directory; with 10,000 zone files
# in one directory, listing it once per zone was quadratic (a 10,000-zone
# restart took minutes). The directory's mtime changes whenever an entry
# comes or goes, so an unchanged mtime means the cached names still hold.
_listings: dict[str, tuple[int, tuple[str, ...]]] = {}
_listings_lock = threading.Lock()


def _temp_names(directory: str) -> tuple[str, ...]:
    try:
        mtime = os.stat(directory).st_mtime_ns  # noqa: PTH116 - no Path per zone
    except FileNotFoundError:
        return ()
    except OSError as err:
        raise store_error("listing", Path(directory), err) from err
    with _listings_lock:
        cached = _listings.get(directory)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            names = tuple(
                entry.name
                for entry in os.scandir(directory)
                if entry.name.startswith(".") and entry.name.endswith(_TEMP_SUFFIX)
            )
        except FileNotFoundError:
            return ()
        except OSError as err:
            raise store_error("listing", Path(directory), err) from err
        _listings[directory] = (mtime, names)
        return names
