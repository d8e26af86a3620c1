"""`PocketBaseMediaStore`: the `MediaStore` (durable_tasks.media) on PocketBase."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from durable_tasks.errors import StorePermanentError, StoreRejectedError
from durable_tasks.media import MediaRecord, MediaStore, NewMedia
from durable_tasks.pocketbase._client import FileUpload, NotFound, PocketBaseClient, Request
from durable_tasks.pocketbase._records import filter_literal

if TYPE_CHECKING:
    from durable_tasks.settings import Settings


class PocketBaseMediaStore:
    """The `MediaStore` (durable_tasks.media) on PocketBase: records of the `media` collection.

    It rides on a `PocketBaseClient` for the plumbing — one SDK client on worker threads,
    superuser login and renewal, retries of transient failures, our exceptions — and sends the
    files as multipart (the SDK's `FileUpload`; httpx rewinds them if a request is retried).
    `create` treats a taken `key` as "already stored": a retried create whose first answer was
    lost, or a concurrent twin, gets the record that holds the key.
    """

    COLLECTION = "media"

    def __init__(self, url: str, email: str, password: str, **options: Any) -> None:
        self._pb = PocketBaseClient(url, email, password, **options)
        self._records = f"/api/collections/{self.COLLECTION}/records"

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PocketBaseMediaStore:
        """A media store for `POCKETBASE_URL` with the superuser from the settings."""
        email, password = settings.require_pocketbase_credentials()
        return cls(settings.pocketbase_url, email, password, **options)

    async def find(self, key: str) -> MediaRecord | None:
        params = {"filter": f"key = {filter_literal(key)}", "perPage": 1, "skipTotal": 1}
        request = Request("GET", self._records, f"find media {key}", params=params)
        items = (await self._send(request))["items"]
        return MediaRecord.model_validate(items[0]) if items else None

    async def create(self, media: NewMedia) -> MediaRecord:
        with contextlib.ExitStack() as files:
            body: dict[str, Any] = {
                "workspaceId": media.workspace_id,
                "key": media.key,
                "videoId": media.video_id,
            }
            for field, path, mime in (
                ("video", media.video, "video/mp4"),
                ("thumbnail", media.thumbnail, "image/jpeg"),
            ):
                handle = files.enter_context(path.open("rb"))
                body[field] = FileUpload((f"{field}{path.suffix}", handle, mime))
            request = Request("POST", self._records, f"create media {media.key}", body=body)
            try:
                return MediaRecord.model_validate(await self._send(request))
            except StoreRejectedError:
                existing = await self.find(media.key)
                if existing is None:
                    raise
                return existing

    async def close(self) -> None:
        await self._pb.close()

    async def _send(self, request: Request) -> Any:
        try:
            return await self._pb.send(request)
        except NotFound:
            raise StorePermanentError(
                f"PocketBase has no `{self.COLLECTION}` collection: run the migrations in "
                "durable_tasks/pocketbase/pb_migrations/ (1700000100_media.js)"
            ) from None


def media_store_from_settings(settings: Settings) -> MediaStore:
    """The media store of `POCKETBASE_URL`, as the PocketBase superuser of the settings."""
    return PocketBaseMediaStore.from_settings(settings)
