"""Composing: one post, a variant per channel that follows the master text until edited, checked
against each network's rules in plain words; and who sees which posts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.models import AuditEvent
from greenroom.publishing import actions, content
from greenroom.publishing.actions import ActionError, ContentProblems, VariantInput
from greenroom.publishing.models import Post, PostState, Variant, derive_post_state

from .conftest import fresh


def compose(world: World, **kw: object) -> Post:
    return actions.do_create_post(
        world.acme,
        text=kw.pop("text", "Our autumn blend is here."),  # type: ignore[arg-type]
        channels=kw.pop("channels", [world.coffee_x, world.tea_bluesky]),  # type: ignore[arg-type]
        acting_user=kw.pop("author", world.alice),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_a_post_gets_a_draft_variant_per_channel_with_the_master_text(world: World) -> None:
    post = compose(world)
    variants = list(post.variants.order_by("pk"))
    assert [v.channel for v in variants] == [world.coffee_x, world.tea_bluesky]
    assert all(v.text == "Our autumn blend is here." and not v.text_overridden for v in variants)
    assert post.state == PostState.DRAFT and post.author == world.alice
    assert len({v.idempotency_key for v in variants}) == 2
    event = AuditEvent.objects.get(action="post.created", target_id=str(post.pk))
    assert event.actor == world.alice and len(event.after["variants"]) == 2


def test_edited_variants_keep_their_text_when_the_master_changes(world: World) -> None:
    post = compose(world)
    x = Variant.objects.get(post=post, channel=world.coffee_x)
    actions.do_edit_variant(x, text="Autumn blend on X, with #coffee", acting_user=world.alice)

    actions.do_edit_post(post, text="Our autumn blend is back.", acting_user=world.alice)

    assert fresh(x).text == "Autumn blend on X, with #coffee" and x.text_overridden
    bluesky = Variant.objects.get(post=post, channel=world.tea_bluesky)
    assert bluesky.text == "Our autumn blend is back." and not bluesky.text_overridden

    # Back to the master text.
    actions.do_edit_variant(x, text=None, acting_user=world.alice)
    assert fresh(x).text == "Our autumn blend is back." and not x.text_overridden


def test_text_over_a_networks_limit_is_refused_in_plain_words(world: World) -> None:
    with pytest.raises(ContentProblems) as caught:
        compose(world, text="한국어 " * 80)
    problems = caught.value.problems
    assert any("X counts this post as" in p and "Shorten it by" in p for p in problems)
    assert any("Bluesky" in p for p in problems)
    assert not Post.objects.exists()


def test_an_override_can_fix_one_channel_while_the_master_suits_the_others(world: World) -> None:
    long = "A long story about our farmers. " * 12  # fine on Instagram, too long for X
    post = actions.do_create_post(
        world.acme,
        text=long,
        channels=[
            VariantInput(channel=world.coffee_instagram),
            VariantInput(channel=world.coffee_x, text="Meet our farmers: a story in pictures."),
        ],
        acting_user=world.alice,
    )
    assert Variant.objects.get(post=post, channel=world.coffee_x).text_overridden


def test_a_link_goes_out_with_its_utm_parameters(world: World) -> None:
    post = actions.do_create_post(
        world.acme,
        text="Read the story.",
        link="https://acme.example/story?ref=home",
        channels=[
            VariantInput(
                channel=world.coffee_x,
                utm={"utm_source": "x", "utm_campaign": "autumn"},
            )
        ],
        acting_user=world.alice,
    )
    variant = Variant.objects.get(post=post)
    assert content.final_text(variant) == (
        "Read the story.\n\nhttps://acme.example/story?ref=home&utm_source=x&utm_campaign=autumn"
    )


def test_drafting_needs_the_draft_permission_on_every_channel(world: World) -> None:
    with pytest.raises(ActionError, match="may not draft posts on @acmecoffee"):
        compose(world, author=world.agnes)  # agnes only engages
    with pytest.raises(ActionError, match="not a channel of Acme"):
        compose(world, channels=[world.globex_x])


def test_a_time_in_the_past_is_refused(world: World) -> None:
    with pytest.raises(ActionError, match="already passed"):
        compose(world, publish_at=timezone.now() - timedelta(hours=1))


def test_a_post_in_approval_cannot_be_edited_until_withdrawn(world: World) -> None:
    post = compose(world, author=world.carl, channels=[world.coffee_x])
    actions.do_submit_for_approval(post, acting_user=world.carl)
    with pytest.raises(ActionError, match="Withdraw it to draft first"):
        actions.do_edit_post(post, text="Changed my mind.", acting_user=world.carl)


def test_a_post_is_visible_to_whoever_may_view_one_of_its_channels(world: World) -> None:
    coffee = compose(world, channels=[world.coffee_x])
    tea = compose(world, channels=[world.tea_bluesky])
    both = compose(world)

    def seen(name: str, perm: str = "view") -> set[int]:
        return set(Post.objects.restrict(world.people[name], perm).values_list("pk", flat=True))

    assert seen("alice") == {coffee.pk, tea.pk, both.pk}
    assert seen("bianca") == {coffee.pk, both.pk}  # Coffee only
    assert seen("agnes") == {tea.pk, both.pk}  # Tea only
    assert seen("april", "approve") == {coffee.pk, tea.pk, both.pk}
    assert seen("anna", "approve") == set()
    assert seen("gina") == set() and seen("charlie") == set()


def test_a_post_without_channels_yet_is_its_authors(world: World) -> None:
    post = compose(world, channels=[world.tea_bluesky], author=world.carl)
    Variant.objects.filter(post=post).delete()  # e.g. the composer saved before picking any
    assert Post.objects.restrict(world.carl).filter(pk=post.pk).exists()
    assert not Post.objects.restrict(world.bianca).filter(pk=post.pk).exists()


@pytest.mark.parametrize(
    ("variants", "changes", "expected"),
    [
        ([], False, PostState.DRAFT),
        (["draft", "draft"], True, PostState.CHANGES_REQUESTED),
        (["in_approval"], False, PostState.IN_APPROVAL),
        (["approved", "approved"], False, PostState.APPROVED),
        (["scheduled", "cancelled"], False, PostState.SCHEDULED),
        (["published", "scheduled"], False, PostState.PUBLISHING),
        (["published", "failed"], False, PostState.PARTIALLY_PUBLISHED),
        (["published", "needs_new_time"], False, PostState.PARTIALLY_PUBLISHED),
        (["published", "cancelled"], False, PostState.PUBLISHED),
        (["failed", "failed"], False, PostState.FAILED),
        (["needs_new_time", "scheduled"], False, PostState.NEEDS_NEW_TIME),
        (["cancelled"], False, PostState.CANCELLED),
    ],
)
def test_a_posts_state_says_honestly_what_its_channels_did(
    variants: list[str], changes: bool, expected: PostState
) -> None:
    assert derive_post_state(variants, changes_requested=changes) == expected
