"""The metrics endpoint: /metrics, /healthz and /readyz on one port.

It serves from its own threads (http.server), as prometheus-client's
`start_http_server` would, but that one cannot answer /healthz or /readyz.
A scrape runs the registry's collectors on a server thread, so everything
they and `ready()` read must be safe to read from outside the event loop.
"""

from __future__ import annotations

import gzip
import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, gzip_accepted

from zonesync.errors import ZoneSyncError

log = logging.getLogger(__name__)

# Seconds a client may take to send its request; a stuck one holds a thread.
REQUEST_TIMEOUT_SECONDS = 10.0
# How often the server thread checks for close(); bounds close() to about this.
POLL_SECONDS = 0.1
# Bodies this small are not worth compressing.
GZIP_MIN_BYTES = 1024
_TEXT = "text/plain; charset=utf-8"


class _Server(ThreadingHTTPServer):
    """One listening socket, IPv4 or IPv6; each request on a daemon thread."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        registry: CollectorRegistry,
        ready: Callable[[], bool],
    ) -> None:
        # TCPServer.__init__ creates the socket with this family.
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.registry = registry
        self.ready = ready
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's socket.getfqdn(), a reverse DNS lookup."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(
        self, request: object, client_address: tuple[str, int] | str
    ) -> None:
        """A request failed mid-way (often the client hung up): debug, no stderr."""
        log.debug(
            "metrics request from %s failed",
            client_address,
            exc_info=True,  # noqa: LOG014 - called inside socketserver's handler
        )


class _Handler(BaseHTTPRequestHandler):
    """GET (or HEAD) /metrics, /healthz, /readyz; anything else is 404."""

    server: _Server
    timeout = REQUEST_TIMEOUT_SECONDS
    server_version = "zonesync"
    sys_version = ""

    def do_GET(self) -> None:
        """Answer a GET."""
        self._answer(body=True)

    def do_HEAD(self) -> None:
        """Answer a HEAD: a GET's headers."""
        self._answer(body=False)

    def log_message(self, format: str, *args: object) -> None:
        """Log no request lines: a scrape every 15 s would flood stderr."""

    def _answer(self, body: bool) -> None:
        try:
            status, content_type, data, headers = self._page()
        except Exception:
            # A collector or ready() failed: this request fails, the daemon
            # does not.
            log.exception("metrics: %s failed", self.path)
            status, content_type, data, headers = 500, _TEXT, b"error\n", {}
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _page(self) -> tuple[int, str, bytes, dict[str, str]]:
        """Status, content type, body and extra headers for the path asked."""
        path = urlsplit(self.path).path
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            data = encoder(self.server.registry)
            headers = {"Vary": "Accept, Accept-Encoding"}
            if len(data) >= GZIP_MIN_BYTES and gzip_accepted(
                self.headers.get("Accept-Encoding", "")
            ):
                data = gzip.compress(data, compresslevel=6)
                headers["Content-Encoding"] = "gzip"
            return 200, content_type, data, headers
        if path == "/healthz":
            return 200, _TEXT, b"ok\n", {}
        if path == "/readyz":
            if self.server.ready():
                return 200, _TEXT, b"ready\n", {}
            return 503, _TEXT, b"not ready\n", {}
        return 404, _TEXT, b"not found\n", {}


class MetricsServer:
    """The metrics endpoint, serving from its own thread until `close()`."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self._closed = False
        host, port = server.socket.getsockname()[:2]
        self.address: tuple[str, int] = (str(host), int(port))

    @classmethod
    def start(
        cls,
        host: str,
        port: int,
        registry: CollectorRegistry,
        ready: Callable[[], bool],
    ) -> Self:
        """Listen on host#port (port 0: any free port) and start serving.

        `ready()` answers /readyz and is called on a server thread.

        Raises:
            ZoneSyncError: the address cannot be bound, as
                `metrics on 127.0.0.1#9853: Address already in use`.
        """
        try:
            server = _Server((host, port), registry, ready)
        except OSError as err:
            why = err.strerror or str(err)
            raise ZoneSyncError(f"metrics on {host}#{port}: {why}") from err
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name=f"metrics {host}#{port}",
            daemon=True,
        )
        thread.start()
        started = cls(server, thread)
        log.info("metrics on %s#%d", *started.address)
        return started

    def close(self) -> None:
        """Stop listening and free the port; blocks for about POLL_SECONDS.

        Requests already being answered finish on their own daemon threads.
        """
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=REQUEST_TIMEOUT_SECONDS)
