"""Uploads are judged by their content: what a file is, whether it is whole, whether it fits.

Every refusal says why in plain words and leaves nothing behind: no asset, no file, no audit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from greenroom.core.actions import ActionError
from greenroom.core.models import AuditEvent
from greenroom.media import actions
from greenroom.media.models import FocusSource, MediaAsset
from greenroom.media.sniff import MediaRefused

from .conftest import plain_image, png_bomb, red_square_image, stored_files, upload


@pytest.fixture
def refused(world, media_root):
    """Upload a file, expect a refusal, and check that nothing was kept; returns the message."""

    def attempt(path: Path, name: str | None = None) -> str:
        events = AuditEvent.objects.count()
        with pytest.raises(MediaRefused) as info:
            upload(world, path, name=name)
        assert MediaAsset.objects.count() == 0
        assert stored_files(media_root) == []
        assert AuditEvent.objects.count() == events
        return str(info.value)

    return attempt


def test_a_png_named_jpg_is_accepted_as_the_png_it_is(world, tmp_path):
    path = plain_image(tmp_path / "logo.png", 300, 200).rename(tmp_path / "logo.jpg")
    asset = upload(world, path)
    assert asset.mime_type == "image/png"
    assert (asset.kind, asset.width, asset.height) == ("image", 300, 200)
    assert asset.filename == "logo.jpg"
    assert asset.original.name.endswith(".png")
    event = AuditEvent.objects.filter(action="media.asset_uploaded").get()
    assert event.actor == world.alice
    assert event.organization == world.acme
    assert event.after["mime_type"] == "image/png"


def test_a_pdf_named_jpg_is_refused(refused, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    message = refused(path)
    assert "PDF document" in message
    assert "not an image or a video" in message


def test_a_program_named_jpg_is_refused(refused, tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(b"MZ\x90\x00" + b"\x00" * 200)
    assert "Windows program" in refused(path)


def test_a_truncated_jpeg_is_refused(refused, tmp_path):
    whole = plain_image(tmp_path / "whole.jpg", 1200, 900).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    message = refused(cut)
    assert "damaged or incomplete" in message


def test_a_decompression_bomb_is_refused_before_decoding(refused, tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 2000
    message = refused(bomb)
    assert "50,000 × 50,000 pixels" in message
    assert "up to 100 megapixels" in message


def test_an_oversized_image_is_refused(refused, settings, tmp_path):
    settings.MEDIA_MAX_IMAGE_BYTES = 10_000
    path = plain_image(tmp_path / "big.png", 400, 400)
    assert path.stat().st_size > 10_000
    message = refused(path)
    assert "images of up to 10 KB" in message


def test_an_empty_file_is_refused(refused, tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert "empty" in refused(path)


def test_an_unknown_file_is_refused(refused, tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("just some words, not a picture at all")
    assert "does not recognise this file" in refused(path)


def test_the_same_file_twice_is_one_asset(world, tmp_path):
    path = plain_image(tmp_path / "a.jpg")
    first = actions.do_upload_asset(world.acme, file=path, filename="a.jpg", acting_user=world.paul)
    again = actions.do_upload_asset(
        world.acme, file=path, filename="copy.jpg", acting_user=world.carl
    )
    assert not first.duplicate and again.duplicate
    assert again.asset == first.asset
    assert MediaAsset.objects.count() == 1
    assert AuditEvent.objects.filter(action="media.asset_uploaded").count() == 1


def test_a_video_is_probed_and_gets_a_poster(world, clips):
    asset = upload(world, clips["short"], name="clip.mov")
    assert (asset.kind, asset.mime_type, asset.codec) == ("video", "video/mp4", "h264")
    assert (asset.width, asset.height) == (320, 240)
    assert asset.duration_s == pytest.approx(2.0, abs=0.1)
    assert asset.fps == pytest.approx(15)
    assert asset.has_audio is True
    assert asset.thumbnail.name.endswith(".jpg")


def test_a_cut_video_is_refused(refused, clips, tmp_path):
    data = clips["short"].read_bytes()
    cut = tmp_path / "cut.mp4"
    # The index (moov) of an MP4 written without faststart is at the end: cut it off.
    cut.write_bytes(data[: len(data) // 2])
    assert "This video cannot be read" in refused(cut)


def test_attention_default_finds_the_subject(world, settings, tmp_path):
    settings.MEDIA_DEFAULT_FOCUS = "attention"
    asset = upload(world, red_square_image(tmp_path / "square.jpg"))
    assert asset.focal_source == FocusSource.ATTENTION
    # The red square sits in the top right corner.
    assert asset.focal_x > 0.8 and asset.focal_y < 0.3


def test_centre_is_the_default_focal_point(world, tmp_path):
    asset = upload(world, red_square_image(tmp_path / "square.jpg"))
    assert (asset.focal_x, asset.focal_y, asset.focal_source) == (0.5, 0.5, "centre")


def test_uploading_needs_draft_in_that_library(world, tmp_path):
    path = plain_image(tmp_path / "a.jpg")
    # April approves but does not draft.
    with pytest.raises(ActionError, match="draft"):
        upload(world, path, acting_user=world.april)
    # Bianca drafts for Coffee only: Coffee's library, not the shared one or Tea's.
    with pytest.raises(ActionError, match="shared library"):
        upload(world, path, acting_user=world.bianca)
    with pytest.raises(ActionError, match="Acme Tea"):
        upload(world, path, acting_user=world.bianca, brand=world.tea)
    asset = upload(world, path, acting_user=world.bianca, brand=world.coffee)
    assert asset.brand == world.coffee
    assert MediaAsset.objects.count() == 1


def test_a_brand_of_another_organisation_is_refused(world, tmp_path):
    globex_brand = world.globex_x.brand
    with pytest.raises(ActionError, match="another organisation"):
        upload(world, plain_image(tmp_path / "a.jpg"), brand=globex_brand)
