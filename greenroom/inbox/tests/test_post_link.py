"""A comment thread shows the post it answers, when the user may see that post."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.inbox import posts
from greenroom.inbox.tests.conftest import conversation_of, item, land
from greenroom.publishing import actions as publishing
from greenroom.publishing.models import Variant, VariantState


def _published(world: World, external_id: str) -> Variant:
    post = publishing.do_create_post(
        world.acme,
        text="Our winter blend is back",
        channels=[world.coffee_x],
        publish_at=timezone.now() + timedelta(hours=3),
        acting_user=world.alice,
    )
    # Marked published here: the engine's path is tested in publishing; this is the inbox's.
    Variant.objects.filter(post=post).update(
        state=VariantState.PUBLISHED,
        external_id=external_id,
        external_url=f"https://x.com/daybreak/status/{external_id}",
        published_at=timezone.now(),
    )
    return Variant.objects.get(post=post)


def test_a_comment_finds_the_post_it_answers(world: World, client: Client) -> None:
    variant = _published(world, "sp_777")
    land(world.coffee_x, item("k1", "Finally!", in_reply_to="sp_777"))
    conversation = conversation_of(world.coffee_x, "k1")
    assert conversation.post_external_id == "sp_777"

    found = posts.find_post(world.alice, world.coffee_x.pk, "sp_777")
    assert found is not None
    assert (found.post_id, found.variant_id) == (variant.post_id, variant.pk)
    assert found.text == "Our winter blend is back"

    client.force_login(world.alice)
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert "Our winter blend is back" in page
    assert f'href="/publishing/posts/{variant.post_id}/"' in page


def test_the_post_is_not_shown_to_who_may_not_see_it(world: World) -> None:
    _published(world, "sp_778")
    # The same external id on another channel, or a person outside the brand, finds nothing.
    assert posts.find_post(world.alice, world.coffee_instagram.pk, "sp_778") is None
    assert posts.find_post(world.agnes, world.coffee_x.pk, "sp_778") is None
    assert posts.find_post(world.gina, world.coffee_x.pk, "sp_778") is None
    assert posts.find_post(world.alice, world.coffee_x.pk, "") is None
