"""Address match list checks made while BIND expands an ACL.

named-checkconf expands an ACL (`cfg_acl_fromconfig()` in
lib/isccfg/aclconf.c) only where a consumer uses it, and stops at the first
element it cannot convert. Undefined ACL names are reported by the loader;
this module reports what else the expansion rejects in BIND 9.18 built
with GeoIP2: unknown `geoip db` names, search types GeoIP2 lacks,
three-letter country codes, long postal codes and bad key names. It also answers `dns_acl_isnone()`.
"""

from __future__ import annotations

from collections.abc import Sequence

from zonesync.config.checks_util import Problems, parse_name, text
from zonesync.config.grammar import Block, Statement, Word
from zonesync.config.model import BUILTIN_ACLS

_GEOIP2_DATABASES = frozenset({"country", "city", "asnum", "isp", "domain"})
# Search types of the legacy GeoIP API that GeoIP2 does not have.
_GEOIP2_MISSING = frozenset({"area", "areacode", "netspeed", "regionname"})


class AclTable:
    """The top-level `acl` definitions, by name (case-insensitive)."""

    def __init__(self, statements: Sequence[Statement]) -> None:
        self.acls: dict[str, Block] = {}
        self.undefined: str | None = None
        for statement in statements:
            name = text(statement)
            body = statement.items[-1] if statement.items else None
            if name is not None and isinstance(body, Block):
                self.acls.setdefault(name.lower(), body)

    def expand(self, acl: Block, problems: Problems) -> bool:
        """Walk an address match list as BIND expands it; False on failure.

        After a failure on an undefined ACL name, `undefined` holds the name.
        """
        self.undefined = None
        return self._walk(acl, problems, set())

    def _walk(self, acl: Block, problems: Problems, active: set[str]) -> bool:
        for element in acl.statements:
            items = element.items
            start = (
                1
                if items and isinstance(items[0], Word) and items[0].text == "!"
                else 0
            )
            if start >= len(items):
                continue
            first = items[start]
            if isinstance(first, Block):
                if not self._walk(first, problems, active):
                    return False
                continue
            keyword = first.text.lower()
            if not first.quoted and keyword == "geoip":
                if not _check_geoip(element, start, problems):
                    return False
                continue
            if not first.quoted and keyword == "key":
                key = items[start + 1] if start + 1 < len(items) else None
                if isinstance(key, Word) and parse_name(key.text) is None:
                    problems.add(
                        key, f"key name '{key.text}' is not a valid domain name"
                    )
                    return False
                continue
            if keyword in BUILTIN_ACLS or _looks_like_address(first.text):
                continue
            body = self.acls.get(keyword)
            if body is None:
                # An undefined name: the loader reports it; BIND stops here.
                self.undefined = first.text
                return False
            if keyword in active:
                continue
            active.add(keyword)
            ok = self._walk(body, problems, active)
            active.discard(keyword)
            if not ok:
                return False
        return True

    def is_none(self, acl: Block) -> bool:
        """Whether BIND's `dns_acl_isnone()` holds for this list.

        True for lists made only of `any`, `none` and their negations whose
        first element matches nothing: BIND keeps the first of these as the
        list's single 0/0 entry. Any other element (an address, a key, a
        named or nested list) makes the answer False, as it does in BIND,
        except `!{ any; }`, which BIND merges into a plain negation
        (checked against named-checkconf 9.18.49).
        """
        verdict: bool | None = None
        for element in acl.statements:
            spelled = _spell(element)
            if spelled not in _ANY_OR_NONE:
                return False
            if verdict is None:
                verdict = _ANY_OR_NONE[spelled]
        return bool(verdict)


# The elements that set the 0/0 entry, and whether they match nothing.
_ANY_OR_NONE = {
    "none": True,
    "! any": True,
    "! { any }": True,
    "any": False,
    "! none": False,
}


def _spell(element: Statement) -> str:
    """An element as lower-case words, a nested list as `{ ... }`."""
    parts = []
    for item in element.items:
        if isinstance(item, Word):
            parts.append(item.text.lower())
        else:
            inner = " ".join(_spell(statement) for statement in item.statements)
            parts.append(f"{{ {inner} }}")
    return " ".join(parts)


def _looks_like_address(raw: str) -> bool:
    head = raw.split("/", 1)[0]
    return ":" in head or (bool(head) and all(ch.isdigit() or ch == "." for ch in head))


def _check_geoip(element: Statement, start: int, problems: Problems) -> bool:
    words = [item for item in element.items[start + 1 :] if isinstance(item, Word)]
    at = element.items[start]
    if len(words) >= 2 and words[0].text.lower() == "db":
        database = words[1].text
        if database.lower() not in _GEOIP2_DATABASES:
            problems.add(at, f"database '{database}' is not defined for GeoIP2")
            return False
        words = words[2:]
    if not words:
        return True
    search = words[0].text
    lowered = search.lower()
    if lowered in _GEOIP2_MISSING:
        problems.add(at, f"type '{search}' is unavailable in GeoIP2 databases")
        return False
    if lowered in ("postal", "postalcode") and len(words) > 1:
        code = words[1].text
        # aclconf.c keeps a postal code in a 7-octet buffer.
        if len(code.encode("utf-8")) > 6:
            problems.add(at, f"geoiop postal code ({code}) too long")
            return False
    if lowered == "country" and len(words) > 1 and len(words[1].text) == 3:
        problems.add(
            at, "three-letter country codes are unavailable in GeoIP2 databases"
        )
        return False
    return True
