"""Every write to the inbox goes through these functions.

Each runs in one transaction and writes its audit event there; side effects (sending a reply
through the connector, hiding a comment, escalating a breach) run after commit as Celery tasks.
`acting_user=None` means Greenroom itself (ingestion, routing, the SLA sweep).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit, vault
from greenroom.core.actions import ActionError, do_store_secret
from greenroom.core.models import Brand, Channel, Organization, Team, User
from greenroom.core.restrict import Access
from greenroom.inbox import handout, ingest, sla
from greenroom.inbox.clocks import policy_and_calendar, refresh_summary, start_response_clock
from greenroom.inbox.models import (
    ActivityKind,
    AgentProfile,
    AgentStatus,
    BusinessHours,
    Contact,
    Conversation,
    ConversationKind,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    InboxActivity,
    Message,
    Priority,
    RoutingRule,
    SavedReply,
    SlaClock,
    SlaEvent,
    SlaLevel,
    SlaPolicy,
    UnreadableEvent,
)
from greenroom.inbox.replies import send_after_commit
from greenroom.networks.models import InboundEvent

# Handing out waiting conversations lives in its own module; its actions are inbox actions.
do_hand_out_waiting = handout.do_hand_out_waiting
do_hand_out_everywhere = handout.do_hand_out_everywhere
OPEN_STATUSES = (ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.SNOOZED)
# Past this, a measured handle time is someone who left the composer open over lunch.
MAX_HANDLE_SECONDS = 2 * 3600.0


class InboxAction(models.TextChoices):
    INGESTED = "inbox.ingested"
    EVENT_SET_ASIDE = "inbox.event_set_aside"
    REPLY_QUEUED = "inbox.reply_queued"
    REPLY_AWAITS_APPROVAL = "inbox.reply_awaits_approval"
    REPLY_APPROVED = "inbox.reply_approved"
    REPLY_REJECTED = "inbox.reply_rejected"
    REPLY_SENT = "inbox.reply_sent"
    REPLY_FAILED = "inbox.reply_failed"
    AUTO_REPLY = "inbox.auto_reply"
    NOTE_ADDED = "inbox.note_added"
    ASSIGNED = "inbox.assigned"
    TEAM_SET = "inbox.team_set"
    TAGGED = "inbox.tagged"
    PRIORITY_SET = "inbox.priority_set"
    CLOSED = "inbox.closed"
    REOPENED = "inbox.reopened"
    SNOOZED = "inbox.snoozed"
    WOKEN = "inbox.woken"
    HIDDEN = "inbox.message_hidden"
    HIDE_FAILED = "inbox.message_hide_failed"
    DELETED = "inbox.message_deleted"
    DELETE_FAILED = "inbox.message_delete_failed"
    SLA_WARNING = "inbox.sla_warning"
    SLA_BREACH = "inbox.sla_breach"
    CONTACT_UPDATED = "inbox.contact_updated"
    POLICY_SAVED = "inbox.sla_policy_saved"
    POLICY_DELETED = "inbox.sla_policy_deleted"
    HOURS_SAVED = "inbox.business_hours_saved"
    HOURS_DELETED = "inbox.business_hours_deleted"
    RULE_SAVED = "inbox.rule_saved"
    RULE_DELETED = "inbox.rule_deleted"
    SAVED_REPLY_SAVED = "inbox.saved_reply_saved"
    SAVED_REPLY_DELETED = "inbox.saved_reply_deleted"
    AGENT_UPDATED = "inbox.agent_updated"


# --- Numbers for analytics and staffing --------------------------------------------------------


def _activity(
    conversation: Conversation,
    kind: str,
    at: datetime,
    *,
    agent: User | None = None,
    seconds: float | None = None,
    business_seconds: float | None = None,
) -> InboxActivity:
    return InboxActivity(
        organization_id=conversation.organization_id,
        channel_id=conversation.channel_id,
        brand_id=conversation.brand_id,
        conversation=conversation,
        agent=agent,
        kind=kind,
        at=at,
        hour_of_week=sla.hour_of_week(at, conversation.channel.timezone),
        seconds=seconds,
        business_seconds=business_seconds,
    )


@transaction.atomic
def do_process_inbound(
    event_ids: Sequence[int] | None = None, *, limit: int = ingest.BATCH
) -> ingest.IngestReport:
    """Turn stored inbound events into conversations and messages, exactly once each.

    Takes up to `limit` pending events (those of `event_ids`, or the oldest pending ones) and
    handles them as one batch in one transaction: dedupe, contacts, threading, reading
    (language, sentiment, flags), routing and round robin, SLA clocks, then one executemany per
    table; the events are marked processed in the same transaction. A failure anywhere rolls
    the whole batch back and leaves its events pending: the redelivered task or the beat sweep
    takes them again, so nothing is lost and nothing is stored twice. A message already stored
    (a replay) counts as a duplicate. One audit event per organisation and batch: ingestion is
    Greenroom's own act.
    """
    report = ingest.process(event_ids, limit)
    for org, counts in report.organizations:
        audit.record(
            InboxAction.INGESTED,
            actor=None,
            organization=org,
            after={**counts, "unreadable": report.unreadable},
        )
    return report


@transaction.atomic
def do_set_aside_event(event_id: int, *, error: str) -> bool:
    """An event that fails on its own (not a busy database: a payload that breaks processing)
    is kept aside as unreadable, so it does not hold up every batch after it."""
    event = InboundEvent.objects.filter(pk=event_id, processed_at__isnull=True).first()
    if event is None:
        return False
    UnreadableEvent.objects.get_or_create(event=event, defaults={"error": error[:500]})
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at"])
    audit.record(
        InboxAction.EVENT_SET_ASIDE,
        actor=None,
        organization=Organization(pk=event.organization_id),
        target=event,
        after={"error": error[:200]},
    )
    return True


def check_reply_text(conversation: Conversation, text: str) -> None:
    """Refuse an empty reply, or one over what the network allows for a reply of this kind of
    conversation (a comment reply, a mention reply or a DM: rule table, `reply_limit`)."""
    from greenroom.networks import rules
    from greenroom.networks import text as text_rules

    if not text.strip():
        raise ActionError(_("Write a reply first."))
    try:
        problems = text_rules.validate_reply(text, conversation.channel.kind, conversation.kind)
    except rules.UnknownNetwork:
        return
    if problems:
        raise ActionError(" ".join(problems))


def can_approve(user: User, conversation: Conversation) -> bool:
    """Whether `user` may let replies on the conversation's channel go out."""
    return Channel.objects.restrict(user, "approve").filter(pk=conversation.channel_id).exists()


