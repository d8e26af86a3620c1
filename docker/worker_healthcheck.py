"""Docker health check for the worker container: can this worker reach its servers?

The worker serves nothing itself, so "healthy" means what an operator needs to know: with the very
settings the worker runs with, the Temporal frontend accepts a connection and PocketBase answers
`/api/health`. Exit 0 when both do; otherwise print what failed (Docker keeps it in the health log)
and exit 1.
"""

from __future__ import annotations

import socket
import sys
import urllib.request

from durable_tasks.settings import load_settings

_TIMEOUT_S = 4


def main() -> int:
    """Probe Temporal and PocketBase; return the exit status."""
    try:
        settings = load_settings()
    except Exception as exc:  # a bad setting is unhealthy, not a traceback
        print(f"settings: {exc}", file=sys.stderr)
        return 1
    host, _, port = settings.temporal_address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_TIMEOUT_S):
            pass
    except OSError as exc:
        print(f"Temporal at {settings.temporal_address}: {exc}", file=sys.stderr)
        return 1
    url = f"{settings.pocketbase_url}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            if response.status != 200:
                print(f"PocketBase at {url}: HTTP {response.status}", file=sys.stderr)
                return 1
    except OSError as exc:  # URLError and HTTPError are OSErrors
        print(f"PocketBase at {url}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
