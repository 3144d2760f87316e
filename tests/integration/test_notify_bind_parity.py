"""NOTIFY in: zonesync's handler against a real named 9.18 secondary.

One named.conf (two views chosen by TSIG key and address, a secondary zone
whose primary is a dead 127.0.0.1 port, `allow-notify` by key) is given to
both: named runs it, and zonesync loads it. Each case sends the same wire
to named (UDP or TCP, from 127.0.0.1, .2 or .4) and to `NotifyHandler`
with the same source; the replies must agree on id, opcode, flags, rcode,
question, section counts, EDNS and the TSIG's key, error and whether it is
signed. Every line zonesync logs at INFO or above must appear in named's
log too (without named's `@0x...` client pointer).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from unittest import mock

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rrset
import dns.tsig
import pytest

from tests.conftest import require_tool
from tests.notify_support import (
    K_EXT,
    K_INT,
    SECRET_EXT,
    SECRET_INT,
    WRONG_SECRET,
    RecordingTarget,
    make_notify,
)
from zonesync.config import load_config
from zonesync.server.notify_in import NotifyHandler, NotifyResult

START_TIMEOUT_SECONDS = 30.0
REPLY_TIMEOUT_SECONDS = 5.0
LOG_TIMEOUT_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 10.0
K_INT_WRONG = dns.tsig.Key("k-int", WRONG_SECRET, "hmac-sha256")
K_UNKNOWN = dns.tsig.Key("nokey", SECRET_INT, "hmac-sha256")
POINTER = re.compile(r"client @0x[0-9a-f]+ ")


def free_port() -> int:
    """A port free for TCP and UDP on 127.0.0.1 (named needs it up front)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def config_text(directory: Path, port: int, dead_port: int) -> str:
    return f"""
options {{
    directory "{directory}";
    pid-file none;
    session-keyfile none;
    recursion no;
    dnssec-validation no;
    notify no;
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
}};
key "k-int" {{ algorithm hmac-sha256; secret "{SECRET_INT}"; }};
key "k-ext" {{ algorithm hmac-sha256; secret "{SECRET_EXT}"; }};
view "internal" {{
    match-clients {{ key k-int; }};
    zone "example.com" {{
        type secondary;
        primaries {{ 127.0.0.1 port {dead_port}; }};
        allow-notify {{ key k-int; }};
        file "internal.db";
    }};
}};
view "external" {{
    match-clients {{ 127.0.0.1; 127.0.0.2; key k-ext; }};
    zone "example.com" {{
        type secondary;
        primaries {{ 127.0.0.1 port {dead_port}; }};
        allow-notify {{ key k-ext; }};
        file "external.db";
    }};
}};
"""


@dataclass
class Named:
    """named -g on 127.0.0.1:port; stderr lines kept for waiting on."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def read(self, stream: IO[str]) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, found: Callable[[str], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        seen = 0
        with self.changed:
            while True:
                while seen < len(self.lines):
                    if found(self.lines[seen]):
                        return True
                    seen += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    return False
                self.changed.wait(remaining)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Named, Path]]:
    named_bin = require_tool("named")
    directory = tmp_path_factory.mktemp("named-secondary")
    port = free_port()
    conf = directory / "named.conf"
    conf.write_text(config_text(directory, port, free_port()))
    process = subprocess.Popen(
        [named_bin, "-g", "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    named = Named(process, port)
    assert process.stderr is not None
    reader = threading.Thread(target=named.read, args=(process.stderr,), daemon=True)
    reader.start()
    try:
        if not named.wait_for(
            lambda line: line.endswith(" running"), START_TIMEOUT_SECONDS
        ):
            tail = "\n".join(named.lines[-30:])
            pytest.fail(f"named did not start:\n{tail}")
        yield named, conf
    finally:
        named.stop()
        reader.join(STOP_TIMEOUT_SECONDS)
        process.stderr.close()


@pytest.fixture
def handler(setup: tuple[Named, Path]) -> tuple[NotifyHandler, RecordingTarget]:
    _, conf = setup
    config = load_config(conf)
    target = RecordingTarget(config)
    return NotifyHandler(config, target), target


# -- the requests -------------------------------------------------------------


def notify(
    zone: str = "example.com", *, opcode: int = dns.opcode.NOTIFY, **kwargs: Any
) -> dns.message.Message:
    """`make_notify` with dnspython's default RD kept, and AA only on a NOTIFY."""
    flags = dns.flags.RD | (dns.flags.AA if opcode == dns.opcode.NOTIFY else 0)
    return make_notify(zone, opcode=opcode, flags=flags, **kwargs)


