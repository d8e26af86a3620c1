"""`DurableTasksPlugin`: everything durable-tasks adds to a Temporal worker, in one object.

    client = await Client.connect("localhost:7233", plugins=[DurableTasksPlugin()])
    worker = Worker(
        client,
        task_queue="my-queue",
        workflows=[MyWorkflow],                  # yours, untouched
        activities=[my_activity],
        plugins=[DurableTasksPlugin(store, processors=[SendEmail, VideoProcessing])],
    )

Pass it to the client *or* to the worker: Temporal hands a client's plugins on to every worker
built on that client (passing one to both runs it twice, and Temporal warns). A plugin without a
store is a client-side one (a starter process): it only sets the converter.

On a client it sets the pydantic data converter (task models travel as JSON). On a worker it
appends the processors' workflows and activities, the simple-task shell workflow, the sync's
activity and its interceptor, and lets the framework through the workflow sandbox; what you
pass yourself is kept. The interceptor only touches workflows that own a task (the simple shell
and flows), so your own workflows run exactly as they would without it. On a `Replayer` it adds
the same workflows and interceptor, so saved histories replay as they ran (no store needed).

On a worker it also trades a little traffic for recovery in seconds (`WORKER_DEFAULTS`): a
worker sends a running attempt's heartbeat at most once a second (the SDK's default throttle is
80 % of the heartbeat timeout, so a cancel waited up to 24 s for the next one), and a workflow
task waits 3 s, not 10 s, for a worker holding the workflow in its cache before any worker takes
it (a SIGKILLed worker held it). Activities still start eagerly on the worker that runs their
workflow: dispatching them through the task queue instead cost an RPC and a round trip per
activity (measured: +1 RPC and +50 ms at one in flight) and is not needed for the recovery
bound. An option you set to something other than the SDK's default is kept.

`build_worker`, the pytest plugin's `running_worker` and the replay tests all go through here:
this module is the only place that wires durable-tasks into Temporal.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkerConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from durable_tasks._simple_workflow import SimpleTaskWorkflow
from durable_tasks.codec import data_converter
from durable_tasks.errors import ConfigurationError
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.store import TaskStore
from durable_tasks.sync import SyncActivities, SyncWriter, TaskSyncInterceptor

PLUGIN_NAME = "durable-tasks"
_PASSTHROUGH = "durable_tasks"

WORKER_DEFAULTS: dict[str, tuple[Any, Any]] = {
    # option: (the SDK's default, ours)
    "max_heartbeat_throttle_interval": (timedelta(seconds=60), timedelta(seconds=1)),
    "default_heartbeat_throttle_interval": (timedelta(seconds=30), timedelta(seconds=1)),
    "sticky_queue_schedule_to_start_timeout": (timedelta(seconds=10), timedelta(seconds=3)),
}
"""Worker options the plugin changes when they still hold the SDK's default (module docstring)."""


class DurableTasksPlugin(SimplePlugin):
    """Adds durable tasks to a Temporal client, worker or replayer (see the module docstring).

    Args:
        store: where task records live; needed on a worker (the sync writes there), not on a
            client or a replayer.
        processors: processor classes, or a `ProcessorRegistry`, to run on the worker.
        writer: the worker's batching state writer (default: one on `store`); pass your own
            to tune it (`SyncWriter(store, max_batch=..., linger=..., routine_interval=...,
            snapshot_interval=...)`) or read its counters. It runs while the worker runs, and
            sends what is pending when it stops.
        payload_codec: encrypts payloads (`durable_tasks.codec.EncryptionCodec`); it takes
            effect on a client or replayer (a worker uses its client's converter).
    """

    def __init__(
        self,
        store: TaskStore | None = None,
        *,
        processors: Sequence[type[Any]] | ProcessorRegistry = (),
        writer: SyncWriter | None = None,
        payload_codec: PayloadCodec | None = None,
    ) -> None:
        self.registry = (
            processors
            if isinstance(processors, ProcessorRegistry)
            else ProcessorRegistry.of(*processors)
        )
        if writer is not None and store is None:
            raise ValueError("DurableTasksPlugin: a writer needs the store it writes to")
        self.store = store
        self.writer = writer if writer is not None or store is None else SyncWriter(store)
        activities: list[Any] = list(self.registry.activities())
        if store is not None:
            sync = SyncActivities(store, redact=self.registry.redact_input)
            activities.extend([sync.sync_task_state, sync.read_completed_steps])
        super().__init__(
            PLUGIN_NAME,
            data_converter=data_converter(payload_codec),
            interceptors=[TaskSyncInterceptor(self.writer)],
            workflows=[SimpleTaskWorkflow, *self.registry.flows.values()],
            activities=activities,
            workflow_runner=_with_passthrough,
            run_context=self._writer_running,
        )

    @contextlib.asynccontextmanager
    async def _writer_running(self) -> AsyncIterator[None]:
        """The writer flushes while the worker (or replayer) runs, and drains when it stops."""
        if self.writer is None:
            yield
            return
        await self.writer.start()
        try:
            yield
        finally:
            await self.writer.close()

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        """Add durable tasks to the worker; refuse, before it polls, what could not work."""
        if self.store is None:
            if self.registry.names:
                raise ConfigurationError(
                    "DurableTasksPlugin with processors needs a task store to sync to: "
                    "DurableTasksPlugin(store, processors=[...])"
                )
            return config  # a client-side plugin, handed on to a worker: nothing to add
        client = config.get("client")
        if client is not None and not _uses_pydantic(client.data_converter):
            raise ConfigurationError(
                "durable tasks need the pydantic data converter on the worker's client: "
                "Client.connect(..., plugins=[DurableTasksPlugin()]) or "
                "data_converter=temporalio.contrib.pydantic.pydantic_data_converter"
            )
        for option, (sdk_default, ours) in WORKER_DEFAULTS.items():
            if config.get(option, sdk_default) == sdk_default:
                config[option] = ours  # type: ignore[literal-required]
        return super().configure_worker(config)


def _uses_pydantic(converter: DataConverter) -> bool:
    return issubclass(converter.payload_converter_class, PydanticPayloadConverter)


def _with_passthrough(runner: WorkflowRunner | None) -> WorkflowRunner:
    """The worker's sandbox, letting the framework through (deterministic, no import effects).

    A runner the user configured is kept; only a sandboxed one can (and needs to) be widened.
    """
    if runner is None:
        return SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(_PASSTHROUGH)
        )
    if isinstance(runner, SandboxedWorkflowRunner):
        return dataclasses.replace(
            runner, restrictions=runner.restrictions.with_passthrough_modules(_PASSTHROUGH)
        )
    return runner
