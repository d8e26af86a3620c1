"""Counting requests where they land: PocketBase's own request log, read through `/api/logs`.

PocketBase logs every request (method, URL, status) and writes the log in batches a few seconds
apart. To count a phase's requests the benchmark notes the phase's time window, and at the end
sends a marker request and waits until the marker is in the log: batches are written in order,
so everything before it is there too. Then `count()` asks for `totalItems` of a filter.

Record writes are counted on the records themselves: `seq` grows by one with every accepted
write, so a task's writes are its final `seq` plus the one that created it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx


def pb_time(moment: datetime) -> str:
    """A datetime in PocketBase's format (`2024-01-31 12:00:00.123Z`), for filters."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Window:
    """A phase's time window (UTC) and the task-id prefix its tasks share."""

    start: datetime
    end: datetime
    task_prefix: str

    def clause(self) -> str:
        return f"created >= {_literal(pb_time(self.start))} && created <= {_literal(pb_time(self.end))}"


class RequestLog:
    """The superuser view of a PocketBase server's request log."""

    def __init__(self, url: str, email: str, password: str) -> None:
        self._http = httpx.Client(base_url=url, timeout=10.0)
        login = self._http.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": email, "password": password},
        )
        login.raise_for_status()
        self._http.headers["Authorization"] = login.json()["token"]

    def count(self, filter: str) -> int:
        """How many logged requests match `filter` (a PocketBase filter on the `_logs` rows)."""
        page = self._http.get("/api/logs", params={"filter": filter, "perPage": 1, "page": 1})
        page.raise_for_status()
        total: int = page.json()["totalItems"]
        return total

    def all_requests(self, window: Window) -> int:
        """Every request in the window except reads of the log itself."""
        return self.count(f"data.url !~ '/api/logs' && {window.clause()}")

    def task_records(self, prefix: str) -> list[dict[str, Any]]:
        """The records whose id starts with `prefix`: id, seq, result and errors."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = self._http.get(
                "/api/collections/tasks/records",
                params={
                    "filter": f"id ~ {_literal(prefix + '%')}",
                    "fields": "id,seq,result,errors",
                    "perPage": 500,
                    "page": page,
                    "skipTotal": 1,
                },
            )
            answer.raise_for_status()
            items = answer.json()["items"]
            found += [item for item in items if item["id"].startswith(prefix)]
            if len(items) < 500:
                return found
            page += 1

    def wait_flushed(self, timeout: float = 20.0) -> None:
        """Return once every request sent before this call is in the log (or raise)."""
        marker = f"bench-marker-{uuid.uuid4().hex}"
        self._http.get(f"/api/{marker}")  # a 404, logged like any request
        deadline = time.monotonic() + timeout
        while self.count(f"data.url ~ {_literal(marker)}") == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PocketBase did not write its request log within {timeout} s")
            time.sleep(0.25)  # the log is written in batches a few seconds apart

    def close(self) -> None:
        self._http.close()
