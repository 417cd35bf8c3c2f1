"""The inbox's background work: replies stuck in "sending" are sent again (once on the network),
SLA breaches reach each reader as one digest per sweep in their language and zone, and
colleagues @mentioned in a note hear about it when they may open the conversation."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import User
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import Conversation, DeliveryStatus, Message, SlaEvent
from greenroom.inbox.tests.conftest import Captured, conversation_of, item, land
from greenroom.networks.base import InboundItem
from greenroom.networks.sandbox.models import SandboxPost

# --- Replies stuck in "sending" ------------------------------------------------------------------


def _sandbox_conversation(world: World, sandbox: Any) -> Conversation:
    channel = world.coffee_x
    sandbox.connect(channel)
    sandbox.write(channel, "Is my order on its way?", author="emma_k")
    sandbox.deliver()
    return Conversation.objects.get(channel=channel)


def _age(message: Message, minutes: int) -> None:
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_a_reply_whose_worker_died_after_the_network_took_it_is_sent_once_and_marked_sent(
    world: World, sandbox: Any
) -> None:
    conversation = _sandbox_conversation(world, sandbox)
    # Inside the test transaction the on-commit send never runs: as if the task was lost.
    reply = actions.do_reply(conversation, "It left this morning!", acting_user=world.bianca)
    parent = Message.objects.get(conversation=conversation, direction="in")
    # The first attempt reached the network; the worker died before marking the reply sent.
    first = sandbox.connector(world.coffee_x).reply(
        InboundItem(
            external_id=parent.external_id,
            kind=conversation.kind,
            text=parent.text,
            author_handle=parent.author_handle,
            author_name=parent.author_name,
            created_at=parent.sent_at,
        ),
        reply.text,
    )
    assert tasks.resend_stuck_replies() == 0  # too fresh to call stuck
    _age(reply, 6)

    assert tasks.resend_stuck_replies() == 1

    reply.refresh_from_db()
    assert reply.status == DeliveryStatus.SENT
    assert reply.external_id == first.external_id
    on_network = SandboxPost.objects.filter(in_reply_to=parent.external_id)
    assert [p.text for p in on_network] == ["It left this morning!"]
    assert tasks.resend_stuck_replies() == 0  # sent: nothing left


def test_a_reply_that_fails_says_why_in_its_authors_language(world: World, sandbox: Any) -> None:
    conversation = _sandbox_conversation(world, sandbox)
    User.objects.filter(pk=world.bianca.pk).update(language="ko")
    reply = actions.do_reply(conversation, "It left this morning!", acting_user=world.bianca)
    # The message it answered is gone by the time the worker gets to it.
    Message.objects.filter(pk=reply.pk).update(in_reply_to="no-longer-there")

    assert tasks.send_reply(reply.pk) == "failed"
    reply.refresh_from_db()
    assert reply.status == DeliveryStatus.FAILED
    assert reply.error == "답할 메시지가 없습니다."


def test_the_sweep_leaves_replies_waiting_for_approval_failed_or_rejected(
    world: World, sandbox: Any
) -> None:
    conversation = _sandbox_conversation(world, sandbox)
    parent = Message.objects.get(conversation=conversation, direction="in")
    for status in (
        DeliveryStatus.AWAITING_APPROVAL,
        DeliveryStatus.FAILED,
        DeliveryStatus.REJECTED,
    ):
        message = Message.objects.create(
            organization_id=conversation.organization_id,
            channel_id=conversation.channel_id,
            conversation=conversation,
            direction="out",
            status=status,
            author=world.bianca,
            text=f"held {status}",
            in_reply_to=parent.external_id,
        )
        _age(message, 60)

    assert tasks.stuck_replies() == []
    assert tasks.resend_stuck_replies() == 0
    assert not SandboxPost.objects.filter(in_reply_to=parent.external_id).exists()


def test_a_reply_approved_just_now_is_left_to_its_own_task(world: World) -> None:
    # agnes engages on Tea but may not approve there: her reply waits for approval.
    land(world.tea_bluesky, item("t1", "is the shop open?"))
    conversation = conversation_of(world.tea_bluesky, "t1")
    Conversation.objects.filter(pk=conversation.pk).update(requires_approval=True)
    conversation.refresh_from_db()
    reply = actions.do_reply(conversation, "Yes, until six", acting_user=world.agnes)
    assert reply.status == DeliveryStatus.AWAITING_APPROVAL
    _age(reply, 30)
    assert tasks.stuck_replies() == []  # waiting for approval is not stuck

    actions.do_approve_reply(reply, acting_user=world.alice)

    assert tasks.stuck_replies() == []  # written long ago, approved just now
    later = timezone.now() + tasks.STUCK_AFTER + timedelta(seconds=1)
    assert tasks.stuck_replies(later) == [reply.pk]


def test_the_sweep_runs_every_minute() -> None:
    from greenroom.celery import app

    entry = app.conf.beat_schedule["inbox-resend-stuck-replies"]
    assert entry["task"] == tasks.resend_stuck_replies.name
    assert entry["schedule"] == 60.0
    assert tasks.send_reply.acks_late is True


# --- SLA breach digests ------------------------------------------------------------------------


def _care_team(world: World, lead: User) -> Any:
    return core_actions.do_create_team(
        world.acme, name="Care", lead=lead, members=[world.agnes], acting_user=world.alice
    )


def _breached(world: World, team: Any, n: int, prefix: str = "b") -> list[Conversation]:
    long_ago = timezone.now() - timedelta(hours=30)
    found = []
    for i in range(n):
        land(world.coffee_x, item(f"{prefix}{i}", "anyone?", author=f"p{prefix}{i}", at=long_ago))
        found.append(conversation_of(world.coffee_x, f"{prefix}{i}"))
    actions.do_set_team(found, team, acting_user=world.alice)
    return found


@pytest.mark.django_db(transaction=True)
def test_one_sweep_sends_each_reader_one_digest_of_all_its_breaches(
    world: World, escalations: Captured, settings: Any
) -> None:
    # A transactional test: commits happen as in production, so anything queued after the
    # sweep's commit would run (and would send a message per breach).
    settings.GREENROOM_BASE_URL = settings.BASE_URL = "https://greenroom.example.org"
    team = _care_team(world, world.adam)
    actions.do_set_notify_url(world.acme, world.adam, url="capture://adam", acting_user=world.adam)
    conversations = _breached(world, team, 7)

    tasks.check_sla()
    tasks.check_sla()  # the next sweep finds nothing new

    urls = sorted(n["url"] for n in escalations.notifications)
    assert urls == ["capture://adam", "capture://ops"]
    adam = next(n for n in escalations.notifications if n["url"] == "capture://adam")
    assert adam["title"] == "7 conversations breached their SLA in Acme"
    for conversation in conversations:
        assert f"https://greenroom.example.org/inbox/c/{conversation.pk}/" in adam["body"]
    events = SlaEvent.objects.filter(level="breach")
    assert events.count() == 7
    for event in events:
        assert sorted(event.notified) == ["escalation target 1", "team lead adam"]


def test_a_single_breach_reads_as_before_with_an_absolute_link(
    world: World, escalations: Captured, settings: Any
) -> None:
    settings.BASE_URL = "https://greenroom.example.org"
    team = _care_team(world, world.adam)
    actions.do_set_notify_url(world.acme, world.adam, url="capture://adam", acting_user=world.adam)
    (conversation,) = _breached(world, team, 1)

    tasks.check_sla()

    adam = next(n for n in escalations.notifications if n["url"] == "capture://adam")
    assert adam["title"] == "SLA breached: Comment thread on " + conversation.channel.name
    assert "The first response target was due at" in adam["body"]
    assert f"https://greenroom.example.org/inbox/c/{conversation.pk}/" in adam["body"]
    assert "/inbox/c/" not in adam["body"].replace("https://greenroom.example.org/inbox/c/", "")


def test_breaches_are_written_in_the_readers_language_and_time_zone(
    world: World, escalations: Captured, settings: Any
) -> None:
    settings.INBOX_ESCALATION_URLS = []
    lead = world.adam
    User.objects.filter(pk=lead.pk).update(language="ko", timezone="Asia/Seoul")
    lead.refresh_from_db()
    team = _care_team(world, lead)
    actions.do_set_notify_url(world.acme, lead, url="capture://adam", acting_user=lead)
    conversations = _breached(world, team, 2)

    tasks.check_sla()

    (sent,) = escalations.notifications
    due = SlaEvent.objects.filter(level="breach").order_by("due_at").first()
    assert due is not None
    seoul = due.due_at.astimezone(timezone.get_fixed_timezone(9 * 60))
    assert f"{seoul:%Y-%m-%d %H:%M}" in sent["body"]
    assert "Asia/Seoul" in sent["body"]
    assert "SLA" in sent["title"] and "Acme" in sent["title"]
    assert "breached" not in sent["title"]  # Korean, not English
    assert "댓글 스레드" in sent["body"] or "댓글" in sent["body"]
    assert all(f"/inbox/c/{c.pk}/" in sent["body"] for c in conversations)


def test_with_no_apprise_target_the_lead_gets_one_e_mail_per_sweep(
    world: World, escalations: Captured, settings: Any
) -> None:
    settings.INBOX_ESCALATION_URLS = []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    User.objects.filter(pk=world.adam.pk).update(email="adam@example.org")
    world.adam.refresh_from_db()
    team = _care_team(world, world.adam)
    _breached(world, team, 5)

    tasks.check_sla()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["adam@example.org"]
    assert mail.outbox[0].subject == "5 conversations breached their SLA in Acme"
    notified = {tuple(e.notified) for e in SlaEvent.objects.filter(level="breach")}
    assert notified == {("e-mail to team lead adam",)}


def test_a_breach_the_sweep_never_told_anyone_about_goes_out_with_a_later_sweep(
    world: World, escalations: Captured
) -> None:
    team = _care_team(world, world.adam)
    actions.do_set_notify_url(world.acme, world.adam, url="capture://adam", acting_user=world.adam)
    _breached(world, team, 2)
    # Recorded by a sweep whose worker died before it sent anything.
    created = actions.do_check_sla()
    assert len(created) == 2
    SlaEvent.objects.filter(pk__in=created).update(created_at=timezone.now() - timedelta(minutes=6))

    tasks.check_sla()
    tasks.check_sla()

    adam = [n for n in escalations.notifications if n["url"] == "capture://adam"]
    assert len(adam) == 1
    assert adam[0]["title"] == "2 conversations breached their SLA in Acme"
    assert all(e.notified for e in SlaEvent.objects.filter(pk__in=created))


# --- @mentions -----------------------------------------------------------------------------------


@pytest.fixture
def mentions(escalations: Captured, world: World) -> Captured:
    """Everyone in the test has an apprise URL of their own."""
    escalations.notifications.clear()
    for name in ("adam", "agnes", "anna", "bianca", "alice"):
        person = world.people[name]
        actions.do_set_notify_url(world.acme, person, url=f"capture://{name}", acting_user=person)
    return escalations


def test_a_mentioned_colleague_hears_about_the_note_with_a_link(
    world: World, mentions: Captured, settings: Any
) -> None:
    settings.BASE_URL = "https://greenroom.example.org"
    land(world.coffee_x, item("n1", "refund please"))
    conversation = conversation_of(world.coffee_x, "n1")
    note = actions.do_add_note(
        conversation, "@adam can you approve a refund?", acting_user=world.bianca
    )

    delivered = tasks.notify_mentions(note.pk)

    assert delivered == ["adam"]
    (sent,) = mentions.notifications
    assert sent["url"] == "capture://adam"
    assert world.bianca.name in sent["title"]
    assert "> @adam can you approve a refund?" in sent["body"]
    assert f"https://greenroom.example.org/inbox/c/{conversation.pk}/" in sent["body"]


def test_adding_a_note_tells_the_mentioned_after_it_commits(
    world: World, mentions: Captured, django_capture_on_commit_callbacks: Any
) -> None:
    land(world.coffee_x, item("n0", "refund please"))
    conversation = conversation_of(world.coffee_x, "n0")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        actions.do_add_note(conversation, "@adam have a look", acting_user=world.bianca)
    assert mentions.notifications == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert [n["url"] for n in mentions.notifications] == ["capture://adam"]

    # A note that mentions nobody queues nothing.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        actions.do_add_note(conversation, "just a thought", acting_user=world.bianca)
    assert callbacks == []


def test_nobody_without_access_and_never_the_author_is_told(
    world: World, mentions: Captured
) -> None:
    land(world.coffee_x, item("n2", "hello"))
    conversation = conversation_of(world.coffee_x, "n2")
    # agnes engages on Tea only, anna only analyses, gina is in another organisation, bianca
    # writes the note: only adam (admin) may open this Coffee conversation.
    note = actions.do_add_note(
        conversation, "@agnes @anna @gina @bianca @adam look", acting_user=world.bianca
    )
    assert world.agnes.pk in note.mentions and world.bianca.pk in note.mentions

    tasks.notify_mentions(note.pk)

    assert [n["url"] for n in mentions.notifications] == ["capture://adam"]


def test_the_mention_is_in_the_readers_language_and_the_note_stays_plain_text(
    world: World, mentions: Captured
) -> None:
    from apprise.decorators import notify as apprise_plugin

    html_sink: list[str] = []

    @apprise_plugin(on="capturehtml", body_format="html")
    def _html(body: str, title: str, notify_type: str, meta: Any, *a: Any, **k: Any) -> bool:
        html_sink.append(body)
        return True

    User.objects.filter(pk=world.adam.pk).update(language="ko")
    actions.do_set_notify_url(
        world.acme, world.adam, url="capturehtml://adam", acting_user=world.adam
    )
    land(world.coffee_x, item("n3", "hi"))
    conversation = conversation_of(world.coffee_x, "n3")
    hostile = "@adam <img src=x onerror=alert(1)> 확인 부탁해요 🙏"
    note = actions.do_add_note(conversation, hostile, acting_user=world.bianca)

    tasks.notify_mentions(note.pk)

    (body,) = html_sink
    assert "<img" not in body  # escaped by apprise for an HTML target, never passed through
    shown = html.unescape(body).replace("\xa0", " ")
    assert "> @adam <img src=x onerror=alert(1)> 확인 부탁해요 🙏" in shown  # as text
    assert "회원님을 언급했습니다" in shown  # the words around it in Korean


def test_a_note_without_mentions_tells_nobody(world: World, mentions: Captured) -> None:
    land(world.coffee_x, item("n4", "hi"))
    note = actions.do_add_note(
        conversation_of(world.coffee_x, "n4"), "just a note", acting_user=world.bianca
    )
    assert tasks.notify_mentions(note.pk) == []
    assert mentions.notifications == []
