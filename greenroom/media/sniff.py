"""What an uploaded file really is, judged from its content, never from its name.

Three checks, cheapest first: the magic bytes at the start of the file (refusing documents,
programs and archives by name), then the decoder itself (libvips reads the header and then every
pixel; ffmpeg reads the streams and decodes the first frame), then Greenroom's limits (bytes and
pixel dimensions, so a tiny file claiming 50,000 x 50,000 pixels is refused before it is decoded).
Every refusal is a `MediaRefused` whose message says what the file is and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.media import ffmpeg, images
from greenroom.media.models import MediaKind

HEAD_BYTES = 64

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/heif"}
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/webm", "video/x-matroska"}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/tiff": "tif",
    "image/heif": "heic",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
}

# ISO base media brands (the `ftyp` box): HEIF and AVIF stills, QuickTime, everything else MP4.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


class MediaRefused(ActionError):
    """The file cannot go into the library; the message says why in plain words."""


@dataclass(frozen=True)
class Inspection:
    kind: str
    mime_type: str
    width: int
    height: int
    has_alpha: bool = False
    duration_s: float | None = None
    fps: float | None = None
    has_audio: bool | None = None
    codec: str = ""

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.mime_type]


def _what_else(head: bytes) -> str | None:
    """A plain name for common files that are not images or videos."""
    if head.startswith(b"%PDF"):
        return _("a PDF document")
    if head.startswith(b"MZ"):
        return _("a Windows program")
    if head.startswith(b"\x7fELF"):
        return _("a Linux program")
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return _("a macOS program")
    if head.startswith(b"#!"):
        return _("a script")
    if head.startswith(b"PK\x03\x04"):
        return _("a ZIP archive (or an Office document)")
    if head.startswith((b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        return _("a compressed archive")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _("an old Office document")
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<svg", b"<?xml")):
        return _("an SVG drawing or XML file")
    if lowered.startswith((b"<!doctype html", b"<html")):
        return _("a web page")
    if head.startswith(b"BM"):
        return _("a BMP image")
    return None


def sniff(head: bytes) -> str:
    """The MIME type the first bytes announce, or MediaRefused naming what the file is instead."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "image/heif"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    other = _what_else(head)
    if other == _("a BMP image"):
        raise MediaRefused(
            _("This is a BMP image, which Greenroom cannot read. Save it as PNG or JPEG.")
        )
    if other:
        raise MediaRefused(
            _(
                "This file is %(what)s, not an image or a video, whatever its name says. "
                "Upload a JPEG, PNG, GIF, WebP, TIFF or HEIC image, or an MP4, MOV or WebM video."
            )
            % {"what": other}
        )
    raise MediaRefused(
        _(
            "Greenroom does not recognise this file as an image or a video. Upload a JPEG, PNG, "
            "GIF, WebP, TIFF or HEIC image, or an MP4, MOV or WebM video."
        )
    )


