"""Connecting a Bluesky channel in a real browser: the form, and what it says when refused."""

from __future__ import annotations

from typing import Any

import pytest

from greenroom.conftest import World
from greenroom.core.actions import do_create_channel
from greenroom.core.tests.test_browser import chromium, shot, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_account_password_is_refused_on_the_connect_page(
    chromium: Any,  # noqa: F811
    live_server: Any,
    world: World,
    settings: Any,
) -> None:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "bluesky"]
    channel = do_create_channel(
        world.acme,
        brand=world.tea,
        kind="bluesky",
        handle="tea.acme.example",
        name="Acme Tea",
        acting_user=world.alice,
    )
    page = sign_in(chromium, live_server.url, "alice")

    page.goto(f"{live_server.url}/networks/bluesky/connect/{channel.pk}/")
    assert page.get_by_label("Handle or email").input_value() == "tea.acme.example"
    page.get_by_label("App password", exact=True).fill("my real password")
    page.get_by_role("button", name="Connect").click()

    page.get_by_text("That is not a Bluesky app password").wait_for()
    # The password field is never filled back in.
    assert page.get_by_label("App password", exact=True).input_value() == ""
    shot(page, "bluesky-connect-refused")
    page.context.close()
