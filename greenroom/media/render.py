"""Making one rendition's file from its asset: pyvips for images, ffmpeg for video.

The work function of a rendition; `actions.render_rendition` claims the row, calls `make()`, and
records the outcome. Everything it needs is on the rendition row (its `params`), so a worker on
another machine makes exactly what was asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from greenroom.media import ffmpeg, files, images
from greenroom.media.models import Fit, MediaAsset, MediaKind, Rendition
from greenroom.media.specs import crop_box


class RenderFailed(Exception):
    """The rendition cannot be made; the message says what and what to do."""


@dataclass(frozen=True)
class Output:
    width: int
    height: int
    duration_s: float | None = None
    fps: float | None = None
    note: str = ""


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def video_filters(
    source: tuple[int, int],
    target: tuple[int, int],
    *,
    focal: tuple[float, float] | None,
    pad: bool,
    fps: float | None,
) -> str:
    """The -vf chain: crop the target's shape around the focal point (or pad), scale, fps."""
    (src_w, src_h), (tw, th) = source, target
    if pad:
        chain = [
            f"scale={tw}:{th}:force_original_aspect_ratio=decrease",
            f"pad={tw}:{th}:(ow-iw)/2:(oh-ih)/2:color=black",
        ]
    else:
        box_w, box_h = crop_box(src_w, src_h, tw / th)
        cw, ch = min(src_w, _even(box_w)), min(src_h, _even(box_h))
        fx, fy = focal or (0.5, 0.5)
        x = min(max(0, round(fx * src_w - cw / 2)), src_w - cw)
        y = min(max(0, round(fy * src_h - ch / 2)), src_h - ch)
        chain = [f"crop={cw}:{ch}:{x}:{y}", f"scale={tw}:{th}"]
    chain.append("setsar=1")
    if fps is not None:
        chain.append(f"fps={fps:g}")
    return ",".join(chain)


def video_args(
    source_path: Path,
    out: Path,
    *,
    filters: str,
    trim_to: float | None,
    preset: str,
    crf: int,
    audio_bitrate: str,
) -> list[str]:
    """ffmpeg arguments for an H.264/AAC MP4 with its index at the front (Meta requires it)."""
    args = ["-y", "-i", str(source_path)]
    if trim_to is not None:
        args += ["-t", f"{trim_to:g}"]
    return [
        *args,
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        filters,
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        "-profile:v",
        "high",
        "-c:a",
        "aac",
        "-b:a",
        audio_bitrate,
        "-ac",
        "2",
        "-movflags",
        "+faststart",
        "-loglevel",
        "error",
        str(out),
    ]


def _focal(params: dict[str, object]) -> tuple[float, float] | None:
    value = params.get("focal")
    if isinstance(value, list) and len(value) == 2:
        return float(value[0]), float(value[1])
    return None


def make(rendition: Rendition, out: Path, on_progress: Callable[[int], None]) -> Output:
    asset: MediaAsset = rendition.asset
    source = files.absolute(asset.original.name)
    if not source.is_file():
        raise RenderFailed(
            _("The original file of this asset is missing from storage; upload it again.")
        )
    params = rendition.params
    target = (rendition.target_width, rendition.target_height)
    pad = rendition.fit == Fit.PAD
    if asset.kind == MediaKind.IMAGE:
        return _make_image(rendition, source, out, target, pad)
    return _make_video(rendition, source, out, target, pad, params, on_progress)


def _make_image(
    rendition: Rendition, source: Path, out: Path, target: tuple[int, int], pad: bool
) -> Output:
    params = rendition.params
    quality, max_bytes = params.get("quality"), params.get("max_bytes")
    try:
        result = images.render(
            source,
            source_size=(rendition.asset.width, rendition.asset.height),
            target=target,
            fmt=rendition.format,
            quality=quality if isinstance(quality, int) else None,
            focal=_focal(params),
            pad=pad,
            max_bytes=max_bytes if isinstance(max_bytes, int) else None,
        )
    except images.ImageError as exc:
        raise RenderFailed(
            _("libvips could not make this image (%(reason)s).") % {"reason": str(exc)}
        ) from None
    out.write_bytes(result.data)
    note = ""
    if result.shrunk:
        note = _(
            "Made smaller (%(size)s) to stay under the network's limit of %(limit)s bytes."
        ) % {"size": f"{result.width}×{result.height}", "limit": f"{params.get('max_bytes'):,}"}
    return Output(width=result.width, height=result.height, note=note)


def _make_video(
    rendition: Rendition,
    source: Path,
    out: Path,
    target: tuple[int, int],
    pad: bool,
    params: dict[str, object],
    on_progress: Callable[[int], None],
) -> Output:
    asset = rendition.asset
    fps = params.get("fps")
    trim_to = params.get("trim_to")
    filters = video_filters(
        (asset.width, asset.height),
        target,
        focal=_focal(params),
        pad=pad,
        fps=float(fps) if isinstance(fps, int | float) else None,
    )
    trim = float(trim_to) if isinstance(trim_to, int | float) else None
    # The encoder settings the spec key was made with, not whatever the settings say today.
    encoder = params.get("encoder")
    _codec, preset, _audio, audio_bitrate = (
        [str(part) for part in encoder]
        if isinstance(encoder, list) and len(encoder) == 4
        else ["libx264", settings.MEDIA_X264_PRESET, "aac", "128k"]
    )
    crf = params.get("quality")
    args = video_args(
        source,
        out,
        filters=filters,
        trim_to=trim,
        preset=preset,
        crf=crf if isinstance(crf, int) else settings.MEDIA_X264_CRF,
        audio_bitrate=audio_bitrate,
    )
    duration = min(filter(None, (asset.duration_s, trim)), default=None)
    try:
        ffmpeg.transcode(args, duration_s=duration, on_progress=on_progress)
        made = ffmpeg.probe(out)
    except ffmpeg.FfmpegError as exc:
        raise RenderFailed(
            _(
                "ffmpeg could not make this video (%(reason)s). If the original plays in a video "
                "player, export it again as MP4 (H.264) and upload that."
            )
            % {"reason": str(exc)}
        ) from None
    return Output(width=made.width, height=made.height, duration_s=made.duration_s, fps=made.fps)