def reply_waits(user: User, conversation: Conversation) -> bool:
    """Whether a reply `user` writes on the conversation waits for approval: routing required
    it, and the author does not approve on the channel, or the rule wants four eyes (an
    approver's own reply waits for someone else too)."""
    return conversation.requires_approval and (
        conversation.four_eyes or not can_approve(user, conversation)
    )


@transaction.atomic
def do_reply(
    conversation: Conversation,
    text: str,
    *,
    acting_user: User,
    handle_seconds: float | None = None,
) -> Message:
    """Answer a conversation through its channel's connector (after commit).

    When routing requires approval and the author may not approve on this channel (or the rule
    wants four eyes), the reply waits in the approval queue instead. `handle_seconds` is the
    time the agent spent writing. An unassigned conversation is assigned to whoever replies.
    """
    check_reply_text(conversation, text)
    waits = reply_waits(acting_user, conversation)
    parent = (
        conversation.messages.filter(direction=Direction.INBOUND)
        .order_by("-sent_at")
        .values_list("external_id", flat=True)
        .first()
    )
    seconds = None
    if handle_seconds is not None:
        seconds = max(0.0, min(float(handle_seconds), MAX_HANDLE_SECONDS))
    message = Message.objects.create(
        organization_id=conversation.organization_id,
        channel_id=conversation.channel_id,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        status=DeliveryStatus.AWAITING_APPROVAL if waits else DeliveryStatus.SENDING,
        author=acting_user,
        author_name=acting_user.name,
        text=text,
        in_reply_to=parent or "",
        handle_seconds=seconds,
    )
    if seconds is not None:
        _activity(
            conversation, ActivityKind.HANDLE, timezone.now(), agent=acting_user, seconds=seconds
        ).save()
    audit.record(
        InboxAction.REPLY_AWAITS_APPROVAL if waits else InboxAction.REPLY_QUEUED,
        actor=acting_user,
        organization=conversation.organization,
        target=message,
        after={"conversation": conversation.pk, "chars": len(text)},
    )
    if waits:
        # The approvers hear of it once it is stored (robust: a broker that is down costs the
        # notice, never the reply, which waits on the approvals page either way).
        from greenroom.inbox.tasks import notify_reply_waiting

        message_id = message.pk
        transaction.on_commit(lambda: notify_reply_waiting.delay(message_id), robust=True)
    else:
        send_after_commit(message.pk)
    if conversation.assignee_id is None:
        # Whoever answers an unassigned conversation takes it: the next message from the
        # customer comes back to them, and nobody else picks it up meanwhile.
        do_assign([conversation], acting_user, acting_user=acting_user)
    return message