def human_bytes(size: int) -> str:
    """Sizes in decimal units, as the settings and the networks' documentation write them."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def check_size(size: int, kind: str | None) -> None:
    """Refuse empty files and files over the limit for their kind (or over both, unknown)."""
    if size == 0:
        raise MediaRefused(_("The file is empty (0 bytes). Choose the file again."))
    if kind == MediaKind.IMAGE:
        limit, noun = settings.MEDIA_MAX_IMAGE_BYTES, _("images")
    elif kind == MediaKind.VIDEO:
        limit, noun = settings.MEDIA_MAX_VIDEO_BYTES, _("videos")
    else:
        limit = max(settings.MEDIA_MAX_IMAGE_BYTES, settings.MEDIA_MAX_VIDEO_BYTES)
        noun = _("files")
    if size > limit:
        raise MediaRefused(
            _(
                "The file is %(size)s; Greenroom takes %(noun)s of up to %(limit)s. "
                "Export a smaller version and upload that."
            )
            % {"size": human_bytes(size), "noun": noun, "limit": human_bytes(limit)}
        )


def _megapixels(width: int, height: int) -> str:
    return f"{width * height / 1_000_000:,.0f}"


def inspect(path: Path, *, thumbnail_to: Path) -> Inspection:
    """Check the file at `path` from its content and write its library thumbnail (a JPEG).

    Raises MediaRefused with a message in plain words for anything that cannot be used.
    """
    size = path.stat().st_size
    check_size(size, None)
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    mime = sniff(head)
    if mime in IMAGE_TYPES:
        check_size(size, MediaKind.IMAGE)
        return _inspect_image(path, mime, thumbnail_to)
    check_size(size, MediaKind.VIDEO)
    return _inspect_video(path, mime, thumbnail_to)


def _inspect_image(path: Path, mime: str, thumbnail_to: Path) -> Inspection:
    try:
        info = images.header(path)
    except images.ImageError as exc:
        raise MediaRefused(
            _("This image cannot be read (%(reason)s). It may be damaged; export it again.")
            % {"reason": str(exc)}
        ) from None
    if info.mime_type != mime:
        raise MediaRefused(
            _(
                "This file starts like one kind of image but does not decode as one; it may be "
                "damaged or disguised. Export it again as JPEG or PNG."
            )
        )
    limit = settings.MEDIA_MAX_IMAGE_PIXELS
    if info.width * info.height > limit:
        raise MediaRefused(
            _(
                "This image is %(width)s × %(height)s pixels (%(mp)s megapixels); Greenroom takes "
                "images of up to %(limit)s megapixels. Scale it down and upload it again."
            )
            % {
                "width": f"{info.width:,}",
                "height": f"{info.height:,}",
                "mp": _megapixels(info.width, info.height),
                "limit": f"{limit / 1_000_000:,.0f}",
            }
        )
    try:
        images.thumbnail(path, thumbnail_to)
    except images.ImageError as exc:
        raise MediaRefused(
            _(
                "This image is damaged or incomplete (%(reason)s): perhaps the upload or the "
                "export was cut short. Export it again and upload the new file."
            )
            % {"reason": str(exc)}
        ) from None
    return Inspection(
        kind=MediaKind.IMAGE,
        mime_type=mime,
        width=info.width,
        height=info.height,
        has_alpha=info.has_alpha,
    )


def _inspect_video(path: Path, mime: str, thumbnail_to: Path) -> Inspection:
    try:
        info = ffmpeg.probe(path)
    except ffmpeg.FfmpegError as exc:
        raise MediaRefused(
            _(
                "This video cannot be read (%(reason)s). It may be damaged or cut short; export "
                "it again as MP4 (H.264) and upload the new file."
            )
            % {"reason": str(exc)}
        ) from None
    limit = settings.MEDIA_MAX_VIDEO_PIXELS
    if info.width * info.height > limit:
        raise MediaRefused(
            _(
                "This video is %(width)s × %(height)s pixels; Greenroom takes videos of up to "
                "%(limit)s megapixels a frame (8K). Export a smaller version."
            )
            % {
                "width": f"{info.width:,}",
                "height": f"{info.height:,}",
                "limit": f"{limit / 1_000_000:,.0f}",
            }
        )
    try:
        at = min(1.0, (info.duration_s or 0) / 2)
        ffmpeg.still(path, thumbnail_to, at_s=at, width=images.THUMBNAIL_EDGE)
    except ffmpeg.FfmpegError as exc:
        raise MediaRefused(
            _("This video cannot be read (%(reason)s). Export it again as MP4 (H.264).")
            % {"reason": str(exc)}
        ) from None
    return Inspection(
        kind=MediaKind.VIDEO,
        mime_type=mime,
        width=info.width,
        height=info.height,
        duration_s=info.duration_s,
        fps=info.fps,
        has_audio=info.has_audio,
        codec=info.codec,
    )