def wire_of(message: dns.message.Message) -> bytes:
    return message.to_wire()


def skewed(message: dns.message.Message) -> bytes:
    with mock.patch("time.time", return_value=time.time() - 10000):
        return message.to_wire()


def broken_answer() -> bytes:
    return notify(serial=5).to_wire()[:-3]


def two_questions() -> bytes:
    message = notify()
    message.question.append(notify("other.test").question[0])
    return message.to_wire()


def no_question() -> bytes:
    message = notify()
    message.question = []
    return message.to_wire()


def response() -> bytes:
    message = notify()
    message.flags |= dns.flags.QR
    return message.to_wire()


@dataclass(frozen=True)
class Case:
    name: str
    wire: Callable[[], bytes]
    source: str = "127.0.0.1"
    tcp: bool = False
    result: NotifyResult | None = None
    bind: tuple[str, str] | None = None  # named's (rcode, flags), for the record


CASES = [
    Case(
        "primary",
        lambda: wire_of(notify()),
        result=NotifyResult.ACCEPTED,
        bind=("NOERROR", "QR AA"),
    ),
    Case(
        "primary-serial",
        lambda: wire_of(notify(serial=2026112101)),
        result=NotifyResult.ACCEPTED,
        bind=("NOERROR", "QR AA"),
    ),
    Case(
        "primary-tcp",
        lambda: wire_of(notify()),
        tcp=True,
        result=NotifyResult.ACCEPTED,
        bind=("NOERROR", "QR AA"),
    ),
    Case(
        "primary-edns-do",
        lambda: wire_of(notify(edns=0, dnssec=True)),
        result=NotifyResult.ACCEPTED,
        bind=("NOERROR", "QR AA"),
    ),
    Case(
        "non-primary",
        lambda: wire_of(notify()),
        source="127.0.0.2",
        result=NotifyResult.NOT_PRIMARY,
        bind=("REFUSED", "QR"),
    ),
    Case(
        "unknown-zone",
        lambda: wire_of(notify("nothere.test")),
        result=NotifyResult.UNKNOWN_ZONE,
        bind=("NOTAUTH", "QR"),
    ),
    Case(
        "no-view",
        lambda: wire_of(notify()),
        source="127.0.0.4",
        result=NotifyResult.REFUSED,
        bind=("REFUSED", "QR"),
    ),
    Case(
        "key-picks-view",
        lambda: wire_of(notify(key=K_INT)),
        source="127.0.0.2",
        result=NotifyResult.ACCEPTED,
        bind=("NOERROR", "QR AA"),
    ),
    Case(
        "key-in-allow-notify",
        lambda: wire_of(notify(key=K_EXT)),
        source="127.0.0.4",
        result=NotifyResult.ACCEPTED,
        bind=("NOERROR", "QR AA"),
    ),
    Case(
        "signed-unknown-zone",
        lambda: wire_of(notify("nothere.test", key=K_INT)),
        source="127.0.0.4",
        result=NotifyResult.UNKNOWN_ZONE,
        bind=("NOTAUTH", "QR"),
    ),
    Case(
        "unknown-key",
        lambda: wire_of(notify(key=K_UNKNOWN)),
        result=NotifyResult.REFUSED,
        bind=("NOTAUTH", "QR"),
    ),
    Case(
        "bad-signature",
        lambda: wire_of(notify(key=K_INT_WRONG)),
        result=NotifyResult.REFUSED,
        bind=("NOTAUTH", "QR"),
    ),
    Case(
        "bad-signature-no-view",
        lambda: wire_of(notify(key=K_INT_WRONG)),
        source="127.0.0.4",
        result=NotifyResult.REFUSED,
        bind=("REFUSED", "QR"),
    ),
    Case(
        "bad-time",
        lambda: skewed(notify(key=K_INT)),
        source="127.0.0.2",
        result=NotifyResult.REFUSED,
        bind=("NOTAUTH", "QR"),
    ),
    Case(
        "edns-version-1",
        lambda: wire_of(notify(edns=1)),
        result=NotifyResult.REFUSED,
        bind=("BADVERS", "QR"),
    ),
    Case(
        "class-ch",
        lambda: wire_of(notify(rdclass="CH")),
        result=NotifyResult.REFUSED,
        bind=("NOTIMP", "QR"),
    ),
    Case(
        "class-hs",
        lambda: wire_of(notify(rdclass="HS")),
        result=NotifyResult.REFUSED,
        bind=("REFUSED", "QR"),
    ),
    Case(
        "class-any",
        lambda: wire_of(notify(rdclass="ANY")),
        result=NotifyResult.MALFORMED,
        bind=("FORMERR", "QR"),
    ),
    Case(
        "type-a",
        lambda: wire_of(notify(rdtype="A")),
        result=NotifyResult.MALFORMED,
        bind=("FORMERR", "QR"),
    ),
    Case(
        "two-questions",
        two_questions,
        result=NotifyResult.MALFORMED,
        bind=("FORMERR", "QR"),
    ),
    Case(
        "no-question",
        no_question,
        result=NotifyResult.MALFORMED,
        bind=("FORMERR", "QR"),
    ),
    Case(
        "broken-answer",
        broken_answer,
        result=NotifyResult.MALFORMED,
        bind=("FORMERR", "QR"),
    ),
    Case(
        "trailing-junk",
        lambda: wire_of(notify()) + b"junk",
        result=NotifyResult.ACCEPTED,
        bind=("NOERROR", "QR AA"),
    ),
    Case(
        "header-and-junk",
        lambda: bytes.fromhex("1234 2400 0001 0000 0000 0000 ffffff"),
        result=NotifyResult.MALFORMED,
        bind=("FORMERR", "QR"),
    ),
    Case(
        "query",
        lambda: wire_of(notify("nothere.test", opcode=dns.opcode.QUERY)),
        bind=("REFUSED", "QR RD"),
    ),
    Case(
        "query-signed",
        lambda: wire_of(notify("nothere.test", key=K_INT, opcode=dns.opcode.QUERY)),
        source="127.0.0.2",
        bind=("REFUSED", "QR RD"),
    ),
    Case(
        "update-ours",
        lambda: wire_of(notify(opcode=dns.opcode.UPDATE)),
        bind=("REFUSED", "QR"),
    ),
    Case(
        "update-unknown",
        lambda: wire_of(notify("nothere.test", opcode=dns.opcode.UPDATE)),
        bind=("NOTAUTH", "QR"),
    ),
    Case("opcode-status", lambda: wire_of(notify(opcode=2)), bind=("NOTIMP", "QR")),
    Case(
        "opcode-15-signed",
        lambda: wire_of(notify(key=K_INT, opcode=15)),
        source="127.0.0.2",
        bind=("NOTIMP", "QR"),
    ),
    Case("short-garbage", lambda: b"\x01\x02\x03", result=NotifyResult.MALFORMED),
    Case("response", response),
]


