"""Run the installed `durable-tasks` console script as a user would, with a controlled environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Variables the CLI reads; scrubbed so a developer's shell cannot change what a test sees.
SETTINGS_VARIABLES = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "DURABLE_TASKS_TASK_QUEUE",
    "DURABLE_TASKS_IMPORTS",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS_CERT",
    "TEMPORAL_TLS_KEY",
    "POCKETBASE_URL",
    "POCKETBASE_ADMIN_EMAIL",
    "POCKETBASE_ADMIN_PASSWORD",
    "DURABLE_TASKS_DEV_TEMPORAL_PORT",
    "DURABLE_TASKS_DEV_UI_PORT",
    "DURABLE_TASKS_DEV_POCKETBASE_PORT",
    "DURABLE_TASKS_DEV_SMTP_PORT",
    "DURABLE_TASKS_DEV_DATA_DIR",
)


def console_script() -> str:
    """The `durable-tasks` script installed next to this interpreter (the venv under test)."""
    beside = Path(sys.executable).parent / "durable-tasks"
    found = str(beside) if beside.is_file() else shutil.which("durable-tasks")
    assert found, "the durable-tasks console script is not installed (pip install -e .)"
    return found


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(overrides)
    return env


def run_cli(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
