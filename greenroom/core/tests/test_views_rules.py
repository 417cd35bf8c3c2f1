"""The network rule table page (greenroom.networks) renders inside the shell."""

from __future__ import annotations

from django.test import Client

from greenroom.conftest import World


def test_the_rule_table_renders_for_a_signed_in_person(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    response = client.get("/networks/rules/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bluesky" in page and "Instagram" in page
    assert 'class="gr-skip-link"' in page  # it extends base.html


def test_the_rule_table_renders_in_korean(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    client.post("/settings/language/", {"language": "ko", "next": "/networks/rules/"})
    assert "네트워크 규칙" in client.get("/networks/rules/").content.decode()
