"""Include and directory resolution with BIND 9.18's rules.

named resolves a relative `include` against its *working directory*, not the
directory of the including file, and `options { directory "D"; }` changes
that working directory at the point where it appears, while the files are
still being read (named calls chdir() from the parser, `bin/named/server.c`
`directory_callback`). Glob includes are read in reverse sorted order, and a
glob that matches nothing is an error. We copy all of this without calling
chdir(): the working directory is tracked as a value.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from zonesync.config.grammar import Block, GrammarError, Statement, Word, parse_text
from zonesync.errors import ConfigError, ConfigProblem

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Tree:
    """The whole configuration as one statement list, includes spliced in."""

    statements: tuple[Statement, ...]
    directory: Path  # the working directory after the last `directory`
    files: tuple[str, ...]  # every file read, as named in messages


class _Reader:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.files: list[str] = []

    def read(self, path: str, where: Word | None) -> tuple[Statement, ...]:
        """Read and parse one file, named as written (resolved against cwd)."""
        full = self.cwd / path  # an absolute path replaces cwd
        try:
            text = full.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as err:
            reason = _reason(err)
            if isinstance(err, IsADirectoryError):
                raise ConfigError([ConfigProblem(path, 1, "not a file")]) from None
            if where is None:
                raise ConfigError(
                    [ConfigProblem("", 0, f"open: {path}: {reason}")]
                ) from None
            raise _fail(where, f"parsing failed: {reason}") from None
        self.files.append(path)
        try:
            statements = parse_text(text, path)
        except GrammarError as err:
            raise ConfigError([err.problem]) from None
        if "include" not in text.lower():  # nothing to splice: only `directory`
            for st in statements:
                if st.keyword == "options":
                    self.directory_in(st)
            return statements
        return self.expand(statements, top=True)

    def expand(
        self, statements: tuple[Statement, ...], *, top: bool
    ) -> tuple[Statement, ...]:
        """Splice includes into a statement list, tracking `directory`."""
        out: list[Statement] = []
        changed = False
        for st in statements:
            keyword = st.keyword
            if (
                keyword == "include"
                and len(st.items) == 2
                and isinstance(st.items[1], Word)
            ):
                out.extend(self.include(st.items[1]))
                changed = True
                continue
            if top and keyword == "options":
                self.directory_in(st)
            new = self.expand_blocks(st)
            changed = changed or new is not st
            out.append(new)
        return tuple(out) if changed else statements

    def expand_blocks(self, st: Statement) -> Statement:
        """Expand includes inside a statement's blocks, rebuilding only what changed."""
        items: list[Word | Block] | None = None
        for i, item in enumerate(st.items):
            if isinstance(item, Block):
                body = self.expand(item.statements, top=False)
                if body is not item.statements:
                    if items is None:
                        items = list(st.items)
                    items[i] = Block(body, item.file, item.line)
        if items is None:
            return st
        return Statement(tuple(items), st.file, st.line, st.keyword)

    def include(self, word: Word) -> list[Statement]:
        pattern = word.text
        if not _GLOB_CHARS.intersection(pattern):
            return list(self.read(pattern, word))
        matches = glob.glob(pattern, root_dir=self.cwd)  # noqa: PTH207 - keeps names as written
        if not matches:
            raise _fail(word, "parsing failed: file not found")
        out: list[Statement] = []
        for path in sorted(matches, reverse=True):
            out.extend(self.read(path, word))
        return out

    def directory_in(self, options: Statement) -> None:
        """Apply `directory` statements of an options block, in order."""
        for item in options.items:
            if not isinstance(item, Block):
                continue
            for st in item.statements:
                if st.keyword != "directory" or len(st.items) != 2:
                    continue
                word = st.items[1]
                if not isinstance(word, Word):
                    continue
                target = self.cwd / word.text  # an absolute path replaces cwd
                if not target.exists():
                    raise _fail(
                        word,
                        f"change directory to '{word.text}' failed: file not found",
                    )
                if not target.is_dir():
                    raise _fail(
                        word, f"change directory to '{word.text}' failed: invalid file"
                    )
                self.cwd = Path(os.path.normpath(target))


def load_tree(path: str | os.PathLike[str], cwd: Path | None = None) -> Tree:
    """Read a named.conf and everything it includes, as named reads it.

    Args:
        path: the file, as given on the command line (relative paths resolve
            against `cwd`, as named resolves them against its working directory).
        cwd: the starting working directory; the process's by default.

    Raises:
        ConfigError: a file could not be read or has a syntax error. BIND stops
            at the first such problem and so do we.
    """
    reader = _Reader(Path(cwd) if cwd is not None else Path.cwd())
    name = os.fspath(path)
    statements = reader.read(name, None)
    return Tree(statements, reader.cwd, tuple(reader.files))


def _fail(word: Word, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(word.file, word.line, message)])


def _reason(err: OSError) -> str:
    """Word an OS error as BIND's isc_result_totext() does."""
    if isinstance(err, FileNotFoundError):
        return "file not found"
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, IsADirectoryError):
        return "invalid file"
    return (err.strerror or "unexpected error").lower()
