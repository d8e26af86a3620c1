"""PocketBase: the task store, the media store and the realtime source on a real server.

The only package that knows PocketBase exists (and `_client` the only module that imports its
SDK). Everything else talks to the store protocols of the core (`TaskStore`, `MediaStore`,
`RecordSource`).
"""

from durable_tasks.pocketbase._client import PocketBaseClient
from durable_tasks.pocketbase._media import PocketBaseMediaStore, media_store_from_settings
from durable_tasks.pocketbase._realtime import PocketBaseRealtime
from durable_tasks.pocketbase._records import task_record
from durable_tasks.pocketbase._task_store import PocketBaseTaskStore

__all__ = [
    "PocketBaseClient",
    "PocketBaseMediaStore",
    "PocketBaseRealtime",
    "PocketBaseTaskStore",
    "media_store_from_settings",
    "task_record",
]
