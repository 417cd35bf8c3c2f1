"""Every write to the inbox goes through these functions.

Each runs in one transaction and writes its audit event there; side effects (sending a reply
through the connector, hiding a comment, escalating a breach) run after commit as Celery tasks.
`acting_user=None` means Greenroom itself (ingestion, routing, the SLA sweep).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from greenroom.core import audit, vault
from greenroom.core.actions import ActionError, do_store_secret
from greenroom.core.models import Brand, Channel, Organization, Team, User
from greenroom.inbox import routing, sla, understanding
from greenroom.inbox.models import (
    PRIORITY_RANK,
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
from greenroom.networks.models import InboundEvent

DEFAULT_FIRST_RESPONSE = timedelta(hours=24)
OPEN_STATUSES = (ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.SNOOZED)
# Past this, a measured handle time is someone who left the composer open over lunch.
MAX_HANDLE_SECONDS = 2 * 3600.0
PREVIEW_CHARS = 200


class InboxAction(models.TextChoices):
    INGESTED = "inbox.ingested"
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
    SLA_WARNING = "inbox.sla_warning"
    SLA_BREACH = "inbox.sla_breach"
    CONTACT_UPDATED = "inbox.contact_updated"
    POLICY_SAVED = "inbox.sla_policy_saved"
    POLICY_DELETED = "inbox.sla_policy_deleted"
    HOURS_SAVED = "inbox.business_hours_saved"
    RULE_SAVED = "inbox.rule_saved"
    RULE_DELETED = "inbox.rule_deleted"
    SAVED_REPLY_SAVED = "inbox.saved_reply_saved"
    SAVED_REPLY_DELETED = "inbox.saved_reply_deleted"
    AGENT_UPDATED = "inbox.agent_updated"


# --- Reading what networks sent ----------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """One inbound event's payload, read."""

    external_id: str
    kind: str
    text: str
    author_handle: str
    author_name: str
    sent_at: datetime
    in_reply_to: str
    thread_id: str
    attachments: list[Any]


class UnreadablePayload(ValueError):
    pass


def read_payload(event: InboundEvent) -> Incoming:
    """The fields the inbox needs from an event's payload.

    Payloads follow the shape connectors deliver (the sandbox's item JSON: id, kind, text,
    author.handle/name, created_at, in_reply_to, thread_id, media); a network whose raw JSON
    differs adds its reader to PAYLOAD_READERS.
    """
    reader = PAYLOAD_READERS.get(event.channel.kind, _read_item_json)
    return reader(event)


def _read_item_json(event: InboundEvent) -> Incoming:
    raw = event.payload
    if not isinstance(raw, dict):
        raise UnreadablePayload("the payload is not an object")
    author = raw.get("author") if isinstance(raw.get("author"), dict) else {}
    assert isinstance(author, dict)
    text = raw.get("text")
    handle = author.get("handle") or raw.get("author_handle")
    if not isinstance(text, str) or not isinstance(handle, str) or not handle:
        raise UnreadablePayload("the payload has no text or no author handle")
    created = parse_datetime(str(raw.get("created_at") or ""))
    if created is None or created.tzinfo is None:
        created = event.received_at
    media = raw.get("media") or raw.get("attachments") or []
    return Incoming(
        external_id=event.external_id,
        kind=event.kind,
        text=text,
        author_handle=handle[:200],
        author_name=str(author.get("name") or "")[:200],
        sent_at=min(created, event.received_at),
        in_reply_to=str(raw.get("in_reply_to") or "")[:200],
        thread_id=str(raw.get("thread_id") or "")[:200],
        attachments=media if isinstance(media, list) else [],
    )


PAYLOAD_READERS: dict[str, Callable[[InboundEvent], Incoming]] = {}


# --- SLA policies ------------------------------------------------------------------------------


