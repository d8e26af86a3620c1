"""The exceptions durable-tasks raises, all under one base.

    DurableTasksError                  base: catch this to catch everything of ours
    ├── ConfigurationError             a setting is missing or malformed (names the variable)
    ├── InvalidInputError              job data failed validation (names the field)
    ├── UnknownTaskTypeError           no processor registered under that name (lists the known ones)
    ├── TaskAlreadyExistsError         a start found the task running or finished
    ├── StoreError                     the task store (PocketBase) failed
    │   ├── StoreUnavailableError      transient: the server is down or slow; retried
    │   └── StorePermanentError        retrying will not help: credentials, schema, bad request
    │       ├── TaskNotFoundError      the task has no record (create it first)
    │       └── StoreRejectedError     the store refused the data itself (a field is invalid)
    └── NonRetryableError              raise from a processor to fail the task at once

`NonRetryableError` is our counterpart of BullMQ's `UnrecoverableError`: the task goes to
`FAILED` after the current attempt, whatever retries remain.
"""

from __future__ import annotations


class DurableTasksError(Exception):
    """Base class of every error durable-tasks raises."""


class ConfigurationError(DurableTasksError, ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


class InvalidInputError(DurableTasksError, ValueError):
    """Job data failed validation; the message names each offending field."""


class UnknownTaskTypeError(DurableTasksError, LookupError):
    """No processor is registered under the requested type."""


class TaskAlreadyExistsError(DurableTasksError):
    """A start found a task with the same id running or finished (never a silent dedup)."""

    def __init__(self, task_id: str, status: str, message: str) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.status = status


class StoreError(DurableTasksError):
    """The task store failed."""


class StoreUnavailableError(StoreError):
    """The store could not be reached or answered with a transient error; worth retrying."""


class StorePermanentError(StoreError):
    """The store refused the request in a way retrying cannot fix (credentials, schema, input)."""


class TaskNotFoundError(StorePermanentError, LookupError):
    """The task has no record in the store."""


class StoreRejectedError(StorePermanentError):
    """The store refused the data of a write (names the field); resending it cannot succeed."""


class NonRetryableError(DurableTasksError):
    """Raise from `process` (or a step) to fail the task now, without further attempts."""
