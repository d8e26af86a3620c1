"""Connecting to Temporal the way every durable-tasks client and worker must: pydantic converter,
TLS or an API key as the settings say."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from durable_tasks.settings import Settings

__all__ = ["connect_temporal"]


async def connect_temporal(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A Temporal client with the pydantic converter, TLS or API key as the settings say.

    `runtime` carries telemetry (the worker's `--metrics` builds one); default: the SDK's.
    """
    tls: TLSConfig | bool = False
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    elif settings.temporal_api_key:
        tls = True
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=tls,
        api_key=settings.temporal_api_key,
        runtime=runtime,
    )
