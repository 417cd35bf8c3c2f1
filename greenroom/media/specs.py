"""What a rendition must be for one placement, read from the rule table.

`target_for(asset, network, placement)` turns the placement's rules (recommended sizes, aspect
range, size and pixel limits, accepted types, frame rates, durations, bytes) and the asset (its
size, shape, frame rate, duration, focal point) into a `Target`: the exact size, format and
settings of the file to make. Its `key` hashes everything the output depends on, so the same
request reuses the same file and a changed rule or focal point makes a new one.

Nothing here hard-codes a network's limit. The only numbers of Greenroom's own are its encoder
settings and the longest side for placements whose rules name no size (settings.py), and the
safe zones below, which are design guidance rather than rules a network enforces.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.media.models import Fit, MediaAsset, MediaKind
from greenroom.networks import rules
from greenroom.networks.rules import AspectRatio, MediaRule, PlacementSpec, VideoRule

# Bump when the way renditions are made changes, so every rendition is made again.
PIPELINE_VERSION: Final = 1

# Formats Greenroom writes, in the order it prefers them for photos.
IMAGE_FORMATS: Final = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp"}
VIDEO_MIME: Final = "video/mp4"
AUDIO_BITRATE: Final = "128k"


class RenditionRefused(ActionError):
    """The placement cannot take this asset at all (a video for an image-only placement ...)."""


@dataclass(frozen=True)
class SafeZone:
    """Parts of a full-screen placement that the network's own buttons and captions cover."""

    top: float
    bottom: float
    sides: float
    source: str


# Not in the rule table: no network's developer documentation states these, and no API refuses a
# post for them; they are design guidance from Meta's ads guides, as measured and summarised in
# https://adsuploader.com/blog/meta-ads-safe-zones and
# https://www.marketertools.fyi/blog/meta-ad-sizes-safe-zones-2026 (read 2026-11-27): Stories
# keep the top ~14% (profile bar) and bottom ~20% (reply bar) clear; Reels the top ~14%, the
# bottom ~35% (caption, audio, buttons) and ~6% at each side.
SAFE_ZONES: Final[dict[tuple[str, str], SafeZone]] = {
    ("instagram", "stories"): SafeZone(
        top=0.14, bottom=0.20, sides=0.0, source="https://adsuploader.com/blog/meta-ads-safe-zones"
    ),
    ("instagram", "reels"): SafeZone(
        top=0.14, bottom=0.35, sides=0.06, source="https://adsuploader.com/blog/meta-ads-safe-zones"
    ),
    ("facebook", "reels"): SafeZone(
        top=0.14, bottom=0.35, sides=0.06, source="https://adsuploader.com/blog/meta-ads-safe-zones"
    ),
}


def safe_zone(network: str, placement: str) -> SafeZone | None:
    return SAFE_ZONES.get((network, placement))


@dataclass(frozen=True)
class Target:
    """The file a rendition must be. `problem` set: it cannot satisfy the rules (and why)."""

    network: str
    placement: str
    kind: str
    width: int
    height: int
    format: str
    mime_type: str
    fit: str
    # None when the output does not depend on it (padding, or no cropping needed).
    focal: tuple[float, float] | None
    quality: int | None
    max_bytes: int | None
    fps: float | None = None
    trim_to: float | None = None
    encoder: tuple[str, ...] = ()
    rules_version: int = 0
    problem: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def params(self) -> dict[str, Any]:
        """Everything the output depends on (the rule version only through its values)."""
        return {
            "pipeline": PIPELINE_VERSION,
            "network": self.network,
            "placement": self.placement,
            "kind": self.kind,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "fit": self.fit,
            "focal": list(self.focal) if self.focal else None,
            "quality": self.quality,
            "max_bytes": self.max_bytes,
            "fps": self.fps,
            "trim_to": self.trim_to,
            "encoder": list(self.encoder),
            "problem": self.problem,
        }

    @property
    def key(self) -> str:
        # The problem is words in the asker's language; what it depends on is hashed already.
        hashed = {k: v for k, v in self.params().items() if k != "problem"}
        text = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def aspect(self) -> float:
        return self.width / self.height


