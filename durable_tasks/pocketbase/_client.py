"""`PocketBaseClient`: the one way this package talks to PocketBase.

This package is the only one that imports the `pocketbase` SDK, and this module the only one
that calls it. JSON requests go out on the event loop over a small pool of keep-alive
connections (`_http.HttpPool`, a fraction of the CPU of the SDK on a thread, see there); the
synchronous SDK keeps what is rare: logging in, checking a token, and multipart file uploads
(on the client's threads, never on the loop).

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
import base64
import functools
import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError
from pocketbase.models import FileUpload

from durable_tasks.errors import StorePermanentError, StoreUnavailableError
from durable_tasks.pocketbase._http import HttpPool, HttpTransportError
from durable_tasks.pocketbase._http_errors import (
    HttpFailure,
    IdTaken,
    NotFound,
    describe,
    failure_for,
    is_transient,
)

_T = TypeVar("_T")

__all__ = ["FileUpload", "IdTaken", "NotFound", "PocketBaseClient", "Request"]
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
        max_workers: HTTP requests in flight at most (the connection pool's size).
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
        # Plain HTTP (PocketBase beside the workers) takes the fast pool; https the SDK.
        self._pool = (
            HttpPool(self.url, size=max_workers, timeout=timeout)
            if self.url.startswith("http://")
            else None
        )
        self._client = PocketBase(self.url, timeout=httpx.Timeout(timeout))
        if token:
            self._client.auth_store.save(token)
        # Threads for the SDK: logins and token checks only, or every request (https).
        threads = 2 if self._pool is not None else max_workers
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="pocketbase")
        self._auth_lock = threading.Lock()
        self._closed = threading.Event()
        self._schema_check = schema_check
        self._fresh_token: str | None = None  # the token last seen not to expire soon, and
        self._renew_at = 0.0  # when to renew it (a minute before it expires)
        self.requests = 0
        """HTTP requests sent to PocketBase so far (auth and retries included), for benchmarks."""

    async def send(self, request: Request) -> Any:
        """Send `request` with authentication, renewal and bounded retries; answer its JSON."""
        self._check_open()
        deadline = time.monotonic() + self._retry_for
        delay = 0.05
        renewed = False
        while True:
            used: str | None = None  # the token this attempt sends (no await between)
            try:
                await self._ensure_ready()
                used = self._client.auth_store.token
                return await self._raw_send(request)
            except HttpFailure as exc:
                if exc.status in (401, 403) and not renewed:
                    renewed = True
                    await self._in_thread(self._drop_token, used)
                    continue
                if exc.status == 404 and request.method == "GET" and not renewed:
                    # A stale token reads as anonymous (a 404): a restarted server rotated its
                    # token key (superuser upserted again). Check the token before believing it.
                    renewed = True
                    if not await self._in_thread(self._token_valid):
                        await self._in_thread(self._drop_token, used)
                        continue
                if not is_transient(exc):
                    raise failure_for(exc, request.what) from None
                request.maybe_sent = True
                wait = min(delay, _MAX_BACKOFF_S) * random.uniform(0.5, 1.0)
                if time.monotonic() + wait > deadline:
                    raise StoreUnavailableError(
                        f"PocketBase at {self.url} is unavailable ({describe(exc)}); gave up "
                        f"trying to {request.what} after {self._retry_for:g} s. Check that it "
                        "is running and that POCKETBASE_URL points at it"
                    ) from None
                if await self._closed_during(wait):
                    closed = f"the PocketBase client was closed while trying to {request.what}"
                    raise StorePermanentError(closed) from None
                delay *= 2

    async def close(self) -> None:
        """Stop (interrupting any backoff) and close the connections."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._pool is not None:
            self._pool.close()
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        self._client.http_client.close()

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise StorePermanentError("the PocketBase client is closed")

    async def _closed_during(self, seconds: float) -> bool:
        """Wait `seconds` (a retry's backoff), cut short when the client is closed."""
        end = time.monotonic() + seconds
        while not self._closed.is_set() and (left := end - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))
        return self._closed.is_set()

    async def _in_thread(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run a synchronous SDK call (login, token checks) on the client's threads."""
        self._check_open()
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except RuntimeError:  # the executor shut down between the check above and the submit
            raise StorePermanentError("the PocketBase client is closed") from None
        try:
            return await future
        except ClientResponseError as exc:  # the SDK's, as ours
            raise HttpFailure(exc.status, exc.data, exc.original_error) from None

    async def _raw_send(self, request: Request, path: str | None = None) -> Any:
        """One request (`path`: a GET of that path instead); a failure is an `HttpFailure`."""
        self.requests += 1
        body = request.body
        multipart = isinstance(body, dict) and any(isinstance(v, FileUpload) for v in body.values())
        if multipart or self._pool is None:
            return await self._in_thread(self._sdk_send, request, path)
        target = path or request.path
        if path is None and request.params:
            target = f"{target}?{urlencode(request.params)}"
        headers = [("Authorization", self._client.auth_store.token or "")]
        payload = None
        if path is None and body is not None:
            headers.append(("Content-Type", "application/json"))
            payload = json.dumps(body, separators=(",", ":")).encode()
        try:
            status, raw = await self._pool.request(
                "GET" if path else request.method, target, headers, payload
            )
        except HttpTransportError as exc:
            raise HttpFailure(0, None, exc) from None
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        if status >= 400:
            raise HttpFailure(status, data)
        return data

    async def _ensure_ready(self) -> None:
        """Log in when the token is missing or about to expire; check the schema once."""
        token = self._client.auth_store.token
        if not token or token != self._fresh_token or time.time() >= self._renew_at:
            await self._in_thread(self._login_if_needed)
        if self._schema_check is not None:
            path, hint = self._schema_check
            try:
                await self._raw_send(Request("GET", path, "check the schema"), path)
            except HttpFailure as exc:
                if exc.status == 404:
                    raise StorePermanentError(hint) from None
                raise
            self._schema_check = None

    def _sdk_send(self, request: Request, path: str | None) -> Any:
        """The SDK's request (https, file uploads), on the client's threads like its logins."""
        if path is not None:
            return self._client.send(path, {"method": "GET"})
        config = {"method": request.method, "params": request.params, "body": request.body}
        return self._client.send(request.path, config)

    def _login_if_needed(self) -> None:
        with self._auth_lock:
            if time.time() >= _renew_time(self._client.auth_store.token):
                self._login()
            self._fresh_token = self._client.auth_store.token
            self._renew_at = _renew_time(self._fresh_token)

    def _login(self) -> None:
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

    def _token_valid(self) -> bool:
        """Whether the server still accepts our token (an auth refresh, no password hashing)."""
        self.requests += 1
        try:
            self._client.collection("_superusers").auth_refresh()
            return True
        except ClientResponseError as exc:
            if exc.status in (400, 401, 403, 404):
                return False
            raise

    def _drop_token(self, refused: str | None) -> None:
        """Forget `refused` unless replaced meanwhile: requests refused together each renew, and
        must not throw away the token another one just logged in for."""
        with self._auth_lock:
            if self._client.auth_store.token == refused:
                self._client.auth_store.clear()
                self._fresh_token = None


def _renew_time(token: str | None) -> float:
    """When (wall clock) to log in again: a minute before the token's `exp`; 0 if unreadable."""
    if not token:
        return 0.0
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) - _TOKEN_MARGIN_S
    except (IndexError, ValueError, KeyError, TypeError):  # not one of our JWTs: log in again
        return 0.0
