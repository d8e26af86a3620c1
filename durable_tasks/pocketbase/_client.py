"""`PocketBaseClient`: the one way this package talks to PocketBase over the SDK.

This package is the only one that imports the `pocketbase` SDK, and this module the only one
that calls it. The SDK is synchronous, so every call runs on a small thread pool owned by the
client, never on the event loop; one SDK client (one httpx connection pool, one superuser token)
serves all of them, because a new client per request costs ~47 ms.

Failures come out as our exceptions, never the SDK's:

- connection refused, timeouts, 5xx and 429 are retried with capped exponential backoff for
  `retry_for` seconds, then raised as `StoreUnavailableError`;
- an expired or refused token is renewed once (superuser tokens are also renewed a minute
  before they expire: with a stale token PocketBase answers reads as for an anonymous user);
- a 404 is `NotFound` and a taken id `IdTaken`, for the caller to say what they mean for it;
  a refused field value is `StoreRejectedError` naming the field; everything else a
  `StorePermanentError` whose message says what to fix.
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
from typing import Any, TypeVar

import httpx
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError
from pocketbase.models import FileUpload
from pocketbase.utils import is_token_expired

from durable_tasks.errors import StorePermanentError, StoreRejectedError, StoreUnavailableError

_T = TypeVar("_T")

__all__ = ["FileUpload", "IdTaken", "NotFound", "PocketBaseClient", "Request"]

_TRANSIENT_STATUSES = frozenset({429})
_TOKEN_MARGIN_S = 60
_MAX_BACKOFF_S = 2.0


@dataclass
class Request:
    """One logical request; `maybe_sent` turns true once a retried attempt may have landed."""

    method: str
    path: str
    what: str
    """What the request does, for messages: "create task t1"."""
    body: Any = None
    params: dict[str, Any] | None = None
    maybe_sent: bool = False


class PocketBaseClient:
    """A superuser session on one PocketBase server (see the module docstring).

    Args:
        url: the server, e.g. `http://127.0.0.1:8090`.
        email, password: a PocketBase superuser (POCKETBASE_ADMIN_EMAIL / _PASSWORD).
        timeout: seconds for each HTTP request (connect, read, write, pool).
        retry_for: seconds to keep retrying transient failures before `StoreUnavailableError`.
        max_workers: threads running SDK calls (and so HTTP requests in flight).
        token: a superuser token to start with, saving the first login (~150 ms of password
            hashing on the server); the client logs in again when it expires or is refused.
        schema_check: a collection path whose absence means the migrations have not run, and
            the message to give then; checked once, before the first request.
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
        schema_check: tuple[str, str] | None = None,
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
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="pocketbase")
        self._auth_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._closed = threading.Event()
        self._schema_check = schema_check
        self.requests = 0
        """HTTP requests sent to PocketBase so far (auth and retries included), for benchmarks."""

    async def send(self, request: Request) -> Any:
        """Send `request` (on the client's threads) and return PocketBase's JSON answer."""
        return await self._run(self._send, request)

    async def close(self) -> None:
        """Stop the threads (interrupting any backoff) and close the connections."""
        if self._closed.is_set():
            return
        self._closed.set()
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        self._client.http_client.close()

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._closed.is_set():
            raise StorePermanentError("the PocketBase client is closed")
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except RuntimeError:  # the executor shut down between the check above and the submit
            raise StorePermanentError("the PocketBase client is closed") from None
        return await future

    # Everything below runs on the store's threads.

    def _send(self, request: Request) -> Any:
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
                if exc.status == 404 and request.method == "GET" and not renewed:
                    # PocketBase answers a read with a stale token as for an anonymous user: a
                    # 404. A restarted server whose superuser was upserted again has rotated its
                    # token key, so check the token (cheaply) before believing the 404.
                    renewed = True
                    if not self._token_valid():
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
                        f"the PocketBase client was closed while trying to {request.what}"
                    ) from None
                delay *= 2

    def _raw_send(self, request: Request) -> Any:
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
            if self._schema_check is not None:
                self._check_schema(*self._schema_check)

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

    def _check_schema(self, path: str, hint: str) -> None:
        with self._count_lock:
            self.requests += 1
        try:
            self._client.send(path, {"method": "GET"})
        except ClientResponseError as exc:
            if exc.status == 404:
                raise StorePermanentError(hint) from None
            raise
        self._schema_check = None

    def _token_valid(self) -> bool:
        """Whether the server still accepts our token (an auth refresh, no password hashing)."""
        with self._count_lock:
            self.requests += 1
        try:
            self._client.collection("_superusers").auth_refresh()
        except ClientResponseError as exc:
            if exc.status in (400, 401, 403, 404):
                return False
            raise
        return True

    def _drop_token(self) -> None:
        with self._auth_lock:
            self._client.auth_store.clear()

    def _failure(self, exc: ClientResponseError, request: Request) -> Exception:
        """The exception for a response retrying cannot fix (`NotFound`/`IdTaken` are
        for the caller, which knows what a 404 or a taken id means for it)."""
        fields = _field_errors(exc)
        if exc.status == 404:
            return NotFound(fields.get("id", ("", ""))[0])
        # A taken id is refused by PocketBase's check (pk_invalid), or, when two creates race
        # past that check, by the database's unique index (not_unique).
        if exc.status == 400 and fields.get("id", ("", ""))[0] in _ID_TAKEN_CODES:
            return IdTaken()
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


class NotFound(Exception):
    """404 from PocketBase; `code` is the hook's reason when the sync route sent one."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


_ID_TAKEN_CODES = frozenset({"validation_pk_invalid", "validation_not_unique"})


class IdTaken(Exception):
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
