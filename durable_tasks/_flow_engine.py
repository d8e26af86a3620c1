"""The flow engine: runs a flow's steps as a DAG, inside the workflow (deterministic code).

State machine per step: pending → running → completed | failed | skipped | cancelled. A step
starts when each dependency has completed (or failed under `ignore`). Completed steps found in
`stepResults` (the cache) are not run again. After every transition the `TaskResult` and the
progress are published to the task sync; a flow never hangs: when nothing runs and nothing can
start, it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from durable_tasks._attempts import (
        AttemptsExhaustedError,
        FlowFailedError,
        is_cancellation,
        run_attempts,
    )
    from durable_tasks._flow_graph import FlowHooks, Step, resolve_dependencies
    from durable_tasks._job_data import split_job_data
    from durable_tasks._reporting import current_task_state
    from durable_tasks.errorlog import FailureFacts, make_entry
    from durable_tasks.models import (
        ErrorLogEntry,
        ParentJobData,
        StepJobData,
        StepResult,
        StepStatus,
        TaskResult,
    )
    from durable_tasks.progress import flow_progress

_DONE = {StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED}
"""Finished, for progress; not `cancelled` (a flow cancelled mid-step used to show 99 %)."""


class FlowRun:
    """One execution of a flow's steps."""

    def __init__(self, steps: Sequence[Step], data: ParentJobData, *, hooks: FlowHooks) -> None:
        self.flow = hooks
        self.data = data
        self.steps = {s.name: s for s in steps}
        self.deps = resolve_dependencies(steps)
        self.sync = current_task_state()
        self.config = split_job_data(data)[1]
        self.running: dict[str, asyncio.Task[StepResult]] = {}
        self.progress = 0
        self.stop_starting = False
        self.result = TaskResult(
            steps={n: StepResult(step_type=n, status=StepStatus.PENDING) for n in self.steps},
            total_steps=len(self.steps),
            started_at=workflow.now(),
            run_id=workflow.info().run_id,
        )
        self.cached: set[str] = set()
        for name, cached in data.step_results.items():
            if name in self.steps and cached.status == StepStatus.COMPLETED:
                self.result.steps[name] = cached
                self.cached.add(name)

    async def execute(self) -> TaskResult:
        self.flow.on_active(self.data)
        try:
            while True:
                if not self.stop_starting:
                    ready = self._ready()
                    for name in ready:
                        self._start(name)
                    if ready:
                        self._publish()
                if not self.running:
                    break
                done, _ = await workflow.wait(
                    list(self.running.values()), return_when=asyncio.FIRST_COMPLETED
                )
                for name, task in list(self.running.items()):
                    if task in done:
                        del self.running[name]
                        self._finish(name, task.result())
                self._publish()
        except BaseException as err:
            if is_cancellation(err):
                await self._cancel_running()
            raise
        return self._conclude()

    # -- scheduling -------------------------------------------------------------------------

    def _status(self, name: str) -> StepStatus:
        return self.result.steps[name].status

    def _ready(self) -> list[str]:
        ready = []
        for name in self.steps:
            if self._status(name) != StepStatus.PENDING or name in self.running:
                continue
            if all(self._satisfies(dep) for dep in self.deps[name]):
                ready.append(name)
        return ready

    def _satisfies(self, dep: str) -> bool:
        status = self._status(dep)
        if status == StepStatus.COMPLETED:
            return True
        return status == StepStatus.FAILED and self.steps[dep].on_failure == "ignore"

    def _start(self, name: str) -> None:
        now = workflow.now()
        self.result.steps[name] = StepResult(
            step_type=name, status=StepStatus.RUNNING, started_at=now, attempts=1
        )
        self.result.current_step = name
        self.running[name] = asyncio.get_running_loop().create_task(self._run_step(name))

    async def _run_step(self, name: str) -> StepResult:
        step = self.steps[name]
        options = step.options()
        started = self.result.steps[name].started_at

        async def attempt(n: int) -> Any:
            # replaced, never changed in place: the sync may hold the previous snapshot
            self.result.steps[name] = self.result.steps[name].model_copy(update={"attempts": n})
            job = StepJobData(
                task_id=self.data.task_id,
                workspace_id=self.data.workspace_id,
                parent_job_id=workflow.info().workflow_id,
                step_type=name,
                input=self.config,
                idempotency_key=f"{self.data.task_id}:{name}",
                attempt=n,
                max_attempts=options.retry.maximum_attempts,
                dependency_results={d: self.result.steps[d].data for d in self.deps[name]},
            )
            return await workflow.execute_activity(
                step.activity_name,
                job,
                start_to_close_timeout=options.start_to_close_timeout,
                heartbeat_timeout=options.heartbeat_timeout,
                retry_policy=RetryPolicy(maximum_attempts=1),
                cancellation_type=ActivityCancellationType.TRY_CANCEL,
            )

        def failed(entry: ErrorLogEntry) -> None:
            if self.sync is not None:
                self.sync.log_error(entry)
            self.flow.on_failed(self.data, RuntimeError(entry.message), final=entry.final)
            self._publish()

        try:
            raw = await run_attempts(
                step=name,
                retry=options.retry,
                attempt_fn=attempt,
                on_failed=failed,
                on_retry=lambda n: self._retrying(name, n),
            )
        except (asyncio.CancelledError, ActivityError) as err:
            if not is_cancellation(err):
                raise
            return StepResult(
                step_type=name,
                status=StepStatus.CANCELLED,
                attempts=self.result.steps[name].attempts,
                started_at=started,
                completed_at=workflow.now(),
            )
        except AttemptsExhaustedError as err:
            return StepResult(
                step_type=name,
                status=StepStatus.FAILED,
                error=f"{err.facts.error_type}: {err.facts.message}",
                attempts=err.attempts,
                started_at=started,
                completed_at=workflow.now(),
            )
        outcome = StepResult.of_return(name, raw, self.result.steps[name].attempts, started)
        if outcome.status == StepStatus.FAILED and self.sync is not None:
            # A recoverable failure the step reported itself: logged, not retried.
            facts = FailureFacts(
                "StepFailed", outcome.error or "the step reported failure", "", True
            )
            self.sync.log_error(
                make_entry(
                    facts,
                    run_id=workflow.info().run_id,
                    step=name,
                    attempt=outcome.attempts,
                    max_attempts=options.retry.maximum_attempts,
                    timestamp=workflow.now(),
                    final=True,
                )
            )
        return outcome

    def _retrying(self, name: str, attempt: int) -> None:
        self.result.steps[name].attempts = attempt
        self._publish()

    def _finish(self, name: str, outcome: StepResult) -> None:
        if outcome.completed_at is None:
            outcome.completed_at = workflow.now()
        self.result.steps[name] = outcome
        if outcome.status == StepStatus.FAILED:
            policy = self.steps[name].on_failure
            if policy == "fail":
                self.stop_starting = True
                for other in self.running.values():
                    other.cancel()
            elif policy == "skip_dependents":
                self._skip_dependents_of(name)
        if self.result.current_step == name:
            running = [n for n in self.steps if n in self.running]
            self.result.current_step = running[-1] if running else None

    def _skip_dependents_of(self, failed: str) -> None:
        for name in self.steps:
            if failed in self.deps[name] and self._status(name) == StepStatus.PENDING:
                self.result.steps[name] = StepResult(
                    step_type=name,
                    status=StepStatus.SKIPPED,
                    error=f"skipped: dependency {failed!r} failed",
                )
                self._skip_dependents_of(name)

    async def _cancel_running(self) -> None:
        for task in self.running.values():
            task.cancel()
        if self.running:
            await workflow.wait(list(self.running.values()))
        for name in list(self.running):
            self.result.steps[name] = self.result.steps[name].model_copy(
                update={"status": StepStatus.CANCELLED, "completed_at": workflow.now()}
            )
        self.running.clear()
        self._tally()
        self.result.current_step = None
        self.result.completed_at = workflow.now()
        self._publish()

    # -- results ----------------------------------------------------------------------------

    def _tally(self) -> None:
        steps = self.result.steps.values()
        self.result.completed_steps = [s.step_type for s in steps if s.status == "completed"]
        self.result.failed_steps = [s.step_type for s in steps if s.status == "failed"]
        self.result.completed_count = len(self.result.completed_steps)
        self.result.failed_count = len(self.result.failed_steps)

    def _publish(self) -> None:
        self._tally()
        finished = sum(1 for s in self.result.steps.values() if s.status in _DONE)
        running = sum(1 for s in self.result.steps.values() if s.status == StepStatus.RUNNING)
        self.progress = flow_progress(
            total=self.result.total_steps,
            finished=finished,
            running=running,
            previous=self.progress,
        )
        if self.sync is not None:
            self.sync.update(
                result=self.result,
                progress=self.progress,
                # a flow's attempts: every step attempt of this run (cached steps ran before)
                attempts=sum(
                    s.attempts for n, s in self.result.steps.items() if n not in self.cached
                ),
            )

    def _conclude(self) -> TaskResult:
        for name in self.steps:
            if self._status(name) == StepStatus.PENDING:  # never startable: a failed dependency
                self.result.steps[name] = StepResult(
                    step_type=name, status=StepStatus.SKIPPED, error="skipped: the flow failed"
                )
        self.result.current_step = None
        self.result.completed_at = workflow.now()
        self._tally()
        blocking = [n for n in self.result.failed_steps if self.steps[n].on_failure != "ignore"]
        if blocking:
            self._publish()
            error = FlowFailedError(
                f"flow failed: step(s) {', '.join(blocking)} failed", type="FlowFailedError"
            )
            self.flow.on_failed(self.data, error, final=True)
            raise error
        self._publish()
        self.flow.on_completed(self.data, self.result)
        return self.result