@transaction.atomic
def do_approve_reply(message: Message, *, acting_user: User) -> Message:
    """Let a reply that waited for approval go out."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status != DeliveryStatus.AWAITING_APPROVAL:
        raise ActionError(_("This reply is not waiting for approval any more."))
    if not can_approve(acting_user, message.conversation):
        raise ActionError(_("You may not approve replies on this channel."))
    if message.author_id == acting_user.pk:
        raise ActionError(
            _("Nobody approves their own reply: a colleague who approves on this channel does.")
        )
    message.status = DeliveryStatus.SENDING
    message.approved_by = acting_user
    message.save(update_fields=["status", "approved_by"])
    audit.record(
        InboxAction.REPLY_APPROVED,
        actor=acting_user,
        organization=message.conversation.organization,
        target=message,
    )
    send_after_commit(message.pk)
    return message


@transaction.atomic
def do_reject_reply(message: Message, *, reason: str, acting_user: User) -> Message:
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status != DeliveryStatus.AWAITING_APPROVAL:
        raise ActionError(_("This reply is not waiting for approval any more."))
    if not can_approve(acting_user, message.conversation):
        raise ActionError(_("You may not approve replies on this channel."))
    message.status = DeliveryStatus.REJECTED
    message.error = reason[:500]
    message.approved_by = acting_user
    message.save(update_fields=["status", "error", "approved_by"])
    audit.record(
        InboxAction.REPLY_REJECTED,
        actor=acting_user,
        organization=message.conversation.organization,
        target=message,
        after={"reason": reason[:200]},
    )
    from greenroom.inbox.tasks import notify_reply_returned

    message_id = message.pk
    transaction.on_commit(lambda: notify_reply_returned.delay(message_id), robust=True)
    return message


@transaction.atomic
def do_mark_reply_sent(
    message: Message, *, external_id: str, sent_at: datetime | None = None
) -> Message:
    """The network accepted a reply: stop the response clock and record the response time."""
    message = Message.objects.select_for_update().select_related("conversation").get(pk=message.pk)
    if message.status == DeliveryStatus.SENT:
        return message
    now = sent_at or timezone.now()
    conversation = Conversation.objects.select_related("channel", "organization").get(
        pk=message.conversation_id
    )
    message.status = DeliveryStatus.SENT
    message.external_id = external_id[:200]
    message.sent_at = now
    message.error = ""
    try:
        with transaction.atomic():
            message.save(update_fields=["status", "external_id", "sent_at", "error"])
    except IntegrityError:
        # The network gave an id we already hold (an inbound echo of our own reply).
        message.external_id = ""
        message.save(update_fields=["status", "external_id", "sent_at", "error"])
    policy, calendar = policy_and_calendar(conversation)
    rows = [_activity(conversation, ActivityKind.MESSAGE_OUT, now, agent=message.author)]
    if conversation.waiting_since is not None:
        waited = (now - conversation.waiting_since).total_seconds()
        business = sla.business_time_between(conversation.waiting_since, now, calendar)
        first = conversation.first_response_at is None
        rows.append(
            _activity(
                conversation,
                ActivityKind.FIRST_RESPONSE if first else ActivityKind.RESPONSE,
                now,
                agent=message.author,
                seconds=max(0.0, waited),
                business_seconds=business.total_seconds(),
            )
        )
        if first:
            conversation.first_response_at = now
    InboxActivity.objects.bulk_create(rows)
    conversation.waiting_since = None
    conversation.first_response_due_at = None
    conversation.next_response_due_at = None
    conversation.messages_out += 1
    conversation.last_message_at = max(conversation.last_message_at, now)
    if conversation.status == ConversationStatus.OPEN:
        conversation.status = ConversationStatus.PENDING
    refresh_summary(conversation, policy, calendar)
    conversation.save()
    audit.record(
        InboxAction.REPLY_SENT,
        actor=None,
        organization=conversation.organization,
        target=message,
        after={"external_id": message.external_id},
    )
    return message


@transaction.atomic
def do_mark_reply_failed(message: Message, *, error: str) -> Message:
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status == DeliveryStatus.SENT:
        return message
    message.status = DeliveryStatus.FAILED
    message.error = error[:500]
    message.save(update_fields=["status", "error"])
    audit.record(
        InboxAction.REPLY_FAILED,
        actor=None,
        organization=message.conversation.organization,
        target=message,
        after={"error": error[:200]},
    )
    return message


_MENTION = re.compile(r"(?<![\w@])@([\w.\-]+)")


@transaction.atomic
def do_add_note(conversation: Conversation, text: str, *, acting_user: User) -> Message:
    """An internal note (never sent to the network); @username mentions colleagues, who are
    told after commit (`tasks.notify_mentions`)."""
    if not text.strip():
        raise ActionError(_("Write a note first."))
    names = {m.lower() for m in _MENTION.findall(text)}
    mentioned = list(
        User.objects.filter(
            memberships__organization_id=conversation.organization_id,
            memberships__is_active=True,
        )
        .filter(username__in=list(names))
        .values_list("pk", flat=True)
    )
    note = Message.objects.create(
        organization_id=conversation.organization_id,
        channel_id=conversation.channel_id,
        conversation=conversation,
        direction=Direction.NOTE,
        status=DeliveryStatus.SENT,
        author=acting_user,
        author_name=acting_user.name,
        text=text,
        mentions=mentioned,
    )
    audit.record(
        InboxAction.NOTE_ADDED,
        actor=acting_user,
        organization=conversation.organization,
        target=note,
        after={"conversation": conversation.pk, "mentions": mentioned},
    )
    if mentioned:
        from greenroom.inbox.tasks import notify_mentions

        note_id = note.pk
        transaction.on_commit(lambda: notify_mentions.delay(note_id), robust=True)
    return note


# --- Working the queue ---------------------------------------------------------------------------


def _each(conversations: Iterable[Conversation], acting_user: User | None) -> list[Conversation]:
    """The conversations an action changes, refused as a whole when the person does not engage
    on one of their channels (None: Greenroom itself); read again and locked (see _fresh)."""
    found = list(conversations)
    if acting_user is not None and found:
        wanted = {c.channel_id for c in found}
        allowed = set(
            Channel.objects.restrict(acting_user, "engage")
            .filter(pk__in=wanted)
            .values_list("pk", flat=True)
        )
        if wanted - allowed:
            raise NotAllowed(_("You cannot work on this channel's conversations."))
    _fresh(found)
    return found


def _fresh(conversations: Sequence[Conversation]) -> None:
    """Read the conversations again, in place, locked until the action commits.

    The caller read them before the action's transaction began, and a message may have landed
    since: it moved the counters, the preview and the response clock. An action that saved the
    earlier copy would put those back and lose the message's clock. Locked (PostgreSQL; SQLite's
    write transaction already excludes other writers), so ingestion waits for the action and the
    action for a batch that holds them. Rows are locked in id order, as ingestion locks them.
    """
    if not conversations:
        return
    ids = sorted({c.pk for c in conversations})
    locked = Conversation.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    if len(list(locked.values_list("pk", flat=True))) < len(ids):
        # An early reply's conversation is merged into its parent's thread when the parent
        # arrives, and is gone: the person acted on what they saw a moment ago.
        raise ActionError(
            _("A conversation you chose was merged into another one meanwhile; open it again.")
        )
    for conversation in conversations:
        conversation.refresh_from_db()


@transaction.atomic
def do_assign(
    conversations: Iterable[Conversation], assignee: User | None, *, acting_user: User
) -> int:
    """Give conversations to a person (None: back to the unassigned queue). Whoever had them
    has room again: waiting conversations of their teams are handed out. A person given
    conversations by someone else is told (notify_assigned), once, for all of them."""
    count = 0
    freed: dict[int, set[int]] = {}
    moved: list[int] = []
    given: list[int] = []  # newly the assignee's
    for conversation in _each(conversations, acting_user):
        if assignee is not None and not (
            Channel.objects.restrict(assignee, "engage").filter(pk=conversation.channel_id).exists()
        ):
            raise ActionError(
                _("%(person)s cannot answer on %(channel)s.")
                % {"person": assignee, "channel": conversation.channel.name}
            )
        before = {"assignee": conversation.assignee_id}
        if conversation.assignee_id is not None and conversation.assignee_id != (
            assignee.pk if assignee else None
        ):
            freed.setdefault(conversation.organization_id, set()).add(conversation.assignee_id)
        moved.append(conversation.pk)
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee"])
        audit.record(
            InboxAction.ASSIGNED,
            actor=acting_user,
            organization=conversation.organization,
            target=conversation,
            before=before,
            after={"assignee": assignee.pk if assignee else None},
        )
        count += 1
        if assignee is not None and before["assignee"] != assignee.pk:
            given.append(conversation.pk)
    handout.hand_out_freed(freed, exclude=moved)
    if given and assignee is not None and assignee.pk != acting_user.pk:
        # A colleague's hand-over is announced once it is stored (robust: a broker that is
        # down costs the notice, never the assignment).
        from greenroom.inbox.tasks import notify_assigned

        to, by = assignee.pk, acting_user.pk
        transaction.on_commit(lambda: notify_assigned.delay(to, given, by), robust=True)
    return count


@transaction.atomic
def do_set_team(
    conversations: Iterable[Conversation], team: Team | None, *, acting_user: User
) -> int:
    count = 0
    for conversation in _each(conversations, acting_user):
        if team is not None and team.organization_id != conversation.organization_id:
            raise ActionError(_("The team belongs to another organisation."))
        before = {"team": conversation.team_id}
        conversation.team = team
        conversation.save(update_fields=["team"])
        audit.record(
            InboxAction.TEAM_SET,
            actor=acting_user,
            organization=conversation.organization,
            target=conversation,
            before=before,
            after={"team": team.pk if team else None},
        )
        count += 1
    return count


def clean_tag(tag: str) -> str:
    return re.sub(r"\s+", "-", tag.strip().lower())[:40]


@transaction.atomic
def do_tag(
    conversations: Iterable[Conversation],
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    acting_user: User,
) -> int:
    adding = [t for t in (clean_tag(x) for x in add) if t]
    removing = {clean_tag(x) for x in remove}
    count = 0
    for conversation in _each(conversations, acting_user):
        before = list(conversation.tags)
        tags = [t for t in conversation.tags if t not in removing]
        conversation.tags = list(dict.fromkeys([*tags, *adding]))
        conversation.save(update_fields=["tags"])
        audit.record(
            InboxAction.TAGGED,
            actor=acting_user,
            organization=conversation.organization,
            target=conversation,
            before={"tags": before},
            after={"tags": conversation.tags},
        )
        count += 1
    return count


@transaction.atomic
def do_set_priority(
    conversations: Iterable[Conversation], priority: str, *, acting_user: User
) -> int:
    if priority not in Priority.values:
        raise ActionError(_("Unknown priority %(priority)r.") % {"priority": priority})
    count = 0
    for conversation in _each(conversations, acting_user):
        if conversation.priority == priority:
            continue
        before = {"priority": conversation.priority}
        conversation.priority = priority
        # A different priority may fall under a different SLA policy: re-time running clocks.
        conversation.sla_policy = None
        policy, calendar = policy_and_calendar(conversation)
        if conversation.waiting_since is not None:
            conversation.first_response_due_at = None
            conversation.next_response_due_at = None
            start_response_clock(conversation, policy, calendar, conversation.waiting_since)
        conversation.save()
        audit.record(
            InboxAction.PRIORITY_SET,
            actor=acting_user,
            organization=conversation.organization,
            target=conversation,
            before=before,
            after={"priority": priority},
        )
        count += 1
    return count


@transaction.atomic
def do_close(conversations: Iterable[Conversation], *, acting_user: User | None) -> int:
    """Resolve conversations: clocks stop and the resolution time is recorded."""
    now = timezone.now()
    count = 0
    freed: dict[int, set[int]] = {}
    for conversation in _each(conversations, acting_user):
        if conversation.status == ConversationStatus.CLOSED:
            continue
        if conversation.assignee_id is not None:
            freed.setdefault(conversation.organization_id, set()).add(conversation.assignee_id)
        _policy, calendar = policy_and_calendar(conversation)
        conversation.status = ConversationStatus.CLOSED
        conversation.closed_at = now
        conversation.snoozed_until = None
        conversation.waiting_since = None
        conversation.first_response_due_at = None
        conversation.next_response_due_at = None
        conversation.resolution_due_at = None
        conversation.sla_due_at = conversation.sla_warn_at = None
        conversation.save()
        _activity(
            conversation,
            ActivityKind.RESOLUTION,
            now,
            agent=acting_user,
            seconds=(now - conversation.created_at).total_seconds(),
            business_seconds=sla.business_time_between(
                conversation.created_at, now, calendar
            ).total_seconds(),
        ).save()
        audit.record(
            InboxAction.CLOSED,
            actor=acting_user,
            organization=conversation.organization,
            target=conversation,
        )
        count += 1
    handout.hand_out_freed(freed)
    return count


@transaction.atomic
def do_reopen(conversation: Conversation, *, acting_user: User) -> Conversation:
    """A closed conversation opens again; a snoozed one wakes now instead of at its time."""
    _each([conversation], acting_user)
    if conversation.status not in (ConversationStatus.CLOSED, ConversationStatus.SNOOZED):
        return conversation
    conversation.status = ConversationStatus.OPEN
    conversation.closed_at = None
    conversation.snoozed_until = None
    conversation.save(update_fields=["status", "closed_at", "snoozed_until"])
    audit.record(
        InboxAction.REOPENED,
        actor=acting_user,
        organization=conversation.organization,
        target=conversation,
    )
    return conversation


@transaction.atomic
def do_snooze(conversations: Iterable[Conversation], until: datetime, *, acting_user: User) -> int:
    """Put conversations aside until a time; they come back open then. SLA clocks keep running:
    the customer is still waiting."""
    if until <= timezone.now():
        raise ActionError(_("Snooze until a time in the future."))
    chosen = _each(conversations, acting_user)
    if any(c.status == ConversationStatus.CLOSED for c in chosen):
        raise ActionError(_("A closed conversation cannot be snoozed; reopen it first."))
    count = 0
    for conversation in chosen:
        conversation.status = ConversationStatus.SNOOZED
        conversation.snoozed_until = until
        conversation.save(update_fields=["status", "snoozed_until"])
        audit.record(
            InboxAction.SNOOZED,
            actor=acting_user,
            organization=conversation.organization,
            target=conversation,
            after={"until": until.isoformat()},
        )
        count += 1
    return count


@transaction.atomic
def do_wake_snoozed(now: datetime | None = None) -> int:
    """Snoozed conversations whose time has come go back to open (beat runs this)."""
    moment = now or timezone.now()
    due = list(
        Conversation.objects.filter(
            status=ConversationStatus.SNOOZED, snoozed_until__lte=moment
        ).select_related("organization")[:1000]
    )
    for conversation in due:
        conversation.status = ConversationStatus.OPEN
        conversation.snoozed_until = None
        conversation.save(update_fields=["status", "snoozed_until"])
        audit.record(
            InboxAction.WOKEN,
            actor=None,
            organization=conversation.organization,
            target=conversation,
        )
    return len(due)


@transaction.atomic
def do_hide_message(message: Message, *, acting_user: User) -> Message:
    """Hide a comment or mention from the public on the network (after commit, through the
    connector). Marked hidden now; if the network refuses, the mark is taken back and the page
    says why (`do_mark_hide_failed`). Needs engage on the channel."""
    if not Channel.objects.restrict(acting_user, "engage").filter(pk=message.channel_id).exists():
        raise ActionError(_("You cannot work on this channel's conversations."))
    if message.direction != Direction.INBOUND:
        raise ActionError(_("Only messages people sent can be hidden."))
    if message.conversation.kind == ConversationKind.DM:
        raise ActionError(_("Direct messages cannot be hidden; only comments and mentions."))
    if message.hidden_at is None:
        message.hidden_at = timezone.now()
        message.error = ""
        message.save(update_fields=["hidden_at", "error"])
        audit.record(
            InboxAction.HIDDEN,
            actor=acting_user,
            organization=message.conversation.organization,
            target=message,
        )
        from greenroom.inbox.tasks import hide_message

        message_id, language = message.pk, acting_user.language
        transaction.on_commit(lambda: hide_message.delay(message_id, language))
    return message


@transaction.atomic
def do_delete_message(message: Message, *, acting_user: User) -> Message:
    """Delete someone's comment from the network (after commit, through the connector).

    The message stays here, marked deleted, and the audit event keeps its text: what was said
    and who removed it remain on record. Needs engage on the channel."""
    if not Channel.objects.restrict(acting_user, "engage").filter(pk=message.channel_id).exists():
        raise ActionError(_("You cannot work on this channel's conversations."))
    if message.direction != Direction.INBOUND:
        raise ActionError(_("Only comments people sent can be deleted."))
    if message.conversation.kind == ConversationKind.DM:
        raise ActionError(_("Direct messages cannot be deleted; only comments."))
    if message.deleted_at is not None:
        return message
    message.deleted_at = timezone.now()
    message.error = ""
    message.save(update_fields=["deleted_at", "error"])
    audit.record(
        InboxAction.DELETED,
        actor=acting_user,
        organization=message.conversation.organization,
        target=message,
        before={
            "text": message.text,
            "author_handle": message.author_handle,
            "external_id": message.external_id,
        },
        after={"deleted_at": message.deleted_at.isoformat()},
    )
    from greenroom.inbox.tasks import delete_message

    message_id, language = message.pk, acting_user.language
    transaction.on_commit(lambda: delete_message.delay(message_id, language))
    return message


def do_mark_delete_failed(message: Message, *, error: str) -> Message:
    """The network refused to delete the comment: it is still there, and the page says why."""
    return _network_refused(message, "deleted_at", InboxAction.DELETE_FAILED, error)


def do_mark_hide_failed(message: Message, *, error: str) -> Message:
    """The network refused to hide the comment: it is still public, and the page says why."""
    return _network_refused(message, "hidden_at", InboxAction.HIDE_FAILED, error)


@transaction.atomic
def _network_refused(message: Message, mark: str, action: str, error: str) -> Message:
    """Take back the mark set when the change was asked for, and keep the network's reason."""
    setattr(message, mark, None)
    message.error = error[:500]
    message.save(update_fields=[mark, "error"])
    audit.record(
        action,
        actor=None,
        organization=Organization(pk=message.organization_id),
        target=message,
        after={"error": message.error},
    )
    return message


