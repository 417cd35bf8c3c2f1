"""`greenroom bench media`: what Greenroom's rendition pipeline costs over bare libvips and ffmpeg.

Image: one 4000x3000 JPEG (generated) to every image placement of the rule table through
`rendition_for` (spec from the rule table, focal-point crop, byte limits, the Rendition row, the
file moved into place, two audit events per rendition), against the bare
`pyvips.Image.thumbnail(path, w, height=h, crop="centre")` and a save with the same format and
settings, for the same sizes.

Video: a 10 s 1080p clip (generated with lavfi) to Instagram Reels, 9:16 1080x1920 H.264/AAC,
through `rendition_for` (progress parsed from `-progress pipe:1` into the row, the result
probed), against the bare ffmpeg command with the same filters and encoder settings.

The two sides alternate run by run, so a noisy neighbour slows both; medians and ratios are
what to quote. Target: both ratios <= 1.3.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import time
from pathlib import Path

from bench.common import median, report, setup_django

IMAGE_RUNS = 7
VIDEO_RUNS = 3


def _photo(path: Path) -> Path:
    """A 4000x3000 photo-like JPEG: smooth noise in three channels (no camera needed)."""
    import pyvips

    bands = [pyvips.Image.perlin(4000, 3000, cell_size=size, uchar=True) for size in (400, 128, 48)]
    image = bands[0].bandjoin(bands[1:]).copy(interpretation="srgb")
    image.write_to_file(str(path), Q=92)
    return path


def _clip(ffmpeg: str, path: Path) -> Path:
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30:duration=10",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=10",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
    )
    return path


def main() -> None:
    data_dir = setup_django()
    import pyvips
    from django.conf import settings

    from greenroom.core import actions as core_actions
    from greenroom.media import actions, ffmpeg, files, specs
    from greenroom.media.models import MediaKind, Rendition, RenditionStatus

    # No operation cache: both sides read and decode the file on every run.
    pyvips.cache_set_max(0)
    work = data_dir / "bench-media"
    work.mkdir(exist_ok=True)
    exe = ffmpeg.ffmpeg_exe()
    owner = core_actions.do_create_user(
        username="bench", email="bench@example.com", password=None, acting_user=None
    )
    org = core_actions.do_create_organization(name="Bench", owner=owner, acting_user=None)

    photo = _photo(work / "photo.jpg")
    clip = _clip(exe, work / "clip.mp4")
    started = time.perf_counter()
    image = actions.do_upload_asset(org, file=photo, filename="photo.jpg", acting_user=None).asset
    upload_image_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    video = actions.do_upload_asset(org, file=clip, filename="clip.mp4", acting_user=None).asset
    upload_video_s = time.perf_counter() - started

    placements = specs.placements_for(MediaKind.IMAGE)

    def forget_renditions() -> None:
        # Between runs only: each run must make every rendition again, not reuse them.
        Rendition.objects.all().delete()
        shutil.rmtree(files.root() / str(org.pk) / "renditions", ignore_errors=True)

    made = [actions.rendition_for(image, p.network, p.key) for p in placements]
    assert all(r.status == RenditionStatus.READY for r in made), [r.error for r in made]
    jobs = [(r.target_width, r.target_height, r.format, r.params.get("quality")) for r in made]
    raw_out = work / "raw"
    raw_out.mkdir(exist_ok=True)
    suffix = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}

    def raw_image(i: int) -> None:
        width, height, fmt, quality = jobs[i]
        thumb = pyvips.Image.thumbnail(str(photo), width, height=height, crop="centre")
        options = {"keep": "none"} | ({"Q": quality} if quality else {})
        thumb.write_to_file(str(raw_out / f"{i}{suffix[fmt]}"), **options)

    # Placement by placement, ours then bare, so a burst of load elsewhere hits both sides.
    ours_ms: list[float] = []
    raw_ms: list[float] = []
    ours_cpu: list[float] = []
    raw_cpu: list[float] = []
    for _ in range(IMAGE_RUNS):
        forget_renditions()
        wall = {"ours": 0.0, "raw": 0.0}
        cpu = {"ours": 0.0, "raw": 0.0}
        for i, placement in enumerate(placements):
            started, started_cpu = time.perf_counter(), time.process_time()
            actions.rendition_for(image, placement.network, placement.key)
            wall["ours"] += time.perf_counter() - started
            cpu["ours"] += time.process_time() - started_cpu
            started, started_cpu = time.perf_counter(), time.process_time()
            raw_image(i)
            wall["raw"] += time.perf_counter() - started
            cpu["raw"] += time.process_time() - started_cpu
        ours_ms.append(wall["ours"] * 1000)
        raw_ms.append(wall["raw"] * 1000)
        ours_cpu.append(cpu["ours"])
        raw_cpu.append(cpu["raw"])

    # Video: Instagram Reels, 9:16 1080x1920.
    reel = actions.rendition_for(video, "instagram", "reels", background=False)
    assert reel.status == RenditionStatus.READY, reel.error
    assert (reel.width, reel.height) == (1080, 1920), reel
    # The bare command: a centred 9:16 crop of 1920x1080, scaled to 1080x1920, same encoder.
    crop_w = int(1080 * 1080 / 1920) // 2 * 2
    crop_x = round(1920 / 2 - crop_w / 2)
    raw_video = [
        exe,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(clip),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        f"crop={crop_w}:1080:{crop_x}:0,scale=1080:1920,setsar=1",
        "-c:v",
        "libx264",
        "-preset",
        settings.MEDIA_X264_PRESET,
        "-crf",
        str(settings.MEDIA_X264_CRF),
        "-pix_fmt",
        "yuv420p",
        "-profile:v",
        "high",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        "2",
        "-movflags",
        "+faststart",
        str(work / "raw.mp4"),
    ]

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    ours_s: list[float] = []
    raw_s: list[float] = []
    ours_video_cpu: list[float] = []
    raw_video_cpu: list[float] = []
    for _ in range(VIDEO_RUNS):
        forget_renditions()
        started, started_cpu = time.perf_counter(), children_cpu() + time.process_time()
        again = actions.rendition_for(video, "instagram", "reels", background=False)
        ours_s.append(time.perf_counter() - started)
        ours_video_cpu.append(children_cpu() + time.process_time() - started_cpu)
        assert again.status == RenditionStatus.READY, again.error
        started, started_cpu = time.perf_counter(), children_cpu()
        subprocess.run(raw_video, check=True)
        raw_s.append(time.perf_counter() - started)
        raw_video_cpu.append(children_cpu() - started_cpu)

    image_ms, image_raw_ms = median(ours_ms), median(raw_ms)
    video_s, video_raw_s = median(ours_s), median(raw_s)
    image_ratio, video_ratio = image_ms / image_raw_ms, video_s / video_raw_s
    # CPU seconds (the process and its libvips threads; ffmpeg as a child process) are less
    # disturbed by other work on a shared machine than wall time.
    image_cpu_ratio = median(ours_cpu) / median(raw_cpu)
    video_cpu_ratio = median(ours_video_cpu) / median(raw_video_cpu)
    sizes = ", ".join(
        f"{p.network}/{p.key} {w}x{h}" for p, (w, h, _f, _q) in zip(placements, jobs, strict=True)
    )
    report(
        "media",
        [
            ("image placements", f"{len(placements)} ({sizes})"),
            ("rendition_for, all image placements", f"{image_ms:.0f} ms (median of {IMAGE_RUNS})"),
            ("bare pyvips thumbnail + save", f"{image_raw_ms:.0f} ms"),
            ("image ratio (ours / bare)", f"{image_ratio:.2f}x (target <= 1.3)"),
            ("image CPU-time ratio", f"{image_cpu_ratio:.2f}x"),
            ("rendition_for, 10 s 1080p -> Reels 1080x1920", f"{video_s:.2f} s (median of 3)"),
            ("bare ffmpeg, same settings", f"{video_raw_s:.2f} s"),
            ("video ratio (ours / bare)", f"{video_ratio:.2f}x (target <= 1.3)"),
            ("video CPU-time ratio", f"{video_cpu_ratio:.2f}x"),
            ("upload + check, 4000x3000 JPEG", f"{upload_image_ms:.0f} ms"),
            ("upload + check, 10 s 1080p clip", f"{upload_video_s:.2f} s"),
            ("ffmpeg", ffmpeg.environment_note()),
            ("libvips", f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"),
        ],
        {
            "image_ms": image_ms,
            "image_raw_ms": image_raw_ms,
            "image_ratio": image_ratio,
            "video_s": video_s,
            "video_raw_s": video_raw_s,
            "video_ratio": video_ratio,
            "image_cpu_ratio": image_cpu_ratio,
            "video_cpu_ratio": video_cpu_ratio,
            "image_placements": len(placements),
            "image_runs_ms": ours_ms,
            "image_raw_runs_ms": raw_ms,
            "video_runs_s": ours_s,
            "video_raw_runs_s": raw_s,
            "upload_image_ms": upload_image_ms,
            "upload_video_s": upload_video_s,
            "x264_preset": settings.MEDIA_X264_PRESET,
            "ffmpeg": ffmpeg.environment_note(),
        },
    )


if __name__ == "__main__":
    main()
