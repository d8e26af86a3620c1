"""durable-tasks: BullMQ-style task processors on Temporal, with task state in PocketBase.

Simple processors run as Temporal activities; flow processors are Temporal workflows whose
steps are activities; the sync keeps each task's PocketBase record (status, progress,
result, error log) true. See the README for a tour.

The package, by folder:

- here, flat: the core — processors and steps (`processor`, `steps`, `flow`, `context`), the
  models, the retry loop and flow engine (`_attempts`, `_flow_engine`), the typed seam the sync
  listens on (`_reporting`), the client, the worker, its dispatcher (`dispatch`, `_dispatcher`:
  tasks started, cancelled and rerun from their records) and `DurableTasksPlugin`;
- `sync/`: the interceptor, the worker-wide batching writer and the workflow-side syncs;
- `pocketbase/`: the task store, media store, realtime and dispatch sources on PocketBase (the
  only package that imports the PocketBase SDK), and what PocketBase runs with, shipped as
  package data: the schema (`pb_migrations/`), the hooks (`pb_hooks/`) and the task board
  (`pb_public/`);
- `dev/`: the local dev stack, its servers, the SMTP sink and the demo;
- `testing/`: pytest fixtures and the pytest plugin;
- `cli/`: the `durable-tasks` command.

The distribution holds this package alone: processors (the repository's examples in
`workflows/` and `activities/`, or yours) are imported by the names the settings give
(`DURABLE_TASKS_IMPORTS`, `--import`), never guessed.

A module with a leading underscore is internal to its package; subpackages hand on their
public names from their `__init__`. Imports only go down: the core never imports a subpackage
except where it assembles one (`plugin`, `worker`), and no subpackage imports another's
internals.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
"""The release: written here only (pyproject.toml reads it; see CHANGELOG.md)."""

if TYPE_CHECKING:
    from durable_tasks.client import StartOutcome, TaskClient, TaskView, connect_temporal
    from durable_tasks.context import TaskContext
    from durable_tasks.errors import (
        ConfigurationError,
        DurableTasksError,
        InvalidInputError,
        NonRetryableError,
        StoreError,
        StorePermanentError,
        StoreRejectedError,
        StoreUnavailableError,
        TaskAlreadyExistsError,
        TaskNotFoundError,
        UnknownTaskTypeError,
    )
    from durable_tasks.flow import (
        BaseFlowProcessor,
        BaseParentProcessor,
        FailurePolicy,
        Step,
        flow_processor,
    )
    from durable_tasks.memory_store import MemoryTaskStore
    from durable_tasks.models import (
        ErrorLogEntry,
        JobData,
        ParentJobData,
        SimpleJobData,
        StepJobData,
        StepResult,
        StepStatus,
        TaskRecord,
        TaskResult,
        TaskStatus,
    )
    from durable_tasks.plugin import DurableTasksPlugin
    from durable_tasks.pocketbase import PocketBaseTaskStore
    from durable_tasks.processor import BaseProcessor, BaseSimpleProcessor
    from durable_tasks.reconcile import reconcile
    from durable_tasks.registry import ProcessorRegistry
    from durable_tasks.retry import ActivityOptions, RetryOptions
    from durable_tasks.settings import Settings, load_settings
    from durable_tasks.steps import step_activity
    from durable_tasks.store import TaskStore
    from durable_tasks.sync import TaskSyncInterceptor
    from durable_tasks.worker import build_worker, run_worker

# Exports load on first use, so `import durable_tasks.errors` or `durable-tasks --help` does not
# pay for importing Temporal and PocketBase.
_EXPORTS: dict[str, str] = {
    "ActivityOptions": "durable_tasks.retry",
    "BaseFlowProcessor": "durable_tasks.flow",
    "BaseParentProcessor": "durable_tasks.flow",
    "BaseProcessor": "durable_tasks.processor",
    "BaseSimpleProcessor": "durable_tasks.processor",
    "ConfigurationError": "durable_tasks.errors",
    "DurableTasksError": "durable_tasks.errors",
    "DurableTasksPlugin": "durable_tasks.plugin",
    "ErrorLogEntry": "durable_tasks.models",
    "FailurePolicy": "durable_tasks.flow",
    "InvalidInputError": "durable_tasks.errors",
    "JobData": "durable_tasks.models",
    "MemoryTaskStore": "durable_tasks.memory_store",
    "NonRetryableError": "durable_tasks.errors",
    "ParentJobData": "durable_tasks.models",
    "PocketBaseTaskStore": "durable_tasks.pocketbase",
    "ProcessorRegistry": "durable_tasks.registry",
    "RetryOptions": "durable_tasks.retry",
    "Settings": "durable_tasks.settings",
    "SimpleJobData": "durable_tasks.models",
    "StartOutcome": "durable_tasks.client",
    "Step": "durable_tasks.flow",
    "StepJobData": "durable_tasks.models",
    "StepResult": "durable_tasks.models",
    "StepStatus": "durable_tasks.models",
    "StoreError": "durable_tasks.errors",
    "StorePermanentError": "durable_tasks.errors",
    "StoreRejectedError": "durable_tasks.errors",
    "StoreUnavailableError": "durable_tasks.errors",
    "TaskAlreadyExistsError": "durable_tasks.errors",
    "TaskClient": "durable_tasks.client",
    "TaskContext": "durable_tasks.context",
    "TaskNotFoundError": "durable_tasks.errors",
    "TaskRecord": "durable_tasks.models",
    "TaskResult": "durable_tasks.models",
    "TaskStatus": "durable_tasks.models",
    "TaskStore": "durable_tasks.store",
    "TaskSyncInterceptor": "durable_tasks.sync",
    "TaskView": "durable_tasks.client",
    "UnknownTaskTypeError": "durable_tasks.errors",
    "build_worker": "durable_tasks.worker",
    "connect_temporal": "durable_tasks.client",
    "flow_processor": "durable_tasks.flow",
    "load_settings": "durable_tasks.settings",
    "reconcile": "durable_tasks.reconcile",
    "run_worker": "durable_tasks.worker",
    "step_activity": "durable_tasks.steps",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'durable_tasks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
