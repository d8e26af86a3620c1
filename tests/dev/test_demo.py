"""`durable-tasks demo` on its own embedded stack: exits 0 and leaves SUCCESS records behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from durable_tasks.dev import free_port, project_pb_dirs, start_pocketbase
from tests.support.cli import clean_env, console_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_the_examples_to_success(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pb_port = free_port()
    env = clean_env(
        TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        POCKETBASE_URL=f"http://127.0.0.1:{pb_port}",
        DURABLE_TASKS_DEV_UI_PORT=str(free_port()),
        DURABLE_TASKS_DEV_SMTP_PORT=str(free_port()),
        DURABLE_TASKS_DEV_DATA_DIR=str(data),
        DURABLE_TASKS_WORK_DIR=str(tmp_path / "work"),
        # The examples come from the source tree (a checkout), not from the installed package.
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [console_script(), "demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "starting an embedded one" in out
    finals = [line for line in out.splitlines() if line.startswith("  demo-")]
    assert len(finals) == 3 and all(" SUCCESS " in line for line in finals), out
    assert "errors 2" in out  # flaky-upstream's two failed attempts, logged
    assert len(list((data / "mail").glob("*.eml"))) == 1

    # The records outlive the demo: open its PocketBase data again and read them.
    creds = json.loads((data / "pocketbase-admin.json").read_text())
    migrations, hooks = project_pb_dirs()
    with start_pocketbase(
        data / "pb",
        pb_port,
        admin_email=creds["email"],
        admin_password=creds["password"],
        migrations_dir=migrations,
        hooks_dir=hooks,
    ) as pb:
        token = httpx.post(
            f"{pb.url}/api/collections/_superusers/auth-with-password",
            json={"identity": creds["email"], "password": creds["password"]},
        ).json()["token"]
        items = httpx.get(
            f"{pb.url}/api/collections/tasks/records",
            headers={"Authorization": token},
            params={"filter": 'workspaceId = "demo"'},
        ).json()["items"]
    assert sorted(i["type"] for i in items) == ["flaky-upstream", "send-email", "video-processing"]
    assert {i["status"] for i in items} == {"SUCCESS"}
    video = next(i for i in items if i["type"] == "video-processing")
    assert video["result"]["completedSteps"] == ["download", "transcode", "thumbnail", "upload"]


def test_demo_outside_a_checkout_says_it_needs_one(tmp_path: Path) -> None:
    # Packages named like the examples, but somebody else's: the demo must not run them.
    for name in ("workflows", "activities"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    result = subprocess.run(
        [console_script(), "demo"],
        env=clean_env(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "durable-tasks: error: the demo runs durable-tasks' example processors (the workflows "
        "and activities packages of its repository, not installed with the package): run it "
        "from a checkout's root; the packages found lack flaky-upstream, send-email, "
        "video-processing"
    ]
