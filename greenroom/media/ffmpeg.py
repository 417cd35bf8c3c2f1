"""ffmpeg: finding it, reading a video's streams, transcoding with progress, taking a still.

The embedded default is the ffmpeg that the imageio-ffmpeg wheel ships (`make run` needs nothing
but Python); a system ffmpeg is used instead when it is newer, and MEDIA_FFMPEG names one outright.
imageio-ffmpeg ships no ffprobe, so `probe()` reads the stream summary ffmpeg prints while it
decodes the first frame (which also proves the file decodes at all).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

PROBE_TIMEOUT_S = 120
# ffmpeg prints `key=value` blocks on -progress; we pass on at most one update per interval.
PROGRESS_INTERVAL_S = 1.0


class FfmpegError(Exception):
    """ffmpeg refused or failed; the message is its last error line, fit to show."""


@dataclass(frozen=True)
class VideoInfo:
    container: str
    codec: str
    width: int
    height: int
    fps: float | None
    duration_s: float | None
    has_audio: bool
    rotation: int


def _version_of(exe: str) -> tuple[int, ...]:
    try:
        out = subprocess.run(  # noqa: S603 - a fixed argv
            [exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    match = re.search(r"ffmpeg version n?(\d+(?:\.\d+)*)", out)
    return tuple(int(part) for part in match[1].split(".")) if match else ()


@functools.cache
def ffmpeg_exe() -> str:
    """The ffmpeg to run: MEDIA_FFMPEG, else the newer of the system's and imageio-ffmpeg's."""
    if settings.MEDIA_FFMPEG:
        return str(settings.MEDIA_FFMPEG)
    import imageio_ffmpeg  # type: ignore[import-untyped]

    bundled: str = imageio_ffmpeg.get_ffmpeg_exe()
    system = shutil.which("ffmpeg")
    if system and _version_of(system) > _version_of(bundled):
        return system
    return bundled


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    interesting = [
        line
        for line in lines
        if not line.startswith(("Input #", "Stream", "Metadata", "Duration", "Output #"))
    ]
    text = (interesting or lines or ["no output"])[-1]
    # ffmpeg prefixes lines with the component's address: "[mov,mp4 @ 0x55...] moov atom ..."
    return re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", text)[:300]


_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #0:\d+.*?: Video: (\w+)(.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+)(k?) (fps|tbr)\b")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")
_INPUT = re.compile(r"Input #0, ([^,]+)")


def parse_header(stderr: str) -> VideoInfo | None:
    """The first video stream of input #0 from ffmpeg's banner, or None if there is none."""
    head = stderr.split("Stream mapping:", 1)[0].split("Output #0", 1)[0]
    video = None
    rotation = 0
    has_audio = False
    lines = head.splitlines()
    for i, line in enumerate(lines):
        if video is None and (match := _VIDEO.search(line)):
            video = (match[1], match[2])
            # Side data (the display matrix) follows on the next indented lines.
            for follow in lines[i + 1 : i + 8]:
                if "Stream #" in follow:
                    break
                if rot := _ROTATION.search(follow):
                    rotation = round(float(rot[1]))
        elif ": Audio: " in line and "Stream #0:" in line:
            has_audio = True
    if video is None:
        return None
    codec, rest = video
    size = _SIZE.search(rest)
    if size is None:
        return None
    width, height = int(size[1]), int(size[2])
    fps = None
    for match in _FPS.finditer(rest):
        value = float(match[1]) * (1000 if match[2] else 1)
        if match[3] == "fps" or fps is None:
            fps = value
        if match[3] == "fps":
            break
    duration = None
    if match_d := _DURATION.search(head):
        duration = int(match_d[1]) * 3600 + int(match_d[2]) * 60 + float(match_d[3])
    if rotation % 180 != 0:
        width, height = height, width
    container = match_c[1] if (match_c := _INPUT.search(head)) else ""
    return VideoInfo(
        container=container,
        codec=codec,
        width=width,
        height=height,
        fps=fps,
        duration_s=duration,
        has_audio=has_audio,
        rotation=rotation % 360,
    )


def probe(path: Path) -> VideoInfo:
    """Read a video's first video stream and decode its first frame; FfmpegError if it cannot."""
    try:
        result = subprocess.run(  # noqa: S603 - argv built from a fixed list and our own path
            [
                ffmpeg_exe(),
                "-hide_banner",
                "-nostdin",
                "-i",
                str(path),
                "-map",
                "0:v:0",
                "-frames:v",
                "1",
                "-f",
                "null",
                "-",
            ],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise FfmpegError("reading the first frame took too long") from None
    info = parse_header(result.stderr)
    if result.returncode != 0 or info is None:
        if info is None and result.returncode == 0:
            raise FfmpegError("there is no video stream in it")
        raise FfmpegError(_last_error(result.stderr))
    return info


def still(path: Path, out: Path, *, at_s: float, width: int) -> None:
    """Write one frame (JPEG, `width` wide) from `at_s` seconds in: a poster for the library."""
    result = subprocess.run(  # noqa: S603
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-ss",
            f"{max(0.0, at_s):.3f}",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-vf",
            f"scale={width}:-2",
            "-q:v",
            "4",
            str(out),
        ],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=PROBE_TIMEOUT_S,
    )
    if result.returncode != 0 or not out.exists():
        raise FfmpegError(_last_error(result.stderr))


def transcode(
    args: list[str],
    *,
    duration_s: float | None,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Run ffmpeg with `args` (everything after the executable), reporting percent done.

    Progress comes from `-progress pipe:1` (out_time_us against the expected duration); stderr
    goes to a file so a chatty ffmpeg can never fill a pipe and stall.
    """
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-progress", "pipe:1", *args]
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        process = subprocess.Popen(  # noqa: S603
            argv, stdout=subprocess.PIPE, stderr=errors, text=True, errors="replace"
        )
        assert process.stdout is not None
        last_sent = 0.0
        last_percent = -1
        for line in process.stdout:
            key, _sep, value = line.strip().partition("=")
            if key != "out_time_us" or not duration_s or on_progress is None:
                continue
            try:
                done = int(value) / 1_000_000
            except ValueError:  # "N/A" before the first frame
                continue
            percent = max(0, min(99, int(done / duration_s * 100)))
            now = time.monotonic()
            if percent > last_percent and now - last_sent >= PROGRESS_INTERVAL_S:
                on_progress(percent)
                last_sent, last_percent = now, percent
        code = process.wait()
        if code != 0:
            errors.seek(0)
            raise FfmpegError(_last_error(errors.read()))


def environment_note() -> str:
    """Which ffmpeg runs, for the docs and the benchmark's output."""
    exe = ffmpeg_exe()
    version = ".".join(map(str, _version_of(exe))) or "unknown version"
    return f"{os.path.basename(exe)} {version}"
