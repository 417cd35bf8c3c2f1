"""Images with libvips (pyvips): reading headers, thumbnails, the interesting region, renditions.

Renditions are made the way `vips thumbnail` makes its own crops, so they cost what a bare
thumbnail costs: one shrink-on-load resize to cover the target, then a crop placed around the
focal point instead of the centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pyvips

# How big the library's thumbnails are (longest side, pixels).
THUMBNAIL_EDGE = 480
# Each rendition that is too heavy is saved again at these qualities, then made smaller.
QUALITY_STEPS = (75, 65, 55, 45)
SHRINK_STEP = 0.85
MAX_SHRINKS = 8

# libvips loaders and the type each one reads.
LOADER_TYPES = {
    "jpegload": "image/jpeg",
    "jpegload_source": "image/jpeg",
    "pngload": "image/png",
    "pngload_source": "image/png",
    "gifload": "image/gif",
    "gifload_source": "image/gif",
    "webpload": "image/webp",
    "webpload_source": "image/webp",
    "tiffload": "image/tiff",
    "tiffload_source": "image/tiff",
    "heifload": "image/heif",
    "heifload_source": "image/heif",
}


class ImageError(Exception):
    """libvips could not read or write the image; the message is fit to show."""


@dataclass(frozen=True)
class ImageInfo:
    mime_type: str
    width: int
    height: int
    has_alpha: bool


def _vips_message(exc: pyvips.Error) -> str:
    lines = [line.strip() for line in str(exc.detail or exc.message).splitlines() if line.strip()]
    return lines[-1] if lines else "unreadable"


def header(path: Path) -> ImageInfo:
    """Type and upright size from the header alone: nothing is decoded yet."""
    try:
        image = pyvips.Image.new_from_file(str(path), access="sequential")
    except pyvips.Error as exc:
        raise ImageError(_vips_message(exc)) from None
    loader = str(image.get("vips-loader")) if image.get_typeof("vips-loader") else ""
    mime = LOADER_TYPES.get(loader, "")
    width, height = image.width, image.height
    orientation = image.get("orientation") if image.get_typeof("orientation") else 1
    if orientation in (5, 6, 7, 8):  # EXIF says the picture is shown turned by 90 degrees
        width, height = height, width
    return ImageInfo(mime_type=mime, width=width, height=height, has_alpha=image.hasalpha())


def thumbnail(path: Path, out: Path) -> tuple[int, int]:
    """Decode the whole image (a truncated or corrupt one fails here) and save a small JPEG."""
    try:
        image = pyvips.Image.thumbnail(
            str(path), THUMBNAIL_EDGE, height=THUMBNAIL_EDGE, fail_on="truncated"
        )
        image = _for_saving(image, "jpeg")
        image.write_to_file(str(out), Q=80, keep="none")
    except pyvips.Error as exc:
        raise ImageError(_vips_message(exc)) from None
    return image.width, image.height


def attention_point(path: Path) -> tuple[float, float]:
    """Where libvips' attention heuristic (edges, skin tones, saturation) finds the subject."""
    try:
        image = pyvips.Image.thumbnail(str(path), 256, height=256)
        side = max(1, min(image.width, image.height) // 2)
        _crop, found = image.smartcrop(
            side, side, interesting="attention", attention_x=True, attention_y=True
        )
    except pyvips.Error as exc:
        raise ImageError(_vips_message(exc)) from None
    x = (found["attention_x"] + 0.5) / image.width
    y = (found["attention_y"] + 0.5) / image.height
    return min(1.0, max(0.0, x)), min(1.0, max(0.0, y))


def _for_saving(image: pyvips.Image, fmt: str) -> pyvips.Image:
    """8-bit sRGB (or grey), flattened onto white where the format has no transparency."""
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("b-w" if image.bands <= 2 else "srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
    if image.hasalpha() and fmt == "jpeg":
        image = image.flatten(background=[255] * (image.bands - 1))
    return image


def _encode(image: pyvips.Image, fmt: str, quality: int | None) -> bytes:
    if fmt == "png":
        return bytes(image.write_to_buffer(".png", keep="none"))
    suffix = ".jpg" if fmt == "jpeg" else ".webp"
    return bytes(image.write_to_buffer(suffix, Q=quality or 85, keep="none"))


def focal_crop_origin(
    scaled: tuple[int, int], target: tuple[int, int], focal: tuple[float, float]
) -> tuple[int, int]:
    """The top-left corner of a target-sized box centred on the focal point, kept inside."""
    (width, height), (tw, th), (fx, fy) = scaled, target, focal
    left = min(max(0, round(fx * width - tw / 2)), width - tw)
    top = min(max(0, round(fy * height - th / 2)), height - th)
    return left, top


@dataclass(frozen=True)
class RenderedImage:
    data: bytes
    width: int
    height: int
    quality: int | None
    shrunk: bool


def _pipeline(
    path: Path,
    source_size: tuple[int, int],
    target: tuple[int, int],
    fmt: str,
    focal: tuple[float, float] | None,
    pad: bool,
) -> pyvips.Image:
    tw, th = target
    src_w, src_h = source_size
    if pad:
        image = pyvips.Image.thumbnail(str(path), tw, height=th, fail_on="truncated")
        image = _for_saving(image, fmt)
        return image.gravity("centre", tw, th, extend="background", background=[0])
    # Resize so the target box is covered, then cut the box out around the focal point.
    scale = max(tw / src_w, th / src_h)
    cover = (max(tw, math.ceil(src_w * scale)), max(th, math.ceil(src_h * scale)))
    image = pyvips.Image.thumbnail(
        str(path), cover[0], height=cover[1], size="force", fail_on="truncated"
    )
    left, top = focal_crop_origin((image.width, image.height), target, focal or (0.5, 0.5))
    return _for_saving(image.crop(left, top, tw, th), fmt)


def render(
    path: Path,
    *,
    source_size: tuple[int, int],
    target: tuple[int, int],
    fmt: str,
    quality: int | None,
    focal: tuple[float, float] | None,
    pad: bool,
    max_bytes: int | None,
) -> RenderedImage:
    """Crop around `focal` (or pad) to the target shape, resize, strip metadata, encode.

    Over `max_bytes`, it is saved again at lower qualities, then made smaller, until it fits.
    """
    try:
        image = _pipeline(path, source_size, target, fmt, focal, pad)
        data = _encode(image, fmt, quality)
        shrunk = False
        steps = iter(QUALITY_STEPS if fmt != "png" else ())
        scale = 1.0
        while max_bytes and len(data) > max_bytes:
            lower = next(steps, None)
            if lower is not None and (quality is None or lower < quality):
                quality = lower
            elif scale > SHRINK_STEP**MAX_SHRINKS:
                scale *= SHRINK_STEP
                shrunk = True
            else:
                break
            # A thumbnail pipeline reads its file once, in order: build it again for each try.
            image = _pipeline(path, source_size, target, fmt, focal, pad)
            if shrunk:
                image = image.resize(scale)
            data = _encode(image, fmt, quality)
    except pyvips.Error as exc:
        raise ImageError(_vips_message(exc)) from None
    return RenderedImage(
        data=data, width=image.width, height=image.height, quality=quality, shrunk=shrunk
    )
