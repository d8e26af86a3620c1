"""`free_port`: ports servers can bind, drawn where outgoing connections never land."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from durable_tasks.dev import _ports, free_port


def test_free_ports_are_bindable_and_outside_the_ephemeral_range() -> None:
    first, last = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = [free_port() for _ in range(40)]
    assert not [p for p in ports if first <= p <= last]
    assert len(set(ports)) > 30  # drawn at random, not handed out in sequence
    for port in ports[:5]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_taken_port_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        taken = free_port()
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        offset = taken - _ports._LOWEST
        draws = iter([offset, offset, offset + 1])
        monkeypatch.setattr(_ports.secrets, "randbelow", lambda _: next(draws))
        assert free_port() == taken + 1  # the first two draws hit the taken port