CONTACT_FIELDS = ("is_vip", "is_customer", "notes")


@transaction.atomic
def do_update_contact(
    contact: Contact,
    *,
    acting_user: User,
    is_vip: bool | None = None,
    is_customer: bool | None = None,
    notes: str | None = None,
) -> Contact:
    """Mark a person VIP or a known customer (routing rules match on both), or note something
    about them. Needs engage on a channel they wrote on: seeing a contact is not enough."""
    if not (
        Conversation.objects.restrict(acting_user, "engage")
        .filter(organization_id=contact.organization_id, contact=contact)
        .exists()
    ):
        raise NotAllowed(
            _(
                "You may see this contact but not change it: that needs the “Engage” "
                "permission on a channel they wrote on."
            )
        )
    before = audit.snapshot(contact, CONTACT_FIELDS)
    if is_vip is not None:
        contact.is_vip = is_vip
    if is_customer is not None:
        contact.is_customer = is_customer
    if notes is not None:
        contact.notes = notes
    # Only what this action sets: the copy was read before it, and messages landing meanwhile
    # move the person's count, name and last-seen time.
    contact.save(update_fields=CONTACT_FIELDS)
    audit.record(
        InboxAction.CONTACT_UPDATED,
        actor=acting_user,
        organization=Organization(pk=contact.organization_id),
        target=contact,
        before=before,
        after=audit.snapshot(contact, CONTACT_FIELDS),
    )
    return contact


