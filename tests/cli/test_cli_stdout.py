"""The CLI's stdout holds its own output only: Temporal core log lines go to stderr.

The SDK's default runtime prints core warnings straight to stdout; a job a little over
Temporal's 512 KB payload warning made `start` print one above its result, breaking whoever
parses it (`--json` users). The CLI forwards them to Python logging, on stderr.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from durable_tasks.testing import PocketBaseServer
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


async def test_a_large_input_leaves_stdout_to_the_result(
    temporal_dev_env: WorkflowEnvironment, pocketbase_server: PocketBaseServer, tmp_path: Path
) -> None:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"message": "x" * 600_000}))  # over the 512 KB warning
    task_id = f"big-{uuid.uuid4().hex[:12]}"
    result = run_cli(
        "start", "cli-echo", "--workspace", "ws", "--task-id", task_id, "--input", f"@{job}",
        "--import", "tests.support.cli_processors",
        TEMPORAL_ADDRESS=temporal_dev_env.client.service_client.config.target_host,
        DURABLE_TASKS_TASK_QUEUE=f"tq-{uuid.uuid4()}",
        POCKETBASE_URL=pocketbase_server.url,
        POCKETBASE_ADMIN_EMAIL=pocketbase_server.admin_email,
        POCKETBASE_ADMIN_PASSWORD=pocketbase_server.admin_password,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )  # fmt: skip
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == [f"task {task_id} started (workflow task-{task_id})"]
    assert "TMPRL1103" in result.stderr  # the warning itself is kept, where logs belong
