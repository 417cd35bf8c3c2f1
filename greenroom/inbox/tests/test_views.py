"""The agent workspace: who sees what, replying, approval, notes, bulk actions, collisions."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from greenroom.conftest import World
from greenroom.core.actions import ActionError
from greenroom.core.models import AuditEvent
from greenroom.inbox import actions
from greenroom.inbox.models import Conversation, DeliveryStatus, InboxActivity, Message
from greenroom.inbox.tests.conftest import conversation_of, item, land

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def conversations(world: World) -> World:
    land(world.coffee_x, item("q1", "Where is my coffee order?", author="emma"))
    land(world.tea_bluesky, item("q2", "Love the new tea", author="sora"))
    land(world.globex_x, item("q3", "Globex question", author="gus"))
    return world


def test_the_queue_shows_what_an_agent_may_answer(client: Client, conversations: World) -> None:
    client.force_login(conversations.agnes)  # Tea brand only
    page = client.get("/inbox/").content.decode()
    assert "Love the new tea" in page
    assert "Where is my coffee order?" not in page
    assert "Globex question" not in page
    assert "SLA clock" in page


@pytest.mark.parametrize("person", ["paul", "anna", "charlie"])
def test_the_inbox_is_a_404_for_people_who_do_not_engage(
    client: Client, conversations: World, person: str
) -> None:
    client.force_login(conversations.people[person])
    assert client.get("/inbox/").status_code in (404, 302)


def test_a_conversation_out_of_scope_is_a_404(client: Client, conversations: World) -> None:
    coffee = conversation_of(conversations.coffee_x, "q1")
    globex = conversation_of(conversations.globex_x, "q3")
    client.force_login(conversations.agnes)
    assert client.get(f"/inbox/c/{coffee.pk}/").status_code == 404
    client.force_login(conversations.alice)
    assert client.get(f"/inbox/c/{globex.pk}/").status_code == 404
    assert client.post(f"/inbox/c/{globex.pk}/act/", {"action": "close"}).status_code == 404


def test_queues_mine_unassigned_and_about_to_breach(client: Client, conversations: World) -> None:
    coffee = conversation_of(conversations.coffee_x, "q1")
    actions.do_assign([coffee], conversations.alice, acting_user=conversations.alice)
    client.force_login(conversations.alice)
    mine = client.get("/inbox/?queue=mine").context["rows"]
    unassigned = client.get("/inbox/?queue=unassigned").context["rows"]
    assert [c.pk for c in mine] == [coffee.pk]
    assert coffee.pk not in [c.pk for c in unassigned]
    Conversation.objects.filter(pk=coffee.pk).update(sla_warn_at=coffee.created_at)
    breaching = client.get("/inbox/?queue=breaching").context["rows"]
    assert [c.pk for c in breaching] == [coffee.pk]
    by_network = client.get("/inbox/?queue=all&network=bluesky").context["rows"]
    assert [c.network for c in by_network] == ["bluesky"]


def test_message_text_is_shown_as_text(client: Client, world: World) -> None:
    land(world.coffee_x, item("h1", HOSTILE, author="mallory"))
    conversation = conversation_of(world.coffee_x, "h1")
    client.force_login(world.alice)
    for url in ("/inbox/", f"/inbox/c/{conversation.pk}/"):
        page = client.get(url).content.decode()
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_messages_photos_are_links_and_hostile_addresses_are_left_out(
    client: Client, world: World
) -> None:
    sent = item("p1", "The lid broke, see photo", author="mallory")
    sent.raw["media"] = [
        {"type": "photo", "url": "https://pbs.example/lid.jpg", "alt": "<b>cracked</b> lid"},
        {"type": "video", "url": "https://video.example/preview.jpg", "alt": ""},
        {"type": "photo", "url": "javascript:alert(3)", "alt": "left-out-alt"},
        "not an object",
    ]
    land(world.coffee_x, sent)
    conversation = conversation_of(world.coffee_x, "p1")
    client.force_login(world.alice)
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert 'href="https://pbs.example/lid.jpg"' in page
    assert 'href="https://video.example/preview.jpg"' in page
    assert "&lt;b&gt;cracked&lt;/b&gt; lid" in page and "<b>cracked</b>" not in page
    assert "javascript:alert(3)" not in page
    assert "left-out-alt" not in page
    assert page.count('rel="noopener noreferrer nofollow"') == 2


def test_replying_sends_through_the_connector_and_stops_the_clock(
    client: Client, world: World, sandbox: Any
) -> None:
    channel = world.coffee_x
    sandbox.connect(channel)
    sandbox.write(channel, "Is the cold brew back?", author="emma")
    sandbox.deliver()
    conversation = Conversation.objects.get(channel=channel)
    client.force_login(world.alice)
    client.post(f"/inbox/c/{conversation.pk}/presence/", {"state": "replying"})
    response = client.post(f"/inbox/c/{conversation.pk}/reply/", {"text": "Yes, from Monday!"})
    assert response.status_code == 302
    sandbox.deliver()

    reply = Message.objects.get(direction="out")
    assert reply.status == DeliveryStatus.SENT and reply.external_id
    assert reply.handle_seconds is not None
    conversation.refresh_from_db()
    assert conversation.first_response_at is not None and conversation.sla_due_at is None
    # It was unassigned: whoever answered has it now.
    assert conversation.assignee == world.alice
    assert InboxActivity.objects.filter(kind="first_response", agent=world.alice).count() == 1
    assert AuditEvent.objects.filter(action="inbox.reply_queued", actor=world.alice).exists()
    # The network has the reply under the comment.
    account = sandbox.account(channel)
    assert account.posts.filter(in_reply_to=reply.in_reply_to, text="Yes, from Monday!").exists()


def test_a_reply_over_the_networks_limit_is_refused_with_the_count(
    client: Client, conversations: World
) -> None:
    conversation = conversation_of(conversations.coffee_x, "q1")
    client.force_login(conversations.alice)
    counter = client.post(f"/inbox/c/{conversation.pk}/count/", {"text": "가" * 150})
    assert "300 of 280" in counter.content.decode()
    response = client.post(f"/inbox/c/{conversation.pk}/reply/", {"text": "가" * 150}, follow=True)
    page = response.content.decode()
    assert "X counts this reply as 300 of 280" in page
    assert not Message.objects.filter(direction="out").exists()
    # The refused reply is back in its box to shorten, not lost; once.
    assert response.context["reply_draft"] == "가" * 150
    assert "가" * 150 + "</textarea>" in page
    assert client.get(f"/inbox/c/{conversation.pk}/").context["reply_draft"] == ""


def test_replies_that_need_approval_wait_for_an_approver(
    client: Client, world: World, sandbox: Any
) -> None:
    channel = world.tea_bluesky
    sandbox.connect(channel)
    actions.do_save_routing_rule(
        world.acme, name="Careful", require_approval=True, acting_user=world.alice
    )
    sandbox.write(channel, "Your tea made me sick", author="jun")
    sandbox.deliver()
    conversation = Conversation.objects.get(channel=channel)
    client.force_login(world.agnes)
    client.post(f"/inbox/c/{conversation.pk}/reply/", {"text": "We're so sorry, DM us please"})
    sandbox.deliver()
    waiting = Message.objects.get(direction="out")
    assert waiting.status == DeliveryStatus.AWAITING_APPROVAL

    # Agnes cannot approve; Bianca manages only Coffee, so Tea replies are a 404 for her.
    decide = f"/inbox/approvals/{waiting.pk}/"
    assert client.post(decide, {"decision": "approve"}).status_code == 404
    client.force_login(world.bianca)
    assert client.post(decide, {"decision": "approve"}).status_code == 404
    client.force_login(world.alice)
    page = client.get("/inbox/approvals/").content.decode()
    assert "We&#x27;re so sorry" in page
    # The approver reads what the reply answers without opening the conversation.
    assert "Your tea made me sick" in page and "jun wrote" in page
    client.post(f"/inbox/approvals/{waiting.pk}/", {"decision": "approve"})
    sandbox.deliver()
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.SENT and waiting.approved_by == world.alice


def test_an_approvers_own_reply_goes_out_unless_the_rule_wants_four_eyes(
    client: Client, world: World
) -> None:
    rule = actions.do_save_routing_rule(
        world.acme, name="Careful", require_approval=True, acting_user=world.alice
    )
    land(world.tea_bluesky, item("t1", "Your tea made me sick", author="jun"))
    plain = conversation_of(world.tea_bluesky, "t1")
    client.force_login(world.adam)  # an admin: engages and approves everywhere
    page = client.get(f"/inbox/c/{plain.pk}/").content.decode()
    # Her reply would go straight out: the button says so, not "Send for approval".
    assert "Send reply" in page and "Send for approval" not in page
    assert "Replies need approval" in page

    actions.do_save_routing_rule(world.acme, rule=rule, four_eyes=True, acting_user=world.alice)
    land(world.tea_bluesky, item("t2", "Still sick", author="min"))
    careful = conversation_of(world.tea_bluesky, "t2")
    assert careful.four_eyes and not plain.four_eyes
    page = client.get(f"/inbox/c/{careful.pk}/").content.decode()
    assert "Send for approval" in page
    assert "Every reply needs a second person's approval" in page
    client.post(f"/inbox/c/{careful.pk}/reply/", {"text": "So sorry, please DM us"})
    waiting = Message.objects.get(conversation=careful, direction="out")
    assert waiting.status == DeliveryStatus.AWAITING_APPROVAL

    # Her own reply is listed as hers, with nothing to approve; approving it anyway is refused.
    assert client.get("/inbox/").context["awaiting_approval"] == 0
    page = client.get("/inbox/approvals/").content.decode()
    assert "So sorry, please DM us" in page and "gr-my-waiting-reply" in page
    assert f"/inbox/approvals/{waiting.pk}/" not in page
    refused = client.post(f"/inbox/approvals/{waiting.pk}/", {"decision": "approve"}, follow=True)
    assert "Nobody approves their own reply" in refused.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.AWAITING_APPROVAL

    # A colleague who approves on Tea lets it go.
    client.force_login(world.alice)
    assert client.get("/inbox/").context["awaiting_approval"] == 1
    assert f"/inbox/approvals/{waiting.pk}/" in client.get("/inbox/approvals/").content.decode()
    client.post(f"/inbox/approvals/{waiting.pk}/", {"decision": "approve"})
    waiting.refresh_from_db()
    assert waiting.status != DeliveryStatus.AWAITING_APPROVAL
    assert waiting.approved_by == world.alice


def test_four_eyes_without_approval_is_refused(world: World) -> None:
    with pytest.raises(ActionError, match="Four eyes applies to replies that need"):
        actions.do_save_routing_rule(
            world.acme, name="Half", four_eyes=True, acting_user=world.alice
        )


def test_notes_mention_colleagues_and_never_leave_greenroom(
    client: Client, conversations: World
) -> None:
    conversation = conversation_of(conversations.coffee_x, "q1")
    client.force_login(conversations.alice)
    client.post(f"/inbox/c/{conversation.pk}/note/", {"text": "@bianca can you check stock?"})
    note = Message.objects.get(direction="note")
    assert note.mentions == [conversations.bianca.pk]
    assert note.external_id == ""


def test_bulk_actions_apply_to_the_selected_conversations(
    client: Client, conversations: World
) -> None:
    coffee = conversation_of(conversations.coffee_x, "q1")
    tea = conversation_of(conversations.tea_bluesky, "q2")
    globex = conversation_of(conversations.globex_x, "q3")
    client.force_login(conversations.alice)
    client.post(
        "/inbox/bulk/", {"ids": [coffee.pk, tea.pk, globex.pk], "action": "tag", "tag": "launch"}
    )
    client.post("/inbox/bulk/", {"ids": [coffee.pk, tea.pk, globex.pk], "action": "close"})
    for conversation in (coffee, tea, globex):
        conversation.refresh_from_db()
    assert coffee.tags == ["launch"] and coffee.status == "closed"
    assert tea.status == "closed"
    assert globex.status == "open" and globex.tags == []  # another tenant's: untouched


def test_an_agent_sees_who_else_is_replying(client: Client, conversations: World) -> None:
    conversation = conversation_of(conversations.coffee_x, "q1")
    other = Client()
    other.force_login(conversations.adam)
    other.post(f"/inbox/c/{conversation.pk}/presence/", {"state": "replying"})
    client.force_login(conversations.alice)
    seen = client.post(f"/inbox/c/{conversation.pk}/presence/", {"state": "viewing"})
    assert "Adam is replying" in seen.content.decode()


def test_an_admin_adds_a_routing_rule_from_the_settings_page(
    client: Client, conversations: World
) -> None:
    client.force_login(conversations.alice)
    client.post(
        "/inbox/settings/",
        {
            "form": "rule",
            "name": "Refunds",
            "keywords": "refund, 환불",
            "set_priority": "urgent",
            "add_tags": "refund",
            "require_approval": "on",
        },
    )
    land(conversations.coffee_x, item("st1", "환불 부탁드려요", author="kim"))
    routed = conversation_of(conversations.coffee_x, "st1")
    assert (routed.priority, routed.tags, routed.requires_approval) == ("urgent", ["refund"], True)
    # An agent may not add rules.
    client.force_login(conversations.agnes)
    assert client.post("/inbox/settings/", {"form": "rule", "name": "x"}).status_code == 404


def test_assign_to_me_is_offered_only_to_someone_it_is_not_assigned_to(
    client: Client, world: World
) -> None:
    land(world.coffee_x, item("am1", "hello"))
    conversation = conversation_of(world.coffee_x, "am1")
    client.force_login(world.alice)
    path = f"/inbox/c/{conversation.pk}/"
    assert 'id="gr-assign-me"' in client.get(path).content.decode()
    actions.do_assign([conversation], world.alice, acting_user=world.alice)
    assert 'id="gr-assign-me"' not in client.get(path).content.decode()
    client.force_login(world.bianca)
    assert 'id="gr-assign-me"' in client.get(path).content.decode()
