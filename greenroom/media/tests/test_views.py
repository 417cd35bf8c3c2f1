"""The media library pages, as the personas see them."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from greenroom.core.models import AuditEvent
from greenroom.media import actions
from greenroom.media.models import MediaAsset, Rendition, RenditionStatus

from .conftest import plain_image, red_square_image, stored_files, upload

LIBRARY = "/publishing/media/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def photo(world, tmp_path) -> MediaAsset:
    return upload(world, plain_image(tmp_path / "beans.jpg", 1200, 900), alt_text="Coffee beans")


@pytest.fixture
def tea_photo(world, tmp_path) -> MediaAsset:
    path = plain_image(tmp_path / "leaves.png", 800, 800)
    return upload(world, path, brand=world.tea)


def test_the_library_shows_the_files_and_the_upload_form(world, photo):
    page = client_for(world.carl).get(LIBRARY)
    assert page.status_code == 200
    html = page.content.decode()
    assert "beans.jpg" in html
    assert f"/publishing/media/{photo.pk}/thumbnail.jpg" in html
    assert 'alt="Coffee beans"' in html
    assert 'enctype="multipart/form-data"' in html


def test_approvers_see_the_library_without_uploading(world, photo):
    page = client_for(world.april).get(LIBRARY)
    assert page.status_code == 200
    assert "beans.jpg" in page.content.decode()
    assert 'enctype="multipart/form-data"' not in page.content.decode()
    upload_file = SimpleUploadedFile("x.jpg", b"\xff\xd8\xff" + b"\x00" * 10)
    assert client_for(world.april).post(LIBRARY, {"file": upload_file}).status_code == 404


def test_people_outside_publishing_get_a_404(world, photo):
    assert client_for(world.agnes).get(LIBRARY).status_code == 404
    assert client_for(world.anna).get(f"/publishing/media/{photo.pk}/").status_code == 404


def test_uploading_from_the_page(world, tmp_path, media_root):
    path = plain_image(tmp_path / "logo.png", 300, 300)
    with path.open("rb") as handle:
        response = client_for(world.paul).post(
            LIBRARY,
            {
                "file": SimpleUploadedFile("logo.jpg", handle.read()),
                "brand": "",
                "alt_text": "Logo",
            },
        )
    asset = MediaAsset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/publishing/media/{asset.pk}/"
    assert (asset.mime_type, asset.alt_text, asset.uploaded_by) == ("image/png", "Logo", world.paul)


def test_a_refused_upload_says_why_on_the_page(world, media_root):
    pdf = SimpleUploadedFile("menu.jpg", b"%PDF-1.4\n%%EOF\n")
    response = client_for(world.paul).post(LIBRARY, {"file": pdf, "brand": ""})
    assert response.status_code == 400
    assert "This file is a PDF document" in response.content.decode()
    assert MediaAsset.objects.count() == 0
    assert stored_files(media_root) == []


def test_a_brand_manager_uploads_into_her_brand(world, tmp_path):
    path = plain_image(tmp_path / "cup.jpg")
    client = client_for(world.bianca)
    page = client.get(LIBRARY).content.decode()
    # The upload form offers her brand's library only; the filter offers what she can see.
    assert '<option value="">Shared by every brand' not in page
    assert "Acme Tea" not in page
    with path.open("rb") as handle:
        shared = client.post(LIBRARY, {"file": SimpleUploadedFile("cup.jpg", handle.read())})
    assert shared.status_code == 400  # she must pick one of her brands
    with path.open("rb") as handle:
        client.post(
            LIBRARY,
            {"file": SimpleUploadedFile("cup.jpg", handle.read()), "brand": str(world.coffee.pk)},
        )
    assert MediaAsset.objects.get().brand == world.coffee


def test_brand_libraries_are_private_to_their_people(world, photo, tea_photo):
    bianca = client_for(world.bianca)  # Coffee only
    assert bianca.get(f"/publishing/media/{photo.pk}/").status_code == 200  # shared
    assert bianca.get(f"/publishing/media/{tea_photo.pk}/").status_code == 404
    assert bianca.get(f"/publishing/media/{tea_photo.pk}/thumbnail.jpg").status_code == 404
    assert "leaves.png" not in bianca.get(LIBRARY).content.decode()
    assert client_for(world.alice).get(f"/publishing/media/{tea_photo.pk}/").status_code == 200


def test_another_organisations_asset_is_a_404(world, photo):
    gina = client_for(world.gina)
    for path in ("", "thumbnail.jpg", "original"):
        assert gina.get(f"/publishing/media/{photo.pk}/{path}").status_code == 404
    made = actions.rendition_for(photo, "x", "feed")
    assert gina.get(f"/publishing/media/renditions/{made.pk}/file").status_code == 404
    assert gina.get(f"/publishing/media/renditions/{made.pk}/").status_code == 404
    assert "beans.jpg" not in gina.get(LIBRARY).content.decode()


def test_the_asset_page_lists_placements_of_the_organisations_networks(world, photo):
    html = client_for(world.carl).get(f"/publishing/media/{photo.pk}/").content.decode()
    # Acme has X, Instagram and Bluesky channels.
    for label in ("X · Post", "Instagram · Story", "Bluesky · Post", "1080×1920"):
        assert label in html
    assert "TikTok" not in html
    everything = client_for(world.carl).get(f"/publishing/media/{photo.pk}/?all=1")
    assert "TikTok" in everything.content.decode()


def test_making_a_rendition_from_the_page(world, photo):
    client = client_for(world.carl)
    row = client.post(
        f"/publishing/media/{photo.pk}/renditions/",
        {"placement": "instagram/stories"},
        HTTP_HX_REQUEST="true",
    )
    assert row.status_code == 200
    html = row.content.decode()
    assert html.lstrip().startswith("<tr")
    assert "Ready" in html and "hx-trigger" not in html
    made = Rendition.objects.get()
    assert (made.network, made.placement, made.requested_by) == ("instagram", "stories", world.carl)
    preview = client.get(f"/publishing/media/renditions/{made.pk}/").content.decode()
    # Stories show where Instagram's own UI covers the picture.
    assert "gr-zone-top" in preview and "height: 14%" in preview and "height: 20%" in preview
    file = client.get(f"/publishing/media/renditions/{made.pk}/file")
    assert file.status_code == 200 and file["Content-Type"] == "image/jpeg"
    assert file["Content-Security-Policy"].startswith("default-src 'none'")


def test_making_them_all(world, photo):
    response = client_for(world.paul).post(
        f"/publishing/media/{photo.pk}/renditions/", {"placement": "all"}
    )
    assert response.status_code == 302
    made = set(Rendition.objects.values_list("network", "placement", "status"))
    assert ("instagram", "stories", "ready") in made and ("x", "feed", "ready") in made
    assert {network for network, _p, _s in made} == {"x", "instagram", "bluesky"}


def test_a_video_row_polls_until_the_rendition_is_ready(world, clips, monkeypatch):
    video = upload(world, clips["four"])
    monkeypatch.setattr(actions, "_send", lambda pk: None)
    client = client_for(world.carl)
    row = client.post(
        f"/publishing/media/{video.pk}/renditions/",
        {"placement": "instagram/reels"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    made = Rendition.objects.get()
    assert made.status == RenditionStatus.PENDING
    assert f'hx-get="/publishing/media/renditions/{made.pk}/row/"' in row
    assert 'hx-trigger="every 1s"' in row and "Waiting" in row
    Rendition.objects.filter(pk=made.pk).update(status=RenditionStatus.PROCESSING, progress=42)
    polled = client.get(f"/publishing/media/renditions/{made.pk}/row/").content.decode()
    assert "42%" in polled and "hx-trigger" in polled
    actions.render_rendition(made.pk)  # lease still valid: not claimable
    Rendition.objects.filter(pk=made.pk).update(status=RenditionStatus.PENDING)
    actions.render_rendition(made.pk)
    done = client.get(f"/publishing/media/renditions/{made.pk}/row/").content.decode()
    assert "Ready" in done and "hx-trigger" not in done


def test_setting_the_focal_point(world, tmp_path):
    asset = upload(world, red_square_image(tmp_path / "square.jpg"))
    response = client_for(world.carl).post(
        f"/publishing/media/{asset.pk}/focal-point/", {"x": "0.9", "y": "0.1", "what": "set"}
    )
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.focal_x, asset.focal_y, asset.focal_source) == (0.9, 0.1, "person")
    event = AuditEvent.objects.get(action="media.focal_point_set")
    assert event.actor == world.carl and event.before["focal_x"] == 0.5
    # "Find the subject" looks for it.
    client_for(world.carl).post(f"/publishing/media/{asset.pk}/focal-point/", {"what": "find"})
    asset.refresh_from_db()
    assert asset.focal_source == "attention" and asset.focal_x > 0.8


def test_only_drafters_change_an_asset(world, photo):
    april = client_for(world.april)
    page = april.get(f"/publishing/media/{photo.pk}/").content.decode()
    assert "focal-form" not in page
    assert (
        april.post(f"/publishing/media/{photo.pk}/focal-point/", {"x": "0", "y": "0"}).status_code
        == 404
    )
    assert (
        april.post(f"/publishing/media/{photo.pk}/alt-text/", {"alt_text": "x"}).status_code == 404
    )
    photo.refresh_from_db()
    assert (photo.focal_x, photo.alt_text) == (0.5, "Coffee beans")


def test_alt_text_from_the_page(world, photo):
    client_for(world.carl).post(
        f"/publishing/media/{photo.pk}/alt-text/", {"alt_text": "  Roasted beans in a cup  "}
    )
    photo.refresh_from_db()
    assert photo.alt_text == "Roasted beans in a cup"


def test_a_failed_rendition_shows_why_and_can_be_tried_again(world, photo):
    from greenroom.media import render

    with mock.patch.object(render, "make", side_effect=render.RenderFailed("The disk is full.")):
        failed = actions.rendition_for(photo, "x", "feed")
    client = client_for(world.paul)
    html = client.get(f"/publishing/media/{photo.pk}/").content.decode()
    assert "The disk is full." in html and "Try again" in html
    row = client.post(
        f"/publishing/media/renditions/{failed.pk}/retry/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Ready" in row
