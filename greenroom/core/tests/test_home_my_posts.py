"""Home shows writers their own posts, per state, newest first; nobody else's, and nothing from
channels they can no longer see."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import Channel, Membership, User
from greenroom.core.permissions import Role
from greenroom.publishing import actions
from greenroom.publishing.models import Post, PostState, Variant
from greenroom.publishing.tests.conftest import Pub, dispatch
from greenroom.publishing.tests.conftest import pub as pub  # the fixture
from greenroom.publishing.tests.conftest import sandbox as sandbox  # the fixture


def write(world: World, author: User, text: str, channel: Channel | None = None) -> Post:
    return actions.do_create_post(
        channel.organization if channel else world.acme,
        text=text,
        channels=[channel or world.coffee_x],
        publish_at=timezone.now() + timedelta(hours=3),
        acting_user=author,
    )


def panel(client: Client, user: User) -> str:
    client.force_login(user)
    page = client.get("/").content.decode()
    assert page.count('id="my-posts-heading"') == 1, "the Your posts panel is missing"
    return page.split('id="my-posts-heading"')[1].split("</section>")[0]


def group(panel_html: str, key: str) -> str:
    return panel_html.split(f'data-my-posts="{key}"')[1].split("</ul>")[0]


def test_contributor_sees_his_draft_approval_and_changes_requested_posts(
    client: Client, world: World
) -> None:
    draft = write(world, world.carl, "Oat milk flat white, draft one.")
    waiting = actions.do_submit_for_approval(
        write(world, world.carl, "Jeju beans are in."), acting_user=world.carl
    )
    sent_back = actions.do_submit_for_approval(
        write(world, world.carl, "Cold brew <b>weekend</b>."), acting_user=world.carl
    )
    sent_back = actions.do_request_changes(
        sent_back, comment="Say which weekend & which <shops>.", acting_user=world.april
    )
    assert (draft.state, waiting.state, sent_back.state) == (
        PostState.DRAFT,
        PostState.IN_APPROVAL,
        PostState.CHANGES_REQUESTED,
    )
    write(world, world.paul, "Paul's own draft about tea.")

    mine = panel(client, world.carl)

    drafts = group(mine, "draft")
    assert "Oat milk flat white, draft one." in drafts
    assert f'href="/publishing/posts/{draft.pk}/"' in drafts
    assert "Jeju beans are in." in group(mine, "approval")
    changes = group(mine, "changes")
    assert f'href="/publishing/posts/{sent_back.pk}/"' in changes
    assert "April asked for changes:" in changes
    # The reviewer's comment and the post text are user content: shown escaped.
    assert "Say which weekend &amp; which &lt;shops&gt;." in changes
    assert "Cold brew &lt;b&gt;weekend&lt;/b&gt;." in changes
    assert "Paul&#x27;s own draft" not in mine and "Paul's own draft" not in mine
    # Changes requested comes first: it is what the author has to act on.
    assert mine.index('data-my-posts="changes"') < mine.index('data-my-posts="draft"')
    assert 'href="/publishing/compose/"' in mine


def test_the_comment_of_an_earlier_round_is_not_shown_again(client: Client, world: World) -> None:
    post = actions.do_submit_for_approval(
        write(world, world.carl, "Matcha latte."), acting_user=world.carl
    )
    post = actions.do_request_changes(post, comment="Too sweet a tone.", acting_user=world.april)
    post = actions.do_submit_for_approval(post, acting_user=world.carl)
    post = actions.do_request_changes(post, comment="Add the price.", acting_user=world.april)
    changes = group(panel(client, world.carl), "changes")
    assert "Add the price." in changes
    assert "Too sweet a tone." not in changes


def test_scheduled_posts_show_and_counts_are_per_state_newest_first(
    client: Client, world: World
) -> None:
    for n in range(7):
        write(world, world.carl, f"Draft number {n}.")
    scheduled = actions.do_submit_for_approval(
        write(world, world.carl, "Going out later."), acting_user=world.carl
    )
    scheduled = actions.do_approve(scheduled, acting_user=world.april)
    assert scheduled.state == PostState.SCHEDULED

    mine = panel(client, world.carl)
    drafts = group(mine, "draft")
    assert "Draft number 6." in drafts and "Draft number 2." in drafts
    assert "Draft number 1." not in drafts  # only the newest five
    assert drafts.index("Draft number 6.") < drafts.index("Draft number 5.")
    assert "Newest 5 of 7" in mine
    assert '<span class="gr-chip gr-chip-muted">7</span>' in mine
    assert "Going out later." in group(mine, "scheduled")
    assert "Publishes" in group(mine, "scheduled")


def test_published_and_failed_posts_show_and_old_published_ones_do_not(
    client: Client, pub: Pub
) -> None:
    w = pub.world
    old = pub.post([w.coffee_x], text="Last autumn's launch.", author=w.paul)
    recent = pub.post([w.coffee_x], text="This week's launch.", author=w.paul)
    mixed = pub.post([w.coffee_x, w.tea_bluesky], text="Half went out.", author=w.paul)
    for post in (old, recent, mixed):
        pub.due(post)
    Variant.objects.filter(post=mixed, channel=w.tea_bluesky).update(text="x" * 400)
    dispatch()
    # Time passes for the old one: it went out six weeks ago.
    Post.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=42))
    assert Post.objects.get(pk=mixed.pk).state == PostState.PARTIALLY_PUBLISHED

    mine = panel(client, w.paul)
    published = group(mine, "published")
    assert "This week&#x27;s launch." in published
    assert "Last autumn" not in mine
    failed = group(mine, "failed")
    assert "Half went out." in failed
    assert "Partially published" in failed  # its own state, within the group
    assert "@acmecoffee (X), acmetea.bsky.social (Bluesky)" in failed


def test_another_organisations_post_does_not_show(client: Client, world: World) -> None:
    core_actions.do_add_member(world.globex, world.carl, Role.CONTRIBUTOR, acting_user=world.gina)
    write(world, world.carl, "Globex launch teaser.", channel=world.globex_x)
    write(world, world.carl, "Acme coffee teaser.")
    mine = panel(client, world.carl)  # his current organisation is Acme
    assert "Acme coffee teaser." in mine
    assert "Globex launch teaser." not in mine


def test_a_post_on_a_channel_he_lost_access_to_does_not_show(client: Client, world: World) -> None:
    write(world, world.carl, "A tea post.", channel=world.tea_bluesky)
    write(world, world.carl, "A coffee post.")
    membership = Membership.objects.get(organization=world.acme, user=world.carl)
    core_actions.do_change_role(
        membership, role=Role.CONTRIBUTOR, brands=[world.coffee], acting_user=world.alice
    )
    mine = panel(client, world.carl)
    assert "A coffee post." in mine
    assert "A tea post." not in mine
    assert "acmetea.bsky.social" not in mine


def test_a_writer_with_no_posts_is_invited_to_write_one(client: Client, world: World) -> None:
    mine = panel(client, world.paul)
    assert "None of your posts is in progress or went out in the last 30 days." in mine
    assert 'href="/publishing/compose/"' in mine


def test_people_who_do_not_write_posts_see_no_panel(client: Client, world: World) -> None:
    write(world, world.carl, "Carl's draft.")
    # April approves (and opens the publishing section) but writes nothing; the others do not
    # work on posts at all. (Otto the auditor still sees Carl's draft in recent activity.)
    for person in (world.april, world.anna, world.agnes, world.otto):
        client.force_login(person)
        page = client.get("/").content.decode()
        assert "my-posts-heading" not in page, person.username
        assert "Your posts" not in page, person.username
        assert 'href="/publishing/compose/"' not in page, person.username


def test_the_korean_page_says_it_in_korean(client: Client, world: World) -> None:
    post = actions.do_submit_for_approval(
        write(world, world.carl, "Jeju beans are in."), acting_user=world.carl
    )
    actions.do_request_changes(post, comment="가격을 넣어 주세요.", acting_user=world.april)
    write(world, world.carl, "A plain draft.")
    core_actions.do_update_preferences(
        world.carl, language="ko", timezone_name="Asia/Seoul", acting_user=world.carl
    )
    mine = panel(client, world.carl)
    for korean in ("내 게시물", "수정 요청됨", "임시 저장", "수정을 요청했습니다"):
        assert korean in mine, korean
    assert "Your posts" not in mine
    assert "가격을 넣어 주세요." in mine
