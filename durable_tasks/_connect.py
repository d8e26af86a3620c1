"""Connecting to Temporal from the settings, with the pydantic converter every task needs.

A server that cannot be reached is a `ConfigurationError` naming TEMPORAL_ADDRESS, so the CLI,
the worker and `durable-tasks dev` all answer it with the same one line (exit 2) instead of the
SDK's `RuntimeError` traceback.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from durable_tasks.codec import data_converter_for
from durable_tasks.errors import ConfigurationError
from durable_tasks.settings import Settings


async def connect_temporal(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A Temporal client with the pydantic converter, TLS or API key as the settings say.

    `runtime` carries telemetry (the worker's `--metrics` builds one); default: the SDK's.
    Raises `ConfigurationError` when the server cannot be reached.
    """
    tls: TLSConfig | bool = False
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    elif settings.temporal_api_key:
        tls = True
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter_for(settings.payload_key),
            tls=tls,
            api_key=settings.temporal_api_key,
            runtime=runtime,
        )
    except RuntimeError as err:  # the SDK's "Failed client connect: ..."
        raise ConfigurationError(
            f"cannot reach Temporal at {settings.temporal_address} (TEMPORAL_ADDRESS): "
            f"{err}. Is the server running (durable-tasks dev starts one)?"
        ) from None
