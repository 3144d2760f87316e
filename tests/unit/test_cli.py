"""`zonesync check-conf`, driven through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from zonesync.cli import main

SECRET = "c2VjcmV0LXZhbHVlLTEyMzQ="
CONF = f"""
key "xfr" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
options {{ directory "."; max-refresh-time 3600; }};
view "inside" {{
    match-clients {{ key "xfr"; }};
    zone "example.com" {{
        type secondary;
        file "db.example";
        primaries {{ 192.0.2.1 key "xfr"; }};
        allow-query {{ any; }};
    }};
}};
view "outside" {{
    zone "example.com" {{ type primary; file "db.example.out"; }};
}};
"""


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "named.conf"
    path.write_text(CONF)
    return path


def test_valid_config_exits_zero_silently(conf: Path) -> None:
    result = CliRunner().invoke(main, ["check-conf", str(conf)])
    assert result.exit_code == 0
    assert result.output == ""


def test_list_prints_named_checkconf_format(conf: Path) -> None:
    result = CliRunner().invoke(main, ["check-conf", "-l", "named.conf"])
    assert result.exit_code == 0
    assert result.output == (
        "example.com IN inside secondary\nexample.com IN outside primary\n"
    )


def test_problems_go_to_stderr_one_per_line_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.conf"
    path.write_text('zone "a" { type secondary; };\nzone "b" { type primary; };\n')
    result = CliRunner().invoke(main, ["check-conf", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}:1: zone 'a': missing 'primaries' entry\n"
        f"{path}:2: zone 'b': missing 'file' entry\n"
    )


def test_syntax_error_and_missing_file_never_trace_back(tmp_path: Path) -> None:
    path = tmp_path / "bad.conf"
    path.write_text("options {\n")
    result = CliRunner().invoke(main, ["check-conf", str(path)])
    assert result.exit_code == 1
    assert result.stderr == f"{path}:2: '}}' expected near end of file\n"
    result = CliRunner().invoke(main, ["check-conf", str(tmp_path / "nope.conf")])
    assert result.exit_code == 1
    assert result.stderr == f"open: {tmp_path / 'nope.conf'}: file not found\n"
    assert "Traceback" not in result.output


def test_effective_shows_values_sources_ignored_and_redacts_secrets(conf: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["check-conf", "--effective", "example.com", "--view", "inside", "named.conf"],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert SECRET not in out
    assert "<redacted>" in out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert lines["max-refresh-time"].split()[1:] == ["3600", "options"]
    assert lines["max-retry-time"].split()[1:] == ["1209600", "default"]
    assert lines["transfers-in"].split()[1:] == ["10", "default", "(server-wide)"]
    assert "192.0.2.1#53" in lines["primaries"]
    assert out.splitlines()[0].startswith(
        "zone example.com/IN view inside (named.conf:6)"
    )
    assert "read but not used by zonesync: allow-query" in out


def test_effective_needs_a_view_when_ambiguous_and_a_known_zone(conf: Path) -> None:
    result = CliRunner().invoke(
        main, ["check-conf", "--effective", "example.com", "named.conf"]
    )
    assert result.exit_code == 1
    assert "several views (inside, outside)" in result.stderr
    result = CliRunner().invoke(
        main, ["check-conf", "--effective", "nope.example", "named.conf"]
    )
    assert result.exit_code == 1
    assert result.stderr == "zone 'nope.example': not found in named.conf\n"


@pytest.fixture(autouse=True)
def _keep_pytest_logging(monkeypatch):
    # `run` sets up logging on the real stderr; CliRunner's stream closes.
    monkeypatch.setattr("zonesync.cli.setup_logging", lambda *a, **k: None)


def test_run_with_an_unusable_state_dir_is_one_line_and_exit_1(tmp_path: Path) -> None:
    conf = tmp_path / "named.conf"
    conf.write_text(CONF)
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(
        main, ["run", "-c", str(conf), "--state-dir", str(blocker / "state")]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"zonesync: state directory {blocker / 'state'}: Not a directory"
    ]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--listen", "localhost:53", "bad listen address 'localhost:53'"),
        ("--on-update", "echo 'unbalanced", "No closing quotation"),
    ],
)
def test_run_rejects_bad_options(tmp_path: Path, option, value, message) -> None:
    conf = tmp_path / "named.conf"
    conf.write_text(CONF)
    result = CliRunner().invoke(main, ["run", "-c", str(conf), option, value])
    assert result.exit_code == 2
    assert message in result.stderr


def test_run_config_error_lists_problems(tmp_path: Path) -> None:
    conf = tmp_path / "named.conf"
    conf.write_text('zone "x" { type secondary; };\n')
    result = CliRunner().invoke(main, ["run", "-c", str(conf)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{conf}:1: ")
    assert "Traceback" not in result.output
