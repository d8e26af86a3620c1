"""How `PocketBaseTaskStore` fails, and that it holds up under concurrency.

Each failure must come out as one of our exceptions with a message that says what to fix:
transient ones only after a bounded retry, permanent ones at once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_tasks.dev import (
    PocketBaseProcess,
    free_port,
    project_pb_dirs,
    start_pocketbase,
)
from durable_tasks.errors import (
    InvalidInputError,
    StorePermanentError,
    StoreRejectedError,
    StoreUnavailableError,
    TaskAlreadyExistsError,
    TaskNotFoundError,
)
from durable_tasks.models import SyncOutcome, TaskPatch, TaskRecord, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.settings import Settings
from durable_tasks.testing import PocketBaseServer

ADMIN = ("admin@example.com", "a-long-enough-password")


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PocketBaseProcess]:
    """A PocketBase started without our migrations and hooks, as a misconfigured deploy."""
    empty = tmp_path_factory.mktemp("empty")
    with start_pocketbase(
        tmp_path_factory.mktemp("bare") / "pb_data",
        free_port(),
        admin_email=ADMIN[0],
        admin_password=ADMIN[1],
        migrations_dir=empty,
        hooks_dir=empty,
    ) as server:
        yield server


async def test_bad_credentials_name_the_variables(pocketbase_server: PocketBaseServer) -> None:
    store = PocketBaseTaskStore(pocketbase_server.url, pocketbase_server.admin_email, "wrong-pass")
    try:
        started = time.monotonic()
        with pytest.raises(StorePermanentError) as caught:
            await store.get("t1")
        assert time.monotonic() - started < 2, "a refused login must not be retried"
        message = str(caught.value)
        assert "POCKETBASE_ADMIN_EMAIL" in message and "POCKETBASE_ADMIN_PASSWORD" in message
    finally:
        await store.close()


async def test_an_unreachable_server_is_unavailable_after_a_bounded_retry() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = PocketBaseTaskStore(url, *ADMIN, timeout=1.0, retry_for=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as caught:
            await store.get("t1")
        elapsed = time.monotonic() - started
        assert elapsed < 0.5 + 1, elapsed  # the retry is bounded by retry_for
        assert store.requests >= 3, "it should have retried"
        assert url in str(caught.value) and "POCKETBASE_URL" in str(caught.value)
    finally:
        await store.close()


async def test_from_settings_uses_the_configured_server(
    task_store: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    settings = Settings(
        POCKETBASE_URL=pocketbase_server.url,
        POCKETBASE_ADMIN_EMAIL=pocketbase_server.admin_email,
        POCKETBASE_ADMIN_PASSWORD=pocketbase_server.admin_password,
    )
    store = PocketBaseTaskStore.from_settings(settings, retry_for=1.0)
    try:
        await store.create(task_id="t1", workspace_id="ws", type="demo", input=None)
        assert (await task_store.get("t1")) is not None
    finally:
        await store.close()


async def test_missing_migrations_are_named(bare_server: PocketBaseProcess) -> None:
    store = PocketBaseTaskStore(bare_server.url, *ADMIN)
    try:
        with pytest.raises(StorePermanentError, match="pb_migrations"):
            await store.list()
    finally:
        await store.close()


async def test_missing_hooks_are_named(pocketbase_server: PocketBaseServer, tmp_path: Path) -> None:
    """Migrations ran but the hooks were not loaded: creates, reads and syncs have nowhere to
    go (they all use the hooks' batch routes), and each says so."""
    migrations_dir, _ = project_pb_dirs()
    no_hooks = tmp_path / "no_hooks"
    no_hooks.mkdir()
    with start_pocketbase(
        tmp_path / "pb_data",
        free_port(),
        admin_email=ADMIN[0],
        admin_password=ADMIN[1],
        migrations_dir=migrations_dir,
        hooks_dir=no_hooks,
    ) as server:
        store = PocketBaseTaskStore(server.url, *ADMIN)
        try:
            with pytest.raises(StorePermanentError, match="pb_hooks"):
                await store.create(task_id="t1", workspace_id="ws", type="demo", input=None)
            with pytest.raises(StorePermanentError, match="pb_hooks"):
                await store.get("t1")
            with pytest.raises(StorePermanentError, match="pb_hooks"):
                await store.sync("t1", TaskPatch(run_id="r1", progress=1))
        finally:
            await store.close()


async def test_refused_values_name_the_field(task_store: PocketBaseTaskStore) -> None:
    with pytest.raises(StoreRejectedError, match="workspaceId"):
        await task_store.create(task_id="t1", workspace_id="", type="demo", input=None)
    with pytest.raises(StoreRejectedError, match="id"):
        await task_store.create(task_id="bad id!", workspace_id="ws", type="demo", input=None)

    await task_store.create(task_id="t1", workspace_id="ws", type="demo", input=None)
    too_big = {"blob": "x" * (6 * 1024 * 1024)}
    with pytest.raises(StoreRejectedError, match="result"):
        await task_store.sync("t1", TaskPatch(run_id="r1", result=too_big))
    with pytest.raises(TaskNotFoundError):
        await task_store.sync("t2", TaskPatch(run_id="r1", progress=1))
    record = await task_store.get("t1")
    assert record is not None and record.seq == 0  # nothing half-written


async def test_a_large_flow_result_fits(task_store: PocketBaseTaskStore) -> None:
    """A 200-step TaskResult with some output per step is well under the 5 MiB JSON limit."""
    await task_store.create(task_id="t1", workspace_id="ws", type="flow", input=None)
    steps = {
        f"step-{n}": {"stepType": f"step-{n}", "status": "completed", "data": {"out": "y" * 5000}}
        for n in range(200)
    }
    outcome = await task_store.sync("t1", TaskPatch(run_id="r1", result={"steps": steps}))
    assert outcome.applied and len(outcome.record.result["steps"]) == 200


async def test_a_stale_token_is_renewed_before_reads(task_store: PocketBaseTaskStore) -> None:
    """PocketBase answers a request with an expired token as if anonymous (an empty list, a
    404), so the store must renew before expiry rather than wait for a 401."""
    await task_store.create(task_id="t1", workspace_id="ws", type="demo", input=None)
    payload = base64.urlsafe_b64encode(json.dumps({"exp": int(time.time()) + 5}).encode())
    task_store.client._client.auth_store.save(f"x.{payload.decode().rstrip('=')}.y")
    before = task_store.requests

    assert [r.id for r in await task_store.list()] == ["t1"]
    assert task_store.requests == before + 2  # a login, then the list


async def test_a_refused_token_is_renewed_once(task_store: PocketBaseTaskStore) -> None:
    await task_store.create(task_id="t1", workspace_id="ws", type="demo", input=None)
    payload = base64.urlsafe_b64encode(json.dumps({"exp": int(time.time()) + 3600}).encode())
    task_store.client._client.auth_store.save(
        f"x.{payload.decode().rstrip('=')}.y"
    )  # not signed by PB

    outcome = await task_store.sync("t1", TaskPatch(run_id="r1", status=TaskStatus.RUNNING))
    assert outcome.applied


async def test_many_concurrent_asyncio_tasks_share_one_store(
    task_store: PocketBaseTaskStore,
) -> None:
    count = 60

    async def lifecycle(n: int) -> TaskStatus:
        task_id = f"c{n}"
        await task_store.create(task_id=task_id, workspace_id="ws", type="demo", input={"n": n})
        await task_store.sync(
            task_id, TaskPatch(run_id="r", new_run=True, status=TaskStatus.RUNNING)
        )
        await task_store.sync(task_id, TaskPatch(run_id="r", progress=50))
        await task_store.sync(task_id, TaskPatch(run_id="r", status=TaskStatus.SUCCESS))
        record = await task_store.get(task_id)
        assert record is not None and record.seq == 3 and record.input == {"n": n}
        return record.status

    before = task_store.requests
    statuses = await asyncio.gather(*(lifecycle(n) for n in range(count)))
    assert statuses == [TaskStatus.SUCCESS] * count
    assert len(await task_store.list(status=TaskStatus.SUCCESS, limit=100)) == count
    # One request per sync, the 60 creates in one or two (coalesced), a read each at most,
    # the list, and the fresh store's schema check: no retries.
    assert count * 3 + 2 < task_store.requests - before <= count * 3 + 2 + count + 2


async def test_concurrent_creates_and_reads_share_requests(
    task_store: PocketBaseTaskStore,
) -> None:
    """Starts that happen together cost one PocketBase request (and transaction), not one each;
    a lone call is sent at once, and each caller still gets its own answer."""
    await task_store.create(task_id="taken", workspace_id="ws", type="demo", input={"n": -1})
    before = task_store.requests
    ids = [f"b{n}" for n in range(50)]
    outcomes = await asyncio.gather(
        *(task_store.create(task_id=t, workspace_id="ws", type="demo", input={"n": n})
          for n, t in enumerate(ids)),
        task_store.create(task_id="taken", workspace_id="ws", type="demo", input={"n": -1}),
        task_store.create(task_id="bad id!", workspace_id="ws", type="demo", input=None),
        return_exceptions=True,
    )  # fmt: skip
    assert [o.id for o in outcomes[:50] if isinstance(o, TaskRecord)] == ids
    assert [o.input for o in outcomes[:50] if isinstance(o, TaskRecord)] == [
        {"n": n} for n in range(50)
    ]
    assert isinstance(outcomes[50], TaskAlreadyExistsError)
    assert isinstance(outcomes[51], StoreRejectedError) and "id" in str(outcomes[51])
    assert task_store.requests - before <= 2  # two lanes at most

    before = task_store.requests
    records = await asyncio.gather(*(task_store.get(t) for t in [*ids, "missing"]))
    assert [r.id if r else None for r in records] == [*ids, None]
    assert task_store.requests - before <= 2

    before = task_store.requests
    assert (await task_store.get("b7")) is not None
    assert task_store.requests - before == 1


async def test_a_closed_store_says_so(pocketbase_server: PocketBaseServer) -> None:
    store = PocketBaseTaskStore(pocketbase_server.url, *ADMIN)
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StorePermanentError, match="closed"):
        await store.get("t1")


