"""Free loopback ports for the servers the dev stack and the test fixtures start.

A port is chosen before the server that will bind it has started, so another process can take
it in between. `bind(0)` hands out ports from the kernel's ephemeral range, the same range every
other `bind(0)` and every outgoing connection draws from: a Temporal dev server picks four or
five internal ports that way as it starts, and in a test suite run by several xdist workers at
once one of those could land on a port we chose a second earlier. So on Linux `free_port`
picks at random *below* the ephemeral range, where only a process that names the port can take
it; where the range cannot be read, or nothing below it is free, the kernel picks (`bind(0)`).
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000
"""Ports below this are left alone: well-known and registered services crowd them."""
_TRIES = 20


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (another process may still take it)."""
    below = _ephemeral_floor()
    if below - _LOWEST >= 1000:
        for _ in range(_TRIES):
            port = _LOWEST + secrets.randbelow(below - _LOWEST)
            if _bindable(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def _ephemeral_floor() -> int:
    """The lowest port of the kernel's ephemeral range (0 where it cannot be read)."""
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