def parse_size(text: str) -> tuple[int, int]:
    width, _sep, height = text.lower().replace("×", "x").partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise ActionError(
            _("%(size)s is not a size: write it as width x height, e.g. 1080x1350.")
            % {"size": text}
        ) from None
    if min(size) < 1:
        raise ActionError(_("%(size)s has a zero side.") % {"size": text})
    return size


def _closest(sizes: list[tuple[int, int]], aspect: float) -> tuple[int, int]:
    # The least cropping; on a tie the table's order (its first size is the preferred one).
    return min(sizes, key=lambda s: abs(math.log((s[0] / s[1]) / aspect)))


def _clamp_aspect(aspect: float, lo: AspectRatio | None, hi: AspectRatio | None) -> float:
    if lo is not None and aspect < lo.value:
        return lo.value
    if hi is not None and aspect > hi.value:
        return hi.value
    return aspect


def crop_box(width: int, height: int, aspect: float) -> tuple[float, float]:
    """The largest box of shape `aspect` inside width x height."""
    if width / height > aspect:
        return height * aspect, float(height)
    return float(width), width / aspect


@dataclass(frozen=True)
class _Limits:
    lo: AspectRatio | None
    hi: AspectRatio | None
    max_edge: int
    min_width: int | None
    max_width: int | None
    min_height: int | None
    max_height: int | None
    max_pixels: int | None
    step: int  # 2 for video: H.264 in 4:2:0 needs even sides