def default_policy(org: Organization) -> SlaPolicy:
    """What applies when no policy matches: first response within 24 hours, around the clock."""
    return SlaPolicy(
        organization=org,
        name=_("Default: first response within 24 hours"),
        first_response_minutes=int(DEFAULT_FIRST_RESPONSE.total_seconds() // 60),
    )


def select_policy(policies: Sequence[SlaPolicy], conversation: Conversation) -> SlaPolicy | None:
    """The most specific active policy matching the conversation (channel > brand > priority >
    kind), or None."""
    best: tuple[int, int] | None = None
    chosen: SlaPolicy | None = None
    for policy in policies:
        if not policy.is_active:
            continue
        if policy.channel_id is not None and policy.channel_id != conversation.channel_id:
            continue
        if policy.brand_id is not None and policy.brand_id != conversation.brand_id:
            continue
        if policy.priority and policy.priority != conversation.priority:
            continue
        if policy.kind and policy.kind != conversation.kind:
            continue
        rank = (
            8 * (policy.channel_id is not None)
            + 4 * (policy.brand_id is not None)
            + 2 * bool(policy.priority)
            + bool(policy.kind),
            -(policy.pk or 0),
        )
        if best is None or rank > best:
            best, chosen = rank, policy
    return chosen


def calendar_of(policy: SlaPolicy, channel: Channel) -> sla.Calendar | None:
    hours = policy.business_hours if policy.business_hours_id else None
    if hours is None:
        return None
    return sla.calendar_from(hours.timezone or channel.timezone, hours.weekly, hours.holidays)


@dataclass
class _OrgContext:
    """What one batch of ingestion needs per organisation, read once."""

    org: Organization
    policies: list[SlaPolicy]
    rules: list[RoutingRule]
    calendars: dict[tuple[int | None, int], sla.Calendar | None] = field(default_factory=dict)
    fallback: SlaPolicy | None = None

    @classmethod
    def load(cls, org: Organization) -> _OrgContext:
        return cls(
            org=org,
            policies=list(
                SlaPolicy.objects.filter(organization=org, is_active=True).select_related(
                    "business_hours"
                )
            ),
            rules=list(RoutingRule.objects.filter(organization=org, is_active=True)),
        )

    def policy_for(self, conversation: Conversation) -> SlaPolicy:
        found = select_policy(self.policies, conversation)
        if found is None:
            if self.fallback is None:
                self.fallback = default_policy(self.org)
            found = self.fallback
        return found

    def calendar(self, policy: SlaPolicy, channel: Channel) -> sla.Calendar | None:
        key = (policy.pk, channel.pk)
        if key not in self.calendars:
            self.calendars[key] = calendar_of(policy, channel)
        return self.calendars[key]


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _refresh_summary(conversation: Conversation, policy: SlaPolicy, calendar: Any) -> None:
    """Set sla_due_at/sla_warn_at from the earliest running clock."""
    clocks: list[tuple[datetime, timedelta | None, datetime | None]] = []
    if conversation.first_response_due_at:
        clocks.append(
            (
                conversation.first_response_due_at,
                _minutes(policy.first_response_minutes),
                conversation.waiting_since,
            )
        )
    if conversation.next_response_due_at:
        clocks.append(
            (
                conversation.next_response_due_at,
                _minutes(policy.next_response_minutes),
                conversation.waiting_since,
            )
        )
    if conversation.resolution_due_at:
        clocks.append(
            (
                conversation.resolution_due_at,
                _minutes(policy.resolution_minutes),
                conversation.created_at,
            )
        )
    if not clocks:
        conversation.sla_due_at = conversation.sla_warn_at = None
        return
    due, target, started = min(clocks, key=lambda c: c[0])
    conversation.sla_due_at = due
    if target is not None and started is not None:
        conversation.sla_warn_at = sla.deadline(
            started, target, calendar, policy.warn_at_share
        ).warn_at
    else:
        conversation.sla_warn_at = due


def _start_response_clock(
    conversation: Conversation, policy: SlaPolicy, calendar: Any, since: datetime
) -> None:
    conversation.waiting_since = since
    conversation.sla_policy = policy if policy.pk else None
    if conversation.first_response_at is None:
        target = _minutes(policy.first_response_minutes) or DEFAULT_FIRST_RESPONSE
        conversation.first_response_due_at = sla.add_business_time(since, target, calendar)
    elif policy.next_response_minutes:
        conversation.next_response_due_at = sla.add_business_time(
            since, timedelta(minutes=policy.next_response_minutes), calendar
        )
    if policy.resolution_minutes and conversation.resolution_due_at is None:
        conversation.resolution_due_at = sla.add_business_time(
            conversation.created_at, timedelta(minutes=policy.resolution_minutes), calendar
        )
    _refresh_summary(conversation, policy, calendar)


def _policy_and_calendar(conversation: Conversation) -> tuple[SlaPolicy, sla.Calendar | None]:
    policy = conversation.sla_policy or select_policy(
        list(
            SlaPolicy.objects.filter(
                organization_id=conversation.organization_id, is_active=True
            ).select_related("business_hours")
        ),
        conversation,
    )
    policy = policy or default_policy(conversation.organization)
    return policy, calendar_of(policy, conversation.channel)


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


# --- Ingestion ---------------------------------------------------------------------------------


@dataclass
class IngestReport:
    messages: int = 0
    duplicates: int = 0
    unreadable: int = 0
    conversations: int = 0
    auto_replies: list[int] = field(default_factory=list)


def _thread_key(incoming: Incoming) -> str:
    if incoming.kind == ConversationKind.DM:
        return f"dm:{incoming.thread_id or incoming.author_handle}"
    prefix = "m" if incoming.kind == ConversationKind.MENTION else "c"
    return f"{prefix}:{incoming.external_id}"


def _merge_into(target: Conversation, orphan: Conversation) -> None:
    """Move an early reply's conversation into the thread of the parent that just arrived."""
    Message.objects.filter(conversation=orphan).update(conversation=target)
    InboxActivity.objects.filter(conversation=orphan).update(conversation=target)
    SlaEvent.objects.filter(conversation=orphan).delete()
    target.messages_in += orphan.messages_in
    target.messages_out += orphan.messages_out
    target.last_message_at = max(target.last_message_at, orphan.last_message_at)
    target.tags = list(dict.fromkeys([*target.tags, *orphan.tags]))
    if PRIORITY_RANK[Priority(orphan.priority)] > PRIORITY_RANK[Priority(target.priority)]:
        target.priority = orphan.priority
    if target.assignee_id is None:
        target.assignee_id = orphan.assignee_id
    if target.team_id is None:
        target.team_id = orphan.team_id
    if orphan.waiting_since and (
        target.waiting_since is None or orphan.waiting_since < target.waiting_since
    ):
        target.waiting_since = orphan.waiting_since
        # The clock now runs from the early reply: re-time it.
        target.first_response_due_at = target.next_response_due_at = None
    orphan.delete()


@dataclass
class _TeamLoad:
    """Round-robin state of one team during a batch (read once, kept up to date in memory)."""

    members: list[User]
    profiles: dict[int, AgentProfile]
    load: dict[int, int]
    capacity: int

    @classmethod
    def load_for(cls, team_id: int, organization_id: int) -> _TeamLoad | None:
        team = Team.objects.filter(pk=team_id, organization_id=organization_id).first()
        if team is None:
            return None
        members = list(team.members.filter(is_active=True).order_by("pk"))
        profiles = {
            p.user_id: p
            for p in AgentProfile.objects.filter(organization_id=organization_id, user__in=members)
        }
        load = dict(
            Conversation.objects.filter(
                organization_id=organization_id,
                assignee__in=members,
                status__in=(ConversationStatus.OPEN, ConversationStatus.PENDING),
            )
            .values_list("assignee")
            .annotate(n=Count("pk"))
        )
        capacity = AgentProfile._meta.get_field("capacity").get_default()
        return cls(members=members, profiles=profiles, load=load, capacity=capacity)

    def pick(self, organization_id: int, now: datetime) -> User | None:
        candidates = []
        for user in self.members:
            profile = self.profiles.get(user.pk)
            if profile is not None and profile.status != AgentStatus.ON_SHIFT:
                continue
            capacity = profile.capacity if profile is not None else self.capacity
            if self.load.get(user.pk, 0) >= capacity:
                continue
            last = profile.last_assigned_at if profile is not None else None
            # Never assigned first, then the one assigned longest ago.
            candidates.append((last is not None, last or now, user.pk, user))
        if not candidates:
            return None
        chosen = min(candidates, key=lambda c: c[:3])[3]
        self.load[chosen.pk] = self.load.get(chosen.pk, 0) + 1
        profile = self.profiles.get(chosen.pk)
        if profile is None:
            profile = AgentProfile.objects.create(
                organization_id=organization_id, user=chosen, last_assigned_at=now
            )
            self.profiles[chosen.pk] = profile
        else:
            profile.last_assigned_at = now
            AgentProfile.objects.filter(pk=profile.pk).update(last_assigned_at=now)
        return chosen


def pick_agent(team_id: int, organization_id: int, now: datetime) -> User | None:
    """Round robin within a team: on-shift members under their capacity, the one assigned
    longest ago first. None when everyone is away or full (the conversation waits in the
    team's unassigned queue)."""
    team = _TeamLoad.load_for(team_id, organization_id)
    return team.pick(organization_id, now) if team is not None else None


def _contacts(
    org_id: int, items: Sequence[tuple[InboundEvent, Incoming]]
) -> dict[tuple[str, str], Contact]:
    """Every author of the batch as a Contact (created when new), in three queries."""
    wanted: dict[tuple[str, str], Incoming] = {}
    for event, incoming in items:
        wanted.setdefault((event.channel.kind, incoming.author_handle), incoming)
    handles = {handle for _, handle in wanted}
    networks = {network for network, _ in wanted}

    def existing() -> dict[tuple[str, str], Contact]:
        # All three columns of the unique index, so the lookup is an index search.
        return {
            (c.network, c.handle): c
            for c in Contact.objects.filter(
                organization_id=org_id, network__in=networks, handle__in=handles
            )
            if (c.network, c.handle) in wanted
        }

    found = existing()
    missing = [
        Contact(
            organization_id=org_id,
            network=network,
            handle=handle,
            name=incoming.author_name,
            first_seen_at=incoming.sent_at,
            last_seen_at=incoming.sent_at,
        )
        for (network, handle), incoming in wanted.items()
        if (network, handle) not in found
    ]
    if missing:
        Contact.objects.bulk_create(missing, ignore_conflicts=True)
        found = existing()
    return found


CONVERSATION_UPDATE_FIELDS = (
    "status",
    "closed_at",
    "first_response_at",
    "resolution_due_at",
    "first_response_due_at",
    "next_response_due_at",
    "sla_due_at",
    "sla_warn_at",
    "sla_policy",
    "waiting_since",
    "created_at",
    "last_message_at",
    "preview",
    "language",
    "sentiment",
    "is_spam",
    "is_abusive",
    "messages_in",
)


def _ingest_batch(
    items: list[tuple[InboundEvent, Incoming, understanding.Reading]],
    ctx: _OrgContext,
    report: IngestReport,
    now: datetime,
) -> None:
    """Store one organisation's new messages: a few queries for the whole batch, then bulk
    inserts. Items are in the order people wrote them, so a parent in the same batch comes
    before its replies; a reply whose parent is still missing starts a thread of its own,
    adopted by the parent when it arrives."""
    org_id = ctx.org.pk
    channel_ids = {event.channel_id for event, _, _ in items}
    external_ids = {incoming.external_id for _, incoming, _ in items}
    # exclude(external_id=""): lets the database use the partial unique index.
    stored = set(
        Message.objects.filter(channel_id__in=channel_ids, external_id__in=external_ids)
        .exclude(external_id="")
        .values_list("channel_id", "external_id")
    )
    fresh = [x for x in items if (x[0].channel_id, x[1].external_id) not in stored]
    report.duplicates += len(items) - len(fresh)
    if not fresh:
        return
    contacts = _contacts(org_id, [(e, i) for e, i, _ in fresh])
    parent_ids = {
        incoming.in_reply_to
        for _, incoming, _ in fresh
        if incoming.in_reply_to and incoming.kind != ConversationKind.DM
    }
    parents_in_db = {
        (channel_id, external_id): conversation_id
        for channel_id, external_id, conversation_id in Message.objects.filter(
            channel_id__in=channel_ids, external_id__in=parent_ids
        )
        .exclude(external_id="")
        .values_list("channel_id", "external_id", "conversation_id")
    }
    keys = {_thread_key(incoming) for _, incoming, _ in fresh}
    conversations: dict[int, Conversation] = {
        c.pk: c
        for c in Conversation.objects.filter(
            Q(channel_id__in=channel_ids, thread_key__in=keys)
            | Q(pk__in=set(parents_in_db.values()))
        )
    }
    by_key = {(c.channel_id, c.thread_key): c for c in conversations.values()}
    in_batch: dict[tuple[int, str], Conversation] = {}
    new: list[Conversation] = []
    touched: dict[int, Conversation] = {}
    messages: list[Message] = []
    activities: list[InboxActivity] = []
    contact_counts: dict[int, tuple[Contact, int, datetime]] = {}
    decisions: list[tuple[Conversation, Contact, routing.Decision]] = []
    teams: dict[int, _TeamLoad | None] = {}

    for event, incoming, reading in fresh:
        channel = event.channel
        contact = contacts[(channel.kind, incoming.author_handle)]
        conversation: Conversation | None = None
        if incoming.in_reply_to and incoming.kind != ConversationKind.DM:
            conversation = in_batch.get((channel.pk, incoming.in_reply_to))
            if conversation is None:
                parent_conversation = parents_in_db.get((channel.pk, incoming.in_reply_to))
                if parent_conversation is not None:
                    conversation = conversations.get(parent_conversation)
        key = _thread_key(incoming)
        if conversation is None:
            conversation = by_key.get((channel.pk, key))
        created = conversation is None
        if conversation is None:
            conversation = Conversation(
                organization_id=org_id,
                channel=channel,
                brand_id=channel.brand_id,
                network=channel.kind,
                kind=incoming.kind,
                thread_key=key,
                # A root comment answers a post (or a message not seen yet: fixed up when that
                # message arrives and adopts this thread).
                post_external_id=incoming.in_reply_to if incoming.kind != "dm" else "",
                contact=contact,
                created_at=incoming.sent_at,
                last_message_at=incoming.sent_at,
                language=reading.language,
                sentiment=reading.sentiment,
                is_spam=reading.is_spam,
                is_abusive=reading.is_abusive,
                preview=incoming.text[:PREVIEW_CHARS],
            )
            decision = routing.decide(
                ctx.rules,
                routing.Facts(
                    channel_id=channel.pk,
                    brand_id=channel.brand_id,
                    network=channel.kind,
                    kind=incoming.kind,
                    language=reading.language,
                    sentiment=reading.sentiment,
                    text=incoming.text,
                    author_is_vip=contact.is_vip,
                    author_is_customer=contact.is_customer,
                ),
            )
            if decision.priority:
                conversation.priority = decision.priority
            conversation.tags = list(decision.tags)
            for flag, tag in ((reading.is_spam, "spam"), (reading.is_abusive, "abuse")):
                if flag and tag not in conversation.tags:
                    conversation.tags.append(tag)
            conversation.team_id = decision.team_id
            conversation.assignee_id = decision.assignee_id
            conversation.requires_approval = decision.require_approval
            if conversation.assignee_id is None and decision.team_id is not None:
                if decision.team_id not in teams:
                    teams[decision.team_id] = _TeamLoad.load_for(decision.team_id, org_id)
                team = teams[decision.team_id]
                if team is not None:
                    conversation.assignee = team.pick(org_id, now)
            new.append(conversation)
            by_key[(channel.pk, key)] = conversation
            if decision.auto_reply_id is not None:
                decisions.append((conversation, contact, decision))
        else:
            assert conversation is not None
            conversation.channel = channel
            if conversation.pk is not None:
                touched[conversation.pk] = conversation
        assert conversation is not None
        in_batch[(channel.pk, incoming.external_id)] = conversation
        conversation.messages_in += 1
        if incoming.sent_at >= conversation.last_message_at:
            conversation.last_message_at = incoming.sent_at
            conversation.preview = incoming.text[:PREVIEW_CHARS]
            conversation.language = reading.language or conversation.language
            conversation.sentiment = reading.sentiment
        if not created:
            conversation.is_spam = conversation.is_spam and reading.is_spam
            conversation.is_abusive = conversation.is_abusive or reading.is_abusive
        if conversation.status == ConversationStatus.CLOSED:
            conversation.status = ConversationStatus.OPEN
            conversation.closed_at = None
            conversation.first_response_at = None
            conversation.resolution_due_at = None
            conversation.created_at = incoming.sent_at
        elif conversation.status == ConversationStatus.PENDING:
            conversation.status = ConversationStatus.OPEN
        arrived = min(incoming.sent_at, now)
        clock_set = bool(conversation.first_response_due_at or conversation.next_response_due_at)
        if (
            conversation.waiting_since is None
            or arrived < conversation.waiting_since
            or not clock_set
        ):
            # The clock runs from the oldest unanswered message, whatever order they came in.
            policy = ctx.policy_for(conversation)
            since = min(arrived, conversation.waiting_since or arrived)
            _start_response_clock(conversation, policy, ctx.calendar(policy, channel), since)
        messages.append(
            Message(
                organization_id=org_id,
                channel=channel,
                conversation=conversation,
                direction=Direction.INBOUND,
                status=DeliveryStatus.RECEIVED,
                external_id=incoming.external_id,
                in_reply_to=incoming.in_reply_to,
                contact=contact,
                author_handle=incoming.author_handle,
                author_name=incoming.author_name,
                text=incoming.text,
                attachments=incoming.attachments,
                raw=event.payload,
                language=reading.language,
                sentiment=reading.sentiment,
                sentiment_score=reading.score,
                is_spam=reading.is_spam,
                is_abusive=reading.is_abusive,
                sent_at=incoming.sent_at,
                created_at=now,
            )
        )
        activities.append(_activity(conversation, ActivityKind.MESSAGE_IN, incoming.sent_at))
        seen = contact_counts.get(contact.pk)
        contact_counts[contact.pk] = (
            contact,
            (seen[1] if seen else 0) + 1,
            max(seen[2], incoming.sent_at) if seen else incoming.sent_at,
        )

    Conversation.objects.bulk_create(new)
    for conversation in touched.values():
        # bulk_update's CASE expressions cost more than these few single-row updates.
        conversation.save(update_fields=CONVERSATION_UPDATE_FIELDS)
    for message in messages:
        message.conversation_id = message.conversation.pk
    for activity in activities:
        activity.conversation_id = activity.conversation.pk if activity.conversation else None
    insert_rows(Message, messages)
    insert_rows(InboxActivity, activities)
    for contact, count, last_seen in contact_counts.values():
        Contact.objects.filter(pk=contact.pk).update(
            messages_in=F("messages_in") + count,
            last_seen_at=Greatest(F("last_seen_at"), Value(last_seen)),
        )
    report.messages += len(messages)
    report.conversations += len(new)
    _adopt_early_replies(messages, ctx, now)
    for conversation, contact, decision in decisions:
        assert decision.auto_reply_id is not None
        reply = _auto_reply(conversation, contact, decision.auto_reply_id)
        if reply is not None:
            report.auto_replies.append(reply.pk)


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """INSERT many rows with one executemany, skipping the ORM's per-row SQL compilation.

    For append-only rows whose ids nobody needs back (messages, activity rows). Values are
    prepared by each field as the ORM would (JSON, times), so it is portable across backends.
    """
    if not objs:
        return
    connection = transaction.get_connection()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [
        [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields] for obj in objs
    ]
    quote = connection.ops.quote_name
    # Table and column names come from the model, quoted; values are parameters.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _adopt_early_replies(messages: list[Message], ctx: _OrgContext, now: datetime) -> None:
    """Replies stored before their parent (out-of-order delivery) join the parent's thread."""
    by_channel: dict[int, dict[str, Message]] = {}
    for message in messages:
        by_channel.setdefault(message.channel_id, {})[message.external_id] = message
    for channel_id, arrived in by_channel.items():
        early = (
            Message.objects.filter(
                channel_id=channel_id,
                in_reply_to__in=list(arrived),
                direction=Direction.INBOUND,
            )
            .select_related("conversation")
            .order_by("sent_at")
        )
        for reply in early:
            parent = arrived[reply.in_reply_to]
            orphan = reply.conversation
            target = Conversation.objects.select_related("channel").get(pk=parent.conversation_id)
            # Only a reply that started its own thread is waiting to be adopted.
            if orphan.pk == target.pk or orphan.thread_key.split(":", 1)[-1] != reply.external_id:
                continue
            _merge_into(target, orphan)
            if target.post_external_id in ("", parent.external_id):
                target.post_external_id = parent.in_reply_to
            policy = ctx.policy_for(target)
            if target.waiting_since is not None and not (
                target.first_response_due_at or target.next_response_due_at
            ):
                _start_response_clock(
                    target, policy, ctx.calendar(policy, target.channel), target.waiting_since
                )
            target.save()


def _auto_reply(conversation: Conversation, contact: Contact, saved_id: int) -> Message | None:
    saved = SavedReply.objects.filter(pk=saved_id, organization_id=conversation.organization_id)
    template = saved.first()
    if template is None:
        return None
    conversation.contact = contact
    text = routing.fill(template.body, reply_variables(conversation, None))
    message = Message.objects.create(
        organization_id=conversation.organization_id,
        channel_id=conversation.channel_id,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        status=DeliveryStatus.SENDING,
        text=text,
        in_reply_to=conversation.messages.filter(direction=Direction.INBOUND)
        .order_by("-sent_at")
        .values_list("external_id", flat=True)
        .first()
        or "",
    )
    _after_commit_send(message.pk)
    return message


def _after_commit_send(message_id: int) -> None:
    from greenroom.inbox.tasks import send_reply

    transaction.on_commit(lambda: send_reply.delay(message_id))


@transaction.atomic
def do_process_inbound(event_ids: Sequence[int] | None = None, *, limit: int = 500) -> IngestReport:
    """Turn stored inbound events into conversations and messages, exactly once each.

    Events are marked processed in the same transaction that stores their messages, so a worker
    killed half-way loses nothing: what it had not committed is still pending, and the beat
    sweep (or the redelivered task) processes it. A message already stored (a replay) counts as
    a duplicate. One audit event per organisation and batch: ingestion is Greenroom's own act.
    """
    pending = InboundEvent.objects.filter(processed_at__isnull=True).select_related(
        "channel", "channel__organization"
    )
    if event_ids is not None:
        pending = pending.filter(pk__in=list(event_ids))
    if transaction.get_connection().features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True, of=("self",))
    events = list(pending.order_by("pk")[:limit])
    report = IngestReport()
    if not events:
        return report
    now = timezone.now()
    readable: list[tuple[InboundEvent, Incoming]] = []
    for event in events:
        try:
            readable.append((event, read_payload(event)))
        except (UnreadablePayload, KeyError, TypeError, ValueError) as exc:
            UnreadableEvent.objects.get_or_create(event=event, defaults={"error": str(exc)[:500]})
            report.unreadable += 1
    by_org: dict[int, list[tuple[InboundEvent, Incoming]]] = {}
    for event, incoming in readable:
        by_org.setdefault(event.organization_id, []).append((event, incoming))
    for pairs in by_org.values():
        org = pairs[0][0].channel.organization
        # Parents first, so a reply delivered in the same batch finds them.
        pairs.sort(key=lambda pair: (pair[1].sent_at, pair[0].pk))
        readings = understanding.read_many([i.text for _, i in pairs], org.languages or [])
        batch = [(e, i, r) for (e, i), r in zip(pairs, readings, strict=True)]
        _ingest_batch(batch, _OrgContext.load(org), report, now)
        audit.record(
            InboxAction.INGESTED,
            actor=None,
            organization=org,
            after={
                "events": len(pairs),
                "messages": report.messages,
                "duplicates": report.duplicates,
                "unreadable": report.unreadable,
            },
        )
    InboundEvent.objects.filter(pk__in=[e.pk for e in events]).update(processed_at=now)
    return report


