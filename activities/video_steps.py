"""Steps of the video example (workflows/video_processing.py): fetch, transcode, thumbnail, upload.

Every step checks for existing work first, as the reference demands, so a retry or a rerun
repeats nothing. Files live in `$DURABLE_TASKS_WORK_DIR/<taskId>/<stepType>.<ext>` (default
`.data/work`, relative to the worker's directory) — the step's idempotency key made a path —
and are written under a temporary name, then renamed into place: a file that exists is
complete. The upload is keyed by the idempotency key too, in the media store.

ffmpeg is the static build of `imageio-ffmpeg`, run as an asyncio subprocess: the event loop
stays free, so the step keeps heartbeating and a cancel stops ffmpeg.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import imageio_ffmpeg
from pydantic import Field, field_validator

from durable_tasks.context import TaskContext
from durable_tasks.errors import ConfigurationError, NonRetryableError, StorePermanentError
from durable_tasks.media import MediaRecord, NewMedia
from durable_tasks.models import CamelModel, ParentJobData, StepJobData
from durable_tasks.pocketbase import media_store_from_settings
from durable_tasks.settings import load_settings
from durable_tasks.steps import step_activity

WORK_DIR_ENV = "DURABLE_TASKS_WORK_DIR"
DEFAULT_WORK_DIR = ".data/work"
_CHUNK = 64 * 1024
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


class VideoJobData(ParentJobData):
    """Configuration of a `video-processing` task: which video, and how small to make it."""

    video_url: str = Field(max_length=2000)
    video_id: str = Field(min_length=1, max_length=200)
    width: int = Field(default=320, ge=16, le=3840, multiple_of=2)
    """Width of the transcoded video (H.264 wants it even); the height keeps the aspect."""
    thumbnail_width: int = Field(default=320, ge=16, le=3840, multiple_of=2)

    @field_validator("video_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s) URL, for example https://example.com/video.mp4")
        return value


class FileResult(CamelModel):
    """A file a step produced."""

    path: str
    size: int


class UploadResult(CamelModel):
    """The media record the upload stored, and its stored file names."""

    media_id: str
    key: str
    video: str
    thumbnail: str


class DownloadError(RuntimeError):
    """The video could not be fetched (the message has the URL and the HTTP status)."""


class FfmpegError(RuntimeError):
    """ffmpeg failed; the message ends with the tail of its output."""


@step_activity("video.download")
async def download_video(job: StepJobData, ctx: TaskContext) -> FileResult:
    """Fetch `videoUrl`, streaming to a temporary file renamed into place when complete.

    An HTTP error is retried like any failure (a freshly published URL can 404 for a moment).
    """
    url = job.config(VideoJobData).video_url
    suffix = Path(urlsplit(url).path).suffix
    target = _artifact(ctx, suffix if re.fullmatch(r"\.\w{1,8}", suffix) else ".bin")
    if target.exists():
        ctx.logger.info("already downloaded: %s", target)
        return _file_result(target)
    part = _part_of(target)
    try:
        async with httpx.AsyncClient(follow_redirects=True, timeout=30.0) as client:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise DownloadError(
                        f"GET {url} answered {response.status_code} {response.reason_phrase}"
                    )
                total = int(response.headers.get("content-length") or 0)
                received = 0
                with part.open("wb") as out:
                    async for chunk in response.aiter_bytes(_CHUNK):
                        out.write(chunk)
                        received += len(chunk)
                        if total:
                            ctx.report_progress(100 * received / total)
        if total and received != total:
            raise DownloadError(f"GET {url} ended after {received} of {total} bytes")
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return _file_result(target)


@step_activity("video.transcode")
async def transcode_video(job: StepJobData, ctx: TaskContext) -> FileResult:
    """Transcode the download to a small H.264 MP4 (`width` wide, veryfast preset)."""
    width = job.config(VideoJobData).width
    source = FileResult.model_validate(job.dependency_results["download"])
    target = _artifact(ctx, ".mp4")
    if target.exists():
        ctx.logger.info("already transcoded: %s", target)
        return _file_result(target)
    encode = ["-vf", f"scale={width}:-2", "-c:v", "libx264", "-preset", "veryfast"]
    encode += ["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-c:a", "aac", "-b:a", "96k"]
    if not await _ffmpeg_to(target, ["-i", source.path], encode, ctx):
        raise FfmpegError(f"ffmpeg wrote no video from {source.path}")
    return _file_result(target)


@step_activity("video.thumbnail")
async def make_thumbnail(job: StepJobData, ctx: TaskContext) -> FileResult:
    """One JPEG frame, one second in (the first frame if the video is shorter)."""
    width = job.config(VideoJobData).thumbnail_width
    source = FileResult.model_validate(job.dependency_results["download"])
    target = _artifact(ctx, ".jpg")
    if target.exists():
        ctx.logger.info("thumbnail already made: %s", target)
        return _file_result(target)
    frame = ["-vf", f"scale={width}:-2", "-frames:v", "1", "-q:v", "3", "-update", "1"]
    for seek in ("1", "0"):
        if await _ffmpeg_to(target, ["-ss", seek, "-i", source.path], frame, ctx):
            return _file_result(target)
    raise FfmpegError(f"ffmpeg found no frame in {source.path}")


@step_activity("video.upload")
async def upload_media(job: StepJobData, ctx: TaskContext) -> UploadResult:
    """Store the video and thumbnail in one media record, keyed by the idempotency key."""
    video_id = job.config(VideoJobData).video_id
    video = FileResult.model_validate(job.dependency_results["transcode"])
    thumbnail = FileResult.model_validate(job.dependency_results["thumbnail"])
    try:
        store = media_store_from_settings(load_settings())
    except ConfigurationError as err:  # the worker's environment will not change by retrying
        raise NonRetryableError(str(err)) from err
    try:
        record: MediaRecord | None = await store.find(ctx.idempotency_key)
        if record is not None:
            ctx.logger.info("media already stored: %s", record.id)
        else:
            new = NewMedia(
                key=ctx.idempotency_key,
                workspace_id=job.workspace_id,
                video_id=video_id,
                video=Path(video.path),
                thumbnail=Path(thumbnail.path),
            )
            record = await store.create(new)
    except StorePermanentError as err:  # refused for good (schema, size, credentials)
        raise NonRetryableError(str(err)) from err
    finally:
        await store.close()
    return UploadResult(
        media_id=record.id, key=record.key, video=record.video, thumbnail=record.thumbnail
    )


def work_dir() -> Path:
    """Where the steps keep their files: `$DURABLE_TASKS_WORK_DIR`, default `.data/work`."""
    return Path(os.environ.get(WORK_DIR_ENV) or DEFAULT_WORK_DIR).resolve()


def _artifact(ctx: TaskContext, suffix: str) -> Path:
    """`<work dir>/<taskId>/<stepType><suffix>`: the idempotency key as a path."""
    directory = work_dir() / ctx.task_id
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{ctx.step}{suffix}"


def _part_of(target: Path) -> Path:
    """A temporary sibling of `target` (same directory, so the rename is atomic), same suffix
    so that ffmpeg picks the same format."""
    return target.with_name(f"{target.stem}.{uuid.uuid4().hex}.part{target.suffix}")


def _file_result(path: Path) -> FileResult:
    return FileResult(path=str(path), size=path.stat().st_size)


async def _ffmpeg_to(
    target: Path, inputs: Sequence[str], outputs: Sequence[str], ctx: TaskContext
) -> bool:
    """Run ffmpeg into a temporary file; rename it to `target` if it is not empty."""
    part = _part_of(target)
    try:
        await _run_ffmpeg([*inputs, *outputs, str(part)], ctx)
        if not part.exists() or part.stat().st_size == 0:
            return False
        os.replace(part, target)
        return True
    finally:
        part.unlink(missing_ok=True)


async def _run_ffmpeg(args: Sequence[str], ctx: TaskContext) -> None:
    """ffmpeg with progress on stdout (reported) and its log on stderr (kept for errors)."""
    process = await asyncio.create_subprocess_exec(
        imageio_ffmpeg.get_ffmpeg_exe(),
        *("-hide_banner", "-nostdin", "-nostats", "-y", "-progress", "pipe:1"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    tail: deque[str] = deque(maxlen=15)
    duration: list[float] = []

    async def read_log(stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            tail.append(line)
            found = _DURATION.search(line)
            if found and not duration:
                hours, minutes, seconds = found.groups()
                duration.append(int(hours) * 3600 + int(minutes) * 60 + float(seconds))

    async def read_progress(stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and value.isdigit() and duration and duration[0] > 0:
                ctx.report_progress(min(99.0, int(value) / 1e4 / duration[0]))

    try:
        await asyncio.gather(read_log(process.stderr), read_progress(process.stdout))
        code = await process.wait()
    finally:
        if process.returncode is None:  # cancelled (or a reader failed): do not leave it running
            process.kill()
            await process.wait()
    if code != 0:
        raise FfmpegError(f"ffmpeg exited with status {code}: " + "\n".join(tail))
