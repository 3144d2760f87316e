"""sd_notify against a datagram socket standing in for systemd's."""

import socket

from zonesync.sdnotify import notify


def test_ready_reaches_the_notify_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert notify("READY=1")
        assert sock.recv(64) == b"READY=1"


def test_abstract_socket_names_start_with_at(monkeypatch):
    name = f"zonesync-test-{id(monkeypatch)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("STOPPING=1")
        assert sock.recv(64) == b"STOPPING=1"


def test_without_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not notify("READY=1")


def test_a_gone_socket_is_a_warning_not_an_error(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "missing"))
    assert not notify("READY=1")
    assert "cannot tell systemd READY=1" in caplog.text