# --- Replies, notes and approval ---------------------------------------------------------------


def reply_variables(conversation: Conversation, agent: User | None) -> dict[str, str]:
    contact = conversation.contact
    name = (contact.name or contact.handle) if contact else ""
    return {
        "name": name,
        "first_name": name.split()[0] if name.split() else name,
        "handle": contact.handle if contact else "",
        "agent": agent.name if agent else "",
        "brand": conversation.brand.name,
        "channel": conversation.channel.name,
    }


def check_reply_text(conversation: Conversation, text: str) -> None:
    from greenroom.networks import rules
    from greenroom.networks import text as text_rules

    if not text.strip():
        raise ActionError(_("Write a reply first."))
    try:
        measured = text_rules.count(text, conversation.channel.kind, "feed")
    except rules.UnknownNetwork:
        return
    if measured.over:
        raise ActionError(
            _("%(network)s counts this reply as %(length)s of %(limit)s. Shorten it by %(over)s.")
            % {
                "network": conversation.channel.kind,
                "length": measured.length,
                "limit": measured.limit,
                "over": measured.length - measured.limit,
            }
        )


def _can_approve(user: User, conversation: Conversation) -> bool:
    return Channel.objects.restrict(user, "approve").filter(pk=conversation.channel_id).exists()


@transaction.atomic
def do_reply(
    conversation: Conversation,
    text: str,
    *,
    acting_user: User,
    handle_seconds: float | None = None,
) -> Message:
    """Answer a conversation through its channel's connector (after commit).

    When routing requires approval and the author may not approve on this channel, the reply
    waits in the approval queue instead. `handle_seconds` is the time the agent spent writing.
    """
    check_reply_text(conversation, text)
    waits = conversation.requires_approval and not _can_approve(acting_user, conversation)
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
    if not waits:
        _after_commit_send(message.pk)
    return message


