"""Settings: defaults, one variable each, and one-line errors that name the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from durable_tasks.errors import ConfigurationError
from durable_tasks.registry import processor_modules
from durable_tasks.settings import Settings, load_settings
from tests.support.cli import SETTINGS_VARIABLES, run_cli


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's exported TEMPORAL_ADDRESS must not decide what these tests see."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.temporal_address == "localhost:7233"
    assert settings.temporal_namespace == "default"
    assert settings.task_queue == "durable-tasks"
    assert settings.pocketbase_url == "http://127.0.0.1:8090"
    assert settings.pocketbase_admin_email is None
    assert settings.pocketbase_admin_password is None
    assert settings.temporal_api_key is None
    assert settings.temporal_tls_cert is None and settings.temporal_tls_key is None


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        (
            "TEMPORAL_ADDRESS",
            "temporal.internal:7300",
            "temporal_address",
            "temporal.internal:7300",
        ),
        ("TEMPORAL_NAMESPACE", "billing", "temporal_namespace", "billing"),
        ("DURABLE_TASKS_TASK_QUEUE", "videos", "task_queue", "videos"),
        ("TEMPORAL_API_KEY", "key-123", "temporal_api_key", "key-123"),
        ("POCKETBASE_URL", "https://pb.example.com/", "pocketbase_url", "https://pb.example.com"),
        ("POCKETBASE_ADMIN_EMAIL", "ops@example.com", "pocketbase_admin_email", "ops@example.com"),
        ("POCKETBASE_ADMIN_PASSWORD", "s3cret-pass", "pocketbase_admin_password", "s3cret-pass"),
    ],
)
def test_each_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, attribute: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(load_settings(), attribute) == expected


def test_tls_pair_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_CERT", "/certs/client.pem")
    monkeypatch.setenv("TEMPORAL_TLS_KEY", "/certs/client.key")
    settings = load_settings()
    assert settings.temporal_tls_cert == Path("/certs/client.pem")
    assert settings.temporal_tls_key == Path("/certs/client.key")


def _error(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "value",
    [
        "localhost",
        "localhost:",
        ":7233",
        "localhost:port",
        "localhost:70000",
        "http://localhost:7233",
        "local host:7233",
    ],  # fmt: skip
)
def test_malformed_temporal_address(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    message = _error(monkeypatch, "TEMPORAL_ADDRESS", value)
    assert message.startswith("TEMPORAL_ADDRESS: expected host:port")
    assert repr(value) in message  # the user sees what they actually set


@pytest.mark.parametrize(
    "value",
    [
        "127.0.0.1:8090",
        "ftp://pb.example.com",
        "http://",
        "http://:8090",
        "http://pb:99999",
        "http://pb:port",
    ],  # fmt: skip
)
def test_malformed_pocketbase_url(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    message = _error(monkeypatch, "POCKETBASE_URL", value)
    assert message.startswith("POCKETBASE_URL: expected an http(s) URL")


@pytest.mark.parametrize("value", ["admin", "admin@", "@example.com", "ad min@example.com"])
def test_malformed_email(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    message = _error(monkeypatch, "POCKETBASE_ADMIN_EMAIL", value)
    assert message.startswith("POCKETBASE_ADMIN_EMAIL: expected an email address")


@pytest.mark.parametrize("variable", ["TEMPORAL_NAMESPACE", "DURABLE_TASKS_TASK_QUEUE"])
def test_empty_names_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    assert _error(monkeypatch, variable, "").startswith(f"{variable}: ")


def test_half_a_tls_pair_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, "TEMPORAL_TLS_CERT", "/certs/client.pem")
    assert message == "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together"


def test_several_errors_still_make_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETBASE_URL", "nope")
    message = _error(monkeypatch, "TEMPORAL_ADDRESS", "nope")
    assert message.startswith("TEMPORAL_ADDRESS: ") and message.endswith("(and 1 more)")


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "elsewhere:7233")
    monkeypatch.setenv("DURABLE_TASKS_TASK_QUEUE", "mine")
    settings = load_settings(temporal_address="127.0.0.1:17233")
    assert settings.temporal_address == "127.0.0.1:17233"
    assert settings.task_queue == "mine"  # everything not overridden still comes from the env


def test_missing_credentials_name_both_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DURABLE_TASKS_DEV_DATA_DIR", str(tmp_path))  # no saved dev superuser
    with pytest.raises(
        ConfigurationError, match="POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASS"
    ):
        Settings().require_pocketbase_credentials()


def test_credentials_fall_back_on_the_dev_stacks_saved_superuser(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A second shell beside `make run` needs no setup: it finds what `dev` generated."""
    monkeypatch.setenv("DURABLE_TASKS_DEV_DATA_DIR", str(tmp_path))
    (tmp_path / "pocketbase-admin.json").write_text(
        json.dumps({"email": "dev@example.com", "password": "s3cret-pass"})
    )
    assert Settings().require_pocketbase_credentials() == ("dev@example.com", "s3cret-pass")
    # Half-set variables are a mistake to report, not something to paper over.
    monkeypatch.setenv("POCKETBASE_ADMIN_EMAIL", "other@example.com")
    with pytest.raises(ConfigurationError):
        Settings().require_pocketbase_credentials()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TEMPORAL_ADDRESS", "not-an-address"),
        ("POCKETBASE_URL", "localhost:8090"),
        ("POCKETBASE_ADMIN_EMAIL", "nobody"),
    ],
)
def test_cli_reports_a_bad_setting_in_one_line(variable: str, value: str) -> None:
    """What a user sees: one line on stderr naming the variable, exit 2, no traceback."""
    result = run_cli("worker", **{variable: value})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"durable-tasks: error: {variable}: ")
    assert "Traceback" not in result.stderr


def test_imports_are_named_modules_separated_by_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLE_TASKS_IMPORTS", " myapp.processors, flows ,,myapp.processors")
    assert load_settings().imports == ("myapp.processors", "flows", "myapp.processors")
    monkeypatch.delenv("DURABLE_TASKS_IMPORTS")
    assert load_settings().imports == ()  # nothing is guessed


def test_an_import_that_is_no_module_name_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLE_TASKS_IMPORTS", "myapp.processors,my-app/flows")
    with pytest.raises(ConfigurationError, match=r"^DURABLE_TASKS_IMPORTS: 'my-app/flows' is not"):
        load_settings()


def test_processor_modules_come_from_settings_then_the_command_line_each_once() -> None:
    assert processor_modules(("a", "b.c"), ["b.c", "d"]) == ["a", "b.c", "d"]
    assert processor_modules((), []) == []
