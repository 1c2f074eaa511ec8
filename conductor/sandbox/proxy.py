"""The network allowlist (`sandbox.network: [host[:port], …]`): a proxy Conductor runs outside
the sandbox, on a unix socket the sandbox gets, for a command in a network namespace of its
own — where nothing but this proxy leads out. Inside, a small bridge (resources/sandbox/bridge.py)
listens on 127.0.0.1: on the proxy port (HTTP_PROXY/HTTPS_PROXY point there) and on each
allowed loopback port (so a client that connects to 127.0.0.1 directly reaches the host's).

The proxy speaks HTTP proxying (CONNECT host:port for TLS, absolute-form requests for plain
HTTP) and the bridge's tunnels; it connects only to allowed hosts, and keeps the hosts it
refused, which become evidence of the step.
"""

from __future__ import annotations

import contextlib
import fnmatch
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PROXY_PORT = 3128  # inside the sandbox's own network namespace
HEADER_LIMIT = 16 * 1024
CONNECT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Rule:
    """One allowed destination: a host (or `*.domain`), and a port or any."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Rule:
        """`api.openai.com`, `api.openai.com:443`, `*.googleapis.com`, `127.0.0.1:8080`,
        `[::1]:8080`, or a URL (its host and port)."""
        value = text.strip()
        if "://" in value:
            parts = urlsplit(value)
            if not parts.hostname:
                raise ValueError(f"'{text}' names no host")
            default = 443 if parts.scheme == "https" else 80
            return cls(parts.hostname.lower(), parts.port or default)
        if value.startswith("["):
            host, _, rest = value[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
        if not host or any(c.isspace() or c in "/@?#" for c in host):
            raise ValueError(f"'{text}' is not a host or host:port")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"'{text}': the port must be a number from 1 to 65535")
        return cls(host.lower(), int(port) if port else None)

    def allows(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        host = host.lower().strip("[]")
        return fnmatch.fnmatchcase(host, self.host) if "*" in self.host else host == self.host

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host


def loopback(rules: Iterable[Rule]) -> list[int]:
    """The loopback ports the rules allow: the bridge listens on them inside the sandbox."""
    return sorted({r.port for r in rules if r.port and r.host in ("127.0.0.1", "localhost", "::1")})


@dataclass
class Proxy:
    """The allowlist proxy of one command, serving on `socket_path` until closed."""

    rules: Sequence[Rule]
    socket_path: Path
    blocked: list[str] = field(default_factory=list)  # host:port it refused, in order, once each
    _listener: socket.socket | None = None

    def allowed(self, host: str, port: int) -> bool:
        return any(rule.allows(host, port) for rule in self.rules)

    def refuse(self, host: str, port: int) -> None:
        where = f"{host}:{port}"
        with _LOCK:
            if where not in self.blocked:
                self.blocked.append(where)

    def start(self) -> Proxy:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.socket_path))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def close(self) -> None:
        """Stop at once: shutting the listening socket down wakes the blocked accept (Linux)."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError, ValueError):
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        reader = _Reader(client)
        first = reader.line()
        if first.startswith(b"TUNNEL "):  # the bridge: a direct connection to a loopback port
            _, host, port_text = first.decode("ascii", "replace").split()
            if not self.allowed(host, int(port_text)):
                self.refuse(host, int(port_text))
                return
            self._pipe(client, (host, int(port_text)), reader.rest())
            return
        if first.strip() != b"PROXY":
            return
        request = reader.line()
        method, target, version = [*request.decode("latin-1").split(), "", "", ""][:3]
        headers = []
        while True:
            line = reader.line()
            if line in (b"\r\n", b"\n", b""):
                break
            headers.append(line)
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            port = int(port_text) if port_text.isdigit() else 443
            host = host.strip("[]")
            if not self.allowed(host, port):
                self._forbid(client, host, port)
                return
            self._pipe(client, (host, port), reader.rest(), established=True)
            return
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        port = parts.port or 80
        if not self.allowed(parts.hostname, port):
            self._forbid(client, parts.hostname, port)
            return
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [h for h in headers if not h.lower().startswith((b"proxy-", b"connection:"))]
        head = f"{method} {path} {version or 'HTTP/1.1'}\r\n".encode("latin-1") + b"".join(kept)
        self._pipe(client, (parts.hostname, port), head + b"Connection: close\r\n\r\n" + reader.rest())

    def _forbid(self, client: socket.socket, host: str, port: int) -> None:
        self.refuse(host, port)
        body = (
            f"conductor: {host}:{port} is not an allowed host (sandbox.network); allow it with"
            f" sandbox: {{network: [{host}]}} in .conductor/policy.yaml\n"
        ).encode()
        client.sendall(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    def _pipe(
        self, client: socket.socket, where: tuple[str, int], first: bytes, *, established: bool = False
    ) -> None:
        try:
            upstream = socket.create_connection(where, timeout=CONNECT_TIMEOUT)
        except OSError:
            if established:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        upstream.settimeout(None)
        with upstream:
            if established:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if first:
                upstream.sendall(first)
            back = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
            back.start()
            _copy(client, upstream)
            back.join()


class _Reader:
    """Lines off a socket, keeping what was read past them (sent on as it is)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > HEADER_LIMIT:
                raise ValueError("a header line over the limit")
            data = self.sock.recv(4096)
            if not data:
                found, self.buffer = self.buffer, b""
                return found
            self.buffer += data
        found, _, self.buffer = self.buffer.partition(b"\n")
        return found + b"\n"

    def rest(self) -> bytes:
        found, self.buffer = self.buffer, b""
        return found


_LOCK = threading.Lock()


def _copy(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)
