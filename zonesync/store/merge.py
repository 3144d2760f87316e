"""An IXFR's rewrite of our own zone file: copy it, but for the touched RRsets.

FileZone merges journaled differences into its file (`rewrite()`): the
new file is the old one with the lines of every touched RRset taken out
(and merged by `IxfrPlan`, then written after), everything else copied as
it is. This module finds and copies; it knows nothing of the journal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from typing import IO, Any, NamedTuple

from zonesync.store.atomic import AtomicFile
from zonesync.store.records import HEADER_LINES, Record

_MERGE_BYTES = 1 << 20  # read at a time by an IXFR's rewrite

# Blanks as str.split() knows them, but not the end of the line.
_BLANK = r"[^\S\n]"


def _trie(words: Iterable[str]) -> str:
    """A regex for any of `words`, their common beginnings factored out:
    an alternation of a hundred names tried at each line is slower."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_node(tree)


def _trie_node(node: dict[str, Any]) -> str:
    branches = [
        re.escape(char) + _trie_node(rest) for char, rest in node.items() if char
    ]
    if not branches:
        return ""
    text = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{text})?" if "" in node else text


def _touched_lines(owners: Iterable[str]) -> re.Pattern[str]:
    """Lines that start with one of `owners` (any case), as group 1.

    The text searched starts with the newline before its first line: a
    search for a literal runs in C.
    """
    return re.compile(rf"\n{_BLANK}*+({_trie(owners)})\s", re.IGNORECASE)


def _apex_ns_lines(apex: str) -> re.Pattern[str]:
    """Lines `apex TTL CLASS NS`, the apex in any case as group 1."""
    word = rf"\S++{_BLANK}++"
    return re.compile(
        rf"\n{_BLANK}*+({re.escape(apex)}){_BLANK}++{word}{word}(?-i:NS)\s",
        re.IGNORECASE,
    )


class Copied(NamedTuple):
    """What copy_untouched() did."""

    held: list[Record]  # the touched lines, read as RRs, in file order
    copied: int  # lines copied as they were
    apex_ns: bool  # an untouched apex NS line was among them


def copy_untouched(
    src: IO[bytes],
    out: AtomicFile,
    text_keys: Collection[tuple[str, str]],
    apex: str,
    parse_line: Callable[[str, int], Record],
    line_error: Callable[[int, str], Exception],
) -> Copied:
    """Copy the RR lines left in `src` to `out`, but for the touched RRsets.

    `text_keys` are the touched (owner, type) pairs, the owner in lower
    case as `apex` is. A line of one of them is read with `parse_line(line,
    lineno)` and held back; `line_error(lineno, message)` words a line
    whose owner is touched but which is not an RR. The file is read in
    blocks of whole lines; one regex per block finds the lines whose owner
    is touched, and the text between them is copied as it is: only a
    touched line is read as an RR (as load() reads none). Splitting each of
    a million lines in Python took 0.6 s.
    """
    owners = {owner for owner, _type in text_keys}
    find = _touched_lines(owners) if owners else None  # none: a new SOA only
    # Lines of the apex's NS RRset are all held when it is touched.
    find_apex_ns = None if (apex, "NS") in text_keys else _apex_ns_lines(apex)
    held: list[Record] = []
    count = 0
    lineno = HEADER_LINES + 2  # of the block's first line
    carry = b""
    while True:
        chunk = src.read(_MERGE_BYTES)
        if chunk:
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                carry += chunk
                continue
            data, carry = carry + chunk[:cut], chunk[cut:]
        elif carry:  # a last line without a newline gets one
            data, carry = carry + b"\n", b""
        else:
            break
        text = "\n" + data.decode()
        if "\r" in text:  # as a file read as text: \r\n and \r end lines
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.count("\n") - 1
        copied = lines
        if find_apex_ns is not None:
            for match in find_apex_ns.finditer(text):
                if match[1].lower() == apex:
                    find_apex_ns = None
                    break
        start = 1  # of the text not copied yet
        seen, seen_lineno = 1, lineno
        for match in find.finditer(text) if find is not None else ():
            begin = match.start() + 1
            end = text.index("\n", begin) + 1
            seen_lineno += text.count("\n", seen, begin)
            seen = begin
            line = text[begin:end]
            parts = line.split(None, 4)
            if len(parts) < 4:
                raise line_error(seen_lineno, "not a resource record")
            if (parts[0].lower(), parts[3]) in text_keys:
                out.write(text[start:begin])
                start = end
                held.append(parse_line(line, seen_lineno))
                copied -= 1
        out.write(text[start:])
        count += copied
        lineno += lines
    apex_ns = find_apex_ns is None and (apex, "NS") not in text_keys
    return Copied(held, count, apex_ns)
