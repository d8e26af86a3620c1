"""Building and running a durable-tasks worker.

`build_worker` is a Temporal `Worker` with `DurableTasksPlugin` for the given processors (to add
durable tasks to a worker of your own, pass the plugin to it instead); `run_worker` is what the
`durable-tasks worker` command (and `durable-tasks dev`) runs: it connects to Temporal and
PocketBase from the settings and runs until told to stop, giving running activities a grace
period to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import Client
from temporalio.worker import Worker

from durable_tasks.errors import ConfigurationError
from durable_tasks.logs import temporal_runtime
from durable_tasks.plugin import DurableTasksPlugin
from durable_tasks.registry import NOTHING_TO_IMPORT, ProcessorRegistry, processor_modules
from durable_tasks.settings import Settings
from durable_tasks.store import TaskStore
from durable_tasks.sync import SyncWriter

if TYPE_CHECKING:
    from durable_tasks.client import TaskClient
    from durable_tasks.pocketbase import PocketBaseDispatchSource

log = logging.getLogger("durable_tasks.worker")


def build_worker(
    client: Client,
    *,
    task_queue: str,
    store: TaskStore,
    registry: ProcessorRegistry,
    writer: SyncWriter | None = None,
    **worker_options: Any,
) -> Worker:
    """A Temporal worker running every processor of `registry`, syncing to `store`.

    `client` must use `pydantic_data_converter` (our clients do). Extra keyword arguments go to
    `temporalio.worker.Worker` (concurrency limits, graceful shutdown timeout, ...).
    """
    plugin = DurableTasksPlugin(store, processors=registry, writer=writer)
    plugins = [plugin, *worker_options.pop("plugins", [])]
    return Worker(client, task_queue=task_queue, plugins=plugins, **worker_options)


async def run_worker(
    settings: Settings,
    *,
    imports: Sequence[str] = (),
    max_concurrent_activities: int | None = None,
    stop: asyncio.Event | None = None,
    graceful_shutdown: timedelta = timedelta(seconds=30),
    reconcile_every: timedelta = timedelta(minutes=1),
    metrics_address: str | None = None,
    dispatch: bool = True,
) -> None:
    """Run a worker for `settings.task_queue` until `stop` is set (or forever).

    It first connects to Temporal and logs in to PocketBase: a `ConfigurationError` or
    `StoreError` (the same one-line errors the CLI gives) means nothing was polled. Besides the
    worker it runs the reconciler every `reconcile_every`, so records of terminated or
    timed-out workflows are repaired with no operator action. With
    `metrics_address` (`host:port`) the Temporal runtime serves Prometheus metrics there.
    With `dispatch` (the default) it also runs the dispatcher: it publishes the worker's task
    types and starts, cancels and reruns tasks that front ends ask for through their records.

    The processors are those of `settings.imports` (DURABLE_TASKS_IMPORTS) and `imports`
    (`--import`); with neither it raises `ConfigurationError`, as a worker that runs nothing
    would sit idle while every task on its queue waits.
    """
    from durable_tasks.client import TaskClient, connect_temporal
    from durable_tasks.pocketbase import PocketBaseDispatchSource, PocketBaseTaskStore

    modules = processor_modules(settings.imports, imports)
    if not modules:
        raise ConfigurationError(NOTHING_TO_IMPORT)
    registry = ProcessorRegistry.discover(modules)
    runtime = temporal_runtime(metrics_address=metrics_address) if metrics_address else None
    # Both servers are checked before anything polls: wrong credentials or an unreachable
    # server stop the worker with the CLI's one-line error instead of letting it take tasks
    # whose every state write is refused and retried forever.
    client = await connect_temporal(settings, runtime=runtime)
    store = PocketBaseTaskStore.from_settings(settings)
    try:
        await store.check()
    except BaseException:
        await store.close()
        raise
    options: dict[str, Any] = {"graceful_shutdown_timeout": graceful_shutdown}
    if max_concurrent_activities:
        options["max_concurrent_activities"] = max_concurrent_activities
    worker = build_worker(
        client,
        task_queue=settings.task_queue,
        store=store,
        registry=registry,
        **options,
    )
    log.info(
        "worker on task queue %r at %s, task types: %s",
        settings.task_queue,
        settings.temporal_address,
        ", ".join(registry.names) or "none",
    )
    repairing = asyncio.create_task(_reconcile_forever(client, store, reconcile_every))
    source = PocketBaseDispatchSource.from_settings(settings) if dispatch else None
    dispatching = None
    if source is not None:
        tasks = TaskClient(client, store, registry, task_queue=settings.task_queue)
        dispatching = asyncio.create_task(_dispatch_forever(tasks, source))
    try:
        async with worker:
            await (stop or asyncio.Event()).wait()
            log.info(
                "stopping: running activities get %.0f s to finish",
                graceful_shutdown.total_seconds(),
            )
    finally:
        repairing.cancel()
        if dispatching is not None:
            dispatching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatching
        if source is not None:
            await source.close()
        await store.close()


async def _dispatch_forever(tasks: TaskClient, source: PocketBaseDispatchSource) -> None:
    """The dispatcher, restarted after a failure (its first publish needs PocketBase up)."""
    from durable_tasks._dispatcher import Dispatcher

    while True:
        try:
            await Dispatcher(tasks, source).run()
        except Exception:
            log.exception("the dispatcher stopped; restarting in 5 s")
        await asyncio.sleep(5)  # backoff before a restart


async def _reconcile_forever(client: Client, store: TaskStore, every: timedelta) -> None:
    from durable_tasks.reconcile import reconcile

    while True:
        await asyncio.sleep(every.total_seconds())
        try:
            await reconcile(client, store)
        except Exception:  # a failed round is retried next round; the worker goes on
            log.exception("reconcile round failed; retrying in %s", every)
