"""Fidelity to named-checkconf 9.18, measured on the shared named.conf corpus.

Each case of `../shared/corpus/named-conf/` holds a named.conf and BIND's
verdict. Acceptance (issue 2): every `ok` case accepted with the same zone
list, and at least 85 % of the `error` cases rejected, including every
syntax error and every error about the areas zonesync relies on. The
figures are printed at the end of the run. The tests skip when the corpus
is not there (a checkout without `../shared`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from zonesync.config import load_config
from zonesync.errors import ConfigError

CORPUS = Path(
    os.environ.get(
        "ZONESYNC_CORPUS",
        Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "named-conf",
    )
)
ERROR_TARGET = 0.85
# BIND messages about what zonesync relies on: syntax, zones, primaries,
# keys, acls, views, includes, files and the zone options of issue 2. An
# error case whose first message matches must be rejected, no exceptions.
MUST_REJECT = re.compile(
    r"missing ';'|expected near|unexpected|syntax error|zone '|primaries|masters|"
    r"\bkey\b|ACL|acl|view|parsing failed|change directory|file|allow-notify|"
    r"allow-transfer|also-notify|notify|transfer-source|request-ixfr|request-expire|"
    r"refresh-time|retry-time|max-transfer|max-records|multi-master|try-tcp-refresh|"
    r"masterfile-format|ixfr-from-differences|max-journal-size|zone-statistics|"
    r"transfers-in|transfers-per-ns|serial-query-rate|listen-on|catalog|unknown option|"
    r"redefined|duplicated|already exists|not a valid name|boolean expected|"
    r"expected integer|ISO 8601|out of range|algorithm|secret"
)


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    verdict: str
    message: str


def _cases() -> list[Case]:
    if not CORPUS.is_dir():
        return []
    out = []
    for path in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        lines = (path / "verdict.txt").read_text().splitlines()
        out.append(Case(path.name, path, lines[0], lines[1] if len(lines) > 1 else ""))
    return out


CASES = _cases()
OK_CASES = [c for c in CASES if c.verdict == "ok"]
ERROR_CASES = [c for c in CASES if c.verdict == "error"]
MUST_CASES = [
    c for c in ERROR_CASES if MUST_REJECT.search(c.message.split(": ", 1)[-1])
]
needs_corpus = pytest.mark.skipif(not CASES, reason=f"corpus not found at {CORPUS}")
FIGURES: dict[str, str] = {}


def _rejected(case: Case) -> bool:
    try:
        load_config("named.conf", cwd=case.path)
    except ConfigError:
        return True
    return False


@needs_corpus
@pytest.mark.parametrize("case", OK_CASES, ids=lambda c: c.name)
def test_ok_case_is_accepted_with_bind_zone_list(case: Case) -> None:
    try:
        config = load_config("named.conf", cwd=case.path)
    except ConfigError as err:
        pytest.fail(f"rejected what BIND accepts:\n{err}")
    expected = case.path / "expected-zones.txt"
    if expected.exists():
        assert config.zone_list() == expected.read_text().splitlines()


@needs_corpus
@pytest.mark.parametrize("case", MUST_CASES, ids=lambda c: c.name)
def test_error_case_in_our_areas_is_rejected(case: Case) -> None:
    assert _rejected(case), f"accepted what BIND rejects: {case.message}"


@needs_corpus
def test_error_cases_rejected_rate() -> None:
    missed = [c for c in ERROR_CASES if not _rejected(c)]
    rate = 1 - len(missed) / len(ERROR_CASES)
    with_zones = sum(1 for c in OK_CASES if (c.path / "expected-zones.txt").exists())
    FIGURES["corpus"] = (
        f"named.conf corpus: {len(OK_CASES)} ok cases, {with_zones} with zone lists; "
        f"error cases rejected {len(ERROR_CASES) - len(missed)}/{len(ERROR_CASES)} "
        f"({rate:.1%}); accepted by zonesync but not BIND: "
        + ", ".join(c.name for c in missed)
    )
    assert rate >= ERROR_TARGET, FIGURES["corpus"]
