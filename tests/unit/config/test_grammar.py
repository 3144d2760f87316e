"""The generic ISC grammar: text in, statement tree or BIND-worded error out."""

from __future__ import annotations

import pytest

from zonesync.config.grammar import Block, GrammarError, Statement, Word, parse_text


def words(st: Statement) -> list[str]:
    return [i.text for i in st.items if isinstance(i, Word)]


def test_statements_blocks_and_lines() -> None:
    text = 'options {\n  directory "/var";\n};\nzone "a" in {\n type secondary;\n};\n'
    tree = parse_text(text, "named.conf")
    assert [st.keyword for st in tree] == ["options", "zone"]
    zone = tree[1]
    assert words(zone) == ["zone", "a", "in"]
    assert zone.line == 4
    block = zone.items[-1]
    assert isinstance(block, Block)
    assert words(block.statements[0]) == ["type", "secondary"]
    assert block.statements[0].line == 5
    assert block.statements[0].file == "named.conf"


def test_three_comment_styles_and_comment_markers_in_strings() -> None:
    text = (
        "# shell\n// c++\n/* c\n * multi-line */ key k /* inline */ {\n"
        ' secret "a//b#c/*d*/"; // trailing\n};'
    )
    (st,) = parse_text(text, "f")
    assert st.line == 4
    block = st.items[2]
    assert isinstance(block, Block)
    secret = block.statements[0].items[1]
    assert isinstance(secret, Word)
    assert secret.text == "a//b#c/*d*/"
    assert secret.quoted


def test_c_comments_do_not_nest() -> None:
    # The first '*/' closes the comment, so what follows it is read as words.
    (st,) = parse_text("/* a /* b */ c */ x;", "f")
    assert words(st) == ["c", "*/", "x"]


def test_negation_addresses_prefixes_and_ports() -> None:
    (st,) = parse_text("allow { !10/8; ::1; 2001:db8::/32; 1.2.3.4 port 53; };", "f")
    block = st.items[1]
    assert isinstance(block, Block)
    assert [words(s) for s in block.statements] == [
        ["!", "10/8"],
        ["::1"],
        ["2001:db8::/32"],
        ["1.2.3.4", "port", "53"],
    ]


def test_quoted_escapes_kept_except_quote() -> None:
    (st,) = parse_text(r'zone "a\.b\"c\065" { };', "f")
    assert words(st)[1] == 'a\\.b"c\\065'


def test_words_and_blocks_mix_in_one_statement() -> None:
    (st,) = parse_text("inet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { k; };", "f")
    kinds = [type(i).__name__ for i in st.items]
    assert kinds == ["Word"] * 5 + ["Block", "Word", "Block"]


def test_bracketed_text_is_one_word() -> None:
    (st,) = parse_text('dyndb sample "lib.so" { example.nil. in-addr.arpa. };', "f")
    block = st.items[-1]
    assert isinstance(block, Block)
    (raw,) = block.statements
    assert words(raw) == [" example.nil. in-addr.arpa. "]


def test_server_keys_may_leave_out_the_semicolon() -> None:
    (st,) = parse_text('server 192.0.2.1 {\n keys { "k" };\n};', "f")
    block = st.items[-1]
    assert isinstance(block, Block)
    (keys,) = block.statements
    inner = keys.items[1]
    assert isinstance(inner, Block)
    assert [words(x) for x in inner.statements] == [["k"]]
    assert inner.statements[0].line == 2
    with pytest.raises(GrammarError):
        parse_text("options { allow-query { any }; };", "f")


def test_deep_nesting_goes_through_the_general_grammar() -> None:
    text = "a { b { c { d { e { f; }; }; }; }; };"
    (st,) = parse_text(text, "f")
    depth = 0
    node: Statement = st
    while isinstance(node.items[-1], Block):
        node = node.items[-1].statements[0]
        depth += 1
    assert depth == 5
    assert words(node) == ["f"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("options { recursion no; }", "f:1: missing ';' before end of file"),
        ('options { };\nzone "a" { }', "f:2: missing ';' before end of file"),
        (";", "f:1: syntax error near ';'"),
        ("options { ; };", "f:1: '}' expected near ';'"),
        ("};", "f:1: syntax error near '}'"),
        ("options { recursion no };", "f:1: missing ';' before '}'"),
        ("options {\n a;\n", "f:3: '}' expected near end of file"),
        ("a;\n/* open", "f:2: unexpected end of input"),
        ('a "open;\n', "f:1: unexpected end of input"),
    ],
)
def test_syntax_errors_worded_as_named_checkconf(text: str, message: str) -> None:
    with pytest.raises(GrammarError) as info:
        parse_text(text, "f")
    assert str(info.value.problem) == message
