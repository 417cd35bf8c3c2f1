"""Every write to the inbox goes through these functions.

Each runs in one transaction and writes its audit event there; side effects (sending a reply
through the connector, hiding a comment, escalating a breach) run after commit as Celery tasks.
`acting_user=None` means Greenroom itself (ingestion, routing, the SLA sweep).
"""

from __future__ import annotations

import functools
import gc
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from greenroom.core import audit, fastjson, vault
from greenroom.core.actions import ActionError, do_store_secret
from greenroom.core.models import Brand, Channel, Organization, Team, User
from greenroom.core.restrict import Access
from greenroom.inbox import handout, routing, sla, understanding
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

# Handing out waiting conversations lives in its own module; its actions are inbox actions.
do_hand_out_waiting = handout.do_hand_out_waiting
do_hand_out_everywhere = handout.do_hand_out_everywhere

DEFAULT_FIRST_RESPONSE = timedelta(hours=24)
OPEN_STATUSES = (ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.SNOOZED)
# Past this, a measured handle time is someone who left the composer open over lunch.
MAX_HANDLE_SECONDS = 2 * 3600.0
PREVIEW_CHARS = 200


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


# --- Reading what networks sent ----------------------------------------------------------------


class Incoming(NamedTuple):
    """One inbound event's payload, read. (A named tuple: one is made per message, and a
    frozen dataclass takes three times as long to make.)"""

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


@dataclass(slots=True)
class Landed:
    """A pending InboundEvent as a batch reads it: the row's values, no model instance."""

    pk: int
    channel: Channel
    external_id: str
    kind: str
    payload: Any
    received_at: datetime
    # The payload as stored, so the message keeps it without encoding it again.
    payload_json: JsonText | None = None


class JsonText(str):
    """JSON already encoded: written to a JSON column as it is."""


# Most messages carry no media: their attachments column is written without encoding it.
NO_ATTACHMENTS = JsonText("[]")


def read_payload(event: InboundEvent | Landed) -> Incoming:
    """The fields the inbox needs from an event's payload.

    Payloads follow the shape connectors deliver (the sandbox's item JSON: id, kind, text,
    author.handle/name, created_at, in_reply_to, thread_id, media); a network whose raw JSON
    differs adds its reader to PAYLOAD_READERS.
    """
    reader = PAYLOAD_READERS.get(event.channel.kind, _read_item_json)
    return reader(event)


def _read_item_json(event: InboundEvent | Landed) -> Incoming:
    raw = event.payload
    if not isinstance(raw, dict):
        raise UnreadablePayload("the payload is not an object")
    author = raw.get("author") if isinstance(raw.get("author"), dict) else {}
    assert isinstance(author, dict)
    text = raw.get("text")
    handle = author.get("handle") or raw.get("author_handle")
    if not isinstance(text, str) or not isinstance(handle, str) or not handle:
        raise UnreadablePayload("the payload has no text or no author handle")
    created = _parse_time(raw.get("created_at"))
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