# -- talking to named -----------------------------------------------------------


def ask_udp(named: Named, wire: bytes, source: str) -> tuple[bytes | None, int]:
    """named's reply and our source port. A drop is shown by a follow-up
    NOTIFY being answered while the first got nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(REPLY_TIMEOUT_SECONDS)
        port = int(sock.getsockname()[1])
        sock.sendto(wire, ("127.0.0.1", named.port))
        if len(wire) >= 12 and not wire[2] & 0x80:
            return sock.recv(65535), port
        sentinel = notify("sentinel.test")
        sock.sendto(sentinel.to_wire(), ("127.0.0.1", named.port))
        reply = sock.recv(65535)
        assert struct.unpack_from("!H", reply)[0] == sentinel.id, "named answered"
        return None, port


def ask_tcp(named: Named, wire: bytes, source: str) -> tuple[bytes | None, int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(REPLY_TIMEOUT_SECONDS)
        sock.connect(("127.0.0.1", named.port))
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        size = struct.unpack("!H", _read(sock, 2))[0]
        return _read(sock, size), int(sock.getsockname()[1])


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "named closed the connection"
        data += chunk
    return data


def summary(wire: bytes, request: bytes) -> dict[str, object]:
    """What must agree between named's reply and ours."""
    message = dns.message.from_wire(wire, keyring=False)
    counts = (
        len(message.question),
        len(message.answer),
        len(message.authority),
        len(message.additional) + (message.edns >= 0) + message.had_tsig,
    )
    tsig = None
    if message.tsig is not None:
        rdata = message.tsig[0]
        asked = dns.message.from_wire(request, keyring=False)
        asked_time = asked.tsig[0].time_signed if asked.tsig is not None else None
        # BADTIME keeps the request's time (RFC 8945 §5.2.3); other
        # replies carry the current time, which may be a second apart.
        badtime = rdata.error == dns.rcode.BADTIME
        tsig = (
            message.tsig.name,
            rdata.algorithm,
            dns.rcode.to_text(rdata.error, tsig=True),
            "signed" if rdata.mac else "unsigned",
            rdata.time_signed == asked_time if badtime else None,
            len(rdata.other),
            rdata.original_id,
        )
    return {
        "id": message.id,
        "opcode": dns.opcode.to_text(message.opcode()),
        "rcode": dns.rcode.to_text(message.rcode()),
        "flags": dns.flags.to_text(message.flags),
        "question": [q.to_text() for q in message.question],
        "counts": counts,
        "edns": (
            message.edns,
            message.payload,
            dns.flags.edns_to_text(message.ednsflags),
        ),
        "options": [o.otype for o in message.options],
        "tsig": tsig,
    }


