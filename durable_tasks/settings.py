"""Configuration from the environment, validated once at start-up.

A wrong or missing value becomes a `ConfigurationError` with one line naming the variable, which
the CLI prints without a traceback. Temporal Cloud needs only settings: an API key, or a TLS
client certificate and key.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from durable_tasks.errors import ConfigurationError


class Settings(BaseSettings):
    """Every setting durable-tasks reads, with the environment variable that sets it."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    temporal_address: str = Field("localhost:7233", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", alias="TEMPORAL_NAMESPACE", min_length=1)
    task_queue: str = Field("durable-tasks", alias="DURABLE_TASKS_TASK_QUEUE", min_length=1)
    temporal_api_key: str | None = Field(None, alias="TEMPORAL_API_KEY")
    temporal_tls_cert: Path | None = Field(None, alias="TEMPORAL_TLS_CERT")
    temporal_tls_key: Path | None = Field(None, alias="TEMPORAL_TLS_KEY")
    pocketbase_url: str = Field("http://127.0.0.1:8090", alias="POCKETBASE_URL")
    pocketbase_admin_email: str | None = Field(None, alias="POCKETBASE_ADMIN_EMAIL")
    pocketbase_admin_password: str | None = Field(None, alias="POCKETBASE_ADMIN_PASSWORD")

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected host:port, for example localhost:7233")
        return value

    @field_validator("pocketbase_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
            raise ValueError("expected an http(s) URL, for example http://127.0.0.1:8090")
        return value.rstrip("/")

    @field_validator("pocketbase_admin_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError("expected an email address")
        return value

    def require_pocketbase_credentials(self) -> tuple[str, str]:
        """The superuser credentials the worker writes with, or a one-line error saying what to set."""
        if not self.pocketbase_admin_email or not self.pocketbase_admin_password:
            raise ConfigurationError(
                "POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD must be set "
                "(the PocketBase superuser the worker writes task records with)"
            )
        return self.pocketbase_admin_email, self.pocketbase_admin_password


_ALIASES = {name: field.alias for name, field in Settings.model_fields.items()}


def load_settings() -> Settings:
    """Read the settings from the environment, or raise a one-line `ConfigurationError`."""
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        var = _ALIASES.get(name, name)
        raise ConfigurationError(f"{var}: {err['msg']}") from None
