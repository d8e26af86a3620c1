"""Reading docker-compose.yml, .env files and Dockerfiles the way Docker does, for the tests.

Compose interpolates `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$` in
string values before it validates or runs anything; `interpolate` does the same, except that an
unset variable without a default is an error here rather than a warning and an empty string.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<invalid>))"
)


class InterpolationError(ValueError):
    """A `${VAR:?message}` whose variable is missing, or a `$` Compose would reject."""


def _substitute(text: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["invalid"] is not None:
            raise InterpolationError(f"invalid interpolation in {text!r}")
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        missing = value is None or (op is not None and op.startswith(":") and value == "")
        if op in ("-", ":-"):
            return arg if missing else str(value)
        if op in ("?", ":?"):
            if missing:
                raise InterpolationError(f"{name}: {arg}")
            return str(value)
        if value is None:
            # Compose would warn and use "": here every variable needs a default or a value.
            raise InterpolationError(f"{name} is unset and has no default")
        return value

    return _VARIABLE.sub(one, text)


def interpolate(node: Any, env: dict[str, str]) -> Any:
    """`node` with every `${...}` in its string values resolved from `env`, as Compose does."""
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, env) for value in node]
    if isinstance(node, str):
        return _substitute(node, env)
    return node


def referenced_variables(node: Any) -> set[str]:
    """The names of the variables a Compose document interpolates."""
    if isinstance(node, dict):
        return set().union(*(referenced_variables(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(referenced_variables(v) for v in node))
    if isinstance(node, str):
        return {
            m["braced"] or m["named"] for m in _VARIABLE.finditer(node) if m["braced"] or m["named"]
        }
    return set()


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of a dotenv file; comments and blank lines skipped."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not a KEY=value line: {line!r}"
            values[key.strip()] = value.strip()
    return values


def environment_of(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's `environment`, list or map form, as a map (None: no value given)."""
    env = service.get("environment", {})
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {key: (value if sep else None) for key, sep, value in pairs}
    return {key: None if value is None else str(value) for key, value in env.items()}


_PINNED_TAG = re.compile(r"v?\d+\.\d+(\.\d+)*([-._+][A-Za-z0-9.]+)*")


def is_pinned(image: str) -> bool:
    """True for `name@sha256:<digest>` or `name:<exact version>`; not `latest`, `16`, or `${X}`."""
    if "$" in image:
        return False
    name, _, digest = image.partition("@")
    if digest:
        return re.fullmatch(r"sha256:[0-9a-f]{64}", digest) is not None
    repository, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:  # no tag at all, or the colon belonged to a registry port
        return False
    return tag != "latest" and _PINNED_TAG.fullmatch(tag) is not None


def copies(dockerfile: Path) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY in a Dockerfile, flags such as --chmod dropped."""
    found = []
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0].upper() == "COPY":
            args = [w for w in words[1:] if not w.startswith("--")]
            found.append((args[:-1], args[-1]))
    return found


def from_images(dockerfile: Path) -> list[str]:
    """The images a Dockerfile's FROM lines name (stage aliases and --platform dropped)."""
    images = []
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0].upper() == "FROM":
            images.append(next(w for w in words[1:] if not w.startswith("--")))
    return images
