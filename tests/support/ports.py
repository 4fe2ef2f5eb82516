"""Free loopback ports for the processes a test starts (never a fixed number: suites and
other engineers' runs share the machine)."""

from __future__ import annotations

import socket

# Ports handed out by this process: the OS may pick a port again as soon as the probing socket
# is closed, before the process it was for has bound it, and two services of one stack were
# once given the same port (the second failed to start: "address already in use").
_handed: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1 now (the OS picks it), never one handed out before."""
    for _ in range(1000):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed:
            _handed.add(port)
            return port
    raise OSError("no free port on 127.0.0.1 that was not handed out before")


def free_port_pair() -> int:
    """A port `p` with `p + 1` free too (a local broker listens on both: clients, controller)."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise OSError("no two consecutive free ports on 127.0.0.1")
