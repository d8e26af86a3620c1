"""`PocketBaseTaskStore`: the task store on a real PocketBase server.

Writes go through the transactional route of `pb_hooks/` (`POST
/api/durable-tasks/tasks/{id}/sync`), which applies the guard rules of `durable_tasks.store`
atomically; reads and creates use the plain records API as a superuser. The HTTP plumbing —
threads, login and renewal, retries, error mapping — is `PocketBaseClient`'s.

PocketBase keeps dates at millisecond precision: `startedAt` and `completedAt` come back
truncated to the millisecond (the error entries in `errors` keep theirs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticSerializationError, to_jsonable_python

from durable_tasks.errors import (
    StorePermanentError,
    StoreRejectedError,
    TaskAlreadyExistsError,
    TaskNotFoundError,
)
from durable_tasks.models import SyncOutcome, TaskPatch, TaskRecord, TaskStatus
from durable_tasks.pocketbase._client import NotFound, PocketBaseClient, Request
from durable_tasks.pocketbase._coalesce import Coalescer
from durable_tasks.pocketbase._records import TASKS, filter_literal, path_id, task_record
from durable_tasks.store import MAX_SYNC_BATCH, SyncItem, SyncResult

if TYPE_CHECKING:
    from durable_tasks.settings import Settings

_RECORDS = f"/api/collections/{TASKS}/records"
_LINGER = 0.01
"""Seconds between the coalesced create (or read) requests of a busy client (see Coalescer)."""
_MIGRATIONS_HINT = (
    "PocketBase has no `tasks` collection: the migrations in pb_migrations/ have not run "
    "(start PocketBase with --migrationsDir pointing at the pb_migrations/ this package ships, "
    "in durable_tasks/pocketbase/)"
)
_HOOKS_HINT = (
    "PocketBase has no durable-tasks sync route: it was started without the hooks in pb_hooks/ "
    "(start it with --hooksDir pointing at the pb_hooks/ this package ships, in "
    "durable_tasks/pocketbase/)"
)


class PocketBaseTaskStore:
    """The `TaskStore` on PocketBase, authenticated as a superuser.

    Args:
        url: the server, e.g. `http://127.0.0.1:8090`.
        email, password: a PocketBase superuser (POCKETBASE_ADMIN_EMAIL / _PASSWORD).
        **options: `PocketBaseClient`'s (`timeout`, `retry_for`, `max_workers`, `token`).
    """

    def __init__(self, url: str, email: str, password: str, **options: Any) -> None:
        self.client = PocketBaseClient(
            url,
            email,
            password,
            schema_check=(f"/api/collections/{TASKS}", _MIGRATIONS_HINT),
            **options,
        )
        self.url = self.client.url
        # Concurrent creates and reads share requests (one transaction for the creates).
        self._creates: Coalescer[dict[str, Any], dict[str, Any]] = Coalescer(
            self._create_many, max_batch=MAX_SYNC_BATCH, linger=_LINGER
        )
        self._gets: Coalescer[str, TaskRecord | None] = Coalescer(
            self._get_many, max_batch=MAX_SYNC_BATCH, linger=_LINGER
        )

    @property
    def requests(self) -> int:
        """HTTP requests sent to PocketBase so far (auth and retries included), for benchmarks."""
        return self.client.requests

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PocketBaseTaskStore:
        """A store for `POCKETBASE_URL` with the superuser from the settings."""
        email, password = settings.require_pocketbase_credentials()
        return cls(settings.pocketbase_url, email, password, **options)

    async def check(self) -> None:
        """Log in and find the `tasks` collection now, or raise the error every later request
        would: `StorePermanentError` for refused credentials or a missing schema,
        `StoreUnavailableError` once PocketBase stayed unreachable for the retry budget. The
        worker calls it before it polls, so wrong settings stop it at once."""
        request = Request("GET", f"/api/collections/{TASKS}", "find the tasks collection")
        try:
            await self.client.send(request)
        except NotFound:
            raise StorePermanentError(_MIGRATIONS_HINT) from None

    async def create(self, *, task_id: str, workspace_id: str, type: str, input: Any) -> TaskRecord:
        try:
            json_input = to_jsonable_python(input)
        except PydanticSerializationError as exc:
            raise StoreRejectedError(f"input of task {task_id} is not JSON: {exc}") from None
        item = {"taskId": task_id, "workspaceId": workspace_id, "type": type, "input": json_input}
        answer = await self._creates.call(item)
        reason = str(answer.get("reason", ""))
        if reason.startswith("rejected"):
            raise StoreRejectedError(
                f"PocketBase refused to create task {task_id}: "
                f"{reason.removeprefix('rejected: ').rstrip('.')}. Fix the value of that field"
            )
        existing = task_record(answer["record"])
        if answer["created"]:
            return existing
        if answer["maybe_sent"] and _is_our_creation(existing, item):
            return existing  # our own earlier attempt landed before its answer was lost
        raise TaskAlreadyExistsError(
            task_id, existing.status, f"task {task_id} already exists ({existing.status})"
        )

    async def get(self, task_id: str) -> TaskRecord | None:
        path_id(task_id)  # refuse an id no record can have, naming taskId
        return await self._gets.call(task_id)

    async def _create_many(self, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One transaction creating the missing records of concurrent `create` calls."""
        request = Request(
            "POST", "/api/durable-tasks/create", _what("create", items), body={"items": items}
        )
        data = await self._hooks_route(request)
        return [{**answer, "maybe_sent": request.maybe_sent} for answer in data["results"]]

    async def _get_many(self, ids: Sequence[str]) -> list[TaskRecord | None]:
        """One request reading the records of concurrent `get` calls (None: no record)."""
        request = Request(
            "POST", "/api/durable-tasks/records", _what("read", ids), body={"ids": list(ids)}
        )
        data = await self._hooks_route(request)
        found = {record["id"]: task_record(record) for record in data["records"]}
        return [found.get(task_id) for task_id in ids]

    async def sync(self, task_id: str, patch: TaskPatch) -> SyncOutcome:
        path = f"/api/durable-tasks/tasks/{path_id(task_id)}/sync"
        request = Request("POST", path, f"sync task {task_id}", body=_patch_body(patch))
        try:
            data = await self.client.send(request)
        except NotFound as exc:
            if exc.code == "task_not_found":
                raise TaskNotFoundError(f"task {task_id} has no record; create it first") from None
            raise StorePermanentError(_HOOKS_HINT) from None
        return SyncOutcome(
            applied=data["applied"], reason=data["reason"], record=task_record(data["record"])
        )

    async def sync_many(self, items: Sequence[SyncItem]) -> list[SyncResult]:
        if not items:
            return []
        body = {
            "items": [
                {
                    "taskId": item.task_id,
                    "patch": _patch_body(item.patch),
                    **({"create": item.create.model_dump(mode="json")} if item.create else {}),
                }
                for item in items
            ]
        }
        request = Request(
            "POST", "/api/durable-tasks/sync", f"sync {len(items)} task(s)", body=body
        )
        data = await self._hooks_route(request)
        return [SyncResult.model_validate(result) for result in data["results"]]

    async def _hooks_route(self, request: Request) -> Any:
        """Send to one of the hooks' batch routes; a 404 means the hooks were not loaded."""
        try:
            return await self.client.send(request)
        except NotFound:
            raise StorePermanentError(_HOOKS_HINT) from None

    async def list(
        self,
        *,
        workspace_id: str | None = None,
        status: TaskStatus | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> list[TaskRecord]:
        given = {"workspaceId": workspace_id, "status": status, "type": type}
        conditions = [
            f"{name} = {filter_literal(str(v))}" for name, v in given.items() if v is not None
        ]
        params: dict[str, Any] = {
            "page": 1,
            "perPage": max(1, min(limit, 1000)),
            "sort": "-created,-@rowid",  # @rowid breaks ties between same-millisecond creates
            "skipTotal": 1,
        }
        if conditions:
            params["filter"] = " && ".join(conditions)
        request = Request("GET", _RECORDS, "list tasks", params=params)
        try:
            data = await self.client.send(request)
        except NotFound:
            raise StorePermanentError(_MIGRATIONS_HINT) from None
        return [task_record(item) for item in data["items"]][:limit]

    async def close(self) -> None:
        """Stop the client's threads and close its connections."""
        await self.client.close()


def _what(verb: str, items: Sequence[Any]) -> str:
    """What a batch request does, for messages: "create task t1" or "read 12 tasks"."""
    if len(items) == 1:
        one = items[0]
        return f"{verb} task {one['taskId'] if isinstance(one, dict) else one}"
    return f"{verb} {len(items)} tasks"


def _is_our_creation(existing: TaskRecord, body: dict[str, Any]) -> bool:
    return (
        existing.seq == 0
        and existing.status == TaskStatus.PENDING
        and existing.workspace_id == body["workspaceId"]
        and existing.type == body["type"]
        and existing.input == body["input"]
    )


def _patch_body(patch: TaskPatch) -> dict[str, Any]:
    """A patch as the sync routes take it: set fields only, and the entry's rendered text."""
    body = patch.model_dump(mode="json", exclude_none=True)
    if patch.result is not None:  # exclude_none would drop the None fields of a model result
        body["result"] = patch.model_dump(mode="json", include={"result"})["result"]
    if patch.error is not None:
        body["errorText"] = patch.error.render()
    return body
