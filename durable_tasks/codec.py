"""Opt-in encryption of everything durable-tasks hands Temporal: job data, results, memos.

Temporal keeps every workflow's input, every activity's arguments and results in its history,
readable by whoever can read the namespace. Set `DURABLE_TASKS_PAYLOAD_KEY` (a base64 AES key
of 16, 24 or 32 bytes; `python -m durable_tasks.codec` prints a new one) on every client and
worker, and `connect_temporal` encrypts each payload with AES-GCM before it leaves the process:
the history then holds ciphertext only. Payloads that are not encrypted (histories from before
the key was set) still decode, so turning it on needs no migration; turning it off does (keep
the key while encrypted histories may still be read).

The key never travels with the payload, only its id (`encryption-key-id`, a hash prefix), so
a payload sealed with another key fails loudly instead of decoding into garbage. The Temporal
UI shows encrypted payloads as such; to read them there, run a codec server with this codec
(see the README). PocketBase is untouched: the record's `input` is the job's configuration,
shown to the workspace's users, which is one more reason to pass references, not secrets.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
import sys
from collections.abc import Mapping, Sequence

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from durable_tasks.errors import ConfigurationError

PAYLOAD_KEY_ENV = "DURABLE_TASKS_PAYLOAD_KEY"
ENCODING = b"binary/encrypted"
_KEY_ID = "encryption-key-id"
_NONCE_BYTES = 12


class EncryptionCodec(PayloadCodec):
    """AES-GCM over each whole payload (its metadata included), with a fresh random nonce."""

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(key) not in (16, 24, 32):
            raise ConfigurationError(
                f"{PAYLOAD_KEY_ENV}: an AES key is 16, 24 or 32 bytes, not {len(key)}"
            )
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(key).hexdigest()[:16].encode()

    @classmethod
    def from_text(cls, text: str) -> EncryptionCodec:
        """A codec from the base64 text of a key; the error never repeats the key."""
        try:
            key = base64.b64decode(text.strip(), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise ConfigurationError(
                f"{PAYLOAD_KEY_ENV}: not base64 (make one with `python -m durable_tasks.codec`)"
            ) from None
        return cls(key)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Each payload sealed whole: its encoding and data become ciphertext."""
        return [self._seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Sealed payloads opened; others (written before encryption was on) passed through."""
        return [self._open(p) if p.metadata.get("encoding") == ENCODING else p for p in payloads]

    def _seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, payload.SerializeToString(), self.key_id)
        return Payload(metadata={"encoding": ENCODING, _KEY_ID: self.key_id}, data=nonce + sealed)

    def _open(self, payload: Payload) -> Payload:
        from cryptography.exceptions import InvalidTag

        key_id = payload.metadata.get(_KEY_ID, b"")
        if key_id != self.key_id:
            raise ValueError(
                f"payload encrypted with key {key_id.decode(errors='replace')!r}, "
                f"but {PAYLOAD_KEY_ENV} is key {self.key_id.decode()!r}"
            )
        nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
        try:
            return Payload.FromString(self._aead.decrypt(nonce, sealed, key_id))
        except InvalidTag:
            raise ValueError("payload failed authentication: altered, or another key") from None


def codec_from_env(environ: Mapping[str, str] | None = None) -> EncryptionCodec | None:
    """The codec `DURABLE_TASKS_PAYLOAD_KEY` asks for, or None when it is unset or blank."""
    text = (os.environ if environ is None else environ).get(PAYLOAD_KEY_ENV, "")
    return EncryptionCodec.from_text(text) if text.strip() else None


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """The pydantic data converter durable-tasks needs, encrypting with `codec` if given."""
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


def data_converter_for(payload_key: str | None) -> DataConverter:
    """The converter for a `DURABLE_TASKS_PAYLOAD_KEY` setting (None or blank: no encryption)."""
    return data_converter(EncryptionCodec.from_text(payload_key) if payload_key else None)


def new_key() -> str:
    """A fresh 32-byte key, as the base64 text `DURABLE_TASKS_PAYLOAD_KEY` takes."""
    return base64.b64encode(os.urandom(32)).decode()


if __name__ == "__main__":
    sys.stdout.write(new_key() + "\n")
