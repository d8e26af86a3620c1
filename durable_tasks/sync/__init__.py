"""The sync: keeps each task's PocketBase record true while Temporal runs the work.

Nothing in processors, steps or flows knows about it: they report to the protocols of
`durable_tasks._reporting`, and this package listens. Its parts:

- `TaskSyncInterceptor` (worker interceptor): claims the record when a task workflow starts,
  attaches the workflow-side writer, writes the final state, binds the progress outbox in
  activities;
- `WorkflowTaskSync` (workflow side): coalesces state changes into guarded patches sent through
  the `sync_task_state` local activity (`SyncActivities`), durable across outages;
- `ProgressOutbox` (activity side): coalesced, rate-limited progress writes.

Install all of it with one object, `durable_tasks.DurableTasksPlugin`.
"""

from durable_tasks.sync._interceptor import SYNC_PATCH_ID, TaskSyncInterceptor
from durable_tasks.sync._outbox import ProgressOutbox
from durable_tasks.sync._writer import (
    READ_STEPS_ACTIVITY_NAME,
    SYNC_ACTIVITY_NAME,
    CompletedSteps,
    NewTask,
    SyncActivities,
    SyncTaskStateInput,
    SyncTaskStateResult,
    WorkflowTaskSync,
)

__all__ = [
    "READ_STEPS_ACTIVITY_NAME",
    "SYNC_ACTIVITY_NAME",
    "CompletedSteps",
    "SYNC_PATCH_ID",
    "NewTask",
    "ProgressOutbox",
    "SyncActivities",
    "SyncTaskStateInput",
    "SyncTaskStateResult",
    "TaskSyncInterceptor",
    "WorkflowTaskSync",
]
