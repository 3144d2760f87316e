"""The options zonesync reads for each zone and server-wide, with BIND 9.18's defaults.

`loader.py` resolves each zone option options -> view -> zone, as BIND does;
this table says which options, their defaults (ARM "Zone Transfers",
"Tuning") and how a value's words convert. `check-conf --effective` prints
them in this order.
"""

from __future__ import annotations

from collections.abc import Callable

from zonesync.config.model import ANY, NONE


def _bool(words: list[str]) -> object:
    return words[0].lower() in {"yes", "true", "1"}


def _int(words: list[str]) -> object:
    return int(words[0])


def _keyword_or_bool(words: list[str]) -> object:
    word = words[0].lower()
    if word in {"yes", "true", "1"}:
        return True
    if word in {"no", "false", "0"}:
        return False
    return word


def _word(words: list[str]) -> object:
    return words[0].lower()


def _source(words: list[str]) -> object:
    return " ".join(words)


def _size(words: list[str]) -> object:
    word = words[0].lower()
    if word in {"default", "unlimited"}:
        return word
    scale = {"k": 1024, "m": 1024**2, "g": 1024**3}.get(word[-1:], 1)
    digits = word[:-1] if scale != 1 else word
    return int(digits) * scale


# The zone options zonesync resolves options -> view -> zone, with BIND
# 9.18's defaults (ARM "Zone Transfers", "Tuning"). Times are in the unit
# BIND uses for the clause: seconds for refresh/retry, minutes for
# max-transfer-*-in. Address lists and remote lists are converted apart.
ZONE_OPTIONS: dict[str, tuple[object, Callable[[list[str]], object]]] = {
    "notify": (True, _keyword_or_bool),
    "notify-source": ("*", _source),
    "notify-source-v6": ("*", _source),
    "transfer-source": ("*", _source),
    "transfer-source-v6": ("*", _source),
    "request-ixfr": (True, _bool),
    "request-expire": (True, _bool),
    "min-refresh-time": (300, _int),
    "max-refresh-time": (2419200, _int),
    "min-retry-time": (500, _int),
    "max-retry-time": (1209600, _int),
    "max-transfer-time-in": (120, _int),
    "max-transfer-idle-in": (60, _int),
    "max-records": (0, _int),
    "multi-master": (False, _bool),
    "try-tcp-refresh": (True, _bool),
    # BIND's default for secondary zones is raw; zonesync writes text.
    "masterfile-format": ("text", _word),
    "ixfr-from-differences": (False, _keyword_or_bool),
    "max-journal-size": ("default", _size),
    "zone-statistics": ("terse", _keyword_or_bool),
}
ZONE_LISTS = ("allow-notify", "allow-transfer", "also-notify")
LIST_DEFAULTS: dict[str, object] = {
    "allow-notify": NONE,
    "allow-transfer": ANY,  # BIND 9.18: "the default is to allow transfers to all hosts"
    "also-notify": (),
}
ALL_ZONE_OPTIONS = (*ZONE_OPTIONS, *ZONE_LISTS)
# Server-wide options zonesync reads (catalog-zones is kept as text for now).
SERVER_OPTIONS: dict[str, tuple[object, Callable[[list[str]], object]]] = {
    "transfers-in": (10, _int),
    "transfers-per-ns": (2, _int),
    "serial-query-rate": (20, _int),
}
# Clauses of a zone that zonesync uses; any other given clause is listed as
# read but ignored by `check-conf --effective`.
USED_ZONE_CLAUSES = frozenset(
    {"type", "file", "primaries", "masters", "in-view", *ZONE_OPTIONS, *ZONE_LISTS}
)
