"""Renditions: the right size, shape, format, frame rate and duration for each placement of the
rule table, cropped around the focal point, made once and reused, failing in plain words."""

from __future__ import annotations

import dataclasses
from unittest import mock

import pytest
import pyvips

from greenroom.core.models import AuditEvent
from greenroom.media import actions, ffmpeg, files, render, specs
from greenroom.media.models import Fit, MediaAsset, MediaKind, Rendition, RenditionStatus
from greenroom.media.specs import RenditionRefused
from greenroom.networks import rules

from .conftest import plain_image, red_square_image, upload


def red_pixels(rendition: Rendition) -> int:
    """How many clearly red pixels the rendition's file has."""
    image = pyvips.Image.new_from_file(str(files.absolute(rendition.file.name)))
    red = (image[0] > 200) & (image[1] < 80) & (image[2] < 80)
    return int(red.avg() / 255 * image.width * image.height)


def test_the_focal_point_keeps_the_subject_in_a_9_16_crop(world, tmp_path):
    asset = upload(world, red_square_image(tmp_path / "square.jpg"))
    centred = actions.rendition_for(asset, "instagram", "stories")
    assert centred.status == RenditionStatus.READY
    assert (centred.width, centred.height) == (1080, 1920)
    # A 9:16 slice from the middle of a 16:9 picture misses the square in the corner.
    assert red_pixels(centred) == 0

    actions.do_set_focal_point(asset, x=0.92, y=0.09, acting_user=world.alice)
    focused = actions.rendition_for(asset, "instagram", "stories")
    assert focused.pk != centred.pk
    assert focused.status == RenditionStatus.READY
    assert red_pixels(focused) > 10_000
    assert AuditEvent.objects.filter(action="media.focal_point_set").count() == 1


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def test_every_image_placement_gets_a_rendition_within_its_rules(world, tmp_path):
    asset = upload(world, plain_image(tmp_path / "photo.jpg", 2400, 1800))
    placements = specs.placements_for(MediaKind.IMAGE)
    assert {(p.network, p.key) for p in placements} >= {
        ("instagram", "feed"),
        ("instagram", "stories"),
        ("x", "feed"),
        ("tiktok", "photo"),
    }
    for spec in placements:
        media = spec.media
        made = actions.rendition_for(asset, spec.network, spec.key)
        where = f"{spec.network} {spec.key}"
        assert made.status == RenditionStatus.READY, (where, made.error)
        stored = pyvips.Image.new_from_file(str(files.absolute(made.file.name)))
        width, height = stored.width, stored.height
        assert (width, height) == (made.width, made.height), where
        lo = media.min_aspect.value if media.min_aspect else None
        hi = media.max_aspect.value if media.max_aspect else None
        assert _within(width / height, lo, hi), (where, width, height)
        assert _within(width, media.min_width, media.max_width), where
        assert _within(height, media.min_height, media.max_height), where
        assert media.max_pixels is None or width * height <= media.max_pixels, where
        assert made.bytes is not None
        assert media.max_image_bytes is None or made.bytes <= media.max_image_bytes, where
        if media.recommended_sizes:
            assert f"{width}x{height}" in media.recommended_sizes, where
        assert media.accepts_image(made.mime_type), where
        loader = stored.get("vips-loader")
        assert loader.startswith(made.format if made.format != "jpeg" else "jpeg"), where
        # Metadata is stripped: no EXIF travels to the network.
        assert not stored.get_typeof("exif-data"), where


def test_a_byte_limit_is_met_by_lowering_quality(world, tmp_path, monkeypatch):
    asset = upload(world, plain_image(tmp_path / "photo.jpg", 2400, 1800))
    spec = rules.get_spec("bluesky", "feed")
    # A stricter Bluesky: 60 kB per image.
    tight = dataclasses.replace(spec, media=dataclasses.replace(spec.media, max_image_bytes=60_000))
    monkeypatch.setattr(rules, "get_spec", lambda network, placement="feed": tight)
    made = actions.rendition_for(asset, "bluesky", "feed")
    assert made.status == RenditionStatus.READY
    assert made.bytes is not None and made.bytes <= 60_000
    assert made.params["max_bytes"] == 60_000