# --- SLA sweep ---------------------------------------------------------------------------------


def _running_clock(conversation: Conversation) -> str:
    pairs = [
        (conversation.first_response_due_at, SlaClock.FIRST_RESPONSE),
        (conversation.next_response_due_at, SlaClock.NEXT_RESPONSE),
        (conversation.resolution_due_at, SlaClock.RESOLUTION),
    ]
    running = [(due, clock) for due, clock in pairs if due is not None]
    return str(min(running)[1]) if running else str(SlaClock.FIRST_RESPONSE)


@transaction.atomic
def do_check_sla(now: datetime | None = None, *, limit: int = 1000) -> list[int]:
    """Record warnings and breaches that came due, once each. Returns the ids of the SlaEvents
    created; the sweep (`tasks.check_sla`) tells the readers about the breaches, one digest
    each, after this commits."""
    moment = now or timezone.now()
    created: list[int] = []
    # Only conversations whose current level is not recorded yet: the ones already recorded
    # would otherwise fill every sweep's `limit` and hide the newer ones for good.
    recorded = SlaEvent.objects.filter(
        conversation_id=OuterRef("pk"), due_at=OuterRef("sla_due_at")
    )
    candidates = (
        Conversation.objects.filter(status__in=OPEN_STATUSES, sla_warn_at__lte=moment)
        .alias(
            breach_recorded=Exists(recorded.filter(level=SlaLevel.BREACH)),
            warning_recorded=Exists(recorded.filter(level=SlaLevel.WARNING)),
        )
        .filter(
            Q(sla_due_at__lte=moment, breach_recorded=False)
            | Q(sla_due_at__gt=moment, warning_recorded=False)
        )
        .select_related("organization", "channel", "team")
        .order_by("sla_warn_at")[:limit]
    )
    for conversation in candidates:
        assert conversation.sla_due_at is not None
        level = SlaLevel.BREACH if conversation.sla_due_at <= moment else SlaLevel.WARNING
        clock = _running_clock(conversation)
        event, made = SlaEvent.objects.get_or_create(
            conversation=conversation,
            clock=clock,
            level=level,
            due_at=conversation.sla_due_at,
            defaults={"organization_id": conversation.organization_id, "created_at": moment},
        )
        if not made:
            continue
        created.append(event.pk)
        if level == SlaLevel.BREACH:
            conversation.sla_breached = True
            conversation.save(update_fields=["sla_breached"])
            _activity(conversation, ActivityKind.BREACH, conversation.sla_due_at).save()
        audit.record(
            InboxAction.SLA_BREACH if level == SlaLevel.BREACH else InboxAction.SLA_WARNING,
            actor=None,
            organization=conversation.organization,
            target=conversation,
            after={"clock": clock, "due_at": conversation.sla_due_at.isoformat()},
        )
    return created


