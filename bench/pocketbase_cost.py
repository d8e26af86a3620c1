"""`python -m bench.pocketbase_cost`: what a patch costs PocketBase, split into its parts.

Starts a throwaway PocketBase with this project's schema and hooks plus the probe routes of
`bench/pb_probe/` (each does part of what the sync route does: parse the body; also find each
record in one transaction; also save each record with PocketBase's own save), then sends the
same patches through each probe and through the real sync route, one request after another,
1, 4, 10 and 100 patches per request, and prints the PocketBase CPU (user + system) per request
and per patch. `bench/README.md` ("Why throughput at 50 in flight stays below ×0.90") reads it.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.measure import CpuMeter
from durable_tasks.dev import free_port, project_pb_dirs, start_pocketbase

PROBES = Path(__file__).parent / "pb_probe"
ROUTES = {
    "parses the body and answers": "/api/bench-probe/parse",
    "also finds each record, in one transaction": "/api/bench-probe/find",
    "also saves each record (PocketBase's own save)": "/api/bench-probe/save",
    "is the sync route (guard rules, merge, answer)": "/api/durable-tasks/sync",
}
BATCHES = (1, 4, 10, 100)


def measure(client: httpx.Client, cpu: CpuMeter, ids: list[str]) -> dict[str, list[float]]:
    """PocketBase CPU ms per patch for each route and batch size (per request for batch 1)."""
    progress = 0
    table: dict[str, list[float]] = {}
    for label, route in ROUTES.items():
        row = []
        for batch in BATCHES:
            progress += 1  # rises from request to request: the sync route applies every patch
            patch = {"runId": "r1", "newRun": True, "status": "RUNNING", "progress": progress}
            before = cpu.read()["pocketbase"]
            for start in range(0, len(ids), batch):
                items = [{"taskId": t, "patch": patch} for t in ids[start : start + batch]]
                client.post(route, json={"items": items}).raise_for_status()
            row.append(1000 * (cpu.read()["pocketbase"] - before) / len(ids))
        table[label] = row
    return table


def render(table: dict[str, list[float]], patches: int) -> str:
    sizes = " | ".join(f"{size} in a request" for size in BATCHES[1:])
    lines = [
        f"PocketBase CPU per patch, {patches} patches per cell, one request after another:",
        "",
        f"| a request to PocketBase that… | 1 patch per request | {sizes} |",
        "|---" * (len(BATCHES) + 1) + "|",
    ]
    lines += [
        f"| {label} | " + " | ".join(f"{ms:.2f} ms" for ms in row) + " |"
        for label, row in table.items()
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pocketbase_cost", description=__doc__)
    parser.add_argument("--patches", type=int, default=1000, help="patches per cell (1000)")
    args = parser.parse_args(argv)
    if args.patches < max(BATCHES):
        parser.error(f"--patches must be at least {max(BATCHES)}")
    email, password = "probe@example.com", secrets.token_urlsafe(18)
    migrations, hooks = project_pb_dirs()
    with tempfile.TemporaryDirectory(prefix="durable-tasks-pb-cost-") as tmp:
        probe_hooks = Path(tmp) / "pb_hooks"
        shutil.copytree(hooks, probe_hooks)
        shutil.copy(PROBES / "probe_routes.pb.js", probe_hooks)
        server = start_pocketbase(
            Path(tmp) / "pb_data",
            free_port(),
            admin_email=email,
            admin_password=password,
            migrations_dir=migrations,
            hooks_dir=probe_hooks,
        )
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                login = client.post(
                    "/api/collections/_superusers/auth-with-password",
                    json={"identity": email, "password": password},
                )
                client.headers["Authorization"] = login.raise_for_status().json()["token"]
                ids = [f"probe-{i:06d}" for i in range(args.patches)]
                for start in range(0, len(ids), 100):
                    new = [
                        {"taskId": t, "workspaceId": "bench", "type": "probe", "input": {}}
                        for t in ids[start : start + 100]
                    ]
                    client.post("/api/durable-tasks/create", json={"items": new}).raise_for_status()
                table = measure(client, CpuMeter({"pocketbase": server.pid}), ids)
        finally:
            server.stop()
    print(render(table, args.patches))
    return 0


if __name__ == "__main__":
    sys.exit(main())
