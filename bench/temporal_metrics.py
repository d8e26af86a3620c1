"""Counting Temporal RPCs at the server: the dev server's Prometheus `service_requests` counter.

The dev server publishes its counters about once a second, so a reading may lag. `snapshot()`
therefore sends a marker RPC (DescribeNamespace, which nothing else in the benchmark calls once
the workers run) and waits until the published count includes it: every request sent before
the marker is then counted too. Counts are per frontend operation, in the benchmark's namespace.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter

import httpx
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

MARKER = "DescribeNamespace"
_LINE = re.compile(r"^service_requests\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


class FrontendRequests:
    """Frontend RPCs of one namespace, by operation, as the server counted them."""

    def __init__(self, client: Client, metrics_url: str) -> None:
        self._client = client
        self._url = metrics_url

    async def snapshot(self, timeout: float = 15.0) -> Counter[str]:
        """Counts including every request sent before this call (the marker left out)."""
        before = (await self._read())[MARKER]
        request = DescribeNamespaceRequest(namespace=self._client.namespace)
        await self._client.workflow_service.describe_namespace(request)
        deadline = time.monotonic() + timeout
        while True:
            counts = await self._read()
            if counts[MARKER] > before:
                del counts[MARKER]
                return counts
            if time.monotonic() > deadline:
                raise TimeoutError(f"Temporal did not publish its metrics within {timeout} s")
            await asyncio.sleep(0.1)  # the server publishes about once a second

    async def _read(self) -> Counter[str]:
        async with httpx.AsyncClient(timeout=10.0) as http:
            response = await http.get(self._url)
        response.raise_for_status()
        counts: Counter[str] = Counter()
        for match in _LINE.finditer(response.text):
            labels = dict(_LABEL.findall(match["labels"]))
            if labels.get("service_name") == "frontend" and (
                labels.get("namespace") == self._client.namespace
            ):
                counts[labels.get("operation", "?")] += int(float(match["value"]))
        return counts
