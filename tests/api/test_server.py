"""Several workers, one socket each on one port (SO_REUSEPORT): only a worker that listens gets connections."""

from __future__ import annotations

import socket

from naviyam.api.server import bind_reuse_port


def _accepted(sock: socket.socket) -> int:
    sock.setblocking(False)
    n = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


def test_a_worker_bound_but_not_yet_listening_gets_no_connection():
    ready = bind_reuse_port("127.0.0.1", 0)
    port = ready.getsockname()[1]
    loading = bind_reuse_port("127.0.0.1", port)  # a worker still loading its models: bound, not listening
    ready.listen(64)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    try:
        assert _accepted(ready) == 20
    finally:
        for c in clients:
            c.close()
        ready.close()
        loading.close()


def test_listening_workers_share_the_connections_of_one_port():
    socks = [bind_reuse_port("127.0.0.1", 0)]
    port = socks[0].getsockname()[1]
    socks.append(bind_reuse_port("127.0.0.1", port))
    for s in socks:
        s.listen(128)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
    try:
        counts = [_accepted(s) for s in socks]
    finally:
        for c in clients:
            c.close()
        for s in socks:
            s.close()
    assert sum(counts) == 64
    assert min(counts) > 0  # spread by the kernel's hash (all 64 on one socket: probability 2 / 2**64)
