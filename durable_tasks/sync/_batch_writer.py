"""`SyncWriter`: one writer per worker, sending the state of many tasks in one request.

Workflows (through the interceptor) and activities (progress, a flow step's completion) hand it
patches and return at once, so a PocketBase write is never on Temporal's critical path: no
local activity holds a workflow task open, and no history event is added. Per task it keeps
one pending patch per run: newer fields replace older ones, error entries queue in order and
are never coalesced away. A flush loop sends the pending patches of up to `max_batch` tasks
as one `TaskStore.sync_many` (one HTTP request, one PocketBase transaction); while requests
are in flight new patches accumulate, so batches grow with load while a lone task waits for
one request only.

- Order: a task is in at most one request at a time, so its patches land in the order given.
- Pace (`_rates`): progress reported from inside activities (possibly thousands of calls)
  goes out at most every `routine_interval` seconds per task, a flow's step-by-step snapshots
  (and the step reports of a run past its first 20) at most every `snapshot_interval`, always
  the newest; anything else (a claim, a step's own report that it completed, a status, an
  error, the final state) goes out at once, taking the waiting state with it.
- Coalescing: before each request the writer waits `gather` seconds (1 ms), so the patches
  one workflow activation hands over in a row become one write.
- Group commit: a request follows the previous one by at least `linger` seconds (20 ms), so
  under load each request carries the patches of many tasks (`_pacing.Pacing`); a write after
  a quiet moment, or one someone waits for (`flush`), is not held.
- Outages: a batch the store could not take is put back (newer state wins) and retried with
  capped backoff for as long as the writer runs. The work never waits for it; what a dead
  worker had not flushed is sent again by the next worker's replay (running workflows, at
  their next workflow task: a flow's snapshot, at the next step's end) or repaired by the
  reconciler (closed ones).
- Thread-safe entry (`submit_threadsafe`): workflow code runs on the SDK's workflow threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from durable_tasks.errors import StoreError
from durable_tasks.models import ErrorLogEntry, NewTask, StepResult
from durable_tasks.store import MAX_SYNC_BATCH, SyncItem, SyncResult, TaskStore
from durable_tasks.sync._pacing import Pacing
from durable_tasks.sync._pending import Pending
from durable_tasks.sync._rates import Pace, Rates

log = logging.getLogger("durable_tasks.sync")


class SyncWriter:
    """The worker-wide batching writer of task state (see the module docstring).

    It is also the activities' `ProgressSink`.
    """

    def __init__(
        self,
        store: TaskStore,
        *,
        max_batch: int = 200,
        max_in_flight: int = 2,
        routine_interval: float = 0.3,
        snapshot_interval: float = 1.0,
        gather: float = 0.001,
        linger: float = 0.02,
        max_backoff: float = 5.0,
    ) -> None:
        if (
            not 1 <= max_batch <= MAX_SYNC_BATCH
            or max_in_flight < 1
            or min(routine_interval, snapshot_interval, gather, linger) < 0
        ):
            raise ValueError(
                f"max_batch must be 1..{MAX_SYNC_BATCH}, max_in_flight >= 1, and"
                " routine_interval, snapshot_interval, gather and linger >= 0"
            )
        self.store = store
        self._max_batch = max_batch
        self._rates = Rates(progress=routine_interval, snapshot=snapshot_interval)
        self._max_backoff = max_backoff
        self._pacing = Pacing(gather=gather, linger=linger)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._pending: dict[str, list[Pending]] = {}
        self._in_flight: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._changed: asyncio.Condition | None = None
        self._runner: asyncio.Task[None] | None = None
        self._users = 0
        self._failures = 0
        self.requests = 0
        """Batches sent to the store (retries included)."""
        self.items = 0
        """Patches the store received (one record write at most each)."""
        self.progress_writes = 0
        """Of those, patches that carried progress (alone, or with other state)."""

    # -- feeding it ---------------------------------------------------------------------------

    def submit(
        self,
        task_id: str,
        run_id: str,
        fields: dict[str, Any],
        *,
        error: ErrorLogEntry | None = None,
        create: NewTask | None = None,
        pace: Pace = Pace.NOW,
    ) -> None:
        """Queue state for a task (call on the writer's loop); returns at once.

        State of a `pace` other than `NOW` may wait its interval after the task's last write.
        """
        queue = self._pending.setdefault(task_id, [])
        if not queue or queue[-1].run_id != run_id:
            queue.append(Pending(run_id=run_id))
        pending = queue[-1]
        pending.merge(fields, error, self._rates.wait(pace))
        pending.create = pending.create or create
        if self._wake is not None:
            self._wake.set()

    def submit_threadsafe(
        self, task_id: str, run_id: str, fields: dict[str, Any], **kw: Any
    ) -> None:
        """`submit` from any thread (workflow code); dropped when the writer is not running."""
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning("task %s: state dropped, the sync writer is not running", task_id)
            return
        loop.call_soon_threadsafe(lambda: self.submit(task_id, run_id, fields, **kw))

    def report(self, task_id: str, run_id: str, percent: float) -> None:
        """`ProgressSink.report`: progress from inside an activity, rate-limited per task."""
        self.submit(task_id, run_id, {"progress": percent}, pace=Pace.PROGRESS)

    def step_completed(self, task_id: str, run_id: str, step: StepResult) -> None:
        """`ProgressSink.step_completed`: a step's own report that it completed, merged into the
        record's result by the store (rule 7 of `durable_tasks.store`); sent at once for the
        first 20 steps of a run, then at the pace of snapshots."""
        pace = self._rates.step_report(run_id)
        self.submit(task_id, run_id, {"steps": {step.step_type: step}}, pace=pace)

    async def flush(self, task_id: str, timeout: float) -> bool:
        """Wait up to `timeout` s until nothing of the task is pending or in flight; what is
        pending goes out at once (no linger, no interval): someone is waiting for it."""
        if self._changed is None:
            return task_id not in self._pending
        if task_id in self._pending:
            self._pacing.hurry(task_id)
            if self._wake is not None:
                self._wake.set()
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(
                    lambda: task_id not in self._pending and task_id not in self._in_flight
                )
            return True
        except TimeoutError:
            return False

    # -- running it ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the flush loop on the running loop (idempotent; counted per user)."""
        self._users += 1
        if self._runner is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._runner = self._loop.create_task(self._run(), name="durable-tasks sync writer")
        if self._pending:
            self._wake.set()

    async def close(self, timeout: float = 5.0) -> None:
        """Send what is pending (up to `timeout` s), then stop; what is left is logged."""
        self._users -= 1
        if self._users > 0 or self._runner is None:
            return
        await asyncio.gather(*(self.flush(t, timeout) for t in {*self._pending, *self._in_flight}))
        self._runner.cancel()
        try:
            await self._runner
        except asyncio.CancelledError:
            pass
        self._runner = None
        self._loop = None
        for task_id in self._pending:
            log.warning("task %s: state not written before the worker stopped", task_id)

    async def _run(self) -> None:
        assert self._wake is not None
        sending: set[asyncio.Task[None]] = set()
        while True:
            await self._slots.acquire()
            try:
                await self._pacing.wait_turn(self._pending)
            except BaseException:  # cancelled by close() while waiting: the slot is not lost
                self._slots.release()
                raise
            batch = self._take_ready(time.monotonic())
            if not batch:
                self._slots.release()
                self._wake.clear()
                try:
                    async with asyncio.timeout(self._next_due(time.monotonic())):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                continue
            self._pacing.sent()
            task = asyncio.get_running_loop().create_task(self._send(batch))
            sending.add(task)
            task.add_done_callback(sending.discard)

    def _take_ready(self, now: float) -> list[tuple[str, Pending]]:
        batch: list[tuple[str, Pending]] = []
        for task_id, queue in self._pending.items():
            if len(batch) >= self._max_batch:
                break
            if task_id in self._in_flight:
                continue
            if self._rates.due(task_id, queue[0].wait) > now and task_id not in self._pacing.urgent:
                continue
            batch.append((task_id, queue.pop(0)))
        for task_id, _ in batch:
            self._in_flight.add(task_id)
            if not self._pending[task_id]:
                del self._pending[task_id]
        return batch

    def _next_due(self, now: float) -> float | None:
        waits = [
            self._rates.due(task_id, queue[0].wait) - now
            for task_id, queue in self._pending.items()
            if task_id not in self._in_flight and queue[0].wait > 0
        ]
        return max(min(waits), 0.001) if waits else None

    async def _send(self, batch: list[tuple[str, Pending]]) -> None:
        items = [item for task_id, pending in batch for item in pending.items(task_id)]
        try:
            self.requests += 1
            results = await self.store.sync_many(items)
        except StoreError as err:
            self._put_back(batch)
            self._failures += 1
            delay = min(0.1 * 2 ** min(self._failures, 10), self._max_backoff)
            log.warning(
                "%d task(s): state not written, retrying in %.1f s: %s", len(batch), delay, err
            )
            await asyncio.sleep(delay)
        except Exception:
            log.exception("%d task(s): state write failed unexpectedly; dropped", len(batch))
        else:
            self._failures = 0
            self._account(batch, items, results)
        finally:
            self._slots.release()
            for task_id, _ in batch:
                self._in_flight.discard(task_id)
            assert self._wake is not None and self._changed is not None
            self._wake.set()
            async with self._changed:
                self._changed.notify_all()

    def _put_back(self, batch: list[tuple[str, Pending]]) -> None:
        for task_id, pending in batch:
            queue = self._pending.setdefault(task_id, [])
            if queue and queue[0].run_id == pending.run_id:
                pending.absorb_newer(queue.pop(0))
            queue.insert(0, pending)

    def _account(
        self, batch: list[tuple[str, Pending]], items: list[SyncItem], results: list[SyncResult]
    ) -> None:
        self.items += len(items)
        now = time.monotonic()
        for task_id, pending in batch:
            self._rates.wrote(task_id, now)
            if "progress" in pending.fields:
                self.progress_writes += 1
        for result in results:
            if result.reason.startswith("rejected") or result.reason == "not_found":
                log.error(
                    "task %s: the store refused a state write: %s", result.task_id, result.reason
                )
