"""The video example end to end: a 2-second generated clip through download, transcode,
thumbnail and upload, on the time-skipping server against a real PocketBase.

What counts as "work" is observed from outside the steps: GETs reaching the clip server,
ffmpeg runs, the files' mtimes, and the media records in PocketBase.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities import video_steps
from activities.video_source import CLIP_NAME, VideoSource
from durable_tasks.context import TaskContext
from durable_tasks.errors import InvalidInputError
from durable_tasks.media import NewMedia
from durable_tasks.models import StepJobData, StepStatus, TaskResult, TaskStatus, validate_model
from durable_tasks.pocketbase import PocketBaseMediaStore, PocketBaseTaskStore
from durable_tasks.testing import PocketBaseServer, running_worker
from workflows.video_processing import VideoProcessingWorkflow

STEPS = ["download", "transcode", "thumbnail", "upload"]
_MEDIA = "/api/collections/media/records"


@pytest.fixture(scope="module")
def video_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VideoSource]:
    """One generated clip served for the module (rendering it is the slow part)."""
    source = VideoSource(tmp_path_factory.mktemp("video-source"))
    source.start()
    try:
        yield source
    finally:
        source.stop()


@pytest.fixture
def work_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pocketbase_server: PocketBaseServer
) -> Path:
    """Point the steps at this test's work directory and at the session's PocketBase."""
    monkeypatch.setenv(video_steps.WORK_DIR_ENV, str(tmp_path / "work"))
    monkeypatch.setenv("POCKETBASE_URL", pocketbase_server.url)
    monkeypatch.setenv("POCKETBASE_ADMIN_EMAIL", pocketbase_server.admin_email)
    monkeypatch.setenv("POCKETBASE_ADMIN_PASSWORD", pocketbase_server.admin_password)
    return tmp_path / "work"


@pytest.fixture
def ffmpeg_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every ffmpeg command the steps run (the real ffmpeg still runs)."""
    runs: list[list[str]] = []
    real = video_steps._run_ffmpeg

    async def counted(args: Any, ctx: TaskContext) -> None:
        runs.append(list(args))
        await real(args, ctx)

    monkeypatch.setattr(video_steps, "_run_ffmpeg", counted)
    return runs


def _probe(path: Path) -> str:
    """ffmpeg's description of a file's streams (`-i` alone exits 1 but prints them)."""
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr


def _media(server: PocketBaseServer, key: str) -> list[dict[str, Any]]:
    with server.admin_client() as admin:
        response = admin.get(_MEDIA, params={"filter": f"key = '{key}'"})
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items


def _media_file(client: httpx.Client, record: dict[str, Any], field: str) -> httpx.Response:
    """A protected file of a media record, asked for with `client`'s file token."""
    token = client.post("/api/files/token").raise_for_status().json()["token"]
    url = f"/api/files/media/{record['id']}/{record[field]}"
    return client.get(url, params={"token": token})


async def test_video_flow_end_to_end_and_rerun_repeats_no_work(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    pocketbase_server: PocketBaseServer,
    video_source: VideoSource,
    work_dir: Path,
    ffmpeg_runs: list[list[str]],
    workspace_client: Callable[[str], httpx.Client],
) -> None:
    task_id = f"video-{uuid.uuid4().hex[:12]}"
    config = {
        "videoUrl": video_source.url(),
        "videoId": "clip-1",
        "width": 160,
        "thumbnailWidth": 96,
    }
    fetched = len(video_source.requests)
    async with running_worker(temporal_client, task_store, VideoProcessingWorkflow) as tasks:
        await tasks.start(
            "video-processing", workspace_id="ws-video", input=config, task_id=task_id
        )
        record = await tasks.wait(task_id)

        assert record.status == TaskStatus.SUCCESS, record.error_log
        assert record.progress == 100
        result = TaskResult.model_validate(record.result)
        assert result.completed_steps == STEPS
        assert result.failed_steps == [] and record.errors == []
        assert all(result.steps[s].status == StepStatus.COMPLETED for s in STEPS)
        # Both branches started in the same workflow task, once the download had finished.
        transcode, thumb = (result.steps[s].started_at for s in ("transcode", "thumbnail"))
        downloaded = result.steps["download"].completed_at
        assert transcode == thumb and transcode is not None and downloaded is not None
        assert transcode >= downloaded

        video = Path(result.steps["transcode"].data["path"])
        thumbnail = Path(result.steps["thumbnail"].data["path"])
        assert video == work_dir.resolve() / task_id / "transcode.mp4"
        assert thumbnail == work_dir.resolve() / task_id / "thumbnail.jpg"
        source_info = _probe(Path(result.steps["download"].data["path"]))
        assert "Video: mpeg4" in source_info and "320x240" in source_info
        video_info = _probe(video)
        assert "Video: h264" in video_info and "160x120" in video_info, video_info
        assert thumbnail.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
        assert "96x72" in _probe(thumbnail)

        upload = result.steps["upload"].data
        [media] = _media(pocketbase_server, f"{task_id}:upload")
        assert upload == {
            "mediaId": media["id"],
            "key": f"{task_id}:upload",
            "video": media["video"],
            "thumbnail": media["thumbnail"],
        }
        assert (media["workspaceId"], media["videoId"]) == ("ws-video", "clip-1")
        with pocketbase_server.admin_client() as admin:
            assert _media_file(admin, media, "video").content == video.read_bytes()
            assert _media_file(admin, media, "thumbnail").content == thumbnail.read_bytes()
        # Media are the workspace's: listed and downloadable by its users only.
        member, outsider = workspace_client("ws-video"), workspace_client("ws-other")
        listed = {"filter": f"key = '{task_id}:upload'"}
        assert member.get(_MEDIA, params=listed).json()["items"][0]["id"] == media["id"]
        assert outsider.get(_MEDIA, params=listed).json()["items"] == []
        assert _media_file(member, media, "video").content == video.read_bytes()
        assert _media_file(outsider, media, "video").status_code == 404
        bare = f"{pocketbase_server.url}/api/files/media/{media['id']}/{media['video']}"
        assert httpx.get(bare).status_code == 404  # protected: no token, no file

        work_done = (len(video_source.requests) - fetched, len(ffmpeg_runs))
        assert work_done == (1, 2)
        mtimes = {p: p.stat().st_mtime_ns for p in (work_dir / task_id).iterdir()}

        # A rerun of the finished flow: completed steps come from the cache, nothing runs.
        assert (await tasks.rerun(task_id)).outcome == "started"
        again = await tasks.wait(task_id)
        assert again.status == TaskStatus.SUCCESS, again.error_log
        assert TaskResult.model_validate(again.result).completed_steps == STEPS
        assert again.result["steps"]["upload"]["data"] == upload

    # A step whose earlier attempt did the work but whose answer was lost runs again: the
    # steps' own checks (files by idempotency key, the media record by key) make it a no-op.
    env = ActivityEnvironment()
    for step, activity_fn in [
        ("download", video_steps.download_video),
        ("transcode", video_steps.transcode_video),
        ("thumbnail", video_steps.make_thumbnail),
        ("upload", video_steps.upload_media),
    ]:
        job = StepJobData(
            task_id=task_id,
            workspace_id="ws-video",
            parent_job_id=f"task-{task_id}",
            step_type=step,
            input=config,
            idempotency_key=f"{task_id}:{step}",
            attempt=2,
            dependency_results={d: result.steps[d].data for d in STEPS[: STEPS.index(step)]},
        )
        assert await env.run(activity_fn, job) == result.steps[step].data, step

    assert (len(video_source.requests) - fetched, len(ffmpeg_runs)) == work_done
    assert {p: p.stat().st_mtime_ns for p in (work_dir / task_id).iterdir()} == mtimes
    assert len(_media(pocketbase_server, f"{task_id}:upload")) == 1