def _parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from a payload; None when there is none. A well-formed time that
    cannot exist (month 13) raises ValueError: the payload is unreadable."""
    if not value:
        return None
    text = str(value)
    try:
        # The C parser reads what connectors send ("2026-11-02T09:30:00+00:00") in a fraction
        # of parse_datetime's time; parse_datetime reads the rest as before.
        return datetime.fromisoformat(text)
    except ValueError:
        return parse_datetime(text)


PAYLOAD_READERS: dict[str, Callable[[InboundEvent | Landed], Incoming]] = {}


# --- SLA policies ------------------------------------------------------------------------------


def default_policy(org: Organization) -> SlaPolicy:
    """What applies when no policy matches: first response within 24 hours, around the clock."""
    return SlaPolicy(
        organization=org,
        name=_("Default: first response within 24 hours"),
        first_response_minutes=int(DEFAULT_FIRST_RESPONSE.total_seconds() // 60),
    )


def select_policy(
    policies: Sequence[SlaPolicy], conversation: Conversation | _Thread
) -> SlaPolicy | None:
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
    calendars: dict[tuple[int | None, int, str], sla.Calendar | None] = field(default_factory=dict)
    # Routing decisions by what they looked at (see _new_thread), kept with the context.
    decisions: dict[tuple[Any, ...], routing.Decision] = field(default_factory=dict)
    fallback: SlaPolicy | None = None

    @classmethod
    def load(cls, org: Organization) -> _OrgContext:
        """The organisation's context for a batch: the one the last batch built while its
        settings are unchanged (so its routing decisions and calendars are kept), else a new
        one. Unchanged means every column of every active rule and policy and of every set of
        business hours reads the same, checked at the start of every batch."""
        stamp = _settings_stamp(org.pk)
        kept = _CONTEXTS.get(org.pk)
        if kept is not None and kept[0] == stamp and len(kept[1].decisions) <= _DECISIONS_KEPT:
            context = kept[1]
            context.org = org
            return context
        context = cls(
            org=org,
            policies=list(
                SlaPolicy.objects.filter(organization=org, is_active=True).select_related(
                    "business_hours"
                )
            ),
            rules=sorted(
                RoutingRule.objects.filter(organization=org, is_active=True),
                key=lambda r: (r.position, r.pk or 0),
            ),
        )
        _CONTEXTS[org.pk] = (stamp, context)
        return context

    def policy_for(self, conversation: Conversation | _Thread) -> SlaPolicy:
        found = select_policy(self.policies, conversation)
        if found is None:
            if self.fallback is None:
                self.fallback = default_policy(self.org)
            found = self.fallback
        return found

    def calendar(self, policy: SlaPolicy, channel: Channel) -> sla.Calendar | None:
        key = (policy.id, channel.id, channel.timezone)
        if key not in self.calendars:
            self.calendars[key] = calendar_of(policy, channel)
        return self.calendars[key]


# Each organisation's context as the last batch built it, with the settings it was built from
# (see _OrgContext.load). Its routing decisions stop being kept past _DECISIONS_KEPT.
_CONTEXTS: dict[int, tuple[tuple[Any, ...], _OrgContext]] = {}
_DECISIONS_KEPT = 50_000


def _settings_stamp(org_id: int) -> tuple[Any, ...]:
    """Every column of the organisation's active routing rules and SLA policies and of its
    business hours, as the database returns them (a few plain rows: cheaper to read each batch
    than the models, and equal exactly when the settings are)."""
    connection = transaction.get_connection()
    stamp = []
    with connection.cursor() as cursor:
        for sql in _stamp_queries(connection.vendor):
            cursor.execute(sql, [org_id])
            stamp.append(tuple(tuple(row) for row in cursor.fetchall()))
    return tuple(stamp)


@functools.cache
def _stamp_queries(vendor: str) -> tuple[str, ...]:
    quote = transaction.get_connection().ops.quote_name
    queries = []
    for model, condition in (
        (RoutingRule, " AND is_active"),
        (SlaPolicy, " AND is_active"),
        (BusinessHours, ""),
    ):
        # Names come from the models; the organisation is a parameter.
        queries.append(
            f"SELECT * FROM {quote(model._meta.db_table)} WHERE organization_id = %s"  # noqa: S608
            f"{condition} ORDER BY id"
        )
    return tuple(queries)


@functools.lru_cache(maxsize=64)
def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _refresh_summary(
    conversation: Conversation | _Thread, policy: SlaPolicy, calendar: Any
) -> None:
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
        conversation.sla_warn_at = sla.warn_time(started, target, calendar, policy.warn_at_share)
    else:
        conversation.sla_warn_at = due


def _start_response_clock(
    conversation: Conversation | _Thread, policy: SlaPolicy, calendar: Any, since: datetime
) -> None:
    conversation.waiting_since = since
    conversation.sla_policy_id = policy.pk if policy.pk else None
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

# Events per batch: big enough that the few queries of a batch cost little per message, small
# enough that one transaction stays short (about a second on SQLite).
BATCH = 1000


@dataclass
class IngestReport:
    events: int = 0
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


@dataclass(slots=True)
class _Thread:
    """A conversation while a batch is processed: plain attributes, written with one
    executemany at the end (an INSERT when new, an UPDATE when it was already stored)."""

    pk: int | None
    organization_id: int
    channel: Channel
    brand_id: int
    network: str
    kind: str
    thread_key: str
    created_at: datetime
    last_message_at: datetime
    post_external_id: str = ""
    contact_id: int | None = None
    status: str = ConversationStatus.OPEN
    snoozed_until: datetime | None = None
    closed_at: datetime | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    priority: str = Priority.NORMAL
    tags: list[str] = field(default_factory=list)
    language: str = ""
    sentiment: str = ""
    is_spam: bool = False
    is_abusive: bool = False
    requires_approval: bool = False
    preview: str = ""
    sla_policy_id: int | None = None
    first_response_due_at: datetime | None = None
    next_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    sla_due_at: datetime | None = None
    sla_warn_at: datetime | None = None
    waiting_since: datetime | None = None
    first_response_at: datetime | None = None
    messages_in: int = 0
    # Set by routing on a new conversation; not stored on it.
    auto_reply_id: int | None = None

    @property
    def channel_id(self) -> int:
        return self.channel.id


# The columns ingestion writes for a message and its activity row.
MESSAGE_FIELDS = (
    "organization_id",
    "channel_id",
    "direction",
    "status",
    "external_id",
    "in_reply_to",
    "contact_id",
    "author_handle",
    "author_name",
    "text",
    "attachments",
    "raw",
    "language",
    "sentiment",
    "sentiment_score",
    "is_spam",
    "is_abusive",
    "sent_at",
    "created_at",
    "conversation_id",
)
ACTIVITY_FIELDS = (
    "organization_id",
    "channel_id",
    "brand_id",
    "conversation_id",
    "kind",
    "at",
    "hour_of_week",
)
# What ingestion changes on a conversation that was already stored.
THREAD_UPDATE_FIELDS = (
    "status",
    "snoozed_until",
    "closed_at",
    "first_response_at",
    "resolution_due_at",
    "first_response_due_at",
    "next_response_due_at",
    "sla_due_at",
    "sla_warn_at",
    "sla_policy_id",
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
# And what it also sets on a new one.
THREAD_INSERT_FIELDS = (
    *THREAD_UPDATE_FIELDS,
    "organization_id",
    "channel_id",
    "brand_id",
    "network",
    "kind",
    "thread_key",
    "post_external_id",
    "contact_id",
    "assignee_id",
    "team_id",
    "priority",
    "tags",
    "requires_approval",
)

# A thread's values in those orders, read in one call each.
_thread_insert_values = operator.attrgetter(*THREAD_INSERT_FIELDS)
_thread_update_values = operator.attrgetter(*THREAD_UPDATE_FIELDS)


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


def open_load(organization_id: int, people: Iterable[User]) -> dict[int, int]:
    """How many conversations each person has assigned that count against their capacity:
    open and pending ones (snoozed ones are set aside, closed ones are done)."""
    return dict(
        Conversation.objects.filter(
            organization_id=organization_id,
            assignee__in=list(people),
            status__in=(ConversationStatus.OPEN, ConversationStatus.PENDING),
        )
        .values_list("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )


@dataclass
class _TeamLoad:
    """Round-robin state of one team during a batch: read once, kept up to date in memory,
    written back once at the end of the batch (`save`)."""

    members: list[User]
    profiles: dict[int, AgentProfile]
    load: dict[int, int]
    capacity: int
    picked_order: list[int] = field(default_factory=list)
    # Set once every member is away or at capacity (whoever lowers a load clears it).
    full: bool = False

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
        load = open_load(organization_id, members)
        capacity = AgentProfile._meta.get_field("capacity").get_default()
        return cls(members=members, profiles=profiles, load=load, capacity=capacity)

    def pick(self, organization_id: int, now: datetime) -> User | None:
        if self.full:
            return None
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
            # Loads only grow and shifts do not change during a batch: nobody will have room
            # for the rest of it either.
            self.full = True
            return None
        chosen = min(candidates, key=lambda c: c[:3])[3]
        self.load[chosen.pk] = self.load.get(chosen.pk, 0) + 1
        profile = self.profiles.get(chosen.pk)
        if profile is None:
            profile = AgentProfile(organization_id=organization_id, user=chosen)
            self.profiles[chosen.pk] = profile
        # One microsecond apart per pick, so the order of a batch's assignments survives it
        # (the next batch goes on from where this one stopped, as one message at a time would).
        profile.last_assigned_at = now + timedelta(microseconds=len(self.picked_order))
        self.picked_order.append(chosen.pk)
        return chosen

    def save(self) -> None:
        """Write the round-robin times of the agents picked in this batch."""
        for user_id in sorted(set(self.picked_order)):
            profile = self.profiles[user_id]
            if profile._state.adding:
                profile.save()
            else:
                AgentProfile.objects.filter(pk=profile.pk).update(
                    last_assigned_at=profile.last_assigned_at
                )
        self.picked_order.clear()


def pick_agent(team_id: int, organization_id: int, now: datetime) -> User | None:
    """Round robin within a team: on-shift members under their capacity, the one assigned
    longest ago first. None when everyone is away or full (the conversation waits in the
    team's unassigned queue)."""
    team = _TeamLoad.load_for(team_id, organization_id)
    if team is None:
        return None
    chosen = team.pick(organization_id, now)
    team.save()
    return chosen


class _Person(NamedTuple):
    pk: int
    is_vip: bool
    is_customer: bool


def _contacts(
    org_id: int, items: Sequence[tuple[Landed, Incoming, understanding.Reading]]
) -> dict[tuple[str, str], _Person]:
    """Every author of the batch as a contact: one upsert (new people are created, everyone's
    message count and last-seen time move on) that returns their rows."""
    seen: dict[tuple[str, str], list[Any]] = {}
    for event, incoming, _reading in items:
        key = (event.channel.kind, incoming.author_handle)
        entry = seen.get(key)
        if entry is None:
            seen[key] = [incoming.author_name, incoming.sent_at, incoming.sent_at, 1]
        else:
            entry[1] = min(entry[1], incoming.sent_at)
            entry[2] = max(entry[2], incoming.sent_at)
            entry[3] += 1
    connection = transaction.get_connection()
    adapt = datetime_preparer(connection)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    table = connection.ops.quote_name(Contact._meta.db_table)
    columns = (
        "organization_id",
        "network",
        "handle",
        "name",
        "is_vip",
        "is_customer",
        "notes",
        "first_seen_at",
        "last_seen_at",
        "messages_in",
    )
    placeholders = "({})".format(", ".join(["%s"] * len(columns)))
    # Names come from the model; values are parameters.
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
    upsert = (
        " ON CONFLICT (organization_id, network, handle) DO UPDATE SET"
        # Qualified: PostgreSQL finds a bare name ambiguous between the row and `excluded`.
        f" messages_in = {table}.messages_in + excluded.messages_in,"
        f" last_seen_at = {greatest}({table}.last_seen_at, excluded.last_seen_at)"
    )
    rows = [
        (org_id, network, handle, name[:200], False, False, "", adapt(first), adapt(last), count)
        for (network, handle), (name, first, last, count) in seen.items()
    ]
    found: list[tuple[int, str, str, bool, bool]] = []
    with connection.cursor() as cursor:
        if connection.features.can_return_rows_from_bulk_insert:
            # The upsert hands every author's row back, new or not: no second query.
            size = max(1, connection.ops.bulk_batch_size(columns, rows))
            for start in range(0, len(rows), size):
                chunk = rows[start : start + size]
                cursor.execute(
                    head
                    + ", ".join([placeholders] * len(chunk))
                    + upsert
                    + " RETURNING id, network, handle, is_vip, is_customer",
                    [value for row in chunk for value in row],
                )
                found += cursor.fetchall()
        else:
            cursor.executemany(head + placeholders + upsert, rows)
            # All three columns of the unique index, so the lookup is an index search.
            found = list(
                Contact.objects.filter(
                    organization_id=org_id,
                    network__in={network for network, _ in seen},
                    handle__in={handle for _, handle in seen},
                ).values_list("pk", "network", "handle", "is_vip", "is_customer")
            )
    return {
        (network, handle): _Person(pk, bool(vip), bool(customer))
        for pk, network, handle, vip, customer in found
        if (network, handle) in seen
    }


def datetime_preparer(connection: Any) -> Callable[[datetime], Any]:
    """How an aware datetime becomes a parameter: what the backend's adapter returns, and on
    SQLite in UTC the same text without the adapter's checks (it runs for every row)."""
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        return adapt  # type: ignore[no-any-return]

    def as_sqlite_text(value: datetime) -> Any:
        if value.tzinfo is UTC:
            # "2026-11-02 09:30:00[.123456]+00:00" without its offset: str() of the naive
            # time, without making the naive copy.
            return value.isoformat(" ")[:-6]
        if value.tzinfo is None:
            return adapt(value)
        return str(value.astimezone(UTC).replace(tzinfo=None))

    return as_sqlite_text


def json_preparer(json_field: models.JSONField[Any], connection: Any) -> Callable[[Any], Any]:
    """How a JSON value becomes a parameter: the field's own preparation, or plain JSON text
    where that is all it does (every backend but PostgreSQL, without a custom encoder)."""
    if connection.vendor != "postgresql" and json_field.encoder is None:
        encode: Callable[[Any], Any] = fastjson.dumps
    else:

        def encode(value: Any) -> Any:
            return json_field.get_db_prep_save(value, connection)

    def prepare(value: Any) -> Any:
        # Encoded text goes in as it is: the database reads it as JSON (PostgreSQL casts the
        # text literal to jsonb).
        return str(value) if isinstance(value, JsonText) else encode(value)

    return prepare


class TimeMemo(dict[datetime, Any]):
    """Times as database parameters, each worked out once: a time repeats across a batch's
    rows (its arrival time, a message's time on its conversation and its activity row)."""

    def __init__(self, prepare: Callable[[datetime], Any] | None = None) -> None:
        super().__init__()
        self.prepare = prepare or datetime_preparer(transaction.get_connection())

    def __missing__(self, value: datetime) -> Any:
        prepared = self[value] = self.prepare(value)
        return prepared


class _TimeColumn:
    """Marks a column of times: prepared through the batch's TimeMemo."""


_TIMES = _TimeColumn()


def _column_preparers(model: type[models.Model], attnames: Sequence[str]) -> list[Any]:
    """For each column, how its value becomes a database parameter: _TIMES for times, a
    function for JSON, None for as it is."""
    connection = transaction.get_connection()
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    preparers: list[Any] = []
    for attname in attnames:
        found = by_attname[attname]
        if isinstance(found, models.DateTimeField):
            preparers.append(_TIMES)
        elif isinstance(found, models.JSONField):
            preparers.append(json_preparer(found, connection))
        else:
            preparers.append(None)
    return preparers


def _prepare(
    rows: Iterable[Sequence[Any]],
    preparers: Sequence[Any],
    memo: TimeMemo | None = None,
) -> list[Sequence[Any]]:
    """The rows' values turned into parameters (None stays None), column by column: the
    columns of the rows, in `preparers` order (empty when there are no rows)."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    if not columns:
        return []
    times = memo if memo is not None else TimeMemo()
    for i, prepare in enumerate(preparers):
        if prepare is None:
            continue
        if prepare is _TIMES:
            columns[i] = [None if value is None else times[value] for value in columns[i]]
        else:
            columns[i] = [None if value is None else prepare(value) for value in columns[i]]
    return columns


def insert_rows(
    model: type[models.Model],
    attnames: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    memo: TimeMemo | None = None,
) -> int:
    """INSERT many rows with one executemany, without building model instances; returns how
    many rows it sent.

    For append-only rows whose ids nobody needs back at once (messages, activity rows) and for
    the new conversations of a batch (read back by their unique key). Each row gives the values
    of `attnames` in order; every other column gets its field's default. Values are prepared as
    the ORM would (JSON, times), so it is portable across backends.
    """
    connection = transaction.get_connection()
    given = set(attnames)
    rest = [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in given]
    columns = _prepare(rows, _column_preparers(model, attnames), memo)
    if not columns:
        return 0
    count = len(columns[0])
    defaults = _prepare(
        [[f.get_default() for f in rest]], _column_preparers(model, [f.attname for f in rest])
    )
    params = zip(*columns, *(itertools.repeat(d[0], count) for d in defaults), strict=False)
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    names = [by_attname[a].column for a in attnames] + [f.column for f in rest]
    quote = connection.ops.quote_name
    # Table and column names come from the model, quoted; values are parameters.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(c) for c in names),
        ", ".join(["%s"] * len(names)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(params))
    return count


def update_rows(model: type[models.Model], attnames: Sequence[str], rows: Sequence[Any]) -> None:
    """UPDATE many rows by primary key with one executemany: each row gives the values of
    `attnames` in order, then the primary key."""
    if not rows:
        return
    connection = transaction.get_connection()
    columns = _prepare(rows, [*_column_preparers(model, attnames), None])
    quote = connection.ops.quote_name
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    names = [by_attname[a].column for a in attnames]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(f"{quote(c)} = %s" for c in names),
        quote(model._meta.pk.column),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(*columns, strict=True)))


def _stored_threads(
    channel_ids: set[int], keys: set[str], conversation_ids: set[int], channels: dict[int, Channel]
) -> dict[int, _Thread]:
    """Conversations of the batch that are already stored, by thread key or by id."""
    names = ("pk", *THREAD_INSERT_FIELDS)
    found: dict[int, _Thread] = {}
    for query in (
        Q(channel_id__in=channel_ids, thread_key__in=keys) if keys else None,
        Q(pk__in=conversation_ids) if conversation_ids else None,
    ):
        if query is None:
            continue
        for values in Conversation.objects.filter(query).values_list(*names):
            row = dict(zip(names, values, strict=True))
            if row["pk"] in found:
                continue
            channel = channels.get(row["channel_id"])
            if channel is None:
                channel = Channel.objects.get(pk=row["channel_id"])
                channels[channel.pk] = channel
            row["channel"] = channel
            del row["channel_id"]
            found[row["pk"]] = _Thread(**row)
    return found


def _per_channel(
    model: type[models.Model],
    select: Sequence[str],
    key: str,
    wanted: dict[int, set[str]],
    condition: str = "",
) -> list[tuple[Any, ...]]:
    """Rows of `model` on each channel whose `key` column is one of that channel's wanted
    values: (channel id, *the `select` columns) each. One search of a (channel, key) index per
    value, with SQL written here: the ORM's per-value preparation of a thousand values costs
    more than the searches. `condition` (SQL over column names, no values) is added as it is."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    columns = {f.attname: quote(f.column) for f in model._meta.concrete_fields}
    columns["pk"] = quote(model._meta.pk.column)
    # Names come from the model and `condition` from this module; the values are parameters.
    head = "SELECT {} FROM {} WHERE {} = %s {} AND {} IN ".format(  # noqa: S608
        ", ".join(columns[name] for name in select),
        quote(model._meta.db_table),
        columns["channel_id"],
        condition,
        columns[key],
    )
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for channel_id, values in wanted.items():
            ordered = sorted(values)
            for start in range(0, len(ordered), _IDS_PER_QUERY):
                chunk = ordered[start : start + _IDS_PER_QUERY]
                cursor.execute(
                    head + "({})".format(", ".join(["%s"] * len(chunk))), [channel_id, *chunk]
                )
                found += [(channel_id, *row) for row in cursor.fetchall()]
    return found


def _stored_messages(wanted: dict[int, set[str]]) -> list[tuple[Any, ...]]:
    """(channel id, external id, conversation id) of the messages stored under the wanted
    external ids. NOT (external_id = ''): the partial unique index's condition, so the
    database searches it."""
    return _per_channel(
        Message,
        ("external_id", "conversation_id"),
        "external_id",
        wanted,
        "AND NOT (external_id = '')",
    )


def _by_channel(pairs: Iterable[tuple[int, str]]) -> dict[int, set[str]]:
    grouped: dict[int, set[str]] = {}
    for channel_id, value in pairs:
        grouped.setdefault(channel_id, set()).add(value)
    return grouped


# Parameters per lookup query: under every backend's limit (SQLite's default is 32,766).
_IDS_PER_QUERY = 900


def _ingest_batch(
    items: list[tuple[Landed, Incoming, understanding.Reading]],
    ctx: _OrgContext,
    report: IngestReport,
    now: datetime,
) -> None:
    """Store one organisation's new messages: a few queries for the whole batch, the decisions
    in memory, then one executemany per table.

    Items are in the order people wrote them, so a parent in the same batch comes before its
    replies; a reply whose parent is still missing starts a thread of its own, adopted by the
    parent when it arrives (`_adopt_early_replies`).
    """
    org_id = ctx.org.pk
    channels = {event.channel.pk: event.channel for event, _, _ in items}
    channel_ids = set(channels)
    # The batch's messages already stored (replays, or our own replies echoed back) and the
    # stored parents its replies answer.
    wanted: dict[int, set[str]] = {channel_id: set() for channel_id in channel_ids}
    for event, incoming, _reading in items:
        ids = wanted[event.channel.id]
        ids.add(incoming.external_id)
        if incoming.in_reply_to and incoming.kind != ConversationKind.DM:
            ids.add(incoming.in_reply_to)
    found = _stored_messages(wanted)
    stored = {(channel_id, external_id) for channel_id, external_id, _ in found}
    fresh = []
    for item in items:
        message_key = (item[0].channel.id, item[1].external_id)
        if message_key in stored:
            report.duplicates += 1
        else:
            stored.add(message_key)
            fresh.append(item)
    if not fresh:
        return
    contacts = _contacts(org_id, fresh)
    parent_ids = {
        incoming.in_reply_to
        for _, incoming, _ in fresh
        if incoming.in_reply_to and incoming.kind != ConversationKind.DM
    }
    parents_in_db = {
        (channel_id, external_id): conversation_id
        for channel_id, external_id, conversation_id in found
        if external_id in parent_ids
    }
    # Only DM threads can already be stored under the key a fresh message gives: a comment's
    # or mention's key is its own id ("c:<id>"), and its conversation is stored with it.
    threads = _stored_threads(
        channel_ids,
        {_thread_key(incoming) for _, incoming, _ in fresh if incoming.kind == ConversationKind.DM},
        set(parents_in_db.values()),
        channels,
    )
    by_key = {(t.channel.pk, t.thread_key): t for t in threads.values()}
    in_batch: dict[tuple[int, str], _Thread] = {}
    new: list[_Thread] = []
    touched: dict[int, _Thread] = {}
    messages: list[tuple[_Thread, tuple[Any, ...]]] = []
    teams: dict[int, _TeamLoad | None] = {}
    auto_replies: list[tuple[_Thread, int, int]] = []

    for event, incoming, reading in fresh:
        channel = event.channel
        channel_id = channel.id
        person = contacts[(channel.kind, incoming.author_handle)]
        thread: _Thread | None = None
        if incoming.in_reply_to and incoming.kind != ConversationKind.DM:
            thread = in_batch.get((channel_id, incoming.in_reply_to))
            if thread is None:
                parent_conversation = parents_in_db.get((channel_id, incoming.in_reply_to))
                if parent_conversation is not None:
                    thread = threads.get(parent_conversation)
        key = _thread_key(incoming)
        if thread is None:
            thread = by_key.get((channel_id, key))
        created = thread is None
        if thread is None:
            thread = _new_thread(ctx, channel, incoming, reading, person, key, teams, now)
            new.append(thread)
            by_key[(channel_id, key)] = thread
        elif thread.pk is not None:
            touched[thread.pk] = thread
        in_batch[(channel_id, incoming.external_id)] = thread
        _add_message(ctx, thread, channel, incoming, reading, created, now)
        # In MESSAGE_FIELDS order; the conversation id follows once the thread is stored.
        messages.append(
            (
                thread,
                (
                    org_id,
                    channel_id,
                    Direction.INBOUND,
                    DeliveryStatus.RECEIVED,
                    incoming.external_id,
                    incoming.in_reply_to,
                    person.pk,
                    incoming.author_handle,
                    incoming.author_name,
                    incoming.text,
                    incoming.attachments or NO_ATTACHMENTS,
                    event.payload_json if event.payload_json is not None else event.payload,
                    reading.language,
                    reading.sentiment,
                    reading.score,
                    reading.is_spam,
                    reading.is_abusive,
                    incoming.sent_at,
                    now,
                ),
            )
        )
        if created and thread.auto_reply_id is not None:
            auto_replies.append((thread, person.pk, thread.auto_reply_id))

    memo = TimeMemo()
    _write_threads(new, touched.values(), memo)
    for team in teams.values():
        if team is not None:
            team.save()
    report.messages += insert_rows(
        Message, MESSAGE_FIELDS, [(*row, thread.pk) for thread, row in messages], memo=memo
    )
    zones = {c.pk: c.timezone for c in channels.values()}
    insert_rows(
        InboxActivity,
        ACTIVITY_FIELDS,
        [
            (
                org_id,
                row[1],
                thread.brand_id,
                thread.pk,
                ActivityKind.MESSAGE_IN,
                row[17],
                sla.hour_of_week(row[17], zones[row[1]]),
            )
            for thread, row in messages
        ],
        memo=memo,
    )
    report.conversations += len(new)
    _adopt_early_replies([(row[1], row[4], row[5], thread.pk) for thread, row in messages], ctx)
    for thread, contact_id, saved_id in auto_replies:
        assert thread.pk is not None
        conversation = Conversation.objects.select_related("channel", "brand", "organization").get(
            pk=thread.pk
        )
        reply = _auto_reply(conversation, Contact.objects.get(pk=contact_id), saved_id)
        if reply is not None:
            report.auto_replies.append(reply.pk)


def _new_thread(
    ctx: _OrgContext,
    channel: Channel,
    incoming: Incoming,
    reading: understanding.Reading,
    person: _Person,
    key: str,
    teams: dict[int, _TeamLoad | None],
    now: datetime,
) -> _Thread:
    """A conversation for a message that starts one: routed, and given to an agent when its
    team has someone on shift with room."""
    thread = _Thread(
        pk=None,
        organization_id=ctx.org.pk,
        channel=channel,
        brand_id=channel.brand_id,
        network=channel.kind,
        kind=incoming.kind,
        thread_key=key,
        created_at=incoming.sent_at,
        last_message_at=incoming.sent_at,
        # A root comment answers a post (or a message not seen yet: fixed up when that message
        # arrives and adopts this thread).
        post_external_id=incoming.in_reply_to if incoming.kind != ConversationKind.DM else "",
        contact_id=person.pk,
        language=reading.language,
        sentiment=reading.sentiment,
        is_spam=reading.is_spam,
        is_abusive=reading.is_abusive,
        preview=incoming.text[:PREVIEW_CHARS],
    )
    # A decision depends on these facts and the rules only: the same words from the same kind
    # of person on the same channel (a run of spam, a copied complaint) are routed once while
    # the rules stay as they are.
    facts_key = (
        channel.id,
        channel.brand_id,
        channel.kind,
        incoming.kind,
        reading.language,
        reading.sentiment,
        incoming.text,
        person.is_vip,
        person.is_customer,
    )
    decision = ctx.decisions.get(facts_key)
    if decision is None:
        decision = ctx.decisions[facts_key] = routing.decide(
            ctx.rules,
            routing.Facts(
                channel_id=channel.id,
                brand_id=channel.brand_id,
                network=channel.kind,
                kind=incoming.kind,
                language=reading.language,
                sentiment=reading.sentiment,
                text=incoming.text,
                author_is_vip=person.is_vip,
                author_is_customer=person.is_customer,
            ),
        )
    if decision.priority:
        thread.priority = decision.priority
    thread.tags = list(decision.tags)
    for flag, tag in ((reading.is_spam, "spam"), (reading.is_abusive, "abuse")):
        if flag and tag not in thread.tags:
            thread.tags.append(tag)
    thread.team_id = decision.team_id
    thread.assignee_id = decision.assignee_id
    thread.requires_approval = decision.require_approval
    thread.auto_reply_id = decision.auto_reply_id
    if thread.assignee_id is None and decision.team_id is not None:
        if decision.team_id not in teams:
            teams[decision.team_id] = _TeamLoad.load_for(decision.team_id, ctx.org.pk)
        team = teams[decision.team_id]
        if team is not None:
            chosen = team.pick(ctx.org.pk, now)
            thread.assignee_id = chosen.pk if chosen is not None else None
    return thread


def _add_message(
    ctx: _OrgContext,
    thread: _Thread,
    channel: Channel,
    incoming: Incoming,
    reading: understanding.Reading,
    created: bool,
    now: datetime,
) -> None:
    """What one more message changes on its conversation: counts, preview, flags, status and
    the response clock (which runs from the oldest unanswered message, whatever order they
    came in)."""
    thread.messages_in += 1
    if incoming.sent_at >= thread.last_message_at:
        thread.last_message_at = incoming.sent_at
        thread.preview = incoming.text[:PREVIEW_CHARS]
        thread.language = reading.language or thread.language
        thread.sentiment = reading.sentiment
    if not created:
        thread.is_spam = thread.is_spam and reading.is_spam
        thread.is_abusive = thread.is_abusive or reading.is_abusive
    if thread.status == ConversationStatus.CLOSED:
        thread.status = ConversationStatus.OPEN
        thread.closed_at = None
        thread.first_response_at = None
        thread.resolution_due_at = None
        thread.created_at = incoming.sent_at
    elif thread.status in (ConversationStatus.PENDING, ConversationStatus.SNOOZED):
        # The customer wrote again: a snoozed conversation wakes now, not at its snooze time.
        thread.status = ConversationStatus.OPEN
        thread.snoozed_until = None
    arrived = min(incoming.sent_at, now)
    clock_set = bool(thread.first_response_due_at or thread.next_response_due_at)
    if thread.waiting_since is None or arrived < thread.waiting_since or not clock_set:
        policy = ctx.policy_for(thread)
        since = min(arrived, thread.waiting_since or arrived)
        _start_response_clock(thread, policy, ctx.calendar(policy, channel), since)


def _write_threads(new: Sequence[_Thread], touched: Iterable[_Thread], memo: TimeMemo) -> None:
    """Insert the batch's new conversations (and read their ids back by their unique key) and
    update the stored ones that received messages."""
    insert_rows(Conversation, THREAD_INSERT_FIELDS, map(_thread_insert_values, new), memo=memo)
    if new:
        ids = {
            (channel_id, key): pk
            for channel_id, key, pk in _per_channel(
                Conversation,
                ("thread_key", "pk"),
                "thread_key",
                _by_channel((t.channel.pk, t.thread_key) for t in new),
            )
        }
        for thread in new:
            thread.pk = ids[(thread.channel.pk, thread.thread_key)]
    update_rows(
        Conversation,
        THREAD_UPDATE_FIELDS,
        [(*_thread_update_values(t), t.pk) for t in touched],
    )


def _adopt_early_replies(
    arrived: Sequence[tuple[int, str, str, int | None]], ctx: _OrgContext
) -> None:
    """Replies stored before their parent (out-of-order delivery) join the parent's thread.

    `arrived`: (channel id, external id, in reply to, conversation id) of the batch's messages.
    """
    parents = {(row[0], row[1]): row for row in arrived}
    # Light rows first: almost every reply found here already sits in its parent's thread.
    rows = _per_channel(
        Message,
        ("pk", "in_reply_to", "conversation_id", "sent_at"),
        "in_reply_to",
        _by_channel((row[0], row[1]) for row in arrived),
        f"AND direction = '{Direction.INBOUND.value}'",
    )
    rows.sort(key=lambda row: row[4])
    candidates = [(pk, channel_id, reply_to, conv) for channel_id, pk, reply_to, conv, _ in rows]
    early = [
        (pk, parent)
        for pk, channel_id, in_reply_to, conversation_id in candidates
        if (parent := parents.get((channel_id, in_reply_to))) is not None
        and parent[3] != conversation_id
    ]
    for pk, (_channel_id, parent_id, parent_reply_to, parent_conversation) in early:
        reply = Message.objects.select_related("conversation").get(pk=pk)
        orphan = reply.conversation
        # Only a reply that started its own thread is waiting to be adopted.
        if orphan.thread_key.split(":", 1)[-1] != reply.external_id:
            continue
        assert parent_conversation is not None
        target = Conversation.objects.select_related("channel").get(pk=parent_conversation)
        _merge_into(target, orphan)
        if target.post_external_id in ("", parent_id):
            target.post_external_id = parent_reply_to
        policy = ctx.policy_for(target)
        if target.waiting_since is not None and not (
            target.first_response_due_at or target.next_response_due_at
        ):
            _start_response_clock(
                target, policy, ctx.calendar(policy, target.channel), target.waiting_since
            )
        target.save()


def _auto_reply(conversation: Conversation, contact: Contact, saved_id: int) -> Message | None:
    saved = SavedReply.objects.filter(
        pk=saved_id, organization_id=conversation.organization_id, is_active=True
    )
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


def inbound_pending() -> bool:
    """Whether any event waits to be processed (one probe of the pending events' index)."""
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(_pending_probe(connection.vendor))
        return cursor.fetchone() is not None


@functools.cache
def _pending_probe(vendor: str) -> str:
    # Built once: the ORM takes longer to write this query than the database to answer it.
    sql, params = (
        InboundEvent.objects.filter(processed_at__isnull=True)
        .values_list("pk", flat=True)[:1]
        .query.sql_with_params()
    )
    assert not params
    return str(sql)


def _claim_queryset(event_ids: list[int] | None, limit: int) -> models.QuerySet[Any]:
    pending = InboundEvent.objects.filter(processed_at__isnull=True)
    if event_ids is not None:
        pending = pending.filter(pk__in=event_ids)
    if transaction.get_connection().features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True, of=("self",))
    return pending.order_by("pk").values_list(
        "pk", "channel_id", "external_id", "kind", "payload", "received_at"
    )[:limit]