async def test_racing_creates_of_one_id_only_ever_say_already_exists(
    task_store: PocketBaseTaskStore,
) -> None:
    """Creates that race past PocketBase's id check hit the unique index instead; that too is
    "already exists", never a refused field (seen in about 1 round in 8 before the fix)."""
    for round_ in range(30):
        outcomes = await asyncio.gather(
            *(
                task_store.create(task_id=f"race{round_}", workspace_id="w", type="t", input={})
                for _ in range(8)
            ),
            return_exceptions=True,
        )
        unexpected = [o for o in outcomes if isinstance(o, BaseException)]
        unexpected = [o for o in unexpected if not isinstance(o, TaskAlreadyExistsError)]
        assert unexpected == [], f"round {round_}: {unexpected[0]!r}"
        assert any(not isinstance(o, BaseException) for o in outcomes)


async def test_check_answers_what_the_worker_must_know_before_polling(
    task_store: PocketBaseTaskStore,
    pocketbase_server: PocketBaseServer,
    bare_server: PocketBaseProcess,
) -> None:
    """`check()` passes on a good server and raises what every later request would."""
    await task_store.check()
    wrong = PocketBaseTaskStore(pocketbase_server.url, pocketbase_server.admin_email, "wrong-pw")
    unreachable = PocketBaseTaskStore(f"http://127.0.0.1:{free_port()}", *ADMIN, retry_for=0.3)
    no_schema = PocketBaseTaskStore(bare_server.url, *ADMIN)
    try:
        with pytest.raises(StorePermanentError, match="refused the superuser credentials"):
            await wrong.check()
        with pytest.raises(StoreUnavailableError, match="POCKETBASE_URL"):
            await unreachable.check()
        with pytest.raises(StorePermanentError, match="pb_migrations"):
            await no_schema.check()
    finally:
        for store in (wrong, unreachable, no_schema):
            await store.close()