@transaction.atomic
def do_record_escalation(event: SlaEvent, delivered: list[str]) -> SlaEvent:
    event.notified = delivered
    event.save(update_fields=["notified"])
    return event


# --- Configuration -----------------------------------------------------------------------------


def _check_org(org: Organization, *objs: models.Model | None) -> None:
    for obj in objs:
        if obj is None:
            continue
        org_id = getattr(obj, "organization_id", None)
        if org_id is not None and org_id != org.pk:
            raise ActionError(_("%(thing)s belongs to another organisation.") % {"thing": obj})


class NotAllowed(ActionError):
    """The acting person's role does not allow this change."""


def _require_manage_org(org_id: int, acting_user: User) -> None:
    """Business hours, SLA policies, routing rules and saved replies apply to the whole
    organisation: changing them needs manage_org (owners and admins), in the pages and the API
    alike."""
    if not Access.of(acting_user).has_org_perm(org_id, "manage_org"):
        raise NotAllowed(
            _(
                "Changing the inbox's business hours, SLA policies, routing rules and saved "
                "replies needs the manage organisation permission (owners and admins)."
            )
        )


POLICY_FIELDS = (
    "name",
    "brand",
    "channel",
    "priority",
    "kind",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "business_hours",
    "warn_at_share",
    "is_active",
)


