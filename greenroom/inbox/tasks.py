"""Background work of the inbox: ingestion, sending replies (and re-sending stuck ones), hiding
and deleting comments, the SLA sweep with its escalation digests, @mention notifications.

Every task is safe to run twice: the database says what is done (events' processed_at, a reply's
status, SlaEvent rows), never the queue.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from greenroom.celery import app
from greenroom.core.models import AuditEvent, Organization, User
from greenroom.inbox import actions, ingest, notify
from greenroom.inbox.models import (
    Conversation,
    ConversationKind,
    DeliveryStatus,
    Direction,
    Message,
    SlaClock,
    SlaEvent,
    SlaLevel,
)
from greenroom.networks.base import ConnectorError, InboundItem
from greenroom.networks.models import InboundEvent

logger = logging.getLogger(__name__)

# The on-commit task normally handles an event within a second; the sweep leaves it that long
# so it does not race every fresh event.
SWEEP_GRACE = timedelta(seconds=20)


def drain_inbound(max_batches: int = 20) -> int:
    """Process pending events, oldest first, in batches of `ingest.BATCH` until none is left
    (or `max_batches` ran). Returns the messages stored.

    A batch that fails is rolled back whole. If it failed because of what is in it rather than
    because the database was busy, its events are retried one at a time, so one bad event is
    set aside (`do_set_aside_event`) instead of holding up every batch after it.
    """
    done = 0
    for _batch in range(max_batches):
        # Most tasks find nothing left (the first one took their events in its batch): one
        # index probe tells them so, without a write transaction and the claim's query.
        if not ingest.inbound_pending():
            break
        try:
            report = actions.do_process_inbound(limit=ingest.BATCH)
        except OperationalError:
            # A busy or unreachable database: nothing was stored; the redelivered task or the
            # sweep tries again.
            raise
        except Exception:
            logger.exception("an inbound batch failed; retrying its events one at a time")
            done += _one_at_a_time()
            continue
        done += report.messages
        if report.events < ingest.BATCH:
            break
    return done


def _one_at_a_time() -> int:
    done = 0
    ids = list(
        InboundEvent.objects.filter(processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[: ingest.BATCH]
    )
    for event_id in ids:
        try:
            done += actions.do_process_inbound([event_id]).messages
        except OperationalError:
            raise
        except Exception as exc:
            logger.exception("inbound event %s set aside", event_id)
            actions.do_set_aside_event(event_id, error=f"{type(exc).__name__}: {exc}")
    return done


@app.task(name="greenroom.inbox.process_inbound", acks_late=True)
def process_inbound(event_ids: list[int]) -> int:
    """Sent after new events commit. It takes these events and whatever else is pending, in
    batches: when events arrive faster than one at a time, the first task finds many waiting
    and handles them together; the tasks queued behind it find nothing left to do."""
    return drain_inbound()


@app.task(name="greenroom.inbox.sweep_inbound")
def sweep_inbound(max_batches: int = 20) -> int:
    """Events no task handled (a lost task, a killed worker): process them now."""
    cutoff = timezone.now() - SWEEP_GRACE
    if not InboundEvent.objects.filter(processed_at__isnull=True, received_at__lte=cutoff).exists():
        return 0
    return drain_inbound(max_batches)


def _inbound_item(message: Message) -> InboundItem:
    """The message answered, as its connector delivered it: a DM keeps its conversation's id
    (the payload's `thread_id`; connectors that store the network's own JSON read theirs from
    `raw`)."""
    raw = message.raw if isinstance(message.raw, dict) else {}
    return InboundItem(
        external_id=message.external_id,
        kind=message.conversation.kind,
        text=message.text,
        author_handle=message.author_handle,
        author_name=message.author_name,
        created_at=message.sent_at,
        in_reply_to=message.in_reply_to or None,
        thread_id=str(raw.get("thread_id") or "") or None,
        raw=raw,
    )


# A reply still "sending" this long after it was written (or approved) lost its task or its
# worker: the sweep sends it again. The connector's idempotency key makes that answer once.
STUCK_AFTER = timedelta(minutes=5)
STUCK_BATCH = 500


def _retry_claim(message_id: int) -> str:
    """Cache key held while a reply has a send queued (a retry's countdown, or the sweep's
    re-send), so the sweep does not start a second chain beside it."""
    return f"inbox:reply-queued:{message_id}"


def _language_of(user_id: int | None) -> str:
    """The language a person reads Greenroom in: what a task stores for them to read later (a
    network's refusal of their reply, or of the comment they hid) is written in it."""
    found = (
        User.objects.filter(pk=user_id).values_list("language", flat=True).first()
        if user_id is not None
        else None
    )
    return found or settings.LANGUAGE_CODE


@app.task(name="greenroom.inbox.send_reply", acks_late=True)
def send_reply(message_id: int) -> str:
    """Send one reply through the channel's connector; a temporary failure retries later. A
    refusal is stored in the language of the reply's author, who has to act on it.

    acks_late: a worker killed mid-send leaves the task to be delivered again; should that be
    lost too, `resend_stuck_replies` finds the reply still "sending"."""
    message = (
        Message.objects.select_related("conversation", "channel")
        .filter(pk=message_id, direction=Direction.OUTBOUND)
        .first()
    )
    if message is None or message.status != DeliveryStatus.SENDING:
        return "skipped"
    with override(_language_of(message.author_id)):
        return _send_reply(message)


def _send_reply(message: Message) -> str:
    from greenroom.networks.registry import connector_for

    message_id = message.pk
    parent = (
        Message.objects.filter(
            conversation=message.conversation,
            direction=Direction.INBOUND,
            external_id=message.in_reply_to,
        )
        .select_related("conversation")
        .first()
    )
    if parent is None:
        actions.do_mark_reply_failed(message, error=_("There is no message to answer."))
        return "failed"
    try:
        # The connector derives its idempotency key from the item and the text: a retry after
        # an unknown outcome answers once.
        ref = connector_for(message.channel).reply(_inbound_item(parent), message.text)
    except ConnectorError as exc:
        if exc.permanent:
            actions.do_mark_reply_failed(message, error=exc.message)
            return "failed"
        logger.warning("reply %s not sent yet: %s", message_id, exc.message)
        wait = exc.retry_after or 30
        cache.set(_retry_claim(message_id), True, timeout=wait + int(STUCK_AFTER.total_seconds()))
        send_reply.apply_async((message_id,), countdown=wait)
        return "retry"
    actions.do_mark_reply_sent(message, external_id=ref.external_id)
    return "sent"


def stuck_replies(now: datetime | None = None) -> list[int]:
    """Replies still "sending" STUCK_AFTER after they were written or approved, oldest first.

    Replies waiting for approval, failed, rejected or sent are not touched."""
    cutoff = (now or timezone.now()) - STUCK_AFTER
    ids = list(
        Message.objects.filter(
            direction=Direction.OUTBOUND, status=DeliveryStatus.SENDING, created_at__lte=cutoff
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:STUCK_BATCH]
    )
    if not ids:
        return []
    # Written long ago but approved just now: its own task is on its way.
    approved_lately = set(
        AuditEvent.objects.filter(
            action=actions.InboxAction.REPLY_APPROVED,
            target_id__in=[str(pk) for pk in ids],
            created_at__gt=cutoff,
        ).values_list("target_id", flat=True)
    )
    return [pk for pk in ids if str(pk) not in approved_lately]


@app.task(name="greenroom.inbox.resend_stuck_replies")
def resend_stuck_replies() -> int:
    """Beat, every minute: queue `send_reply` again for replies stuck in "sending" (a lost task,
    a worker killed before it marked the reply sent). Re-sending is safe: the connector's
    idempotency key returns the reply the network already has instead of posting another.
    A reply with a retry already queued is left to it; a re-sent one waits STUCK_AFTER before
    the next try. Returns how many were queued."""
    queued = 0
    for message_id in stuck_replies():
        if cache.add(_retry_claim(message_id), True, timeout=int(STUCK_AFTER.total_seconds())):
            logger.info("reply %s stuck in sending; sending it again", message_id)
            send_reply.delay(message_id)
            queued += 1
    return queued


def _moderate(
    message_id: int,
    language: str,
    *,
    asked: str,
    call: Callable[[Any, InboundItem], object],
    refused: Callable[..., Message],
    again: Any,
    doing: str,
    done: str,
) -> str:
    """Hide or delete a comment on the network (`asked`: the time field its action set): a
    temporary failure queues `again` after the network's Retry-After, a refusal is recorded by
    `refused`, in `language` (that of the person who asked, who has to act on it)."""
    from greenroom.networks.registry import connector_for

    found = (
        Message.objects.select_related("conversation", "channel")
        .filter(pk=message_id, **{f"{asked}__isnull": False})
        .first()
    )
    if found is None:
        return "skipped"
    with override(language or settings.LANGUAGE_CODE):
        try:
            call(connector_for(found.channel), _inbound_item(found))
        except ConnectorError as exc:
            if exc.permanent:
                refused(found, error=exc.message)
                return "failed"
            logger.warning("%s message %s not done yet: %s", doing, message_id, exc.message)
            again.apply_async((message_id, language), countdown=exc.retry_after or 30)
            return "retry"
    return done


@app.task(name="greenroom.inbox.hide_message")
def hide_message(message_id: int, language: str = "") -> str:
    """Hide a comment on the network; a refusal takes the hidden mark back and records why (the
    comment is still public)."""
    return _moderate(
        message_id,
        language,
        asked="hidden_at",
        call=lambda connector, item: connector.hide(item),
        refused=actions.do_mark_hide_failed,
        again=hide_message,
        doing="hiding",
        done="hidden",
    )


@app.task(name="greenroom.inbox.delete_message")
def delete_message(message_id: int, language: str = "") -> str:
    """Delete a comment on the network; a refusal takes the deleted mark back and records why."""
    return _moderate(
        message_id,
        language,
        asked="deleted_at",
        call=lambda connector, item: connector.delete_comment(item),
        refused=actions.do_mark_delete_failed,
        again=delete_message,
        doing="deleting",
        done="deleted",
    )


# --- SLA breaches: one digest per reader per sweep ---------------------------------------------

# Breach events nobody was told about (a sweep killed between recording and sending) are picked
# up by a later sweep once they are this old, and not after a day.
UNSENT_GRACE = timedelta(minutes=5)
UNSENT_HORIZON = timedelta(days=1)


@app.task(name="greenroom.inbox.check_sla", acks_late=True)
def check_sla() -> int:
    """Beat, every 60 s: wake snoozed conversations, record warnings and breaches, and tell each
    reader about this sweep's breaches in one message. Returns the SlaEvents created."""
    actions.do_wake_snoozed()
    created = actions.do_check_sla()
    now = timezone.now()
    unsent = SlaEvent.objects.filter(
        level=SlaLevel.BREACH,
        notified=[],
        created_at__lte=now - UNSENT_GRACE,
        created_at__gte=now - UNSENT_HORIZON,
    ).values_list("pk", flat=True)
    escalate_breaches([*created, *unsent])
    return len(created)


@app.task(name="greenroom.inbox.escalate")
def escalate(event_id: int) -> list[str]:
    """Tell the team lead (and the configured targets) about one breach, once. The sweep sends
    its breaches as digests itself; this one is for a breach to send on its own (and for tasks
    an earlier version queued)."""
    return escalate_breaches([event_id]).get(event_id, [])


def _lead_of(conversation: Conversation) -> User | None:
    if conversation.team is not None and conversation.team.lead is not None:
        return conversation.team.lead
    return conversation.channel.owner


def escalate_breaches(event_ids: Sequence[int]) -> dict[int, list[str]]:
    """Send the breaches among `event_ids` that nobody was told about: one message per reader
    (and organisation), listing all of theirs; then record each breach as escalated, once,
    with the labels of the targets that took it ("nobody" when none did)."""
    events = list(
        SlaEvent.objects.filter(pk__in=list(event_ids), level=SlaLevel.BREACH, notified=[])
        .select_related("organization", "conversation__team__lead", "conversation__channel__owner")
        .order_by("due_at", "pk")
    )
    by_reader: dict[tuple[int, str], list[SlaEvent]] = defaultdict(list)
    readers: dict[tuple[int, str], notify.Recipient] = {}
    organizations: dict[int, Organization] = {}
    for event in events:
        organizations[event.organization_id] = event.organization
        for reader in notify.recipients_for(_lead_of(event.conversation), event.organization):
            key = (event.organization_id, reader.key)
            readers[key] = reader
            by_reader[key].append(event)
    delivered: dict[int, list[str]] = {event.pk: [] for event in events}
    for key, told in by_reader.items():
        breaches = [
            notify.Breach(
                conversation_id=e.conversation_id,
                # The choices' lazy labels: written in each reader's language.
                kind_label=ConversationKind(e.conversation.kind).label,
                channel=e.conversation.channel.name,
                clock_label=SlaClock(e.clock).label,
                due_at=e.due_at,
            )
            for e in told
        ]
        title, body = notify.breach_digest(breaches, readers[key], organizations[key[0]])
        labels = notify.deliver(readers[key], title, body)
        for event in told:
            delivered[event.pk] += labels
    for event in events:
        actions.do_record_escalation(event, delivered[event.pk] or ["nobody"])
    return delivered


# --- @mentions in internal notes -----------------------------------------------------------------


def _members(organization_id: int) -> QuerySet[User]:
    """The organisation's active members, in a stable order: whom the inbox's notices may reach
    (each notice then checks what the person may do on the conversation)."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__organization_id=organization_id,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("pk")
    )


@app.task(name="greenroom.inbox.notify_mentions")
def notify_mentions(note_id: int) -> list[str]:
    """Tell each colleague @mentioned in a note, in their language, with a link to the
    conversation and the note quoted as plain text. The author is never told about their own
    note, nor is anyone who cannot open the conversation (`restrict(user, "engage")`, as the
    inbox pages) or is no longer an active member. Returns the labels that took it."""
    note = (
        Message.objects.select_related("conversation__channel")
        .filter(pk=note_id, direction=Direction.NOTE)
        .first()
    )
    if note is None or not note.mentions:
        return []
    conversation = note.conversation
    wanted = {int(pk) for pk in note.mentions if str(pk).isdigit()} - {note.author_id}
    delivered: list[str] = []
    for person in _members(note.organization_id).filter(pk__in=wanted):
        if (
            not Conversation.objects.restrict(person, "engage")
            .filter(pk=conversation.pk, organization_id=note.organization_id)
            .exists()
        ):
            continue
        reader = notify.person_recipient(person, note.organization_id)
        title, body = notify.mention_message(
            author=note.author_name,
            kind_label=ConversationKind(conversation.kind).label,
            channel=conversation.channel.name,
            conversation_id=conversation.pk,
            text=note.text,
            language=reader.language,
        )
        delivered += notify.deliver(reader, title, body)
    return delivered


@app.task(name="greenroom.inbox.notify_reply_waiting")
def notify_reply_waiting(message_id: int) -> list[str]:
    """Tell everyone who may approve a held reply on its channel (never its author), in their
    language, with the customer's message and the reply quoted and a link to the approvals
    page. The customer's clock runs while the reply waits. Returns the labels that took it."""
    reply = (
        Message.objects.select_related("conversation__channel")
        .filter(pk=message_id, direction=Direction.OUTBOUND)
        .first()
    )
    if reply is None or reply.status != DeliveryStatus.AWAITING_APPROVAL:
        return []
    conversation = reply.conversation
    answered = (
        conversation.messages.filter(direction=Direction.INBOUND, sent_at__lte=reply.created_at)
        .order_by("-sent_at", "-pk")
        .values_list("text", flat=True)
        .first()
    )
    delivered: list[str] = []
    for person in _members(reply.organization_id):
        if person.pk == reply.author_id or not actions.can_approve(person, conversation):
            continue
        reader = notify.person_recipient(person, reply.organization_id)
        title, body = notify.reply_waiting_message(
            author=reply.author_name,
            channel=conversation.channel.name,
            customer_text=answered or "",
            text=reply.text,
            language=reader.language,
        )
        delivered += notify.deliver(reader, title, body)
    return delivered


@app.task(name="greenroom.inbox.notify_reply_returned")
def notify_reply_returned(message_id: int) -> list[str]:
    """Tell the author of a reply that was sent back, with the approver's reason, in their
    language; nobody when they sent it back themselves or left the organisation."""
    reply = (
        Message.objects.select_related("conversation__channel", "approved_by")
        .filter(pk=message_id, direction=Direction.OUTBOUND, status=DeliveryStatus.REJECTED)
        .first()
    )
    if reply is None or reply.author_id is None or reply.author_id == reply.approved_by_id:
        return []
    author = _members(reply.organization_id).filter(pk=reply.author_id).first()
    if author is None:
        return []
    reader = notify.person_recipient(author, reply.organization_id)
    title, body = notify.reply_returned_message(
        approver=reply.approved_by.name if reply.approved_by else "",
        channel=reply.conversation.channel.name,
        conversation_id=reply.conversation_id,
        text=reply.text,
        reason=reply.error,
        language=reader.language,
    )
    return notify.deliver(reader, title, body)


@app.task(name="greenroom.inbox.notify_assigned")
def notify_assigned(assignee_id: int, conversation_ids: list[int], by_id: int) -> list[str]:
    """Tell a person which conversations a colleague assigned them, in their language: each
    with what the customer last wrote, when the answer is due and a link, soonest due first.

    Written when the task runs: a conversation that went to someone else meanwhile, or that
    the person may no longer open (`restrict(user, "engage")`), is left out, and nothing is
    sent when none is left or the person left the organisation. Returns the labels that took
    it."""
    wanted = Conversation.objects.select_related("channel", "contact").filter(
        pk__in=conversation_ids, assignee_id=assignee_id
    )
    org_id = wanted.values_list("organization_id", flat=True).first()
    if org_id is None:
        return []
    person = _members(org_id).filter(pk=assignee_id).first()
    if person is None:
        return []
    conversations = list(
        wanted.filter(
            pk__in=Conversation.objects.restrict(person, "engage").values("pk"),
            organization_id=org_id,
        ).order_by(F("sla_due_at").asc(nulls_last=True), "pk")
    )
    if not conversations:
        return []
    by = User.objects.filter(pk=by_id).first()
    reader = notify.person_recipient(person, org_id)
    title, body = notify.assigned_message(
        by=by.name if by is not None else "",
        handed=[
            notify.Handed(
                conversation_id=c.pk,
                kind_label=ConversationKind(c.kind).label,
                channel=c.channel.name,
                person=(c.contact.name or c.contact.handle) if c.contact else "",
                text=c.preview,
                due_at=c.sla_due_at,
            )
            for c in conversations
        ],
        recipient=reader,
    )
    return notify.deliver(reader, title, body)


@app.task(name="greenroom.inbox.hand_out_waiting")
def hand_out_waiting() -> int:
    """Beat, every minute: waiting conversations go to whoever is on shift with room."""
    return actions.do_hand_out_everywhere()
