"""The demo user of `durable-tasks dev`: a workspace user to log in to the task board with.

The board (pb_public/, served by PocketBase at its root) is for a product's own users, not for
superusers, and sign-up is closed; so the dev stack makes one user of workspace `demo` and
prints it beside the superuser. Its password is generated once and saved (mode 0600) under the
data directory like the superuser's, so the login printed on the first day keeps working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from durable_tasks.dev._credentials import Credentials, saved_or_new

DEMO_USER_FILE = "demo-user.json"
DEMO_EMAIL = "demo@example.com"
DEMO_WORKSPACE = "demo"


def demo_user_credentials(data_dir: Path) -> Credentials:
    """The saved demo user, or a new one saved now."""
    return saved_or_new(data_dir / DEMO_USER_FILE, DEMO_EMAIL, what="demo user", length=16)


def setup_demo_user(url: str, superuser: Credentials, user: Credentials) -> None:
    """Make sure the demo user exists with these credentials (logs in as the superuser)."""
    upsert_demo_user(url, superuser_token(url, superuser.email, superuser.password), user)


def upsert_demo_user(url: str, admin_token: str, user: Credentials) -> None:
    """Create the user in workspace `demo`, or reset its password and workspace to these."""
    body = {
        "email": user.email,
        "password": user.password,
        "passwordConfirm": user.password,
        "verified": True,
        "workspaceId": DEMO_WORKSPACE,
    }
    records = "/api/collections/users/records"
    with httpx.Client(base_url=url, headers={"Authorization": admin_token}, timeout=10) as admin:
        found = admin.get(records, params={"filter": f"email = '{user.email}'", "perPage": 1})
        found.raise_for_status()
        items = found.json()["items"]
        if items:
            admin.patch(f"{records}/{items[0]['id']}", json=body).raise_for_status()
        else:
            admin.post(records, json=body).raise_for_status()


def superuser_token(url: str, email: str, password: str) -> str:
    """A superuser token for the dev stack's one-off setup requests."""
    response = httpx.post(
        f"{url}/api/collections/_superusers/auth-with-password",
        json={"identity": email, "password": password},
        timeout=10,
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def start_sample_video() -> Any | None:
    """A generated clip served on loopback (the `VideoSource` of `activities/`), so the board's
    video-processing form has a `videoUrl` that works offline; None without the examples."""
    try:
        from activities.video_source import VideoSource
    except ImportError:  # dev run outside this repository: no example processors to feed
        return None
    source = VideoSource()
    source.start()
    return source
