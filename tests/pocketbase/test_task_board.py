"""The task board (pb_public/), driven in headless Chromium against the real servers.

PocketBase serves the board itself; a worker with a dispatcher runs the tasks the board creates.
The browser is Debian's `chromium`, installed by `chromium_path` when missing (apt-get, never a
browser download), driven by Playwright through that executable. The window is phone-sized, so
the whole journey also proves the board usable on a phone. A task of a type whose worker is
gone stays PENDING, and the board says why. Screenshots of each stage are kept
under `.data/screenshots/` (git-ignored) as the test's artifacts.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.client import Client

from durable_tasks._dispatcher import Dispatcher
from durable_tasks.client import TaskClient
from durable_tasks.pocketbase import PocketBaseDispatchSource, PocketBaseTaskStore
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.testing import PocketBaseServer, running_worker
from tests.support.dispatch_processors import Boom, Count, Hold, Pair

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".data" / "screenshots"
PROCESSORS = (Boom, Count, Hold, Pair)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium, installed now if missing (root, or passwordless sudo, is needed)."""
    found = shutil.which("chromium")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium, but no `chromium` is on PATH"
    return found


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def board_stack(
    temporal_client: Client, task_store: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> AsyncIterator[None]:
    """A worker for PROCESSORS and its dispatcher, on the session's servers."""
    queue = f"tq-{uuid.uuid4()}"
    source = PocketBaseDispatchSource(
        pocketbase_server.url,
        pocketbase_server.admin_email,
        pocketbase_server.admin_password,
        token=pocketbase_server.admin_token,
    )
    registry = ProcessorRegistry.of(*PROCESSORS)
    async with running_worker(temporal_client, task_store, *PROCESSORS, task_queue=queue):
        tasks = TaskClient(temporal_client, task_store, registry, task_queue=queue)
        dispatcher = Dispatcher(tasks, source, sweep_every=timedelta(seconds=2))
        running = asyncio.create_task(dispatcher.run())
        try:
            yield
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await source.close()


def make_user(server: PocketBaseServer, workspace: str) -> tuple[str, str]:
    email, password = f"board-{uuid.uuid4().hex[:8]}@example.com", secrets.token_urlsafe(12)
    with server.admin_client() as admin:
        admin.post(
            "/api/collections/users/records",
            json={
                "email": email,
                "password": password,
                "passwordConfirm": password,
                "verified": True,
                "workspaceId": workspace,
            },
        ).raise_for_status()
    return email, password


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"board-{name}.png"), full_page=True)


async def new_task(page: Page, type: str) -> None:
    await page.goto(page.url.split("#")[0] + "#/")
    await page.click("#new-task")
    await page.select_option("#task-type", type)
    await expect(page.locator("#task-type")).to_have_value(type)


@pytest.mark.slow
async def test_the_board_starts_follows_and_cancels_tasks(
    board_stack: None, browser: Browser, pocketbase_server: PocketBaseServer
) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    email, password = make_user(pocketbase_server, "ws-board")
    with pocketbase_server.admin_client() as admin:  # a type whose worker is gone, and its task
        admin.post(
            "/api/collections/task_types/records",
            json={"name": "gone", "kind": "simple", "lastSeen": "2020-01-01 00:00:00.000Z"},
        ).raise_for_status()
        admin.post(
            "/api/collections/tasks/records",
            json={"id": "waits-for-gone", "type": "gone", "workspaceId": "ws-board"},
        ).raise_for_status()
    page = await browser.new_page(viewport=PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{pocketbase_server.url}/")

    # Log in as a workspace user.
    await page.fill("#email", email)
    await page.fill("#password", password)
    await shot(page, "1-login")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#connection")).to_have_text("live")
    await expect(page.locator("#who")).to_contain_text("ws-board")

    # A flow from the generated form: an empty required field is refused beside the field.
    await new_task(page, "pair")
    await page.click("#create-task")
    await expect(page.locator("[data-error-for=label]")).to_have_text("Required.")
    await shot(page, "2-form-validation")
    await page.fill("#field-label", "hello")
    await page.click("#create-task")
    await expect(page.locator("[data-testid=progress]").first).to_have_text("100%")
    await expect(page.locator("h1 .badge")).to_have_attribute("data-status", "SUCCESS")
    steps = page.locator("#steps li")
    await expect(steps).to_have_count(2)
    await expect(page.locator("#steps li[data-step-status=completed]")).to_have_count(2)
    await shot(page, "3-flow-succeeded")

    # A failing task shows its error log.
    await new_task(page, "boom")
    await page.click("#create-task")
    await expect(page.locator("h1 .badge")).to_have_attribute("data-status", "FAILED")
    await expect(page.locator("#error-log")).to_contain_text("the widget is on fire")
    await expect(page.locator("#error-log")).to_contain_text("NonRetryableError")
    await shot(page, "4-failed-error-log")

    # A long task is cancelled from its page.
    await new_task(page, "hold")
    await page.click("#create-task")
    await expect(page.locator("h1 .badge")).to_have_attribute("data-status", "RUNNING")
    await page.click("#cancel")
    await expect(page.locator("h1 .badge")).to_have_attribute("data-status", "CANCELLED")
    await shot(page, "5-cancelled")
    # Rerun from the page, and cancel the rerun too.
    await page.click("#rerun")
    await expect(page.locator("h1 .badge")).to_have_attribute("data-status", "RUNNING")
    await page.click("#cancel")
    await expect(page.locator("h1 .badge")).to_have_attribute("data-status", "CANCELLED")

    # The list: every task live, filtered by status.
    await page.goto(f"{pocketbase_server.url}/#/")
    await expect(page.locator("#task-list > li")).to_have_count(4)
    waiting = page.locator("[data-task-id=waits-for-gone]")
    await expect(waiting.locator(".badge")).to_have_attribute("data-status", "PENDING")
    await expect(waiting.locator("[data-testid=no-worker]")).to_contain_text("no live worker")
    await page.select_option("#filter-status", "FAILED")
    await expect(page.locator("#task-list > li")).to_have_count(1)
    await expect(page.locator("#task-list .type")).to_have_text("boom")
    await shot(page, "6-list-filtered")

    # Events sent while the board is disconnected are lost; it refetches when it reconnects.
    # The drop: new realtime connections are refused, and the open stream errors, as a
    # dropped one does (the browser fires `error` on the EventSource).
    await page.select_option("#filter-status", "")
    await page.route("**/api/realtime", lambda route: route.abort())
    await page.evaluate("pb.realtime.eventSource.dispatchEvent(new Event('error'))")
    await expect(page.locator("#connection")).to_have_text("reconnecting…")
    with pocketbase_server.admin_client() as admin:
        edited = admin.patch("/api/collections/tasks/records/waits-for-gone", json={"progress": 40})
        assert edited.status_code == 200, edited.text
    await shot(page, "7-offline")
    await page.unroute("**/api/realtime")
    await expect(page.locator("#connection")).to_have_text("live")
    await expect(waiting.locator("[data-testid=progress]")).to_have_text("40%")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the board scrolls sideways on a phone"
    assert errors == []
