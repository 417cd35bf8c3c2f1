"""Background work of the inbox: ingestion, sending replies, hiding comments, the SLA sweep.

Every task is safe to run twice: the database says what is done (events' processed_at, a reply's
status, SlaEvent rows), never the queue.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone

from greenroom.celery import app
from greenroom.inbox import actions, notify
from greenroom.inbox.models import (
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    SlaEvent,
)
from greenroom.networks.base import ConnectorError, InboundItem
from greenroom.networks.models import InboundEvent

logger = logging.getLogger(__name__)

# The on-commit task normally handles an event within a second; the sweep leaves it that long
# so it does not race every fresh event.
SWEEP_GRACE = timedelta(seconds=20)


def drain_inbound(max_batches: int = 20) -> int:
    """Process pending events, oldest first, in batches of `actions.BATCH` until none is left
    (or `max_batches` ran). Returns the messages stored.

    A batch that fails is rolled back whole. If it failed because of what is in it rather than
    because the database was busy, its events are retried one at a time, so one bad event is
    set aside (`do_set_aside_event`) instead of holding up every batch after it.
    """
    done = 0
    for _ in range(max_batches):
        # Most tasks find nothing left (the first one took their events in its batch): one
        # index probe tells them so, without a write transaction and the claim's query.
        if not actions.inbound_pending():
            break
        try:
            report = actions.do_process_inbound(limit=actions.BATCH)
        except OperationalError:
            # A busy or unreachable database: nothing was stored; the redelivered task or the
            # sweep tries again.
            raise
        except Exception:
            logger.exception("an inbound batch failed; retrying its events one at a time")
            done += _one_at_a_time()
            continue
        done += report.messages
        if report.events < actions.BATCH:
            break
    return done


def _one_at_a_time() -> int:
    done = 0
    ids = list(
        InboundEvent.objects.filter(processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[: actions.BATCH]
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
    return InboundItem(
        external_id=message.external_id,
        kind=message.conversation.kind,
        text=message.text,
        author_handle=message.author_handle,
        author_name=message.author_name,
        created_at=message.sent_at,
        in_reply_to=message.in_reply_to or None,
        raw=message.raw if isinstance(message.raw, dict) else {},
    )


@app.task(name="greenroom.inbox.send_reply")
def send_reply(message_id: int) -> str:
    """Send one reply through the channel's connector; a temporary failure retries later."""
    from greenroom.networks.registry import connector_for

    message = (
        Message.objects.select_related("conversation", "channel")
        .filter(pk=message_id, direction=Direction.OUTBOUND)
        .first()
    )
    if message is None or message.status != DeliveryStatus.SENDING:
        return "skipped"
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
        actions.do_mark_reply_failed(message, error="There is no message to answer.")
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
        send_reply.apply_async((message_id,), countdown=exc.retry_after or 30)
        return "retry"
    actions.do_mark_reply_sent(message, external_id=ref.external_id)
    return "sent"


@app.task(name="greenroom.inbox.hide_message")
def hide_message(message_id: int) -> str:
    from greenroom.networks.registry import connector_for

    message = Message.objects.select_related("conversation", "channel").filter(pk=message_id)
    found = message.first()
    if found is None:
        return "skipped"
    try:
        connector_for(found.channel).hide(_inbound_item(found))
    except ConnectorError as exc:
        logger.warning("hiding message %s failed: %s", message_id, exc.message)
        return "failed"
    return "hidden"


@app.task(name="greenroom.inbox.delete_message")
def delete_message(message_id: int) -> str:
    """Delete a comment on the network; a temporary failure retries, a refusal is recorded."""
    from greenroom.networks.registry import connector_for

    found = (
        Message.objects.select_related("conversation", "channel")
        .filter(pk=message_id, deleted_at__isnull=False)
        .first()
    )
    if found is None:
        return "skipped"
    try:
        connector_for(found.channel).delete_comment(_inbound_item(found))
    except ConnectorError as exc:
        if exc.permanent:
            actions.do_mark_delete_failed(found, error=exc.message)
            return "failed"
        logger.warning("deleting message %s not done yet: %s", message_id, exc.message)
        delete_message.apply_async((message_id,), countdown=exc.retry_after or 30)
        return "retry"
    return "deleted"


@app.task(name="greenroom.inbox.check_sla")
def check_sla() -> int:
    actions.do_wake_snoozed()
    return len(actions.do_check_sla())


@app.task(name="greenroom.inbox.escalate")
def escalate(event_id: int) -> list[str]:
    """Tell the team lead (and the configured targets) about a breach, once."""
    event = (
        SlaEvent.objects.select_related("conversation__team__lead", "conversation__channel")
        .filter(pk=event_id)
        .first()
    )
    if event is None or event.notified:
        return []
    conversation: Conversation = event.conversation
    lead = conversation.team.lead if conversation.team else None
    if lead is None and conversation.channel.owner_id is not None:
        lead = conversation.channel.owner
    title = f"SLA breached: {conversation.get_kind_display()} on {conversation.channel.name}"
    body = (
        f"The {event.get_clock_display().lower()} target was due at "
        f"{event.due_at:%Y-%m-%d %H:%M} UTC and has passed. "
        f"Open it in Greenroom: /inbox/c/{conversation.pk}/"
    )
    delivered = notify.send(title, body, lead=lead, organization_id=conversation.organization_id)
    actions.do_record_escalation(event, delivered or ["nobody"])
    return delivered


def pending_replies() -> Q:
    return Q(status=DeliveryStatus.SENDING)


@app.task(name="greenroom.inbox.hand_out_waiting")
def hand_out_waiting() -> int:
    """Beat, every minute: waiting conversations go to whoever is on shift with room."""
    return actions.do_hand_out_everywhere()
