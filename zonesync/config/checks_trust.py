"""DNSSEC-related statement checks: update-policy rules and trust anchors.

Copies `check_update_policy()`, `check_trust_anchor()` and
`check_ta_conflicts()` of BIND 9.18's lib/isccfg/check.c, worded as
named-checkconf 9.18.49 prints them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from zonesync.config.checks_util import (
    Problems,
    b64_problem,
    block,
    hex_decode,
    is_rdata_type,
    name_problem,
    parse_name,
)
from zonesync.config.grammar import Statement, Word

# ---------------------------------------------------------------------------
# update-policy (check_update_policy)

_SAME_AS_IDENTITY = frozenset({"self", "selfsub", "selfwild"})
_PLACEHOLDER = frozenset(
    {"krb5-self", "ms-self", "krb5-selfsub", "ms-selfsub", "tcp-self", "6to4-self"}
)
_NAME_FIELD = frozenset(
    {
        "name",
        "subdomain",
        "zonesub",
        "ms-subdomain",
        "ms-subdomain-self-rhs",
        "krb5-subdomain",
        "krb5-subdomain-self-rhs",
        "wildcard",
        "external",
        "local",
    }
)


def check_update_policy(policy: Statement, problems: Problems) -> bool:
    """Check the grant/deny rules of `update-policy`; False on failure."""
    rules = block(policy)
    if rules is None:
        return True  # `update-policy local;`
    ok = True
    for rule in rules.statements:
        words = [item for item in rule.items if isinstance(item, Word)]
        if len(words) < 3:
            continue
        identity, matchtype = words[1], words[2].text.lower()
        rest = words[3:]
        if matchtype == "zonesub":
            name_word, types = None, rest
        else:
            name_word, types = (rest[0], rest[1:]) if rest else (None, [])
        identity_name = parse_name(identity.text)
        if identity_name is None:
            problems.add(identity, f"'{identity.text}' is not a valid name")
            ok = False
        name_text = name_word.text if name_word is not None else "."
        name = None
        if identity_name is not None:
            name = parse_name(name_text)
            if name is None:
                problems.add(
                    name_word or identity, f"'{name_text}' is not a valid name"
                )
                ok = False
        if name is not None and identity_name is not None:
            if matchtype == "wildcard" and not (name and name[0] == b"*"):
                problems.add(identity, f"'{name_text}' is not a wildcard")
                ok = False
            if matchtype in _SAME_AS_IDENTITY and name not in (identity_name, ()):
                problems.add(identity, "identity and name fields are not the same")
                ok = False
            elif matchtype in _PLACEHOLDER and name != ():
                problems.add(identity, "name field not set to placeholder value '.'")
                ok = False
            elif matchtype in _NAME_FIELD and is_rdata_type(name_text):
                problems.add(identity, f"missing name field type '{name_text}' found")
                ok = False
        for type_word in types:
            raw = type_word.text
            bracket = raw.find("(")
            if bracket >= 0:
                count = re.match(r"\s*[+-]?\d*", raw[bracket + 1 :])
                digits = count.group(0) if count else ""
                tail = raw[bracket + 1 + len(digits) :]
                number = int(digits) if digits.strip().lstrip("+-").isdigit() else 0
                if digits.strip().startswith("-"):
                    number = 1 << 64
                if number > 0xFFFF or tail != ")":
                    problems.add(type_word, f"'{raw[bracket:]}' is not a valid count")
                    ok = False
                raw = raw[:bracket]
            if not is_rdata_type(raw):
                problems.add(type_word, f"'{raw}' is not a valid type")
                ok = False
    return ok


# ---------------------------------------------------------------------------
# Trust anchors (check_trust_anchor, check_ta_conflicts)

_STATIC = frozenset({"static-key", "static-ds"})
_INITIAL = frozenset({"initial-key", "initial-ds"})


def _anchors(statements: Iterable[Statement]) -> Iterable[Statement]:
    for statement in statements:
        body = block(statement)
        if body is not None:
            yield from (entry for entry in body.statements if entry.items)


def _anchor_fields(
    entry: Statement, managed: bool
) -> tuple[str, str | None, list[Word], str] | None:
    """(name, anchor type, [rdata1, rdata2, rdata3], key data) of one entry."""
    words = [item for item in entry.items if isinstance(item, Word)]
    kind: str | None = None
    if managed:
        if len(words) < 2:
            return None
        kind = words[1].text.lower()
        rest = words[2:]
    else:
        rest = words[1:]
    if len(rest) < 4:
        return None
    return words[0].text, kind, rest[:3], "".join(item.text for item in rest[3:])


def check_anchor(
    entry: Statement, managed: bool, problems: Problems
) -> tuple[bool, bool]:
    """Check one trust anchor; returns (ok, whether it is for the root)."""
    fields = _anchor_fields(entry, managed)
    if fields is None:
        return True, False
    name_text, kind, numbers_words, data = fields
    ok = True
    reason = name_problem(name_text)
    if reason is not None:
        problems.add(entry, f"bad key name: {reason}")
        ok = False
    if managed and kind not in _STATIC | _INITIAL:
        return ok, False
    numbers = [int(word.text) if word.text.isdigit() else 0 for word in numbers_words]
    if kind in (None, "static-key", "initial-key"):
        labels = ("flags", "protocol", "algorithm")
        encoding = b64_problem(data)
    else:
        labels = ("key tag", "algorithm", "digest type")
        outcome, _ = hex_decode(data, 4096)
        encoding = None if outcome == "ok" else "bad hex encoding"
    for number, limit, label in zip(numbers, (0xFFFF, 0xFF, 0xFF), labels, strict=True):
        if number > limit:
            problems.add(entry, f"{label} too big: {number}")
            ok = False
    if encoding is not None:
        problems.add(entry, encoding)
        ok = False
    return ok, ok and parse_name(name_text) == ()


def check_anchor_conflicts(
    global_ta: Sequence[Statement],
    view_ta: Sequence[Statement],
    global_tkeys: Sequence[Statement],
    view_tkeys: Sequence[Statement],
    autovalidation: bool,
    problems: Problems,
) -> None:
    """Static and initializing keys for one name (check_ta_conflicts)."""
    static: dict[tuple[bytes, ...], Statement] = {}

    def record(statements: Iterable[Statement], managed: bool) -> None:
        for entry in _anchors(statements):
            words = [item for item in entry.items if isinstance(item, Word)]
            if not words:
                continue
            name = parse_name(words[0].text)
            if name is None:
                continue
            kind = words[1].text.lower() if managed and len(words) > 1 else None
            if kind in _INITIAL:
                continue
            # The first static key of a name is the one conflicts cite, but
            # BIND checks every static root key against validation auto.
            static.setdefault(name, entry)
            if autovalidation and name == ():
                problems.add(
                    entry,
                    "static trust anchor for root zone cannot be used with 'dnssec-validation auto'.",
                )

    record(global_ta, True)
    record(view_ta, True)
    record(global_tkeys, False)
    record(view_tkeys, False)
    for entry in _anchors([*global_ta, *view_ta]):
        words = [item for item in entry.items if isinstance(item, Word)]
        if len(words) < 2 or words[1].text.lower() not in _INITIAL:
            continue
        name = parse_name(words[0].text)
        if name is None or name not in static:
            continue
        first = static[name]
        problems.add(
            entry,
            "static and initializing keys cannot be used for the same domain. "
            f"static key defined at {first.file}:{first.line}",
        )
