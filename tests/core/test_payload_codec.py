"""Opt-in payload encryption: with a key, Temporal's histories hold no plain job data.

Tasks run end to end on a client and worker that share the codec (as `connect_temporal` builds
them from `DURABLE_TASKS_PAYLOAD_KEY`); the workflow histories are then searched for the job
data and the results in plain text. Without the key the same search finds them, so the check
can fail.
"""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from durable_tasks import (
    BaseFlowProcessor,
    BaseSimpleProcessor,
    ParentJobData,
    SimpleJobData,
    Step,
    StepJobData,
    TaskContext,
    TaskStatus,
    flow_processor,
    step_activity,
)
from durable_tasks.codec import EncryptionCodec, codec_from_env, data_converter, new_key
from durable_tasks.errors import ConfigurationError
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.settings import load_settings
from durable_tasks.testing import running_worker


class NoteData(SimpleJobData):
    note: str


class EchoNote(BaseSimpleProcessor[NoteData]):
    name = "codec-echo"
    input_model = NoteData

    async def process(self, data: NoteData, ctx: TaskContext) -> dict[str, str]:
        return {"echo": data.note.upper()}


class FlowNote(ParentJobData):
    note: str


@step_activity("codec-flow.echo")
async def echo_step(job: StepJobData, ctx: TaskContext) -> str:
    return job.config(FlowNote).note.upper()


@flow_processor("codec-flow")
class EchoFlow(BaseFlowProcessor[FlowNote]):
    input_model = FlowNote
    steps = (Step("echo", echo_step),)


async def _histories(client: Client, store: PocketBaseTaskStore, note: str) -> bytes:
    """Run a simple task and a flow carrying `note`; their history events as raw bytes."""
    async with running_worker(client, store, EchoNote, EchoFlow) as tasks:
        texts = []
        for task_type in ("codec-echo", "codec-flow"):
            task_id = f"codec-{uuid.uuid4().hex[:10]}"
            await tasks.start(task_type, workspace_id="ws", task_id=task_id, input={"note": note})
            record = await tasks.wait(task_id)
            assert record.status == TaskStatus.SUCCESS, record.error_log
            assert note.upper() in str(record.result)  # the record is PocketBase's: plain
            history = await tasks.handle(task_id).fetch_history()
            texts.extend(event.SerializeToString() for event in history.events)
    return b"".join(texts)


def _with_codec(client: Client, codec: EncryptionCodec | None) -> Client:
    return Client(**{**client.config(), "data_converter": data_converter(codec)})


async def test_histories_hold_no_plain_job_data_with_a_key(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    note = f"plain-note-{uuid.uuid4().hex}"
    codec = EncryptionCodec.from_text(new_key())
    encrypted = await _histories(_with_codec(temporal_client, codec), task_store, note)
    assert note.encode() not in encrypted and note.upper().encode() not in encrypted
    assert b"binary/encrypted" in encrypted

    plain = await _histories(_with_codec(temporal_client, None), task_store, note)
    assert note.encode() in plain and note.upper().encode() in plain


async def test_codec_round_trip_and_wrong_key() -> None:
    codec = EncryptionCodec.from_text(new_key())
    original = Payload(metadata={"encoding": b"json/plain"}, data=b'{"note": "hi"}')
    (sealed,) = await codec.encode([original])
    assert b"hi" not in sealed.data and sealed.metadata["encoding"] == b"binary/encrypted"
    assert await codec.decode([sealed]) == [original]
    assert await codec.decode([original]) == [original]  # from before the key: passes
    other = EncryptionCodec.from_text(new_key())
    with pytest.raises(ValueError, match="encrypted with key"):
        await other.decode([sealed])


def test_key_from_the_environment_never_echoed() -> None:
    assert codec_from_env({}) is None and codec_from_env({"DURABLE_TASKS_PAYLOAD_KEY": " "}) is None
    assert isinstance(codec_from_env({"DURABLE_TASKS_PAYLOAD_KEY": new_key()}), EncryptionCodec)
    secret = "not*base64*secret"
    with pytest.raises(ConfigurationError) as bad:
        codec_from_env({"DURABLE_TASKS_PAYLOAD_KEY": secret})
    assert secret not in str(bad.value)
    short = base64.b64encode(os.urandom(10)).decode()
    with pytest.raises(ConfigurationError, match="16, 24 or 32 bytes"):
        EncryptionCodec.from_text(short)


async def test_connect_temporal_encrypts_when_the_key_is_set(
    temporal_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from durable_tasks.client import connect_temporal

    address = temporal_client.service_client.config.target_host
    monkeypatch.setenv("DURABLE_TASKS_PAYLOAD_KEY", new_key())
    client = await connect_temporal(load_settings(temporal_address=address))
    assert isinstance(client.data_converter.payload_codec, EncryptionCodec)
    monkeypatch.delenv("DURABLE_TASKS_PAYLOAD_KEY")
    client = await connect_temporal(load_settings(temporal_address=address))
    assert client.data_converter.payload_codec is None