def test_a_rendition_is_made_once_and_reused(world, tmp_path):
    asset = upload(world, plain_image(tmp_path / "photo.jpg", 1200, 900))
    first = actions.rendition_for(asset, "instagram", "feed", acting_user=world.paul)
    assert first.status == RenditionStatus.READY
    events = AuditEvent.objects.count()
    stamp = files.absolute(first.file.name).stat().st_mtime_ns
    with mock.patch.object(render, "make", side_effect=AssertionError("made again")) as make:
        again = actions.rendition_for(asset, "instagram", "feed", acting_user=world.carl)
    assert make.call_count == 0
    assert again.pk == first.pk and again.file.name == first.file.name
    assert files.absolute(again.file.name).stat().st_mtime_ns == stamp
    assert AuditEvent.objects.count() == events
    assert Rendition.objects.count() == 1


def test_the_request_is_audited_and_the_rule_version_kept(world, tmp_path):
    asset = upload(world, plain_image(tmp_path / "photo.jpg"))
    made = actions.rendition_for(asset, "x", "feed", acting_user=world.paul)
    # Who asked is audited; the worker finishing as expected is recorded on the row itself.
    (requested,) = AuditEvent.objects.filter(action__startswith="media.rendition")
    assert (requested.action, requested.actor, requested.target_id) == (
        "media.rendition_requested",
        world.paul,
        str(made.pk),
    )
    assert requested.after["network"] == "x" and requested.after["size"] == "400x300"
    assert made.finished_at is not None
    assert made.rules_version == rules.current_version()
    assert made.params["network"] == "x" and made.params["format"] == "jpeg"


def test_a_recommended_size_can_be_chosen(world, tmp_path):
    asset = upload(world, plain_image(tmp_path / "photo.jpg", 1200, 900))
    # 4:3 is closest to 1:1 of Instagram's three feed sizes.
    assert actions.rendition_for(asset, "instagram", "feed").size_label == "1080×1080"
    portrait = actions.rendition_for(asset, "instagram", "feed", size="1080x1350")
    assert (portrait.width, portrait.height) == (1080, 1350)
    with pytest.raises(actions.ActionError, match="recommends"):
        actions.rendition_for(asset, "instagram", "feed", size="1000x1000")


def test_padding_shows_the_whole_picture(world, tmp_path):
    asset = upload(world, red_square_image(tmp_path / "square.jpg"))
    padded = actions.rendition_for(asset, "instagram", "stories", fit=Fit.PAD)
    assert padded.status == RenditionStatus.READY
    assert (padded.width, padded.height) == (1080, 1920)
    assert red_pixels(padded) > 0


def test_an_image_for_a_video_only_placement_is_refused(world, tmp_path):
    asset = upload(world, plain_image(tmp_path / "photo.jpg"))
    with pytest.raises(RenditionRefused, match="takes video only"):
        actions.rendition_for(asset, "instagram", "reels")
    with pytest.raises(actions.ActionError, match="no placement 'fleets'"):
        actions.rendition_for(asset, "x", "fleets")
    assert Rendition.objects.count() == 0


def test_a_short_clip_is_transcoded_to_9_16_h264(world, clips):
    asset = upload(world, clips["short"])
    made = actions.rendition_for(asset, "tiktok", "feed", background=False)
    assert made.status == RenditionStatus.READY, made.error
    assert made.progress == 100
    info = ffmpeg.probe(files.absolute(made.file.name))
    assert (info.width, info.height, info.codec) == (1080, 1920, "h264")
    # 15 fps is below TikTok's 23: raised, and said so.
    assert info.fps == pytest.approx(23)
    assert "frame rate was raised from 15 to 23 fps" in made.note
    assert info.has_audio
    assert info.duration_s == pytest.approx(2.0, abs=0.15)
    assert made.mime_type == "video/mp4"
    # The index is at the front, as Meta requires (`moov` before `mdat`).
    head = files.absolute(made.file.name).read_bytes()[:4096]
    assert b"moov" in head


def test_a_clip_shorter_than_the_minimum_fails_in_plain_words(world, clips):
    asset = upload(world, clips["short"])
    with mock.patch.object(render, "make") as make:
        made = actions.rendition_for(asset, "instagram", "reels")
    assert make.call_count == 0
    assert made.status == RenditionStatus.FAILED
    assert "This clip is 2 s long, and Instagram Reel needs at least 3 s" in made.error
    assert "Use a longer clip" in made.error
    failed = AuditEvent.objects.get(action="media.rendition_requested")
    assert failed.after["status"] == "failed"
    with pytest.raises(actions.ActionError, match="cannot work with this file"):
        actions.do_retry_rendition(made, acting_user=world.alice)


