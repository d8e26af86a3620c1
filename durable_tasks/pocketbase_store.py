"""`PocketBaseTaskStore`: the task store on a real PocketBase server.

This is the only module that imports the `pocketbase` SDK. The SDK is synchronous, so every
call runs on a small thread pool owned by the store, never on the event loop; one SDK client
(one httpx connection pool, one superuser token) serves all of them, because a new client per
request costs ~47 ms.

Writes go through the transactional route of `pb_hooks/` (`POST
/api/durable-tasks/tasks/{id}/sync`), which applies the guard rules of `durable_tasks.store`
atomically; reads and creates use the plain records API as a superuser.

Failures come out as our exceptions, never the SDK's:

- connection refused, timeouts, 5xx and 429 are retried with capped exponential backoff for
  `retry_for` seconds, then raised as `StoreUnavailableError`;
- an expired or refused token is renewed once (superuser tokens are also renewed a minute
  before they expire: with a stale token PocketBase answers reads as for an anonymous user);
- everything else is a `StorePermanentError` whose message says what to fix: in particular
  `TaskNotFoundError` for a sync of a task without a record, and `StoreRejectedError` when
  PocketBase refused a field's value (too large, wrong format), naming the field.

PocketBase keeps dates at millisecond precision: `startedAt` and `completedAt` come back
truncated to the millisecond (the error entries in `errors` keep theirs).
"""

from __future__ import annotations

import asyncio
import functools
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError
from pocketbase.utils import is_token_expired
from pydantic_core import PydanticSerializationError, to_jsonable_python

from durable_tasks.errors import (
    StorePermanentError,
    StoreRejectedError,
    StoreUnavailableError,
    TaskAlreadyExistsError,
    TaskNotFoundError,
)
from durable_tasks.models import SyncOutcome, TaskPatch, TaskRecord, TaskStatus

if TYPE_CHECKING:
    from durable_tasks.settings import Settings

_T = TypeVar("_T")

COLLECTION = "tasks"
_RECORDS = f"/api/collections/{COLLECTION}/records"
_TRANSIENT_STATUSES = frozenset({429})
_TOKEN_MARGIN_S = 60
_MAX_BACKOFF_S = 2.0
_MIGRATIONS_HINT = (
    "PocketBase has no `tasks` collection: the migrations in pb_migrations/ have not run "
    "(start PocketBase with --migrationsDir pointing at pb_migrations/)"
)
_HOOKS_HINT = (
    "PocketBase has no durable-tasks sync route: it was started without the hooks in pb_hooks/ "
    "(start it with --hooksDir pointing at pb_hooks/)"
)


@dataclass
class _Request:
    """One logical request; `maybe_sent` turns true once a retried attempt may have landed."""

    method: str
    path: str
    what: str
    body: Any = None
    params: dict[str, Any] | None = None
    maybe_sent: bool = False