@functools.cache
def _claim_query(vendor: str, limit: int) -> tuple[str, tuple[Any, ...]]:
    # Written once per backend and size: the ORM takes milliseconds to write it.
    sql, params = _claim_queryset(None, limit).query.sql_with_params()
    return str(sql), tuple(params)


def _claim(event_ids: Sequence[int] | None, limit: int) -> list[Landed]:
    """The pending events this transaction takes (oldest first), as light rows.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take different events. SQLite:
    the transaction is IMMEDIATE, so writers run one after the other and the second one sees
    the first one's events as processed. Read with a plain cursor: both backends hand JSON back
    as text, which is parsed once here and kept to store as the message's raw payload.
    """
    connection = transaction.get_connection()
    if event_ids is None:
        sql, params = _claim_query(connection.vendor, limit)
    else:
        sql, params = _claim_queryset(list(event_ids), limit).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    channels = Channel.objects.select_related("organization").in_bulk({r[1] for r in rows})
    zone = connection.timezone
    landed = []
    # A delivery's events share their arrival time: each one read once.
    times: dict[Any, datetime] = {}
    for pk, channel_id, external_id, kind, payload, received in rows:
        text = payload if isinstance(payload, str) else fastjson.dumps(payload)
        received_at = times.get(received)
        if received_at is None:
            received_at = (
                datetime.fromisoformat(received) if isinstance(received, str) else received
            )
            if received_at.tzinfo is None:
                received_at = received_at.replace(tzinfo=zone)
            times[received] = received_at
        landed.append(
            Landed(
                pk=pk,
                channel=channels[channel_id],
                external_id=external_id,
                kind=kind,
                payload=fastjson.loads(text),
                received_at=received_at,
                payload_json=JsonText(text),
            )
        )
    return landed


