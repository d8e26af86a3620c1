"""An offline input for the video example: a generated test clip served over local HTTP.

The `download` step wants a URL; this makes one without the internet. `VideoSource` renders an
ffmpeg test pattern (MPEG-4 Part 2, so the example's H.264 transcode does real work) into a
directory and serves that directory from a threaded `http.server` on a free loopback port:

    source = VideoSource()
    url = source.start()          # http://127.0.0.1:<port>/clip.mp4
    try:
        input = {"videoUrl": url, "videoId": "v1"}
        await tasks.start("video-processing", workspace_id="ws", input=input)
    finally:
        source.stop()

Any other file put into `source.directory` is served too, and `source.requests` lists the paths
asked for, so tests can tell whether a step fetched anything.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import imageio_ffmpeg

CLIP_NAME = "clip.mp4"


def make_test_clip(
    path: Path, *, seconds: float = 2.0, size: str = "320x240", rate: int = 15
) -> Path:
    """Render ffmpeg's `testsrc` pattern to `path` (MPEG-4 video in MP4, no audio)."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        *("-hide_banner", "-nostdin", "-loglevel", "error", "-y"),
        *("-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}"),
        *("-t", f"{seconds:g}", "-c:v", "mpeg4", "-q:v", "5", "-pix_fmt", "yuv420p"),
        str(path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not render the test clip: {done.stderr.strip()[-500:]}")
    return path


class VideoSource:
    """Serves a generated clip (and anything else in `directory`) on 127.0.0.1.

    Args:
        directory: where the clip is written and served from; a temporary directory (removed
            by `stop`) if not given.
        seconds: length of the clip.
    """

    def __init__(self, directory: Path | None = None, *, seconds: float = 2.0) -> None:
        self._owns_directory = directory is None
        self.directory = directory or Path(tempfile.mkdtemp(prefix="durable-tasks-video-"))
        self.seconds = seconds
        self.requests: list[str] = []
        """Paths requested so far (GET and HEAD), in order."""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` of the running server."""
        if self._server is None:
            raise RuntimeError("the video source is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, name: str = CLIP_NAME) -> str:
        """The URL of file `name` in the served directory."""
        return f"{self.base_url}/{name}"

    def start(self) -> str:
        """Render the clip if missing, start serving, and return the clip's URL."""
        if self._server is not None:
            return self.url()
        self.directory.mkdir(parents=True, exist_ok=True)
        clip = self.directory / CLIP_NAME
        if not clip.exists():
            make_test_clip(clip, seconds=self.seconds)
        handler = functools.partial(_Handler, self.requests, directory=str(self.directory))
        # Port 0: the OS picks a free port at bind time, so two sources never race for one.
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="video-source", daemon=True
        )
        self._thread.start()
        return self.url()

    def stop(self) -> None:
        """Stop serving (and remove the directory if it was a temporary one)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> VideoSource:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Handler(SimpleHTTPRequestHandler):
    """Static files, quiet, recording what was asked for."""

    def __init__(self, requests: list[str], *args: Any, **kwargs: Any) -> None:
        self._requests = requests
        super().__init__(*args, **kwargs)

    def send_head(self) -> Any:
        self._requests.append(self.path)  # list.append is atomic: safe across handler threads
        return super().send_head()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request lines http.server prints to stderr."""
