"""Inside the sandbox's own network namespace (conductor/sandbox/proxy.py): listen on 127.0.0.1 at
the proxy port and at each allowed loopback port, and carry each connection to Conductor's proxy
through its unix socket. Standard library only; started by the step's shell before the command,
ended with the sandbox.

    python bridge.py SOCKET PROXY_PORT READY_FILE [PORT ...]
"""

import contextlib
import socket
import sys
import threading


def pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def carry(client: socket.socket, path: str, header: bytes) -> None:
    try:
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(path)
        upstream.sendall(header)
    except OSError:
        client.close()
        return
    back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
    back.start()
    pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(listener: socket.socket, path: str, header: bytes) -> None:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=carry, args=(client, path, header), daemon=True).start()


def main() -> None:
    path, proxy_port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ports = [int(p) for p in sys.argv[4:]]
    listeners = []
    for port, header in [(proxy_port, b"PROXY\n")] + [(p, b"TUNNEL 127.0.0.1 %d\n" % p) for p in ports]:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", port))  # a port below 1024 is not ours to take: not reached
        except OSError:
            listener.close()
            continue
        listener.listen(64)
        listeners.append((listener, header))
    for listener, header in listeners:
        threading.Thread(target=serve, args=(listener, path, header), daemon=True).start()
    open(ready, "w").close()
    threading.Event().wait()


if __name__ == "__main__":
    main()