@transaction.atomic
def do_process_inbound(
    event_ids: Sequence[int] | None = None, *, limit: int = BATCH
) -> IngestReport:
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
    with _collector_paused():
        return _process(event_ids, limit)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch runs: it allocates a few hundred thousand
    short-lived objects, almost all freed by reference counting, and the collector would walk
    the whole heap again and again for nothing. It runs as usual once the batch is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _process(event_ids: Sequence[int] | None, limit: int) -> IngestReport:
    events = _claim(event_ids, limit)
    report = IngestReport(events=len(events))
    if not events:
        return report
    now = timezone.now()
    by_org: dict[int, list[tuple[Landed, Incoming]]] = {}
    for event in events:
        try:
            incoming = read_payload(event)
        except (UnreadablePayload, KeyError, TypeError, ValueError) as exc:
            UnreadableEvent.objects.get_or_create(
                event_id=event.pk, defaults={"error": str(exc)[:500]}
            )
            report.unreadable += 1
            continue
        by_org.setdefault(event.channel.organization_id, []).append((event, incoming))
    for pairs in by_org.values():
        org = pairs[0][0].channel.organization
        # Parents first, so a reply delivered in the same batch finds them.
        pairs.sort(key=lambda pair: (pair[1].sent_at, pair[0].pk))
        readings = understanding.read_many([i.text for _, i in pairs], org.languages or [])
        batch = [(e, i, r) for (e, i), r in zip(pairs, readings, strict=True)]
        before = (report.messages, report.duplicates)
        _ingest_batch(batch, _OrgContext.load(org), report, now)
        audit.record(
            InboxAction.INGESTED,
            actor=None,
            organization=org,
            after={
                "events": len(pairs),
                "messages": report.messages - before[0],
                "duplicates": report.duplicates - before[1],
                "unreadable": report.unreadable,
            },
        )
    _mark_processed([e.pk for e in events], now)
    return report