@transaction.atomic
def do_save_sla_policy(
    org: Organization,
    *,
    policy: SlaPolicy | None = None,
    acting_user: User,
    **values: Any,
) -> SlaPolicy:
    """Create or change an SLA policy. Running clocks keep their due times; new ones use it."""
    _require_manage_org(org.pk, acting_user)
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ActionError(f"Unknown SLA policy fields: {sorted(unknown)}")
    target = policy or SlaPolicy(organization=org)
    before = audit.snapshot(target, POLICY_FIELDS) if policy else None
    for key, value in values.items():
        setattr(target, key, value)
    _check_org(org, target.brand, target.channel, target.business_hours)
    if not 0 < target.warn_at_share <= 1:
        raise ActionError(_("Warn at a share between 0 and 1 of the target (e.g. 0.75)."))
    if target.first_response_minutes < 1:
        raise ActionError(_("The first response target must be at least a minute."))
    target.save()
    audit.record(
        InboxAction.POLICY_SAVED,
        actor=acting_user,
        organization=org,
        target=target,
        before=before,
        after=audit.snapshot(target, POLICY_FIELDS),
    )
    return target


@transaction.atomic
def do_delete_sla_policy(policy: SlaPolicy, *, acting_user: User) -> None:
    _require_manage_org(policy.organization_id, acting_user)
    audit.record(
        InboxAction.POLICY_DELETED,
        actor=acting_user,
        organization=Organization(pk=policy.organization_id),
        target=policy,
        before=audit.snapshot(policy, POLICY_FIELDS),
    )
    policy.delete()


@transaction.atomic
def do_save_business_hours(
    org: Organization,
    *,
    name: str,
    weekly: list[list[list[str]]],
    holidays: list[str],
    timezone_name: str = "",
    holiday_names: dict[str, str] | None = None,
    hours: BusinessHours | None = None,
    acting_user: User,
) -> BusinessHours:
    """Create or change opening hours (checked: seven days, valid times, real dates)."""
    _require_manage_org(org.pk, acting_user)
    try:
        sla.calendar_from(timezone_name or "UTC", weekly, holidays)
    except sla.CalendarError as exc:
        raise ActionError(str(exc)) from exc
    if hours is not None and hours.organization_id != org.pk:
        raise ActionError(_("%(thing)s belongs to another organisation.") % {"thing": hours})
    fields = ("name", "timezone", "weekly", "holidays", "holiday_names")
    before = audit.snapshot(hours, fields) if hours is not None else None
    target = hours or BusinessHours(organization=org)
    target.name, target.weekly, target.holidays = name, weekly, holidays
    target.timezone = timezone_name
    target.holiday_names = {d: n for d, n in (holiday_names or {}).items() if d in holidays}
    target.save()
    audit.record(
        InboxAction.HOURS_SAVED,
        actor=acting_user,
        organization=org,
        target=target,
        before=before,
        after={"name": name, "timezone": timezone_name, "holidays": len(holidays)},
    )
    return target


@transaction.atomic
def do_delete_business_hours(hours: BusinessHours, *, acting_user: User) -> None:
    """Delete opening hours. Policies that used them count around the clock from then on (their
    running clocks keep the due times they have)."""
    _require_manage_org(hours.organization_id, acting_user)
    users = list(SlaPolicy.objects.filter(business_hours=hours).values_list("name", flat=True))
    audit.record(
        InboxAction.HOURS_DELETED,
        actor=acting_user,
        organization=Organization(pk=hours.organization_id),
        target=hours,
        before={"name": hours.name, "timezone": hours.timezone, "policies": users},
    )
    hours.delete()


RULE_FIELDS = (
    "name",
    "position",
    "is_active",
    "channel",
    "brand",
    "network",
    "kind",
    "language",
    "sentiment",
    "keywords",
    "author_is_vip",
    "author_is_customer",
    "set_team",
    "set_assignee",
    "set_priority",
    "add_tags",
    "auto_reply",
    "require_approval",
    "four_eyes",
    "stop",
)


