"""`durable-tasks demo`: a newcomer's first five minutes, on real servers.

It uses the running dev stack (`make run`) if it answers, or starts its own embedded one (the
same servers, in the same `.data/` directory) and stops it afterwards. Then it starts three
tasks — the email example, the video-processing flow on a generated clip, and a task that fails
twice before it succeeds — shows their progress until each is final, prints the final records
and where to look next. Exit 0 when all three succeeded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from durable_tasks.client import TaskClient, connect_temporal
from durable_tasks.dev._demo_view import DemoView
from durable_tasks.errors import ConfigurationError
from durable_tasks.models import TaskRecord, TaskStatus
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.settings import Settings, load_settings

DEADLINE_S = 300.0

EXAMPLES = ("workflows", "activities")
"""The example processors the demo runs: this repository's own packages, loaded from its source
tree (run from a checkout's root, as `make run`), never shipped in the wheel. Named here because
the demo is about exactly these; `_examples` makes sure the packages found are they."""
EXAMPLE_TYPES = {"send-email", "video-processing", "flaky-upstream"}


def _examples() -> ProcessorRegistry:
    """The examples' registry, or one line saying the demo needs a checkout of durable-tasks."""
    hint = (
        "the demo runs durable-tasks' example processors (the workflows and activities packages "
        "of its repository, not installed with the package): run it from a checkout's root"
    )
    try:
        registry = ProcessorRegistry.discover(EXAMPLES)
    except ConfigurationError as err:
        raise ConfigurationError(f"{hint} ({err})") from None
    if missing := EXAMPLE_TYPES - set(registry.names):
        raise ConfigurationError(f"{hint}; the packages found lack {', '.join(sorted(missing))}")
    return registry


async def run_demo(out: TextIO = sys.stdout) -> int:
    """Run the demo (see the module docstring); returns the exit code."""
    settings = load_settings()
    registry = _examples()
    # Failed attempts are the point of one demo task: Temporal's per-attempt tracebacks would
    # bury the progress; the records carry every error anyway.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    async with _stack(settings, out) as (stack_settings, where):
        print(f"demo: using {where}", file=out, flush=True)
        records = await _run_tasks(stack_settings, registry, out)
    _print_records(records, stack_settings, out, embedded="embedded" in where)
    return 0 if all(r.status == TaskStatus.SUCCESS for r in records) else 1


@asynccontextmanager
async def _stack(settings: Settings, out: TextIO) -> AsyncIterator[tuple[Settings, str]]:
    if await _reachable(settings):
        yield settings, f"the running stack at {settings.temporal_address}"
        return
    from durable_tasks._signals import StopSignals
    from durable_tasks.dev._stack import DevStackConfig, run_dev_stack

    config = DevStackConfig(
        data_dir=_data_dir(),
        temporal_port=_port(settings.temporal_address.rpartition(":")[2]),
        ui_port=_port(os.environ.get("DURABLE_TASKS_DEV_UI_PORT") or "8233"),
        pocketbase_port=_port(str(urlsplit(settings.pocketbase_url).port or 8090)),
        smtp_port=_port(os.environ.get("DURABLE_TASKS_DEV_SMTP_PORT") or "8025"),
        imports=EXAMPLES,
    )
    print("demo: no dev stack answers; starting an embedded one ...", file=out, flush=True)
    signals = StopSignals()
    stack = asyncio.create_task(run_dev_stack(config, signals, out))
    try:
        await _wait_reachable(settings, stack)
        yield load_settings(), "an embedded stack (stopped when the demo ends)"
    finally:
        signals.stop.set()
        code = await stack
        if code:
            print(f"demo: the embedded stack stopped with code {code}", file=out)


async def _reachable(settings: Settings) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            healthy = (await http.get(f"{settings.pocketbase_url}/api/health")).is_success
        if not healthy:
            return False
        await asyncio.wait_for(connect_temporal(settings), 3.0)
    except (httpx.HTTPError, OSError, ConfigurationError, TimeoutError):
        return False
    return True


async def _wait_reachable(settings: Settings, stack: asyncio.Task[int]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while not await _reachable(load_settings()):
        if stack.done():
            stack.result()  # raises what stopped it
            raise ConfigurationError("the embedded dev stack stopped before it was ready")
        if loop.time() > deadline:
            raise ConfigurationError("the embedded dev stack did not become ready in 90 s")
        await asyncio.sleep(0.25)


async def _run_tasks(
    settings: Settings, registry: ProcessorRegistry, out: TextIO
) -> list[TaskRecord]:
    from activities.video_source import VideoSource
    from durable_tasks.pocketbase import PocketBaseTaskStore

    run = secrets.token_hex(3)
    store = PocketBaseTaskStore.from_settings(settings)
    temporal = await connect_temporal(settings)
    tasks = TaskClient(temporal, store, registry, task_queue=settings.task_queue)
    try:
        with VideoSource() as source:
            starts: list[tuple[str, str, dict[str, Any]]] = [
                ("send-email", f"demo-{run}-email", {
                    "to": "newcomer@example.com",
                    "subject": "Welcome to durable-tasks",
                    "body": "This message was sent by a durable task.",
                }),
                ("video-processing", f"demo-{run}-video", {
                    "videoUrl": source.start(), "videoId": f"demo-{run}", "width": 160,
                }),
                ("flaky-upstream", f"demo-{run}-flaky", {"failures": 2}),
            ]  # fmt: skip
            for kind, task_id, data in starts:
                outcome = await tasks.start(kind, workspace_id="demo", task_id=task_id, input=data)
                print(f"demo: {outcome.message}", file=out, flush=True)
            ids = [task_id for _, task_id, _ in starts]
            view = DemoView(out)
            return await asyncio.wait_for(view.follow(store, ids), DEADLINE_S)
    finally:
        await store.close()


def _print_records(
    records: list[TaskRecord], settings: Settings, out: TextIO, *, embedded: bool
) -> None:
    print("\nfinal records:", file=out)
    for rec in records:
        line = f"  {rec.id:<24} {rec.type:<18} {rec.status:<9} progress {rec.progress:>5.1f}"
        print(f"{line}  attempts {rec.attempts}  errors {len(rec.errors)}", file=out)
        if rec.errors:
            print(
                f"    last error: {rec.errors[-1].error_type}: {rec.errors[-1].message}", file=out
            )
    ui_port = os.environ.get("DURABLE_TASKS_DEV_UI_PORT") or "8233"
    host = settings.temporal_address.rpartition(":")[0]
    if embedded:
        print(
            "\nThe embedded stack is stopped; its state is kept. `make run` brings it back, "
            "with these records, at the addresses below.",
            file=out,
        )
    print(
        "\nwhere to look:\n"
        f"  Temporal UI       http://{host}:{ui_port}  (workflows task-demo-...)\n"
        f"  PocketBase admin  {settings.pocketbase_url}/_/  (collections tasks and media)\n"
        f"  the email         {_data_dir() / 'mail'}/*.eml\n"
        "  one task          durable-tasks status <task-id>",
        file=out,
        flush=True,
    )


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigurationError(f"expected a port, got {text!r}")
    return int(text)


def _data_dir() -> Path:
    """Where the dev stack keeps its state (as `durable-tasks dev` resolves it)."""
    return Path(os.environ.get("DURABLE_TASKS_DEV_DATA_DIR") or ".data")