async def test_video_flow_fails_on_a_missing_video_and_a_rerun_resumes(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    pocketbase_server: PocketBaseServer,
    video_source: VideoSource,
    work_dir: Path,
    ffmpeg_runs: list[list[str]],
) -> None:
    task_id = f"video-{uuid.uuid4().hex[:12]}"
    name = f"{task_id}.mp4"
    config = {"videoUrl": video_source.url(name), "videoId": "missing"}
    async with running_worker(temporal_client, task_store, VideoProcessingWorkflow) as tasks:
        await tasks.start(
            "video-processing", workspace_id="ws-video", input=config, task_id=task_id
        )
        record = await tasks.wait(task_id)

        assert record.status == TaskStatus.FAILED
        result = TaskResult.model_validate(record.result)
        download = result.steps["download"]
        assert download.status == StepStatus.FAILED and download.attempts == 3
        assert download.error is not None and "404" in download.error
        assert result.failed_steps == ["download"] and result.completed_steps == []
        for step in ("transcode", "thumbnail", "upload"):
            assert result.steps[step].status == StepStatus.SKIPPED, step
        assert [(e.step, e.attempt, e.final) for e in record.errors] == [
            ("download", 1, False),
            ("download", 2, False),
            ("download", 3, True),
        ]
        assert all(e.error_type == "DownloadError" for e in record.errors)
        assert "attempt 3/3 (final) DownloadError: GET" in record.error_log
        assert record.progress < 100
        assert video_source.requests.count(f"/{name}") == 3
        assert ffmpeg_runs == []
        assert _media(pocketbase_server, f"{task_id}:upload") == []
        assert not any((work_dir / task_id).iterdir())  # no partial download left behind

        # Once the video exists, a rerun picks up from the failed step and finishes.
        shutil.copy(video_source.directory / CLIP_NAME, video_source.directory / name)
        assert (await tasks.rerun(task_id)).outcome == "started"
        record = await tasks.wait(task_id)
        assert record.status == TaskStatus.SUCCESS, record.error_log
        assert TaskResult.model_validate(record.result).completed_steps == STEPS
        assert video_source.requests.count(f"/{name}") == 4
        assert len(_media(pocketbase_server, f"{task_id}:upload")) == 1


async def test_media_store_create_returns_the_record_that_holds_the_key(
    pocketbase_server: PocketBaseServer, video_source: VideoSource, tmp_path: Path
) -> None:
    """A create whose first answer was lost, or a concurrent twin, gets the existing record."""
    thumbnail = tmp_path / "t.jpg"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=32x24"]
        + ["-frames:v", "1", "-update", "1", str(thumbnail)],
        check=True,
    )
    store = PocketBaseMediaStore(
        pocketbase_server.url, pocketbase_server.admin_email, pocketbase_server.admin_password
    )
    key = f"media-{uuid.uuid4().hex}"
    new = NewMedia(
        key=key,
        workspace_id="ws-video",
        video_id="v",
        video=video_source.directory / CLIP_NAME,
        thumbnail=thumbnail,
    )
    try:
        assert await store.find(key) is None
        first = await store.create(new)
        assert await store.create(new) == first == await store.find(key)
    finally:
        await store.close()
    assert len(_media(pocketbase_server, key)) == 1


def test_video_job_data_refuses_a_non_http_url() -> None:
    with pytest.raises(InvalidInputError, match="videoUrl: Value error, expected an http"):
        validate_model(
            video_steps.VideoJobData,
            {"taskId": "t", "workspaceId": "w", "videoUrl": "file:///etc/passwd", "videoId": "v"},
        )