def test_a_clip_longer_than_the_maximum_is_trimmed_with_a_note(world, clips):
    asset = upload(world, clips["four"])
    # Pretend the clip runs 95 s: Facebook Reels take at most 90.
    MediaAsset.objects.filter(pk=asset.pk).update(duration_s=95.0)
    asset.refresh_from_db()
    target = specs.target_for(asset, "facebook", "reels")
    assert target.trim_to == 90
    assert any("Trimmed to the first 90 s" in note for note in target.notes)
    assert (target.width, target.height) == (1080, 1920)


def test_a_video_waits_for_a_worker_and_reports_progress(world, clips, monkeypatch):
    asset = upload(world, clips["four"])
    sent: list[int] = []
    monkeypatch.setattr(actions, "_send", sent.append)
    monkeypatch.setattr(ffmpeg, "PROGRESS_INTERVAL_S", 0.0)
    queued = actions.rendition_for(asset, "threads", "feed")
    assert queued.status == RenditionStatus.PENDING
    # The task is sent once the request's transaction commits; run the worker's part here.
    seen: list[int] = []
    original = actions.record_progress

    def spy(rendition_id: int, percent: int) -> None:
        original(rendition_id, percent)
        seen.append(Rendition.objects.get(pk=rendition_id).progress)

    monkeypatch.setattr(actions, "record_progress", spy)
    done = actions.render_rendition(queued.pk)
    assert done is not None and done.status == RenditionStatus.READY
    assert seen and seen == sorted(seen) and max(seen) < 100
    assert done.progress == 100
    # Asking again is the same rendition, with nothing sent again.
    assert actions.rendition_for(asset, "threads", "feed").pk == queued.pk


def test_a_lost_worker_is_replaced_and_gives_up_after_three_tries(world, tmp_path, monkeypatch):
    asset = upload(world, plain_image(tmp_path / "photo.jpg"))
    sent: list[int] = []
    monkeypatch.setattr(actions, "_send", sent.append)
    made = actions.rendition_for(asset, "x", "feed", background=True)
    from django.utils import timezone

    past = timezone.now() - actions.LEASE
    # A worker took it and died: its lease ran out.
    Rendition.objects.filter(pk=made.pk).update(
        status=RenditionStatus.PROCESSING, lease_until=past, attempts=1
    )
    assert actions.requeue_stalled() == 1
    assert actions.render_rendition(made.pk).status == RenditionStatus.READY

    again = actions.rendition_for(asset, "x", "feed", fit=Fit.PAD, background=True)
    Rendition.objects.filter(pk=again.pk).update(
        status=RenditionStatus.PROCESSING, lease_until=past, attempts=3
    )
    actions.requeue_stalled()
    again.refresh_from_db()
    assert again.status == RenditionStatus.FAILED
    assert "stopped 3 times" in again.error


def test_a_failed_rendition_can_be_tried_again(world, tmp_path):
    asset = upload(world, plain_image(tmp_path / "photo.jpg"))
    with mock.patch.object(render, "make", side_effect=render.RenderFailed("disk full")):
        failed = actions.rendition_for(asset, "x", "feed")
    assert (failed.status, failed.error) == (RenditionStatus.FAILED, "disk full")
    retried = actions.do_retry_rendition(failed, acting_user=world.paul)
    assert retried.pk == failed.pk
    assert retried.status == RenditionStatus.READY
    assert AuditEvent.objects.filter(action="media.rendition_retried", actor=world.paul).exists()


def test_a_queued_video_is_made_by_the_worker_once_the_request_commits(
    world, clips, django_capture_on_commit_callbacks
):
    asset = upload(world, clips["short"])
    with django_capture_on_commit_callbacks(execute=True) as sent:
        queued = actions.rendition_for(asset, "x", "feed")
    assert queued.status == RenditionStatus.PENDING
    assert len(sent) == 1
    # Tests run Celery eagerly: the task ran when the transaction committed.
    queued.refresh_from_db()
    assert queued.status == RenditionStatus.READY, queued.error
    assert (queued.width, queued.height) == (1280, 720)
