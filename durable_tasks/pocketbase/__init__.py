"""PocketBase: the task store, the media store, the realtime and dispatch sources on a real server.

The only package that knows PocketBase exists (and `_client` the only module that imports its
SDK). Everything else talks to the store protocols of the core (`TaskStore`, `MediaStore`,
`RecordSource`).
"""

from durable_tasks.pocketbase._client import PocketBaseClient
from durable_tasks.pocketbase._dispatch_source import PocketBaseDispatchSource, type_record_id
from durable_tasks.pocketbase._media import PocketBaseMediaStore, media_store_from_settings
from durable_tasks.pocketbase._realtime import PocketBaseRealtime
from durable_tasks.pocketbase._records import task_record
from durable_tasks.pocketbase._task_store import PocketBaseTaskStore

__all__ = [
    "PocketBaseClient",
    "PocketBaseDispatchSource",
    "PocketBaseMediaStore",
    "PocketBaseRealtime",
    "PocketBaseTaskStore",
    "media_store_from_settings",
    "task_record",
    "type_record_id",
]
