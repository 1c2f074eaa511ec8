"""Inside the sandbox's own network namespace (conductor/sandbox/proxy.py): listen on 127.0.0.1 at
the proxy port and at each allowed loopback port, and carry each connection to Conductor's proxy
through its unix socket. Started by the step's shell before the command: it returns once it
listens (a child carries on, ended with the sandbox), so the command never races it.

    python -I -S bridge.py SOCKET PROXY_PORT [PORT ...]

It is started for every sandboxed process of a step whose network is a host list, so it starts
fast: the interpreter's C modules only (`_socket`, `_thread`; `socket` and `threading` would
double its start-up time), nothing else imported.
"""

from __future__ import annotations

import _socket
import _thread
import os
import sys


def pipe(source: _socket.socket, target: _socket.socket, done: _thread.LockType | None = None) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    try:  # noqa: SIM105 (contextlib would slow the start)
        target.shutdown(_socket.SHUT_WR)
    except OSError:
        pass
    if done is not None:
        done.release()


def carry(client: _socket.socket, path: str, header: bytes) -> None:
    upstream = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        upstream.connect(path)
        upstream.sendall(header)
    except OSError:
        client.close()
        upstream.close()
        return
    back = _thread.allocate_lock()
    back.acquire()
    _thread.start_new_thread(pipe, (upstream, client, back))
    pipe(client, upstream)
    back.acquire()  # until the way back is done too
    client.close()
    upstream.close()


def serve(listener: _socket.socket, path: str, header: bytes) -> None:
    while True:
        try:
            fd, _ = listener._accept()  # type: ignore[attr-defined]  # the C socket: (fd, address)
        except OSError:
            continue
        _thread.start_new_thread(carry, (_socket.socket(fileno=fd), path, header))


def main() -> None:
    path, proxy_port = sys.argv[1], int(sys.argv[2])
    ports = [int(p) for p in sys.argv[3:]]
    listeners = []
    for port, header in [(proxy_port, b"PROXY\n")] + [(p, b"TUNNEL 127.0.0.1 %d\n" % p) for p in ports]:
        listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", port))  # a port below 1024 is not ours to take: not reached
        except OSError:
            listener.close()
            continue
        listener.listen(64)
        listeners.append((listener, header))
    if os.fork():
        os._exit(0)  # listening: the shell goes on to the command; connections wait in the backlog
    for listener, header in listeners:
        _thread.start_new_thread(serve, (listener, path, header))
    forever = _thread.allocate_lock()
    forever.acquire()
    forever.acquire()


if __name__ == "__main__":
    main()