@transaction.atomic
def do_approve_reply(message: Message, *, acting_user: User) -> Message:
    """Let a reply that waited for approval go out."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status != DeliveryStatus.AWAITING_APPROVAL:
        raise ActionError(_("This reply is not waiting for approval any more."))
    if not _can_approve(acting_user, message.conversation):
        raise ActionError(_("You may not approve replies on this channel."))
    message.status = DeliveryStatus.SENDING
    message.approved_by = acting_user
    message.save(update_fields=["status", "approved_by"])
    audit.record(
        InboxAction.REPLY_APPROVED,
        actor=acting_user,
        organization=message.conversation.organization,
        target=message,
    )
    _after_commit_send(message.pk)
    return message


@transaction.atomic
def do_reject_reply(message: Message, *, reason: str, acting_user: User) -> Message:
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status != DeliveryStatus.AWAITING_APPROVAL:
        raise ActionError(_("This reply is not waiting for approval any more."))
    if not _can_approve(acting_user, message.conversation):
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
    policy, calendar = _policy_and_calendar(conversation)
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
    _refresh_summary(conversation, policy, calendar)
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
    """An internal note (never sent to the network); @username mentions colleagues."""
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
    return note


# --- Working the queue ---------------------------------------------------------------------------


def _each(conversations: Iterable[Conversation]) -> list[Conversation]:
    return list(conversations)


@transaction.atomic
def do_assign(
    conversations: Iterable[Conversation], assignee: User | None, *, acting_user: User
) -> int:
    """Give conversations to a person (None: back to the unassigned queue)."""
    count = 0
    for conversation in _each(conversations):
        if assignee is not None and not (
            Channel.objects.restrict(assignee, "engage").filter(pk=conversation.channel_id).exists()
        ):
            raise ActionError(
                _("%(person)s cannot answer on %(channel)s.")
                % {"person": assignee, "channel": conversation.channel.name}
            )
        before = {"assignee": conversation.assignee_id}
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
    return count


@transaction.atomic
def do_set_team(
    conversations: Iterable[Conversation], team: Team | None, *, acting_user: User
) -> int:
    count = 0
    for conversation in _each(conversations):
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
    for conversation in _each(conversations):
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
    for conversation in _each(conversations):
        before = {"priority": conversation.priority}
        conversation.priority = priority
        # A different priority may fall under a different SLA policy: re-time running clocks.
        conversation.sla_policy = None
        policy, calendar = _policy_and_calendar(conversation)
        if conversation.waiting_since is not None:
            conversation.first_response_due_at = None
            conversation.next_response_due_at = None
            _start_response_clock(conversation, policy, calendar, conversation.waiting_since)
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
    for conversation in _each(conversations):
        if conversation.status == ConversationStatus.CLOSED:
            continue
        _policy, calendar = _policy_and_calendar(conversation)
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
    return count


@transaction.atomic
def do_reopen(conversation: Conversation, *, acting_user: User) -> Conversation:
    if conversation.status != ConversationStatus.CLOSED:
        return conversation
    conversation.status = ConversationStatus.OPEN
    conversation.closed_at = None
    conversation.save(update_fields=["status", "closed_at"])
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
    count = 0
    for conversation in _each(conversations):
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
    """Hide a comment or mention from the public on the network (after commit)."""
    if message.direction != Direction.INBOUND:
        raise ActionError(_("Only messages people sent can be hidden."))
    if message.conversation.kind == ConversationKind.DM:
        raise ActionError(_("Direct messages cannot be hidden; only comments and mentions."))
    if message.hidden_at is None:
        message.hidden_at = timezone.now()
        message.save(update_fields=["hidden_at"])
        audit.record(
            InboxAction.HIDDEN,
            actor=acting_user,
            organization=message.conversation.organization,
            target=message,
        )
        from greenroom.inbox.tasks import hide_message

        message_id = message.pk
        transaction.on_commit(lambda: hide_message.delay(message_id))
    return message


@transaction.atomic
def do_update_contact(
    contact: Contact,
    *,
    acting_user: User,
    is_vip: bool | None = None,
    is_customer: bool | None = None,
    notes: str | None = None,
) -> Contact:
    before = audit.snapshot(contact, ("is_vip", "is_customer"))
    if is_vip is not None:
        contact.is_vip = is_vip
    if is_customer is not None:
        contact.is_customer = is_customer
    if notes is not None:
        contact.notes = notes
    contact.save()
    audit.record(
        InboxAction.CONTACT_UPDATED,
        actor=acting_user,
        organization=Organization(pk=contact.organization_id),
        target=contact,
        before=before,
        after=audit.snapshot(contact, ("is_vip", "is_customer")),
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
    """Record warnings and breaches that came due; each breach escalates once (after commit).

    Returns the ids of the SlaEvents created.
    """
    moment = now or timezone.now()
    created: list[int] = []
    candidates = (
        Conversation.objects.filter(status__in=OPEN_STATUSES, sla_warn_at__lte=moment)
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
            from greenroom.inbox.tasks import escalate

            event_id = event.pk
            transaction.on_commit(lambda event_id=event_id: escalate.delay(event_id))  # type: ignore[misc]
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
    hours: BusinessHours | None = None,
    acting_user: User,
) -> BusinessHours:
    """Create or change opening hours (checked: seven days, valid times, real dates)."""
    try:
        sla.calendar_from(timezone_name or "UTC", weekly, holidays)
    except sla.CalendarError as exc:
        raise ActionError(str(exc)) from exc
    target = hours or BusinessHours(organization=org)
    target.name, target.weekly, target.holidays = name, weekly, holidays
    target.timezone = timezone_name
    target.save()
    audit.record(
        InboxAction.HOURS_SAVED,
        actor=acting_user,
        organization=org,
        target=target,
        after={"name": name, "timezone": timezone_name, "holidays": len(holidays)},
    )
    return target


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
    "stop",
)


@transaction.atomic
def do_save_routing_rule(
    org: Organization, *, rule: RoutingRule | None = None, acting_user: User, **values: Any
) -> RoutingRule:
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
    if target.set_priority and target.set_priority not in Priority.values:
        raise ActionError(_("Unknown priority %(priority)r.") % {"priority": target.set_priority})
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
    saved: SavedReply | None = None,
    acting_user: User,
) -> SavedReply:
    if not title.strip() or not body.strip():
        raise ActionError(_("A saved reply needs a title and a text."))
    _check_org(org, brand)
    target = saved or SavedReply(organization=org)
    target.title, target.body, target.brand, target.language = title, body, brand, language
    target.save()
    audit.record(
        InboxAction.SAVED_REPLY_SAVED,
        actor=acting_user,
        organization=org,
        target=target,
        after={"title": title},
    )
    return target


@transaction.atomic
def do_delete_saved_reply(saved: SavedReply, *, acting_user: User) -> None:
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
    """An agent goes on shift or away, or changes how many conversations they take at once."""
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
    profile.save()
    audit.record(
        InboxAction.AGENT_UPDATED,
        actor=acting_user,
        organization=org,
        target=profile,
        before=before,
        after=audit.snapshot(profile, ("status", "capacity")),
    )
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