def _free_size(src_w: int, src_h: int, limits: _Limits) -> tuple[int, int]:
    """A size for placements that name none: the asset's shape brought inside the rules."""
    aspect = _clamp_aspect(src_w / src_h, limits.lo, limits.hi)
    box_w, box_h = crop_box(src_w, src_h, aspect)
    scale = min(1.0, limits.max_edge / max(box_w, box_h))
    if limits.max_width:
        scale = min(scale, limits.max_width / box_w)
    if limits.max_height:
        scale = min(scale, limits.max_height / box_h)
    if limits.max_pixels:
        scale = min(scale, math.sqrt(limits.max_pixels / (box_w * box_h)))
    # A minimum the network enforces wins over Greenroom's own ceiling.
    if limits.min_width:
        scale = max(scale, limits.min_width / box_w)
    if limits.min_height:
        scale = max(scale, limits.min_height / box_h)
    step = limits.step
    width = max(step, int(box_w * scale) // step * step)
    height = max(step, int(box_h * scale) // step * step)
    # Rounding may nudge the shape just outside the range or the size just over a pixel cap.
    if limits.hi is not None and width / height > limits.hi.value:
        width = max(step, int(height * limits.hi.value) // step * step)
    if limits.lo is not None and width / height < limits.lo.value:
        height = max(step, int(width / limits.lo.value) // step * step)
    shape = width / height
    while limits.max_pixels and width * height > limits.max_pixels and width > step:
        width -= step
        height = max(step, int(width / shape) // step * step)
    return width, height


def _label(spec: PlacementSpec) -> str:
    return f"{spec.network_name} {spec.display_label}"


def _image_format(media: MediaRule, asset: MediaAsset, where: str) -> str:
    accepted = [mime for mime in IMAGE_FORMATS if media.accepts_image(mime)]
    if not accepted:
        raise RenditionRefused(
            _("%(where)s takes no JPEG, PNG or WebP images, so Greenroom cannot make one for it.")
            % {"where": where}
        )
    # Transparency survives only as PNG or WebP; a photo is smallest as JPEG.
    if asset.has_alpha and asset.mime_type in ("image/png", "image/webp"):
        if asset.mime_type in accepted:
            return asset.mime_type
    elif asset.mime_type in accepted and asset.mime_type != "image/png":
        return asset.mime_type
    return accepted[0]


def _image_target(asset: MediaAsset, spec: PlacementSpec, size: str | None, fit: str) -> Target:
    media = spec.media
    where = _label(spec)
    if not media.image_types:
        raise RenditionRefused(
            _("%(where)s takes video only; choose a video for it.") % {"where": where}
        )
    mime = _image_format(media, asset, where)
    notes: list[str] = []
    recommended = [parse_size(s) for s in media.recommended_sizes]
    if size:
        wanted = parse_size(size)
        if recommended and wanted not in recommended:
            raise ActionError(
                _("%(where)s recommends %(sizes)s; %(size)s is not one of them.")
                % {"where": where, "sizes": ", ".join(media.recommended_sizes), "size": size}
            )
        width, height = wanted
    elif recommended:
        width, height = _closest(recommended, asset.aspect)
    else:
        width, height = _free_size(
            asset.width,
            asset.height,
            _Limits(
                lo=media.min_aspect,
                hi=media.max_aspect,
                max_edge=settings.MEDIA_IMAGE_MAX_EDGE,
                min_width=media.min_width,
                max_width=media.max_width,
                min_height=media.min_height,
                max_height=media.max_height,
                max_pixels=media.max_pixels,
                step=1,
            ),
        )
    box_w, box_h = crop_box(asset.width, asset.height, width / height)
    if fit == Fit.PAD:
        box_w, box_h = float(asset.width), float(asset.height)
    if width > box_w * 1.01 or height > box_h * 1.01:
        notes.append(
            _(
                "The original is smaller than %(size)s, so it was enlarged and may look soft. "
                "Upload a larger original for a sharper picture."
            )
            % {"size": f"{width}×{height}"}
        )
    return Target(
        network=spec.network,
        placement=spec.key,
        kind=MediaKind.IMAGE,
        width=width,
        height=height,
        format=IMAGE_FORMATS[mime],
        mime_type=mime,
        fit=fit,
        focal=_focal(asset, width / height, fit),
        quality=settings.MEDIA_JPEG_QUALITY if mime != "image/png" else None,
        max_bytes=media.max_image_bytes,
        rules_version=rules.current_version(),
        notes=tuple(notes),
    )


def _focal(asset: MediaAsset, aspect: float, fit: str) -> tuple[float, float] | None:
    if fit == Fit.PAD or abs(math.log(asset.aspect / aspect)) < 0.002:
        return None
    return round(asset.focal_x, 3), round(asset.focal_y, 3)


def _seconds(value: float) -> str:
    return f"{value:g} s" if value < 120 else f"{value / 60:g} min"


def _video_target(asset: MediaAsset, spec: PlacementSpec, size: str | None, fit: str) -> Target:
    media = spec.media
    where = _label(spec)
    if not media.video_types and spec.video is None:
        raise RenditionRefused(
            _("%(where)s takes images only; choose an image for it.") % {"where": where}
        )
    if media.video_types and not media.accepts_video(VIDEO_MIME):
        raise RenditionRefused(
            _("%(where)s does not take MP4 video, the only kind Greenroom makes.")
            % {"where": where}
        )
    video = spec.video or VideoRule(provenance=spec.provenance)
    notes: list[str] = []
    problem = ""
    recommended = [parse_size(s) for s in video.recommended_sizes]
    if size:
        wanted = parse_size(size)
        if recommended and wanted not in recommended:
            raise ActionError(
                _("%(where)s recommends %(sizes)s; %(size)s is not one of them.")
                % {"where": where, "sizes": ", ".join(video.recommended_sizes), "size": size}
            )
        width, height = wanted
    elif recommended:
        width, height = _closest(recommended, asset.aspect)
    else:
        width, height = _free_size(
            asset.width,
            asset.height,
            _Limits(
                lo=video.min_aspect,
                hi=video.max_aspect,
                max_edge=settings.MEDIA_VIDEO_MAX_EDGE,
                min_width=video.min_width,
                max_width=video.max_width,
                min_height=video.min_height,
                max_height=video.max_height,
                max_pixels=None,
                step=2,
            ),
        )
    box_w, box_h = crop_box(asset.width, asset.height, width / height)
    if fit == Fit.PAD:
        box_w, box_h = float(asset.width), float(asset.height)
    if width > box_w * 1.01 or height > box_h * 1.01:
        notes.append(
            _("The original is smaller than %(size)s, so it was enlarged and may look soft.")
            % {"size": f"{width}×{height}"}
        )

    fps = asset.fps
    if fps is not None:
        if video.max_fps is not None and fps > video.max_fps:
            notes.append(
                _(
                    "The frame rate was lowered from %(old)g to %(new)g fps, the most %(where)s "
                    "takes."
                )
                % {"old": round(fps, 2), "new": video.max_fps, "where": where}
            )
            fps = video.max_fps
        elif video.min_fps is not None and fps < video.min_fps:
            notes.append(
                _(
                    "The frame rate was raised from %(old)g to %(new)g fps, the least %(where)s "
                    "takes."
                )
                % {"old": round(fps, 2), "new": video.min_fps, "where": where}
            )
            fps = video.min_fps
        else:
            fps = None  # kept as it is

    trim_to = None
    duration = asset.duration_s
    if duration is not None:
        if video.min_duration_seconds is not None and duration < video.min_duration_seconds:
            problem = _(
                "This clip is %(length)s long, and %(where)s needs at least %(min)s. Use a longer "
                "clip, or lengthen this one in a video editor (a still frame at the end will do), "
                "then upload it again."
            ) % {
                "length": _seconds(round(duration, 1)),
                "where": where,
                "min": _seconds(video.min_duration_seconds),
            }
        elif video.max_duration_seconds is not None and duration > video.max_duration_seconds:
            trim_to = video.max_duration_seconds
            notes.append(
                _(
                    "Trimmed to the first %(max)s: %(where)s takes at most %(max)s and the clip "
                    "is %(length)s. To keep a different part, cut the clip yourself and upload it."
                )
                % {"max": _seconds(trim_to), "where": where, "length": _seconds(round(duration, 1))}
            )
    return Target(
        network=spec.network,
        placement=spec.key,
        kind=MediaKind.VIDEO,
        width=width,
        height=height,
        format="mp4",
        mime_type=VIDEO_MIME,
        fit=fit,
        focal=_focal(asset, width / height, fit),
        quality=settings.MEDIA_X264_CRF,
        max_bytes=video.max_bytes,
        fps=fps,
        trim_to=trim_to,
        encoder=("libx264", settings.MEDIA_X264_PRESET, "aac", AUDIO_BITRATE),
        rules_version=rules.current_version(),
        problem=problem,
        # Nothing will be made, so nothing was changed.
        notes=() if problem else tuple(notes),
    )


def placement_spec(network: str, placement: str) -> PlacementSpec:
    try:
        return rules.get_spec(network, placement)
    except rules.UnknownNetwork as exc:
        raise ActionError(str(exc)) from None


def target_for(
    asset: MediaAsset,
    network: str,
    placement: str = "feed",
    *,
    size: str | None = None,
    fit: str = Fit.CROP,
) -> Target:
    """What the rendition of `asset` for one placement must be; RenditionRefused if impossible."""
    if fit not in Fit.values:
        raise ActionError(_("Unknown fit %(fit)r: use crop or pad.") % {"fit": fit})
    spec = placement_spec(network, placement)
    if asset.kind == MediaKind.VIDEO:
        return _video_target(asset, spec, size, fit)
    return _image_target(asset, spec, size, fit)


def takes(spec: PlacementSpec, kind: str) -> bool:
    """Whether a placement takes this kind of media at all."""
    if kind == MediaKind.VIDEO:
        return bool(spec.media.video_types) or spec.video is not None
    return any(spec.media.accepts_image(mime) for mime in IMAGE_FORMATS)


def placements_for(kind: str, networks: list[str] | None = None) -> list[PlacementSpec]:
    """Every placement of the rule table that takes `kind`, by network and placement."""
    found = []
    for network in rules.all_specs():
        if networks is not None and network.key not in networks:
            continue
        for placement in network.placements.values():
            if takes(placement, kind):
                found.append(placement)
    return found
