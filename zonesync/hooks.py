"""Run the operator's `--on-update` / `--on-expire` commands, without a shell."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from collections.abc import Mapping

# A hook that runs longer than this is killed: it must not hold up its zone.
HOOK_SECONDS = 60.0
PLACEHOLDERS = ("{zone}", "{view}", "{file}", "{serial}")


def split_command(template: str) -> list[str]:
    """The command's words, as a POSIX shell would split them (no expansion).

    Raises ValueError for an empty command or unbalanced quotes.
    """
    words = shlex.split(template)
    if not words:
        raise ValueError("empty command")
    return words


def expand(words: list[str], values: Mapping[str, str]) -> list[str]:
    """Substitute `{zone}`, `{view}`, `{file}` and `{serial}` in every word."""
    out = []
    for word in words:
        for placeholder in PLACEHOLDERS:
            word = word.replace(placeholder, values.get(placeholder[1:-1], ""))
        out.append(word)
    return out


async def run_hook(
    what: str,
    template: str,
    values: Mapping[str, str],
    log: logging.LoggerAdapter[logging.Logger],
) -> bool:
    """Run one hook to completion; log any failure and return whether it worked.

    A failing hook is never fatal: the zone goes on. Output goes to our
    stderr's log only when the command fails.
    """
    argv = expand(split_command(template), values)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as err:
        log.error("%s hook: cannot run %s: %s", what, argv[0], err.strerror or err)
        return False
    try:
        async with asyncio.timeout(HOOK_SECONDS):
            _, stderr = await proc.communicate()
    except TimeoutError:
        log.error(
            "%s hook: %s timed out after %d s, killed", what, argv[0], HOOK_SECONDS
        )
        return False
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.shield(proc.wait())
    if proc.returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip().splitlines()
        log.error(
            "%s hook: %s exited with status %d%s",
            what,
            argv[0],
            proc.returncode,
            f": {detail[-1][:200]}" if detail else "",
        )
        return False
    log.debug("%s hook: %s done", what, argv[0])
    return True