def same_line(ours: str) -> Callable[[str], bool]:
    """Whether a line of named's log is `ours`, but for the client pointer."""

    def found(line: str) -> bool:
        return POINTER.sub("client ", line).endswith(" " + ours)

    return found


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_reply_as_named(
    case: Case,
    setup: tuple[Named, Path],
    handler: tuple[NotifyHandler, RecordingTarget],
    caplog: pytest.LogCaptureFixture,
) -> None:
    named, _ = setup
    ours, target = handler
    caplog.set_level(logging.INFO, logger="zonesync.server.notify_in")
    wire = case.wire()
    ask = ask_tcp if case.tcp else ask_udp
    theirs, port = ask(named, wire, case.source)
    reply, result = ours.handle(
        wire, (case.source, port), ("127.0.0.1", named.port), case.tcp
    )
    assert result is case.result
    if theirs is None:
        assert reply is None
    else:
        assert reply is not None
        expected = summary(theirs, wire)
        assert summary(reply, wire) == expected
        assert case.bind is not None
        assert (expected["rcode"], expected["flags"]) == case.bind
    for line in caplog.messages:
        assert named.wait_for(same_line(line), LOG_TIMEOUT_SECONDS), (
            f"named did not log: {line}"
        )
    if result is NotifyResult.ACCEPTED:
        assert target.calls[0][3] == f"{case.source}#{port}"