class PocketBaseTaskStore:
    """The `TaskStore` on PocketBase, authenticated as a superuser.

    Args:
        url: the server, e.g. `http://127.0.0.1:8090`.
        email, password: a PocketBase superuser (POCKETBASE_ADMIN_EMAIL / _PASSWORD).
        timeout: seconds for each HTTP request (connect, read, write, pool).
        retry_for: seconds to keep retrying transient failures before `StoreUnavailableError`.
        max_workers: threads running SDK calls (and so HTTP requests in flight).
        token: a superuser token to start with, saving the first login (~150 ms of password
            hashing on the server); the store logs in again when it expires or is refused.
    """

    def __init__(
        self,
        url: str,
        email: str,
        password: str,
        *,
        timeout: float = 10.0,
        retry_for: float = 30.0,
        max_workers: int = 8,
        token: str | None = None,
    ) -> None:
        if timeout <= 0 or retry_for < 0 or max_workers < 1:
            raise ValueError("timeout must be > 0, retry_for >= 0 and max_workers >= 1")
        self.url = url.rstrip("/")
        self._email = email
        self._password = password
        self._retry_for = retry_for
        self._client = PocketBase(self.url, timeout=httpx.Timeout(timeout))
        if token:
            self._client.auth_store.save(token)
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="pocketbase-store")
        self._auth_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._closed = threading.Event()
        self._schema_checked = False
        self.requests = 0
        """HTTP requests sent to PocketBase so far (auth and retries included), for benchmarks."""

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PocketBaseTaskStore:
        """A store for `POCKETBASE_URL` with the superuser from the settings."""
        email, password = settings.require_pocketbase_credentials()
        return cls(settings.pocketbase_url, email, password, **options)

    async def create(self, *, task_id: str, workspace_id: str, type: str, input: Any) -> TaskRecord:
        try:
            json_input = to_jsonable_python(input)
        except PydanticSerializationError as exc:
            raise StoreRejectedError(f"input of task {task_id} is not JSON: {exc}") from None
        body = {
            "id": task_id,
            "workspaceId": workspace_id,
            "type": type,
            "status": TaskStatus.PENDING.value,
            "input": json_input,
            "progress": 0,
            "attempts": 0,
            "seq": 0,
        }
        request = _Request("POST", _RECORDS, f"create task {task_id}", body=body)
        try:
            return _to_record(await self._run(self._send, request))
        except _IdTaken:
            pass
        except _NotFound:
            raise StorePermanentError(_MIGRATIONS_HINT) from None
        existing = await self.get(task_id)
        if existing is None:  # deleted in between: nothing sensible to retry
            raise StorePermanentError(f"task {task_id} was created and deleted concurrently")
        if request.maybe_sent and _is_our_creation(existing, body):
            return existing  # our own earlier attempt landed before its answer was lost
        raise TaskAlreadyExistsError(
            task_id, existing.status, f"task {task_id} already exists ({existing.status})"
        )

    async def get(self, task_id: str) -> TaskRecord | None:
        request = _Request("GET", f"{_RECORDS}/{_quote_id(task_id)}", f"read task {task_id}")
        try:
            return _to_record(await self._run(self._send, request))
        except _NotFound:
            return None

    async def sync(self, task_id: str, patch: TaskPatch) -> SyncOutcome:
        body = patch.model_dump(mode="json", exclude_none=True)
        if patch.result is not None:  # exclude_none would drop the None fields of a model result
            body["result"] = patch.model_dump(mode="json", include={"result"})["result"]
        if patch.error is not None:
            body["errorText"] = patch.error.render()
        path = f"/api/durable-tasks/tasks/{_quote_id(task_id)}/sync"
        request = _Request("POST", path, f"sync task {task_id}", body=body)
        try:
            data = await self._run(self._send, request)
        except _NotFound as exc:
            if exc.code == "task_not_found":
                raise TaskNotFoundError(f"task {task_id} has no record; create it first") from None
            raise StorePermanentError(_HOOKS_HINT) from None
        return SyncOutcome(
            applied=data["applied"], reason=data["reason"], record=_to_record(data["record"])
        )

    async def list(
        self,
        *,
        workspace_id: str | None = None,
        status: TaskStatus | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> list[TaskRecord]:
        given = {"workspaceId": workspace_id, "status": status, "type": type}
        conditions = [f"{name} = {_quote(str(v))}" for name, v in given.items() if v is not None]
        params: dict[str, Any] = {
            "page": 1,
            "perPage": max(1, min(limit, 1000)),
            "sort": "-created,-@rowid",  # @rowid breaks ties between same-millisecond creates
            "skipTotal": 1,
        }
        if conditions:
            params["filter"] = " && ".join(conditions)
        request = _Request("GET", _RECORDS, "list tasks", params=params)
        try:
            data = await self._run(self._send, request)
        except _NotFound:
            raise StorePermanentError(_MIGRATIONS_HINT) from None
        return [_to_record(item) for item in data["items"]][:limit]

    async def close(self) -> None:
        """Stop the worker threads (interrupting any backoff) and close the connections."""
        if self._closed.is_set():
            return
        self._closed.set()
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        self._client.http_client.close()

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._closed.is_set():
            raise StorePermanentError("the PocketBase task store is closed")
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except RuntimeError:  # the executor shut down between the check above and the submit
            raise StorePermanentError("the PocketBase task store is closed") from None
        return await future

    # Everything below runs on the store's threads.

    def _send(self, request: _Request) -> Any:
        """Send with authentication, renewal and bounded retries; map failures to our errors."""
        deadline = time.monotonic() + self._retry_for
        delay = 0.05
        renewed = False
        while True:
            try:
                self._ensure_ready()
                return self._raw_send(request)
            except ClientResponseError as exc:
                if exc.status in (401, 403) and not renewed:
                    renewed = True
                    self._drop_token()
                    continue
                if not _is_transient(exc):
                    raise self._failure(exc, request) from None
                request.maybe_sent = True
                wait = min(delay, _MAX_BACKOFF_S) * random.uniform(0.5, 1.0)
                if time.monotonic() + wait > deadline:
                    raise StoreUnavailableError(
                        f"PocketBase at {self.url} is unavailable ({_describe(exc)}); gave up "
                        f"trying to {request.what} after {self._retry_for:g} s. Check that it "
                        "is running and that POCKETBASE_URL points at it"
                    ) from None
                if self._closed.wait(wait):
                    raise StorePermanentError(
                        f"the PocketBase task store was closed while trying to {request.what}"
                    ) from None
                delay *= 2

    def _raw_send(self, request: _Request) -> Any:
        with self._count_lock:
            self.requests += 1
        config: dict[str, Any] = {"method": request.method, "params": request.params}
        if request.body is not None:
            config["body"] = request.body
        return self._client.send(request.path, config)

    def _ensure_ready(self) -> None:
        """Log in when the token is missing or about to expire; check the schema once."""
        with self._auth_lock:
            if _expires_soon(self._client.auth_store.token):
                self._login()
            if not self._schema_checked:
                self._check_schema()

    def _login(self) -> None:
        with self._count_lock:
            self.requests += 1
        try:
            self._client.collection("_superusers").auth_with_password(self._email, self._password)
        except ClientResponseError as exc:
            if exc.status in (400, 401, 403, 404):
                raise StorePermanentError(
                    f"PocketBase at {self.url} refused the superuser credentials: check "
                    "POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD (a superuser "
                    "created with `pocketbase superuser upsert`)"
                ) from None
            raise

    def _check_schema(self) -> None:
        with self._count_lock:
            self.requests += 1
        try:
            self._client.send(f"/api/collections/{COLLECTION}", {"method": "GET"})
        except ClientResponseError as exc:
            if exc.status == 404:
                raise StorePermanentError(_MIGRATIONS_HINT) from None
            raise
        self._schema_checked = True

    def _drop_token(self) -> None:
        with self._auth_lock:
            self._client.auth_store.clear()

    def _failure(self, exc: ClientResponseError, request: _Request) -> Exception:
        """The exception for a response retrying cannot fix (`_NotFound`/`_IdTaken` are
        handled by the caller, which knows what a 404 or a taken id means for it)."""
        fields = _field_errors(exc)
        if exc.status == 404:
            return _NotFound(fields.get("id", ("", ""))[0])
        # A taken id is refused by PocketBase's check (pk_invalid), or, when two creates race
        # past that check, by the database's unique index (not_unique).
        if exc.status == 400 and fields.get("id", ("", ""))[0] in _ID_TAKEN_CODES:
            return _IdTaken()
        if exc.status == 400 and fields:
            named = "; ".join(f"{name}: {message}" for name, (_, message) in fields.items())
            return StoreRejectedError(
                f"PocketBase refused to {request.what}: {named}. Fix the value of that field"
            )
        if exc.status in (401, 403):
            return StorePermanentError(
                f"PocketBase refused to {request.what} for the superuser even after a fresh "
                "login: check POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD"
            )
        return StorePermanentError(
            f"PocketBase could not {request.what}: {_describe(exc)}. This is not retried; "
            "check the PocketBase log"
        )


class _NotFound(Exception):
    """404 from PocketBase; `code` is the hook's reason when the sync route sent one."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


_ID_TAKEN_CODES = frozenset({"validation_pk_invalid", "validation_not_unique"})


class _IdTaken(Exception):
    """A create found the id taken."""


def _field_errors(exc: ClientResponseError) -> dict[str, tuple[str, str]]:
    """PocketBase's per-field errors of a response, as `{field: (code, message)}`."""
    body = exc.data if isinstance(exc.data, dict) else {}
    fields = body.get("data")
    if not isinstance(fields, dict):
        return {}
    found = {}
    for name, error in fields.items():
        if isinstance(error, dict):
            code, message = str(error.get("code", "")), str(error.get("message", ""))
            found[str(name)] = (code, message.rstrip("."))
    return found


def _expires_soon(token: str) -> bool:
    try:
        return bool(is_token_expired(token, _TOKEN_MARGIN_S))
    except (ValueError, KeyError):  # not one of our JWTs: log in again
        return True


def _is_transient(exc: ClientResponseError) -> bool:
    if exc.status == 0:
        return isinstance(exc.original_error, httpx.TransportError)
    return exc.status >= 500 or exc.status in _TRANSIENT_STATUSES


def _describe(exc: ClientResponseError) -> str:
    if exc.status == 0:
        original = exc.original_error
        return f"{type(original).__name__}: {original}" if original else "request failed"
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    return f"HTTP {exc.status} {message}".strip()


def _is_our_creation(existing: TaskRecord, body: dict[str, Any]) -> bool:
    return (
        existing.seq == 0
        and existing.status == TaskStatus.PENDING
        and existing.workspace_id == body["workspaceId"]
        and existing.type == body["type"]
        and existing.input == body["input"]
    )


def _to_record(data: dict[str, Any]) -> TaskRecord:
    """PocketBase's JSON to a `TaskRecord`: empty dates are "" there and empty JSON is null."""
    fixed = dict(data)
    for name in ("startedAt", "completedAt"):
        fixed[name] = fixed.get(name) or None
    fixed["errors"] = fixed.get("errors") or []
    return TaskRecord.model_validate(fixed)


def _quote(value: str) -> str:
    """A PocketBase filter string literal (the SDK's `filter()` mishandles backslashes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote_id(task_id: str) -> str:
    return quote(task_id, safe="")


# --------------------------------------------------------------------------------------------
# Media (durable_tasks.media): where the video example's upload step stores its files
# --------------------------------------------------------------------------------------------

import contextlib  # noqa: E402

from pocketbase.models import FileUpload  # noqa: E402

from durable_tasks.media import MediaRecord, NewMedia  # noqa: E402


class PocketBaseMediaStore:
    """The `MediaStore` (durable_tasks.media) on PocketBase: records of the `media` collection.

    It rides on a `PocketBaseTaskStore` for the plumbing — one SDK client on worker threads,
    superuser login and renewal, retries of transient failures, our exceptions — and sends the
    files as multipart (the SDK's `FileUpload`; httpx rewinds them if a request is retried).
    `create` treats a taken `key` as "already stored": a retried create whose first answer was
    lost, or a concurrent twin, gets the record that holds the key.
    """

    COLLECTION = "media"

    def __init__(self, url: str, email: str, password: str, **options: Any) -> None:
        self._pb = PocketBaseTaskStore(url, email, password, **options)
        self._records = f"/api/collections/{self.COLLECTION}/records"

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PocketBaseMediaStore:
        """A media store for `POCKETBASE_URL` with the superuser from the settings."""
        email, password = settings.require_pocketbase_credentials()
        return cls(settings.pocketbase_url, email, password, **options)

    async def find(self, key: str) -> MediaRecord | None:
        params = {"filter": f"key = {_quote(key)}", "perPage": 1, "skipTotal": 1}
        request = _Request("GET", self._records, f"find media {key}", params=params)
        items = (await self._send(request))["items"]
        return MediaRecord.model_validate(items[0]) if items else None

    async def create(self, media: NewMedia) -> MediaRecord:
        with contextlib.ExitStack() as files:
            body: dict[str, Any] = {
                "workspaceId": media.workspace_id,
                "key": media.key,
                "videoId": media.video_id,
            }
            for field, path, mime in (
                ("video", media.video, "video/mp4"),
                ("thumbnail", media.thumbnail, "image/jpeg"),
            ):
                handle = files.enter_context(path.open("rb"))
                body[field] = FileUpload((f"{field}{path.suffix}", handle, mime))
            request = _Request("POST", self._records, f"create media {media.key}", body=body)
            try:
                return MediaRecord.model_validate(await self._send(request))
            except StoreRejectedError:
                existing = await self.find(media.key)
                if existing is None:
                    raise
                return existing

    async def close(self) -> None:
        await self._pb.close()

    async def _send(self, request: _Request) -> Any:
        try:
            return await self._pb._run(self._pb._send, request)
        except _NotFound:
            raise StorePermanentError(
                f"PocketBase has no `{self.COLLECTION}` collection: run the migrations in "
                "pb_migrations/ (1700000100_media.js)"
            ) from None
