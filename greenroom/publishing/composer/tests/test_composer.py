"""The composer: channels by brand, a variant per channel that follows the post's text until it
is edited, counters that count like each network, caps, UTM links, and what the button does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.models import AuditEvent
from greenroom.media.models import MediaAsset, Rendition
from greenroom.publishing import actions
from greenroom.publishing.actions import StepInput
from greenroom.publishing.models import Post, PostState, Variant, VariantState

NEW = "/publishing/compose/"
COUNT = "/publishing/compose/count/"
PANEL = "/publishing/compose/panel/"


def compose_data(
    channels: list[Any], text: str = "Cold brew is back.", **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": text,
        "channels": [c.pk for c in channels],
        "add_utm": "on",
        "utm_medium": "social",
    }
    for channel in channels:
        data[f"v{channel.pk}-placement"] = "feed"
        data[f"v{channel.pk}-overridden"] = "0"
    data.update(extra)
    return data


def counted(client: Client, **params: Any) -> dict[str, Any]:
    """The composer's counter for these parameters (GET)."""
    data: dict[str, Any] = client.get(COUNT, params).json()
    return data


def only_post() -> Post:
    return Post.objects.get()


# --- The page ------------------------------------------------------------------------------------


def test_it_offers_only_the_channels_the_person_may_draft_on(
    client_for: Callable[[str], Client], world: World
) -> None:
    page = client_for("bianca").get(NEW)
    assert page.status_code == 200
    body = page.content.decode()
    assert "@acmecoffee" in body and "acme.coffee" in body
    assert "acmetea.bsky.social" not in body  # Tea is not bianca's brand
    assert "@globex" not in body


def test_people_who_may_not_draft_do_not_get_the_composer(
    client_for: Callable[[str], Client], world: World
) -> None:
    assert client_for("agnes").get(NEW).status_code == 404  # engages only
    assert client_for("charlie").get(NEW).status_code == 404  # no organisation


def test_channels_can_be_picked_in_the_link_and_show_a_variant_each(
    client_for: Callable[[str], Client], world: World
) -> None:
    page = client_for("paul").get(
        f"{NEW}?channel={world.coffee_x.pk}&channel={world.tea_bluesky.pk}"
    )
    body = page.content.decode()
    assert f'data-variant="{world.coffee_x.pk}"' in body
    assert f'data-variant="{world.tea_bluesky.pk}"' in body
    assert f'data-variant="{world.coffee_instagram.pk}"' not in body


# --- Inherit until edited ------------------------------------------------------------------------


def test_a_variant_follows_the_post_text_until_it_is_edited(
    client_for: Callable[[str], Client], world: World
) -> None:
    paul = client_for("paul")
    x, sky = world.coffee_x, world.tea_bluesky
    data = compose_data([x, sky], text="Hello from Acme")
    data[f"v{sky.pk}-overridden"] = "1"
    data[f"v{sky.pk}-text"] = "Tea people, this one is for you"
    response = paul.post(NEW, {**data, "action": "draft"})
    assert response.status_code == 302
    post = only_post()
    on_x = Variant.objects.get(post=post, channel=x)
    on_sky = Variant.objects.get(post=post, channel=sky)
    assert (on_x.text, on_x.text_overridden) == ("Hello from Acme", False)
    assert (on_sky.text, on_sky.text_overridden) == ("Tea people, this one is for you", True)

    # Editing the post's text again: the untouched variant follows, the edited one stays.
    edit = reverse("composer:edit", args=[post.pk])
    data = compose_data([x, sky], text="Hello again")
    data[f"v{sky.pk}-overridden"] = "1"
    data[f"v{sky.pk}-text"] = "Tea people, this one is for you"
    assert paul.post(edit, {**data, "action": "draft"}).status_code == 302
    on_x.refresh_from_db()
    on_sky.refresh_from_db()
    assert on_x.text == "Hello again"
    assert on_sky.text == "Tea people, this one is for you"

    # "Use the post's text again" (the button works without JavaScript too).
    data["action"] = f"reset-{sky.pk}"
    page = paul.post(edit, data)
    assert page.status_code == 200
    assert f'name="v{sky.pk}-overridden" value="0"' in page.content.decode()


