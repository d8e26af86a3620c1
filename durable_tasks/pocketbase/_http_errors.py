"""What a failed PocketBase request means: retry it, renew the token, or which error to raise.

`HttpFailure` is a failed request as the client saw it (a status, PocketBase's JSON answer, or
the transport error when nothing came back). `failure_for` turns one that retrying cannot fix
into our exception, naming the field PocketBase refused and what to fix; `NotFound` and
`IdTaken` are left for the caller, which knows what a 404 or a taken id means for it.
"""

from __future__ import annotations

from typing import Any

import httpx

from durable_tasks.errors import StorePermanentError, StoreRejectedError
from durable_tasks.pocketbase._http import HttpTransportError

_TRANSIENT_STATUSES = frozenset({429})
_ID_TAKEN_CODES = frozenset({"validation_pk_invalid", "validation_not_unique"})
"""A taken id is refused by PocketBase's check (pk_invalid), or, when two creates race past
that check, by the database's unique index (not_unique)."""


class HttpFailure(Exception):
    """A request that failed: `status` 0 when no answer came (`original` says why)."""

    def __init__(self, status: int, data: Any = None, original: BaseException | None = None):
        super().__init__(f"HTTP {status}" if status else f"request failed: {original}")
        self.status = status
        self.data = data
        self.original = original


class NotFound(Exception):
    """404 from PocketBase; `code` is the hook's reason when the sync route sent one."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class IdTaken(Exception):
    """A create found the id taken."""


def failure_for(exc: HttpFailure, what: str) -> Exception:
    """The exception for a response retrying cannot fix; `what` is what the request did."""
    fields = field_errors(exc)
    if exc.status == 404:
        return NotFound(fields.get("id", ("", ""))[0])
    if exc.status == 400 and fields.get("id", ("", ""))[0] in _ID_TAKEN_CODES:
        return IdTaken()
    if exc.status == 400 and fields:
        named = "; ".join(f"{name}: {message}" for name, (_, message) in fields.items())
        return StoreRejectedError(
            f"PocketBase refused to {what}: {named}. Fix the value of that field"
        )
    if exc.status in (401, 403):
        return StorePermanentError(
            f"PocketBase refused to {what} for the superuser even after a fresh "
            "login: check POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD"
        )
    return StorePermanentError(
        f"PocketBase could not {what}: {describe(exc)}. This is not retried; "
        "check the PocketBase log"
    )


def field_errors(exc: HttpFailure) -> dict[str, tuple[str, str]]:
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


def is_transient(exc: HttpFailure) -> bool:
    """Whether trying again may succeed: no answer (a transport error), 5xx or 429; not an
    error of our own making on the way (an SDK bug, an answer that did not decode)."""
    if exc.status == 0:
        return isinstance(exc.original, HttpTransportError | httpx.TransportError)
    return exc.status >= 500 or exc.status in _TRANSIENT_STATUSES


def describe(exc: HttpFailure) -> str:
    """The failure in a few words, for messages."""
    if exc.status == 0:
        original = exc.original
        return f"{type(original).__name__}: {original}" if original else "request failed"
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    return f"HTTP {exc.status} {message}".strip()