@transaction.atomic
def do_save_routing_rule(
    org: Organization, *, rule: RoutingRule | None = None, acting_user: User, **values: Any
) -> RoutingRule:
    _require_manage_org(org.pk, acting_user)
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ActionError(f"Unknown routing rule fields: {sorted(unknown)}")
    target = rule or RoutingRule(organization=org)
    before = audit.snapshot(target, RULE_FIELDS) if rule else None
    for key, value in values.items():
        setattr(target, key, value)
    if "add_tags" in values:
        target.add_tags = [clean_tag(t) for t in values["add_tags"] or [] if clean_tag(t)]
    _check_org(org, target.channel, target.brand, target.set_team, target.auto_reply)
    assignee = target.set_assignee
    if (
        assignee is not None
        and not assignee.memberships.filter(organization=org, is_active=True).exists()
    ):
        raise ActionError(
            _("%(person)s is not a member of this organisation.") % {"person": assignee}
        )
    if target.set_priority and target.set_priority not in Priority.values:
        raise ActionError(_("Unknown priority %(priority)r.") % {"priority": target.set_priority})
    if target.four_eyes and not target.require_approval:
        raise ActionError(
            _("Four eyes applies to replies that need approval: tick “Replies need approval” too.")
        )
    target.save()
    audit.record(
        InboxAction.RULE_SAVED,
        actor=acting_user,
        organization=org,
        target=target,
        before=before,
        after=audit.snapshot(target, RULE_FIELDS),
    )
    return target


@transaction.atomic
def do_delete_routing_rule(rule: RoutingRule, *, acting_user: User) -> None:
    _require_manage_org(rule.organization_id, acting_user)
    audit.record(
        InboxAction.RULE_DELETED,
        actor=acting_user,
        organization=Organization(pk=rule.organization_id),
        target=rule,
        before=audit.snapshot(rule, RULE_FIELDS),
    )
    rule.delete()


@transaction.atomic
def do_save_saved_reply(
    org: Organization,
    *,
    title: str,
    body: str,
    brand: Brand | None = None,
    language: str = "",
    is_active: bool | None = None,
    saved: SavedReply | None = None,
    acting_user: User,
) -> SavedReply:
    """Create or change a saved reply; `is_active` None leaves it as it is (a new one is on).
    One that is off stays (rules may name it) but is not offered to agents, and a rule's
    automatic reply with it sends nothing."""
    _require_manage_org(org.pk, acting_user)
    if not title.strip() or not body.strip():
        raise ActionError(_("A saved reply needs a title and a text."))
    _check_org(org, brand)
    target = saved or SavedReply(organization=org)
    fields = ("title", "body", "brand_id", "language", "is_active")
    before = audit.snapshot(target, fields) if saved else None
    target.title, target.body, target.brand, target.language = title, body, brand, language
    if is_active is not None:
        target.is_active = is_active
    target.save()
    audit.record(
        InboxAction.SAVED_REPLY_SAVED,
        actor=acting_user,
        organization=org,
        target=target,
        before=before,
        after=audit.snapshot(target, fields),
    )
    return target


@transaction.atomic
def do_delete_saved_reply(saved: SavedReply, *, acting_user: User) -> None:
    _require_manage_org(saved.organization_id, acting_user)
    audit.record(
        InboxAction.SAVED_REPLY_DELETED,
        actor=acting_user,
        organization=Organization(pk=saved.organization_id),
        target=saved,
        before={"title": saved.title},
    )
    saved.delete()


@transaction.atomic
def do_set_agent(
    org: Organization,
    user: User,
    *,
    status: str | None = None,
    capacity: int | None = None,
    acting_user: User,
) -> AgentProfile:
    """An agent goes on shift or away, or changes how many conversations they take at once.
    Anyone may set their own; someone else's needs manage_members in the organisation."""
    if user.pk != acting_user.pk and not Access.of(acting_user).has_org_perm(
        org.pk, "manage_members"
    ):
        raise NotAllowed(_("Only people who manage members set someone else's availability."))
    if not user.memberships.filter(organization=org, is_active=True).exists():
        raise ActionError(_("%(person)s is not a member of this organisation.") % {"person": user})
    profile, _created = AgentProfile.objects.get_or_create(organization=org, user=user)
    before = audit.snapshot(profile, ("status", "capacity"))
    if status is not None:
        if status not in AgentStatus.values:
            raise ActionError(_("Unknown status %(status)r.") % {"status": status})
        profile.status = status
    if capacity is not None:
        if capacity < 0 or capacity > 1000:
            raise ActionError(_("Capacity is a number of conversations from 0 to 1000."))
        profile.capacity = capacity
    # Not the round-robin time, which a batch may move meanwhile (PostgreSQL).
    profile.save(update_fields=["status", "capacity"])
    audit.record(
        InboxAction.AGENT_UPDATED,
        actor=acting_user,
        organization=org,
        target=profile,
        before=before,
        after=audit.snapshot(profile, ("status", "capacity")),
    )
    if profile.status == AgentStatus.ON_SHIFT:
        # Back on shift or more room: take what waited while nobody could.
        handout.do_hand_out_waiting(org, team_ids=handout.teams_of(org, [user.pk]))
    return profile


@transaction.atomic
def do_set_notify_url(
    org: Organization, user: User, *, url: str, acting_user: User
) -> AgentProfile:
    """Where this person hears about escalations (an apprise URL: it may hold a token, so it
    lives in the vault)."""
    import apprise

    if not apprise.Apprise().add(url):
        raise ActionError(_("Apprise does not understand this notification URL."))
    profile, _created = AgentProfile.objects.get_or_create(organization=org, user=user)
    profile.notify_secret = do_store_secret(
        org,
        name=f"inbox:notify:{user.pk}",
        value=url,
        hint=vault.hint_for(url),
        acting_user=acting_user,
    )
    profile.save(update_fields=["notify_secret"])
    return profile


def open_statuses() -> Q:
    return Q(status__in=OPEN_STATUSES)