def _mark_processed(event_ids: list[int], now: datetime) -> None:
    """processed_at = now on the batch's events: one UPDATE, written without the ORM's
    per-value preparation of a thousand ids."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    table = quote(InboundEvent._meta.db_table)
    # Names come from the model; the ids and the time are parameters.
    sql = "UPDATE {} SET {} = %s WHERE {} IN ({})".format(  # noqa: S608
        table,
        quote(InboundEvent._meta.get_field("processed_at").column),
        quote(InboundEvent._meta.pk.column),
        ", ".join(["%s"] * len(event_ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [datetime_preparer(connection)(now), *event_ids])


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


# --- Replies, notes and approval ---------------------------------------------------------------


_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def given_name(name: str) -> str:
    """The name to greet someone by. Western names put it first ("Emma Stone" -> "Emma");
    Korean names put the family name first ("김 민지" -> "민지"), and written without a space
    ("김민지") the whole name is what one uses with 님."""
    parts = name.split()
    if not parts:
        return name
    if _HANGUL.search(name):
        return " ".join(parts[1:]) if len(parts) > 1 else parts[0]
    return parts[0]


def reply_variables(conversation: Conversation, agent: User | None) -> dict[str, str]:
    contact = conversation.contact
    name = (contact.name or contact.handle) if contact else ""
    return {
        "name": name,
        "first_name": given_name(name),
        "handle": contact.handle if contact else "",
        # An automatic reply has no agent: it speaks for the brand.
        "agent": agent.name if agent else conversation.brand.name,
        "brand": conversation.brand.name,
        "channel": conversation.channel.name,
    }


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
    An unassigned conversation is assigned to whoever replies.
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
    on one of their channels (None: Greenroom itself)."""
    found = list(conversations)
    if acting_user is None or not found:
        return found
    wanted = {c.channel_id for c in found}
    allowed = set(
        Channel.objects.restrict(acting_user, "engage")
        .filter(pk__in=wanted)
        .values_list("pk", flat=True)
    )
    if wanted - allowed:
        raise NotAllowed(_("You cannot work on this channel's conversations."))
    return found


@transaction.atomic
def do_assign(
    conversations: Iterable[Conversation], assignee: User | None, *, acting_user: User
) -> int:
    """Give conversations to a person (None: back to the unassigned queue). Whoever had them
    has room again: waiting conversations of their teams are handed out."""
    count = 0
    freed: dict[int, set[int]] = {}
    moved: list[int] = []
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
    handout.hand_out_freed(freed, exclude=moved)
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
    freed: dict[int, set[int]] = {}
    for conversation in _each(conversations, acting_user):
        if conversation.status == ConversationStatus.CLOSED:
            continue
        if conversation.assignee_id is not None:
            freed.setdefault(conversation.organization_id, set()).add(conversation.assignee_id)
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

        message_id = message.pk
        transaction.on_commit(lambda: hide_message.delay(message_id))
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

    message_id = message.pk
    transaction.on_commit(lambda: delete_message.delay(message_id))
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
    contact.save()
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
    profile.save()
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
