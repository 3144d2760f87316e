"""Include and directory semantics, as BIND 9.18 resolves them."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonesync.config.grammar import Statement, Word
from zonesync.config.include import load_tree
from zonesync.errors import ConfigError


def zone_names(statements: tuple[Statement, ...]) -> list[str]:
    out = []
    for st in statements:
        if st.keyword == "zone":
            word = st.items[1]
            assert isinstance(word, Word)
            out.append(word.text)
    return out


def problems(path: str, cwd: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_tree(path, cwd)
    return [str(p) for p in info.value.problems]


def test_relative_include_resolves_against_cwd_not_includer(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "outer.conf").write_text('include "inner.conf";\n')
    (tmp_path / "conf.d" / "inner.conf").write_text('zone "a" { };\n')
    (tmp_path / "named.conf").write_text('include "conf.d/outer.conf";\n')
    assert problems("named.conf", tmp_path) == [
        "conf.d/outer.conf:1: parsing failed: file not found"
    ]
    (tmp_path / "inner.conf").write_text('zone "b" { };\n')
    assert zone_names(load_tree("named.conf", tmp_path).statements) == ["b"]


def test_directory_changes_cwd_from_where_it_appears(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "before.conf").write_text('zone "before" { };\n')
    (tmp_path / "data" / "after.conf").write_text('zone "after" { };\n')
    (tmp_path / "named.conf").write_text(
        'include "before.conf";\noptions { directory "data"; };\ninclude "after.conf";\n'
    )
    tree = load_tree("named.conf", tmp_path)
    assert zone_names(tree.statements) == ["before", "after"]
    assert tree.directory == tmp_path / "data"


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "named.conf").write_text('\noptions { directory "nope"; };\n')
    assert problems("named.conf", tmp_path) == [
        "named.conf:2: change directory to 'nope' failed: file not found"
    ]


def test_glob_reads_in_reverse_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "z").mkdir()
    for name in "abc":
        (tmp_path / "z" / f"{name}.conf").write_text(f'zone "{name}" {{ }};\n')
    (tmp_path / "named.conf").write_text('include "z/*.conf";\n')
    tree = load_tree("named.conf", tmp_path)
    assert zone_names(tree.statements) == ["c", "b", "a"]
    assert tree.files == ("named.conf", "z/c.conf", "z/b.conf", "z/a.conf")


def test_empty_glob_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "named.conf").write_text('include "none/*.conf";\n')
    assert problems("named.conf", tmp_path) == [
        "named.conf:1: parsing failed: file not found"
    ]


def test_include_inside_view_and_zone(tmp_path: Path) -> None:
    (tmp_path / "zones.conf").write_text('zone "in-view" { include "body.conf"; };\n')
    (tmp_path / "body.conf").write_text("type secondary;\n")
    (tmp_path / "named.conf").write_text('view "v" { include "zones.conf"; };\n')
    (view,) = load_tree("named.conf", tmp_path).statements
    assert view.keyword == "view"
    body = view.items[-1]
    assert not isinstance(body, Word)
    (zone,) = body.statements
    assert zone.file == "zones.conf"
    inner = zone.items[-1]
    assert not isinstance(inner, Word)
    assert inner.statements[0].keyword == "type"
    assert inner.statements[0].file == "body.conf"


def test_syntax_error_in_included_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("\n\noptions { recursion no }\n")
    (tmp_path / "named.conf").write_text('include "bad.conf";\n')
    assert problems("named.conf", tmp_path) == ["bad.conf:3: missing ';' before '}'"]


def test_missing_main_file(tmp_path: Path) -> None:
    assert problems("nope.conf", tmp_path) == ["open: nope.conf: file not found"]


def test_dev_null_include_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "named.conf").write_text('include "/dev/null";\nzone "a" { };\n')
    assert zone_names(load_tree("named.conf", tmp_path).statements) == ["a"]


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "named.conf").write_text('include "sub";\n')
    assert problems("named.conf", tmp_path) == ["sub:1: not a file"]
    assert problems("sub", tmp_path) == ["sub:1: not a file"]
