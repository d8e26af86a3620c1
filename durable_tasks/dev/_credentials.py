"""The PocketBase superuser of `durable-tasks dev`: from the environment, or generated once.

A generated superuser is saved (mode 0600, only its owner can read it) under the data directory
and reused on every later start, so the admin UI login printed on the first day still works on
the next; credentials from the environment are never written to disk.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from durable_tasks.errors import ConfigurationError
from durable_tasks.settings import Settings

CREDENTIALS_FILE = "pocketbase-admin.json"
GENERATED_EMAIL = "admin@example.com"
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Credentials:
    """The PocketBase superuser, and where it came from (for the summary)."""

    email: str
    password: str
    origin: str


def superuser_credentials(data_dir: Path, settings: Settings) -> Credentials:
    """From POCKETBASE_ADMIN_EMAIL/PASSWORD if set; else the saved pair; else a new saved pair."""
    email, password = settings.pocketbase_admin_email, settings.pocketbase_admin_password
    if email and password:
        return Credentials(email, password, "from POCKETBASE_ADMIN_EMAIL/POCKETBASE_ADMIN_PASSWORD")
    if email or password:
        raise ConfigurationError(
            "set both POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD, or neither "
            "(then durable-tasks dev generates a superuser and saves it under the data directory)"
        )
    return saved_or_new(data_dir / CREDENTIALS_FILE, GENERATED_EMAIL, what="superuser")


def saved_or_new(path: Path, email: str, *, what: str, length: int = 24) -> Credentials:
    """The pair saved at `path`, or a new one (a generated password) saved there now, mode
    0600, so the login printed on the first day keeps working."""
    if path.exists():
        try:
            saved = json.loads(path.read_text())
            return Credentials(saved["email"], saved["password"], f"saved in {path}")
        except (OSError, ValueError, KeyError, TypeError):
            raise ConfigurationError(
                f"{path} is unreadable or damaged; delete it to generate a new {what}"
            ) from None
    generated = Credentials(email, new_password(length), f"generated, saved in {path}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump({"email": generated.email, "password": generated.password}, file)
    return generated


def new_password(length: int = 24) -> str:
    """Letters and digits (24 of them: ~142 bits). Not `token_urlsafe`: a leading "-" reads as
    an option to the `pocketbase superuser upsert` command line, and PocketBase caps passwords
    at 71."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
