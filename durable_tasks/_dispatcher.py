"""The dispatcher: task records in, workflow starts, cancels and reruns out.

Runs inside each worker (`run_worker`, unless `--no-dispatch`). It listens to the records live
and also sweeps them periodically, because live events are lost while disconnected or while no
worker runs. Whatever it acts on, it acts on through `TaskClient`, so the workflow id
`task-<taskId>` makes a start happen once however many dispatchers see the same record.

Per record:
- `PENDING` of a type this worker serves: start it; invalid input ends it `FAILED` with the
  message naming the field (written through the store's guarded sync, like any state);
- `PENDING` of a type no worker ever published: `FAILED`, listing the known types; a type that
  is published but not served here waits for its worker (stays `PENDING` while none is live);
- `cancelRequested` on an unfinished task: a workflow cancel (a task not started yet is marked
  `CANCELLED`);
- `rerunRequested` on a finished task: the dispatcher that claims the request (clears the flags
  atomically) calls `TaskClient.rerun`; the others leave it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from durable_tasks.client import TaskClient
from durable_tasks.dispatch import DispatchSource, Reconnected, TaskRequest, describe_types
from durable_tasks.errors import DurableTasksError, InvalidInputError
from durable_tasks.models import ErrorLogEntry, TaskPatch, TaskStatus

log = logging.getLogger("durable_tasks.dispatch")

DISPATCH_STEP = "dispatch"
"""The `step` of error-log entries the dispatcher writes (the task never reached a worker)."""


class Dispatcher:
    """Starts, cancels and reruns tasks from their records (see the module docstring).

    Args:
        tasks: the worker's client; its registry is what this worker serves.
        source: where records and task types live.
        sweep_every: how often to look for records the live feed missed.
        heartbeat: how often to refresh this worker's types' `lastSeen`.
        page_size: records per page of a sweep; `max_pages` bounds one sweep's work.
        concurrency: records handled at once.
        start_grace: how long a record just created (seen live, `seq` 0) is left to whoever
            created it: `TaskClient.start` creates the record, then starts the workflow with
            its own options (a timeout); a dispatcher starting it first would drop them.
    """

    def __init__(
        self,
        tasks: TaskClient,
        source: DispatchSource,
        *,
        sweep_every: timedelta = timedelta(seconds=30),
        heartbeat: timedelta = timedelta(seconds=20),
        page_size: int = 100,
        max_pages: int = 20,
        concurrency: int = 16,
        reconnect_delay: float = 1.0,
        start_grace: timedelta = timedelta(seconds=1),
    ) -> None:
        self.tasks = tasks
        self.source = source
        self.sweep_every = sweep_every
        self.heartbeat = heartbeat
        self.page_size = max(1, min(page_size, 500))
        self.max_pages = max(1, max_pages)
        self._slots = asyncio.Semaphore(concurrency)
        self._reconnect_delay = reconnect_delay
        self._start_grace = start_grace.total_seconds()
        self._latest: dict[str, tuple[TaskRequest, bool]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._sweep_now = asyncio.Event()
        self._cancelled: set[str] = set()
        self._types_cache: tuple[float, set[str]] = (0.0, set())

    async def run(self) -> None:
        """Publish the types, then listen, sweep and heartbeat until cancelled."""
        await self.publish()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._forever(self.publish, self.heartbeat.total_seconds()))
            group.create_task(self._sweep_forever())
            group.create_task(self._listen_forever())

    async def publish(self) -> None:
        """Upsert this worker's task types with `lastSeen` now."""
        await self.source.publish_types(describe_types(self.tasks.registry))

    async def sweep(self) -> int:
        """Handle every actionable record (bounded pages); returns how many were seen."""
        found: dict[str, TaskRequest] = {}
        for page in range(1, self.max_pages + 1):
            items = await self.source.actionable(page=page, per_page=self.page_size)
            found.update((item.id, item) for item in items)
            if len(items) < self.page_size:
                break
        for request in found.values():
            self.submit(request)
        await self.idle()
        return len(found)

    def submit(self, request: TaskRequest, *, live: bool = False) -> None:
        """Handle `request` soon; a newer state of a record being handled is handled after.
        `live`: it comes from the feed as it happened (a fresh record gets `start_grace`)."""
        if not _actionable(request):
            return
        self._latest[request.id] = (request, live)
        if request.id not in self._running:
            self._running[request.id] = asyncio.create_task(self._drain(request.id))

    async def idle(self) -> None:
        """Wait until every submitted record is handled."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    # -- handling one record ----------------------------------------------------------------

    async def _drain(self, task_id: str) -> None:
        try:
            while (latest := self._latest.pop(task_id, None)) is not None:
                request, live = latest
                if live and request.seq == 0 and request.status == TaskStatus.PENDING:
                    await asyncio.sleep(self._start_grace)  # see `start_grace`
                    if task_id in self._latest:
                        continue  # a newer state arrived meanwhile: handle that one
                async with self._slots:
                    try:
                        await self.handle(request)
                    except Exception:  # one bad record must not stop the others
                        log.exception("dispatching task %s failed; the next sweep retries", task_id)
        finally:
            self._running.pop(task_id, None)

    async def handle(self, request: TaskRequest) -> None:
        """Act on one record (see the module docstring)."""
        served = request.type in self.tasks.registry.names
        if request.rerun_requested:
            if served:
                await self._rerun(request)
            return
        if request.cancel_requested and not request.status.is_final:
            if served:
                await self._cancel(request)
            return
        if request.status != TaskStatus.PENDING:
            return
        if served:
            await self._start(request)
        elif request.type not in await self._published_types():
            known = sorted(await self._published_types() | set(self.tasks.registry.names))
            await self._fail(
                request,
                "UnknownTaskTypeError",
                f"unknown task type {request.type!r}; known types: {', '.join(known) or 'none'}",
            )
        # else: published by another worker; it starts it when it is live.

    async def _start(self, request: TaskRequest) -> None:
        try:
            outcome = await self.tasks.start(
                request.type,
                workspace_id=request.workspace_id,
                input=request.input if request.input is not None else {},
                task_id=request.id,
            )
        except InvalidInputError as err:
            await self._fail(request, "InvalidInputError", str(err))
            return
        log.info("dispatched: %s", outcome.message)

    async def _cancel(self, request: TaskRequest) -> None:
        if request.id in self._cancelled:
            return
        if await self.tasks.cancel(request.id):
            self._cancelled.add(request.id)
            log.info("cancel requested for task %s: workflow cancelled", request.id)
        elif request.status == TaskStatus.PENDING:
            now = datetime.now(UTC)
            patch = TaskPatch(
                run_id=f"dispatch-{request.id}",
                new_run=True,
                status=TaskStatus.CANCELLED,
                completed_at=now,
            )
            await self.tasks.store.sync(request.id, patch)

    async def _rerun(self, request: TaskRequest) -> None:
        if not await self.source.claim_rerun(request.id):
            return  # another dispatcher took it
        if not request.status.is_final:
            return  # only a finished task reruns; the stale request is dropped
        self._cancelled.discard(request.id)
        try:
            outcome = await self.tasks.rerun(request.id)
        except DurableTasksError as err:
            log.warning("rerun of task %s refused: %s", request.id, err)
            return
        log.info("rerun requested: %s", outcome.message)

    async def _fail(self, request: TaskRequest, error_type: str, message: str) -> None:
        """End a task that never reached a worker: FAILED, one error-log entry, once."""
        now = datetime.now(UTC)
        entry = ErrorLogEntry(
            key=f"{request.id}:{DISPATCH_STEP}",
            timestamp=now,
            step=DISPATCH_STEP,
            attempt=1,
            max_attempts=1,
            error_type=error_type,
            message=message,
            final=True,
        )
        patch = TaskPatch(
            run_id=f"dispatch-{request.id}",
            new_run=True,
            status=TaskStatus.FAILED,
            completed_at=now,
            error=entry,
        )
        await self.tasks.store.sync(request.id, patch)
        log.info("task %s failed before starting: %s", request.id, message)

    async def _published_types(self) -> set[str]:
        fetched_at, names = self._types_cache
        if time.monotonic() - fetched_at > 2.0:
            names = {t.name for t in await self.source.task_types()}
            self._types_cache = (time.monotonic(), names)
        return names

    # -- loops --------------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sweep_now.wait(), self.sweep_every.total_seconds())
            self._sweep_now.clear()
            try:
                await self.sweep()
            except Exception:  # PocketBase down: the next round tries again
                log.exception("dispatch sweep failed; retrying in %s", self.sweep_every)

    async def _listen_forever(self) -> None:
        delay = self._reconnect_delay
        while True:
            try:
                async for item in self.source.changes():
                    if isinstance(item, Reconnected):
                        delay = self._reconnect_delay
                        self._sweep_now.set()  # what happened while disconnected
                    else:
                        self.submit(item, live=True)
            except Exception as err:  # a lost connection: reconnect, then sweep
                log.warning("task feed lost (%s); reconnecting in %.1f s", err, delay)
            await asyncio.sleep(delay)  # backoff before reconnecting, not a synchronisation
            delay = min(delay * 2, 30.0)

    async def _forever(self, action: Callable[[], Awaitable[None]], every: float) -> None:
        while True:
            await asyncio.sleep(every)  # the heartbeat's period
            try:
                await action()
            except Exception:
                log.exception("publishing task types failed; retrying in %.0f s", every)


def _actionable(request: TaskRequest) -> bool:
    return (
        request.status == TaskStatus.PENDING
        or request.rerun_requested
        or (request.cancel_requested and not request.status.is_final)
    )
