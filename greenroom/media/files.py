"""Where media files live under MEDIA_ROOT, and moving finished files into place.

    <org>/originals/<sha256[:2]>/<sha256>.<ext>      one file per organisation and content
    <org>/thumbnails/<asset>.jpg                     the library's thumbnail or video poster
    <org>/renditions/<asset>/<network>-<placement>-<spec key>.<ext>
    tmp/                                             uploads and renders in progress

Work happens in tmp/ (on the same file system) and finished files are renamed into place, so a
half-written file never has a name a page or a connector could serve.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from django.conf import settings


def root() -> Path:
    return Path(settings.MEDIA_ROOT)


def absolute(name: str | None) -> Path:
    """The path of a stored file name (relative to MEDIA_ROOT), refusing to leave MEDIA_ROOT."""
    if not name:
        raise ValueError("no file name")
    base = root().resolve()
    path = (base / name).resolve()
    if base not in path.parents:
        raise ValueError(f"{name!r} is outside MEDIA_ROOT")
    return path


def scratch(suffix: str) -> Path:
    """A fresh path in MEDIA_ROOT/tmp for work in progress."""
    directory = root() / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{uuid.uuid4().hex}{suffix}"


def original_name(org_id: int, sha256: str, extension: str) -> str:
    return f"{org_id}/originals/{sha256[:2]}/{sha256}.{extension}"


def thumbnail_name(org_id: int, asset_id: int) -> str:
    return f"{org_id}/thumbnails/{asset_id}.jpg"


def rendition_name(
    org_id: int, asset_id: int, network: str, placement: str, spec_key: str, fmt: str
) -> str:
    extension = {"jpeg": "jpg"}.get(fmt, fmt)
    return f"{org_id}/renditions/{asset_id}/{network}-{placement}-{spec_key[:16]}.{extension}"


def move_into_place(source: Path, name: str) -> Path:
    """Rename a finished file to its stored name (atomic on one file system)."""
    target = absolute(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return target


def exists(name: str | None) -> bool:
    return bool(name) and absolute(name).is_file()