def test_the_edit_page_shows_each_variant_as_saved(
    client_for: Callable[[str], Client], world: World
) -> None:
    post = actions.do_create_post(
        world.acme,
        text="Master",
        channels=[
            actions.VariantInput(channel=world.coffee_x, text="Only on X"),
            world.tea_bluesky,
        ],
        acting_user=world.paul,
    )
    body = client_for("paul").get(reverse("composer:edit", args=[post.pk])).content.decode()
    assert "Only on X" in body
    assert f'name="v{world.coffee_x.pk}-overridden" value="1"' in body
    assert f'name="v{world.tea_bluesky.pk}-overridden" value="0"' in body


def test_a_post_that_left_draft_is_not_edited_in_the_composer(
    client_for: Callable[[str], Client], world: World
) -> None:
    post = actions.do_create_post(
        world.acme, text="Ready", channels=[world.coffee_x], acting_user=world.carl
    )
    actions.do_submit_for_approval(post, acting_user=world.carl)
    response = client_for("carl").get(reverse("composer:edit", args=[post.pk]))
    assert response.status_code == 302


def test_another_tenants_or_brands_post_is_a_404(
    client_for: Callable[[str], Client], world: World
) -> None:
    post = actions.do_create_post(
        world.acme, text="Tea", channels=[world.tea_bluesky], acting_user=world.paul
    )
    url = reverse("composer:edit", args=[post.pk])
    assert client_for("bianca").get(url).status_code == 404  # Coffee only
    assert client_for("gina").get(url).status_code == 404  # Globex


# --- Counting ------------------------------------------------------------------------------------


def test_the_counter_counts_korean_and_links_the_way_x_does(
    client_for: Callable[[str], Client], world: World
) -> None:
    paul = client_for("paul")
    # X: each Hangul syllable weighs 2, every link 23 whatever its length.
    text = "안녕하세요 https://example.com/a/very/long/path/that/is/longer/than/23"
    data = counted(paul, channel=world.coffee_x.pk, text=text)
    assert data["length"] == 5 * 2 + 1 + 23
    assert data["limit"] == 280
    assert data["remaining"] == 280 - 34
    assert data["over"] is False
    assert data["counter_label"] == "34 of 280"

    # The post's link is appended with its UTM parameters, and still counts 23.
    data = paul.post(
        COUNT,
        {
            "channel": world.coffee_x.pk,
            "text": "안녕",
            "link": "https://example.com/brew",
            "utm_medium": "social",
            "utm_campaign": "winter",
        },
    ).json()
    assert data["length"] == 2 * 2 + 2 + 23  # two syllables, a blank line, the link
    assert data["link"] == (
        "https://example.com/brew?utm_source=x&utm_medium=social&utm_campaign=winter"
    )
    assert data["text"].endswith(data["link"])

    # Bluesky counts graphemes: the same syllables count 1 each.
    data = counted(paul, channel=world.tea_bluesky.pk, text="안녕하세요")
    assert data["length"] == 5
    assert data["limit"] == 300


def test_the_counter_explains_what_is_over_and_how_to_fix_it(
    client_for: Callable[[str], Client], world: World
) -> None:
    data = counted(client_for("paul"), channel=world.coffee_x.pk, text="가" * 141)
    assert data["over"] is True
    assert data["length"] == 282
    assert len(data["problems"]) == 1
    problem = data["problems"][0]
    assert "282 of 280" in problem and "Korean characters" in problem
    assert "Shorten it by 2" in problem


def test_the_counter_shows_hashtag_and_mention_caps(
    client_for: Callable[[str], Client], world: World
) -> None:
    tags = " ".join(f"#tag{n}" for n in range(31))
    data = counted(
        client_for("paul"), channel=world.coffee_instagram.pk, text=f"New menu {tags} @a @b"
    )
    assert (data["hashtags"], data["hashtag_cap"]) == (31, 30)
    assert (data["mentions"], data["mention_cap"]) == (2, 20)
    assert "31 of 30 hashtags" in data["caps_label"]
    assert any("at most 30 hashtags" in p and "Remove 1" in p for p in data["problems"])