@pytest.mark.parametrize("record_id", ["..", ".", "a/b", "", "a b", "%2e%2e"])
async def test_an_id_no_record_can_have_never_reaches_a_url(
    task_store: PocketBaseTaskStore, record_id: str
) -> None:
    """Even below the client's id rule: `..` must not turn a record URL into the collection's."""
    with pytest.raises(InvalidInputError, match="^invalid taskId: "):
        await task_store.get(record_id)
    with pytest.raises(InvalidInputError, match="^invalid taskId: "):
        await task_store.sync(record_id, TaskPatch(run_id="r"))
    assert await task_store.list() == []


async def test_the_sdk_path_for_https_servers_does_the_same(
    pocketbase_server: PocketBaseServer,
) -> None:
    """An https PocketBase is reached through the SDK on threads instead of the keep-alive
    pool; here the pool is switched off on a plain server to run that path end to end."""
    server = pocketbase_server
    store = PocketBaseTaskStore(server.url, server.admin_email, server.admin_password)
    store.client._pool = None
    try:
        await store.create(task_id="sdk1", workspace_id="ws", type="demo", input={"n": 1})
        with pytest.raises(TaskAlreadyExistsError):
            await store.create(task_id="sdk1", workspace_id="ws", type="demo", input={"n": 1})
        outcome = await store.sync(
            "sdk1", TaskPatch(run_id="r", new_run=True, status=TaskStatus.RUNNING)
        )
        assert outcome.applied and outcome.record.status == TaskStatus.RUNNING
        record = await store.get("sdk1")
        assert record is not None and record.input == {"n": 1} and record.seq == 1
        assert await store.get("nope") is None
        assert [r.id for r in await store.list(workspace_id="ws") if r.id == "sdk1"] == ["sdk1"]
    finally:
        await store.close()


