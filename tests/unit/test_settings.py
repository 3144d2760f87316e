import pytest

from zonesync.config.loader import load_config
from zonesync.hooks import expand, split_command
from zonesync.settings import listen_from_config, parse_listen


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:5300", ("127.0.0.1", 5300)),
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("[::1]:5300", ("::1", 5300)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_listen(text, parsed):
    assert parse_listen(text) == parsed


@pytest.mark.parametrize(
    "text", ["localhost:53", "127.0.0.1:99999", "[::1]x", "1.2.3:4"]
)
def test_parse_listen_rejects(text):
    with pytest.raises(ValueError, match=r"listen address|port"):
        parse_listen(text)


def conf(tmp_path, options):
    path = tmp_path / "named.conf"
    path.write_text(f"options {{ {options} }};\n")
    return load_config(str(path))


def test_listen_defaults_to_any_on_port_53(tmp_path):
    assert listen_from_config(conf(tmp_path, "")) == (("0.0.0.0", 53), ("::", 53))


def test_listen_host_addresses_one_by_one(tmp_path):
    config = conf(
        tmp_path,
        "listen-on port 5301 { 127.0.0.1; 127.0.0.2; }; listen-on-v6 { none; };",
    )
    assert listen_from_config(config) == (("127.0.0.1", 5301), ("127.0.0.2", 5301))


def test_listen_network_binds_the_wildcard(tmp_path):
    config = conf(tmp_path, "listen-on { 10.0.0.0/8; }; listen-on-v6 { ::1; };")
    assert listen_from_config(config) == (("0.0.0.0", 53), ("::1", 53))


def test_hook_words_are_substituted_without_a_shell():
    words = split_command("rndc reload '{zone}' in {view} --note 'a b;{x}'")
    out = expand(words, {"zone": "example.com", "view": "_default"})
    assert out == [
        "rndc",
        "reload",
        "example.com",
        "in",
        "_default",
        "--note",
        "a b;{x}",
    ]


def test_hook_command_must_split():
    with pytest.raises(ValueError, match=r"quotation|empty"):
        split_command("echo 'unbalanced")
    with pytest.raises(ValueError, match="empty"):
        split_command("   ")
