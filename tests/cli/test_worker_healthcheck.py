"""The worker container's health check (docker/worker_healthcheck.py), run for real.

Local stand-ins play Temporal (a listening socket) and PocketBase (`/api/health` over HTTP), so
each way the check can pass or fail is exercised without Docker.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

WORKER_HEALTHCHECK = Path(__file__).resolve().parents[2] / "docker" / "worker_healthcheck.py"


class _PocketBaseStandIn(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/api/health" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def pocketbase_stand_in() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PocketBaseStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def temporal_stand_in() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener


def _run_worker_healthcheck(temporal: str, pocketbase: str) -> subprocess.CompletedProcess[str]:
    env = {
        "TEMPORAL_ADDRESS": temporal,
        "POCKETBASE_URL": pocketbase,
        "POCKETBASE_ADMIN_EMAIL": "ops@example.com",
        "POCKETBASE_ADMIN_PASSWORD": "pb-secret-123",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, str(WORKER_HEALTHCHECK)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_worker_healthcheck_passes_when_both_servers_answer(
    temporal_stand_in: socket.socket, pocketbase_stand_in: ThreadingHTTPServer
) -> None:
    temporal = f"127.0.0.1:{temporal_stand_in.getsockname()[1]}"
    pocketbase = f"http://127.0.0.1:{pocketbase_stand_in.server_address[1]}"
    result = _run_worker_healthcheck(temporal, pocketbase)
    assert result.returncode == 0, result.stderr


def test_worker_healthcheck_fails_when_temporal_is_unreachable(
    pocketbase_stand_in: ThreadingHTTPServer,
) -> None:
    pocketbase = f"http://127.0.0.1:{pocketbase_stand_in.server_address[1]}"
    result = _run_worker_healthcheck(f"127.0.0.1:{_free_port()}", pocketbase)
    assert result.returncode == 1
    assert "Temporal at 127.0.0.1:" in result.stderr


def test_worker_healthcheck_fails_when_pocketbase_is_unhealthy(
    temporal_stand_in: socket.socket,
    pocketbase_stand_in: ThreadingHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_PocketBaseStandIn, "status", 503)
    temporal = f"127.0.0.1:{temporal_stand_in.getsockname()[1]}"
    pocketbase = f"http://127.0.0.1:{pocketbase_stand_in.server_address[1]}"
    result = _run_worker_healthcheck(temporal, pocketbase)
    assert result.returncode == 1
    assert "PocketBase at" in result.stderr and "503" in result.stderr


def test_worker_healthcheck_fails_on_a_bad_setting() -> None:
    result = _run_worker_healthcheck("http://temporal:7233", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert "TEMPORAL_ADDRESS" in result.stderr
