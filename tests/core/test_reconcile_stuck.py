"""Nothing hangs: the reconciler repairs a record behind a workflow whose task keeps failing.

A workflow task that fails (here a flow hook with a bug) is retried by Temporal forever; the
workflow never fails and its record would stay PENDING or RUNNING. The reconciler sees the
pending workflow task's attempts in `describe`, terminates the run and fails the record.

The SDK reports only the first failure of a workflow task; each later attempt fails by timing
out (the workflow task timeout, 10 s by default). The test starts its workflow with a 1 s
workflow task timeout, so the third failed attempt comes after ~1 s instead of ~10 s: the same
failures in a row, the same describe, the same repair.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.testing import WorkflowEnvironment

from durable_tasks import (
    BaseFlowProcessor,
    ParentJobData,
    Step,
    StepJobData,
    TaskContext,
    TaskStatus,
    flow_processor,
    step_activity,
)
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.reconcile import STUCK, reconcile
from durable_tasks.testing import running_worker
from tests.support.waiting import eventually


@step_activity("stuck-flow.never")
async def never(job: StepJobData, ctx: TaskContext) -> None:
    raise AssertionError("a stuck flow runs no step")


@flow_processor("stuck-flow")
class BuggyHook(BaseFlowProcessor[ParentJobData]):
    steps = (Step("never", never),)

    def on_active(self, data: ParentJobData) -> None:
        raise RuntimeError("a bug in a hook fails the workflow task, not the workflow")


WORKFLOW_TASK_TIMEOUT = timedelta(seconds=1)


class _ShortWorkflowTaskTimeout(Interceptor):
    """Starts every workflow with `WORKFLOW_TASK_TIMEOUT` (the start has no option for it)."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next)


class _Outbound(OutboundInterceptor):
    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        input.task_timeout = WORKFLOW_TASK_TIMEOUT
        return await super().start_workflow(input)


async def test_a_workflow_whose_task_keeps_failing_is_repaired(
    temporal_dev_env: WorkflowEnvironment, task_store: PocketBaseTaskStore
) -> None:
    config = temporal_dev_env.client.config()
    config["interceptors"] = [*config["interceptors"], _ShortWorkflowTaskTimeout()]
    client = Client(**config)
    async with running_worker(client, task_store, BuggyHook) as tasks:
        await tasks.start("stuck-flow", workspace_id="ws", task_id="stuck1", input={})
        handle = tasks.handle("stuck1")

        async def stuck() -> bool:
            desc = await handle.describe()
            return desc.raw_description.pending_workflow_task.attempt >= 3

        await eventually(stuck, timeout=60, what="3 failed workflow tasks in a row")
        repairs = await reconcile(client, task_store)
        assert [(r.task_id, r.workflow_status) for r in repairs] == [("stuck1", STUCK)]
        record = await task_store.get("stuck1")
        assert record is not None and record.status == TaskStatus.FAILED, record
        assert record.errors[-1].final and "failed 3 times" in record.errors[-1].message
        assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
        assert await reconcile(client, task_store) == []  # idempotent
