"""The reference's `VideoProcessingProcessor` as a durable flow.

    download ──┬── transcode ──┬── upload
               └── thumbnail ──┘

Start one (a clip to try it on: `activities.video_source.VideoSource`):

    await tasks.start(
        "video-processing",
        workspace_id="ws_456",
        input={"videoUrl": "https://example.com/v.mp4", "videoId": "video_789"},
    )

What the reference wrote by hand — child jobs, their retries, the parent's bookkeeping — is
the base's job here: each step is an activity with the reference's retry policy (3 attempts,
exponential backoff from 2 s); transcode and thumbnail run in parallel; a failed download skips
the rest and fails the task; the record shows every step. The steps (activities/video_steps.py)
check for existing work first, so a rerun repeats none.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.video_steps import (
        VideoJobData,
        download_video,
        make_thumbnail,
        transcode_video,
        upload_media,
    )
    from durable_tasks.flow import BaseFlowProcessor, Step, flow_processor
    from durable_tasks.retry import RetryOptions

__all__ = ["VideoJobData", "VideoProcessingWorkflow"]

_RETRY = RetryOptions(maximum_attempts=3, initial_interval=timedelta(seconds=2))


@flow_processor("video-processing")
class VideoProcessingWorkflow(BaseFlowProcessor[VideoJobData]):
    """Download a video, transcode it and make a thumbnail side by side, upload both."""

    input_model = VideoJobData
    steps = (
        Step("download", download_video, retry=_RETRY, start_to_close_timeout=timedelta(hours=1)),
        Step("transcode", transcode_video, retry=_RETRY, start_to_close_timeout=timedelta(hours=2)),
        Step("thumbnail", make_thumbnail, depends_on=["download"], retry=_RETRY),
        Step("upload", upload_media, depends_on=["transcode", "thumbnail"], retry=_RETRY),
    )
