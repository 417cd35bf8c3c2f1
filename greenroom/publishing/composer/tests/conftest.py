"""Composer, calendar and bulk import test helpers: signed-in clients for the personas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pyvips
from django.test import Client

from greenroom.conftest import World
from greenroom.media import actions as media_actions
from greenroom.media.models import MediaAsset


@pytest.fixture
def client_for(world: World) -> Callable[[str], Client]:
    """A browser-like client signed in as one of the personas."""

    def make(name: str) -> Client:
        client = Client()
        client.force_login(world.people[name])
        return client

    return make


def photo(path: Path, width: int = 1600, height: int = 1200) -> Path:
    """A smooth, photo-like JPEG made on the spot."""
    base = pyvips.Image.perlin(width, height, cell_size=128, uchar=True)
    image = base.bandjoin([base.invert(), base]).copy(interpretation="srgb")
    image.write_to_file(str(path), Q=90)
    return path


@pytest.fixture
def picture(world: World, settings: Any, tmp_path: Path) -> MediaAsset:
    """A 1600x1200 photo in Acme's shared media library."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return media_actions.do_upload_asset(
        world.acme,
        file=photo(tmp_path / "cold-brew.jpg"),
        filename="cold-brew.jpg",
        alt_text="A glass of cold brew",
        acting_user=world.alice,
    ).asset
