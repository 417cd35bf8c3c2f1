"""Media test helpers: a private MEDIA_ROOT per test, and images and clips made on the spot.

Clips come from ffmpeg's own test sources (lavfi testsrc and sine), so no media files are
checked in; each is made once per session and copied where a test needs it.
"""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
import pyvips

from greenroom.conftest import World
from greenroom.media import actions, ffmpeg
from greenroom.media.models import MediaAsset


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    # The fastest x264 preset: tests check sizes, codecs and frame rates, not quality.
    settings.MEDIA_X264_PRESET = "ultrafast"
    return root


def stored_files(root: Path) -> list[Path]:
    """Every file kept under MEDIA_ROOT (work in progress in tmp/ excluded)."""
    return [p for p in root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(root).parts]


def plain_image(path: Path, width: int = 400, height: int = 300) -> Path:
    """A smooth, photo-like picture in the format its suffix names (.jpg, .png ...)."""
    base = pyvips.Image.perlin(width, height, cell_size=64, uchar=True)
    image = base.bandjoin([base, base]).copy(interpretation="srgb")
    image.write_to_file(str(path))
    return path


def write_image(image: pyvips.Image, path: Path, **options: Any) -> Path:
    image.write_to_file(str(path), **options)
    return path


def red_square_image(path: Path, width: int = 1600, height: int = 900, side: int = 120) -> Path:
    """White, with a red square near the top right corner."""
    white = pyvips.Image.black(width, height, bands=3) + 255
    image = white.draw_rect([255, 0, 0], width - side - 20, 20, side, side, fill=True)
    return write_image(image.cast("uchar").copy(interpretation="srgb"), path, Q=95)


def png_bomb(path: Path, width: int = 50_000, height: int = 50_000) -> Path:
    """A valid PNG header claiming huge dimensions, with a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    body = zlib.compress(b"\x00" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )
    return path


def make_clip(
    path: Path,
    *,
    seconds: float,
    size: str = "320x240",
    rate: int = 15,
    audio: bool = True,
) -> Path:
    args = [
        ffmpeg.ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size={size}:rate={rate}:duration={seconds}",
    ]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-shortest"] if audio else []
    subprocess.run([*args, str(path)], check=True, capture_output=True)  # noqa: S603
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "short": make_clip(folder / "short.mp4", seconds=2),
        "four": make_clip(folder / "four.mp4", seconds=4, rate=30),
    }


def upload(world: World, path: Path, *, name: str | None = None, **kw: Any) -> MediaAsset:
    kw.setdefault("acting_user", world.alice)
    result = actions.do_upload_asset(world.acme, file=path, filename=name or path.name, **kw)
    return result.asset