def test_counting_for_a_channel_out_of_reach_is_a_404(
    client_for: Callable[[str], Client], world: World
) -> None:
    bianca = client_for("bianca")
    assert bianca.get(COUNT, {"channel": str(world.tea_bluesky.pk)}).status_code == 404
    assert bianca.get(COUNT, {"channel": str(world.globex_x.pk)}).status_code == 404
    # Counting by network alone needs no channel.
    assert counted(bianca, network="threads", text="hello")["length"] == 5


# --- Violations and UTM on save ------------------------------------------------------------------


def test_a_post_over_the_limit_is_not_saved_and_the_page_says_why(
    client_for: Callable[[str], Client], world: World
) -> None:
    response = client_for("paul").post(
        NEW, {**compose_data([world.coffee_x], text="가" * 141), "action": "draft"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The post was not saved" in body
    assert "Shorten it by 2" in body
    assert not Post.objects.exists()


def test_links_get_utm_parameters_per_network(
    client_for: Callable[[str], Client], world: World
) -> None:
    campaign = actions.do_create_campaign(world.acme, name="Winter Menu", acting_user=world.paul)
    data = compose_data(
        [world.coffee_x, world.coffee_instagram],
        link="https://example.com/menu",
        campaign=campaign.pk,
    )
    page = client_for("paul").post(PANEL, data)
    body = page.content.decode()
    assert "utm_source=x&amp;utm_medium=social&amp;utm_campaign=winter-menu" in body
    assert "utm_source=instagram&amp;utm_medium=social&amp;utm_campaign=winter-menu" in body

    client_for("paul").post(NEW, {**data, "action": "draft"})
    variant = Variant.objects.get(channel=world.coffee_instagram)
    assert variant.utm == {
        "utm_source": "instagram",
        "utm_medium": "social",
        "utm_campaign": "winter-menu",
    }


def test_first_comment_is_offered_only_where_the_placement_has_comments(
    client_for: Callable[[str], Client], world: World
) -> None:
    ig = world.coffee_instagram
    data = compose_data([ig])
    body = client_for("paul").post(PANEL, data).content.decode()
    assert f'name="v{ig.pk}-first_comment"' in body
    data[f"v{ig.pk}-placement"] = "stories"
    body = client_for("paul").post(PANEL, data).content.decode()
    assert f'name="v{ig.pk}-first_comment"' not in body


def test_the_first_comment_is_saved_and_previewed(
    client_for: Callable[[str], Client], world: World
) -> None:
    x = world.coffee_x
    data = compose_data([x], **{f"v{x.pk}-first_comment": "#coffee #winter"})
    body = client_for("paul").post(PANEL, data).content.decode()
    assert "#coffee #winter" in body
    client_for("paul").post(NEW, {**data, "action": "draft"})
    assert Variant.objects.get(channel=x).first_comment == "#coffee #winter"


# --- Media and previews -------------------------------------------------------------------------


def test_each_placement_previews_its_own_rendition(
    client_for: Callable[[str], Client], world: World, picture: MediaAsset
) -> None:
    ig, x = world.coffee_instagram, world.coffee_x
    data = compose_data([ig, x], assets=[picture.pk])
    data[f"v{ig.pk}-placement"] = "stories"
    body = client_for("paul").post(PANEL, data).content.decode()
    # The media app made a rendition per placement; the preview shows each at its size.
    made = {(r.network, r.placement): r for r in Rendition.objects.filter(asset=picture)}
    assert set(made) == {("instagram", "stories"), ("x", "feed")}
    story = made[("instagram", "stories")]
    assert (story.target_width, story.target_height) == (1080, 1920)
    assert f"/publishing/media/renditions/{story.pk}/file" in body
    # Stories get the safe-zone bands over the picture; the X card does not.
    ig_card = body[body.index(f'data-variant="{ig.pk}"') : body.index(f'data-variant="{x.pk}"')]
    assert "gr-zone-top" in ig_card and "gr-zone-bottom" in ig_card
    assert "gr-zone" not in body[body.index(f'data-variant="{x.pk}"') :]
    # The asset's alt text is offered, and saved with the post.
    assert 'value="A glass of cold brew"' in body
    client_for("paul").post(
        NEW, {**data, f"alt-{picture.pk}": "Cold brew, iced", "action": "draft"}
    )
    variant = Variant.objects.get(channel=x)
    assert (variant.media, variant.alt_texts) == ([picture.pk], ["Cold brew, iced"])


def test_too_many_media_for_a_placement_is_explained(
    client_for: Callable[[str], Client], world: World, picture: MediaAsset
) -> None:
    ig = world.coffee_instagram
    data = compose_data([ig], assets=[picture.pk])
    data[f"v{ig.pk}-placement"] = "carousel"  # needs at least 2
    body = client_for("paul").post(PANEL, data).content.decode()
    assert "needs at least 2 media items" in body and "Add 1" in body


# --- What the main button does -------------------------------------------------------------------


def button_of(client: Client, data: dict[str, Any]) -> str:
    body = client.post(PANEL, data).content.decode()
    start = body.index('name="action" value="submit"')
    return body[body.index(">", start) + 1 : body.index("</button>", start)]


def test_the_button_says_what_happens_next(
    client_for: Callable[[str], Client], world: World
) -> None:
    data = compose_data([world.coffee_x])
    # Paul publishes without approval: now, or at the time he sets.
    assert button_of(client_for("paul"), data) == "Publish now"
    later = timezone.localtime(timezone.now() + timedelta(days=1))
    timed = {**data, "publish_at": later.strftime("%Y-%m-%dT%H:%M")}
    assert button_of(client_for("paul"), timed).startswith("Schedule for ")
    # Carl may only draft: someone must approve.
    assert button_of(client_for("carl"), data) == "Submit for approval"
    # A policy on the brand sends even Paul's posts to approvers.
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee legal",
        brand=world.coffee,
        steps=[StepInput(name="Legal", approvers=[world.april])],
        acting_user=world.alice,
    )
    assert button_of(client_for("paul"), timed) == "Submit for approval"


def test_submitting_does_what_the_button_said(
    client_for: Callable[[str], Client], world: World
) -> None:
    later = timezone.localtime(timezone.now() + timedelta(days=1))
    data = compose_data([world.coffee_x], publish_at=later.strftime("%Y-%m-%dT%H:%M"))
    response = client_for("paul").post(NEW, {**data, "action": "submit"})
    assert response.status_code == 302
    post = only_post()
    assert post.state == PostState.SCHEDULED
    assert Variant.objects.get(post=post).state == VariantState.SCHEDULED
    assert AuditEvent.objects.filter(action="post.created", target_id=str(post.pk)).count() == 1

    Post.objects.all().delete()
    response = client_for("carl").post(NEW, {**compose_data([world.coffee_x]), "action": "submit"})
    assert response.status_code == 302
    assert only_post().state == PostState.IN_APPROVAL


def test_publish_now_hands_the_post_to_the_engine(
    client_for: Callable[[str], Client], world: World
) -> None:
    response = client_for("paul").post(NEW, {**compose_data([world.coffee_x]), "action": "submit"})
    assert response.status_code == 302
    variant = Variant.objects.get()
    assert variant.state == VariantState.SCHEDULED
    assert variant.publish_at is not None and variant.publish_at <= timezone.now()


# --- Channel groups ------------------------------------------------------------------------------


def test_a_saved_group_picks_its_channels(
    client_for: Callable[[str], Client], world: World
) -> None:
    paul = client_for("paul")
    response = paul.post(
        reverse("composer:save_group"),
        {"group_name": "Launch", "channels": [world.coffee_x.pk, world.tea_bluesky.pk]},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="channel_group.saved").count() == 1
    body = paul.get(NEW).content.decode()
    assert "Launch" in body
    assert f'data-pick="{world.coffee_x.pk} {world.tea_bluesky.pk}"' in body
    # Bianca sees the group, but it picks only the channel she may draft on.
    body = client_for("bianca").get(NEW).content.decode()
    assert f'data-pick="{world.coffee_x.pk}"' in body


def test_a_group_cannot_hold_channels_out_of_reach(
    client_for: Callable[[str], Client], world: World
) -> None:
    client_for("bianca").post(
        reverse("composer:save_group"),
        {"group_name": "Sneaky", "channels": [world.tea_bluesky.pk]},
    )
    assert not AuditEvent.objects.filter(action="channel_group.saved").exists()
