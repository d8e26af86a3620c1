"""`MediaStore`: where finished media (a video and its thumbnail) are kept.

Steps that publish media talk to this small interface, never to PocketBase itself (the SDK
lives in `durable_tasks.pocketbase` alone). The implementation is
`PocketBaseMediaStore`: records of the `media` collection (pb_migrations/1700000100_media.js),
files in its `video` and `thumbnail` file fields, one record per unique `key`.

The pattern for an idempotent upload, so that a retry or a rerun never stores twice:

    store = media_store_from_settings(load_settings())   # from durable_tasks.pocketbase
    try:
        record = await store.find(ctx.idempotency_key)
        if record is None:
            record = await store.create(NewMedia(key=ctx.idempotency_key, ...))
    finally:
        await store.close()

`create` is safe against a lost answer or a concurrent twin: when the key is already taken it
returns the record that holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import Field

from durable_tasks.models import CamelModel


class NewMedia(CamelModel):
    """A media record to create: its unique key, owner, and the local files to upload."""

    key: str = Field(min_length=1, max_length=200)
    """Unique per piece of work, e.g. the step's idempotency key `<taskId>:upload`."""
    workspace_id: str = Field(min_length=1, max_length=64)
    video_id: str = Field(min_length=1, max_length=200)
    video: Path
    thumbnail: Path


class MediaRecord(CamelModel):
    """A stored media record; `video` and `thumbnail` are the stored files' names."""

    id: str
    key: str
    workspace_id: str
    video_id: str
    video: str
    thumbnail: str


class MediaStore(Protocol):
    """Finds and creates media records (see the module docstring)."""

    async def find(self, key: str) -> MediaRecord | None:
        """The record with this key, or None."""
        ...

    async def create(self, media: NewMedia) -> MediaRecord:
        """Upload the files into a new record; if `media.key` exists already, return that record."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...