@pytest.mark.parametrize(
    "route", ["/api/durable-tasks/sync", "/api/durable-tasks/create", "/api/durable-tasks/records"]
)
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "invalid body: json is required"),
        (b"[1, 2]", "invalid batch"),
        (b'{"items": "x", "ids": "x"}', "invalid batch"),
        (b"", "invalid batch"),
    ],
)
async def test_a_malformed_batch_is_refused_whole_with_what_was_expected(
    task_store: PocketBaseTaskStore,
    pocketbase_server: PocketBaseServer,
    route: str,
    body: bytes,
    expected: str,
) -> None:
    await task_store.create(task_id="kept", workspace_id="ws", type="demo", input={"n": 1})
    with pocketbase_server.admin_client() as admin:
        answer = admin.post(route, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and expected in answer.json()["message"].lower(), answer.text
    record = await task_store.get("kept")
    assert record is not None and (record.seq, record.input) == (0, {"n": 1})


async def test_concurrent_requests_refused_together_all_renew_and_land(
    task_store: PocketBaseTaskStore,
) -> None:
    """A restarted PocketBase refuses every token issued before (its superuser was upserted
    again): all requests in flight are refused at once, and each renews. One renewal must not
    throw away the fresh token another request has just logged in for."""
    ids = [f"rr{n}" for n in range(30)]
    for task_id in ids:
        await task_store.create(task_id=task_id, workspace_id="ws", type="demo", input=None)
    payload = base64.urlsafe_b64encode(json.dumps({"exp": int(time.time()) + 3600}).encode())
    forged = f"x.{payload.decode().rstrip('=')}.y"  # well formed, not signed by PocketBase
    for _ in range(3):
        task_store.client._client.auth_store.save(forged)
        outcomes = await asyncio.gather(
            *(task_store.sync(t, TaskPatch(run_id="r1", progress=1)) for t in ids),
            return_exceptions=True,
        )
        assert [o for o in outcomes if not isinstance(o, SyncOutcome)] == []
