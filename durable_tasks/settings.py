"""Configuration from the environment, validated once at start-up.

A wrong or missing value becomes a `ConfigurationError` with one line naming the variable, which
the CLI prints without a traceback. Temporal Cloud needs only settings: an API key, or a TLS
client certificate and key.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from durable_tasks.errors import ConfigurationError

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_MODULE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


class Settings(BaseSettings):
    """Every setting durable-tasks reads, with the environment variable that sets it."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    temporal_address: str = Field("localhost:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", alias="TEMPORAL_NAMESPACE", min_length=1)
    task_queue: str = Field("durable-tasks", alias="DURABLE_TASKS_TASK_QUEUE", min_length=1)
    temporal_api_key: str | None = Field(None, alias="TEMPORAL_API_KEY", repr=False)
    temporal_tls_cert: Path | None = Field(None, alias="TEMPORAL_TLS_CERT")
    temporal_tls_key: Path | None = Field(None, alias="TEMPORAL_TLS_KEY")
    pocketbase_url: str = Field("http://127.0.0.1:8090", alias="POCKETBASE_URL")
    pocketbase_admin_email: str | None = Field(None, alias="POCKETBASE_ADMIN_EMAIL")
    pocketbase_admin_password: str | None = Field(
        None, alias="POCKETBASE_ADMIN_PASSWORD", repr=False
    )
    payload_key: str | None = Field(None, alias="DURABLE_TASKS_PAYLOAD_KEY", repr=False)
    """Opt-in: encrypt what Temporal stores (`durable_tasks.codec`)."""
    # The modules (packages recursively) that define the processors, named, never guessed: a
    # default such as `workflows` could be anybody's package. `--import` adds to them.
    imports: Annotated[tuple[str, ...], NoDecode] = Field((), alias="DURABLE_TASKS_IMPORTS")

    @field_validator("imports", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):  # from the environment: "myapp.processors,myapp.flows"
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("imports")
    @classmethod
    def _module_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _MODULE.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a module name; expected dotted module names separated by "
                    "commas, for example myapp.processors,myapp.flows"
                )
        return value

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if "://" in value:
            # The commonest slip: a URL where gRPC wants a bare address.
            raise ValueError("expected host:port without a scheme, for example localhost:7233")
        host, sep, port = value.rpartition(":")
        if not sep or not host or any(c.isspace() for c in host):
            raise ValueError("expected host:port, for example localhost:7233")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected host:port with a port from 1 to 65535")
        return value

    @field_validator("pocketbase_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        try:
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:  # urlsplit refuses ports that are not numbers or out of range
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise ValueError("expected an http(s) URL, for example http://127.0.0.1:8090")
        return value.rstrip("/")

    @field_validator("pocketbase_admin_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError("expected an email address, for example admin@example.com")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together")
        return self

    def require_pocketbase_credentials(self) -> tuple[str, str]:
        """The superuser the worker and the CLI write with.

        From POCKETBASE_ADMIN_EMAIL/POCKETBASE_ADMIN_PASSWORD; when both are unset, from the
        superuser `durable-tasks dev` generated and saved (so a second shell next to `make run`
        needs no setup); else a one-line error saying what to set.
        """
        if self.pocketbase_admin_email and self.pocketbase_admin_password:
            return self.pocketbase_admin_email, self.pocketbase_admin_password
        if not self.pocketbase_admin_email and not self.pocketbase_admin_password:
            saved = _dev_stack_credentials()
            if saved is not None:
                return saved
        raise ConfigurationError(
            "POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD must be set "
            "(the PocketBase superuser the worker writes task records with)"
        )


def _dev_stack_credentials() -> tuple[str, str] | None:
    """The superuser saved by `durable-tasks dev` under its data directory, if any."""
    data_dir = Path(os.environ.get("DURABLE_TASKS_DEV_DATA_DIR") or ".data")
    try:
        saved = json.loads((data_dir / "pocketbase-admin.json").read_text())
        return str(saved["email"]), str(saved["password"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


_ALIASES = {name: field.alias or name for name, field in Settings.model_fields.items()}
# Values never echoed back in an error message.
_SECRETS = {"TEMPORAL_API_KEY", "POCKETBASE_ADMIN_PASSWORD", "DURABLE_TASKS_PAYLOAD_KEY"}


def _describe(err: ErrorDetails) -> str:
    """One readable line for one validation error: the variable, what is wrong, what was given."""
    message = err["msg"].removeprefix("Value error, ")
    if not err["loc"]:  # a check across several variables names them in its message
        return message
    var = _ALIASES.get(str(err["loc"][0]), str(err["loc"][0]))
    given = err.get("input")
    if var in _SECRETS or not isinstance(given, str):
        return f"{var}: {message}"
    return f"{var}: {message} (got {given!r})"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment, or raise a one-line `ConfigurationError`.

    `overrides` (by field name) win over the environment; `durable-tasks dev` uses them to point
    the worker at the servers it just started while keeping the rest of the user's settings.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigurationError(_describe(errors[0]) + more) from None
