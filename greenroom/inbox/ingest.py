"""Ingestion: pending inbound events become conversations and messages, a batch at a time.

`actions.do_process_inbound` is the entry point (one transaction, audited per organisation);
this module does the work: claim the events, read their payloads, then for each organisation
dedupe, gather the authors, thread, read the texts (language, sentiment, flags), route, start the
SLA clocks and write everything with one executemany per table. See
docs/architecture/inbox.md for why it is written the way it is (the benchmark).
"""

from __future__ import annotations

import functools
import gc
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from greenroom.core import fastjson
from greenroom.core.models import Channel, Organization
from greenroom.inbox import routing, sla, understanding
from greenroom.inbox.clocks import calendar_of, default_policy, select_policy, start_response_clock
from greenroom.inbox.handout import TeamLoad
from greenroom.inbox.models import (
    PRIORITY_RANK,
    ActivityKind,
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
    SlaEvent,
    SlaPolicy,
    UnreadableEvent,
)
from greenroom.inbox.replies import reply_variables, send_after_commit
from greenroom.networks.models import InboundEvent

PREVIEW_CHARS = 200


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
    handle = author.get("handle") or raw.get("author_handle") or ""
    if not isinstance(text, str) or not isinstance(handle, str):
        raise UnreadablePayload("the payload has no text or no author handle")
    # A mention may come without its author: Instagram names nobody for a comment that
    # mentions the account (its mentioned_comment fields hold no author). It is still read,
    # and answered, with no contact; anything else without an author cannot be.
    if not handle and event.kind != ConversationKind.MENTION:
        raise UnreadablePayload("the payload has no author handle")
    created = _parse_time(raw.get("created_at"))
    # Before 1971 is no network's time (and year 1 at +14:00 has no UTC equivalent to store):
    # the time it arrived instead. A time in the future is cut to it below.
    if created is None or created.tzinfo is None or created.year < 1971:
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

    def policy_for(self, conversation: Conversation | Thread) -> SlaPolicy:
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
    # What each organisation received: (organisation, events, messages and duplicates).
    organizations: list[tuple[Organization, dict[str, int]]] = field(default_factory=list)


def _thread_key(incoming: Incoming) -> str:
    if incoming.kind == ConversationKind.DM:
        return f"dm:{incoming.thread_id or incoming.author_handle}"
    prefix = "m" if incoming.kind == ConversationKind.MENTION else "c"
    return f"{prefix}:{incoming.external_id}"


@dataclass(slots=True)
class Thread:
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
    four_eyes: bool = False
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
    "four_eyes",
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


class _Person(NamedTuple):
    pk: int | None
    is_vip: bool
    is_customer: bool


# The author of a message the network delivers without one (see `_read_item_json`): no contact.
_NOBODY = _Person(None, False, False)


def _contacts(
    org_id: int, items: Sequence[tuple[Landed, Incoming, understanding.Reading]]
) -> dict[tuple[str, str], _Person]:
    """Every author of the batch as a contact: one upsert (new people are created, everyone's
    message count and last-seen time move on) that returns their rows."""
    seen: dict[tuple[str, str], list[Any]] = {}
    for event, incoming, _reading in items:
        if not incoming.author_handle:
            continue
        key = (event.channel.kind, incoming.author_handle)
        entry = seen.get(key)
        if entry is None:
            seen[key] = [incoming.author_name, incoming.sent_at, incoming.sent_at, 1]
        else:
            # The newest name the network gave (people rename themselves; a lookup may fail).
            if incoming.author_name and incoming.sent_at >= entry[2]:
                entry[0] = incoming.author_name
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
        f" last_seen_at = {greatest}({table}.last_seen_at, excluded.last_seen_at),"
        # A name arrives once the network gives one: a profile lookup that failed before, a
        # contact first seen under an id. An empty name never erases a known one.
        f" name = COALESCE(NULLIF(excluded.name, ''), {table}.name)"
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
) -> dict[int, Thread]:
    """Conversations of the batch that are already stored, by thread key or by id.

    On PostgreSQL they are locked until the batch commits, all at once in id order (as the
    inbox's actions lock them): the batch writes their counters and clocks back, and a person
    closing one or a reply marked sent meanwhile must not be written over. SQLite's write
    transaction already excludes other writers."""
    names = ("pk", *THREAD_INSERT_FIELDS)
    queries = [
        query
        for query in (
            Q(channel_id__in=channel_ids, thread_key__in=keys) if keys else None,
            Q(pk__in=conversation_ids) if conversation_ids else None,
        )
        if query is not None
    ]
    rows: list[tuple[Any, ...]] = []
    if queries and transaction.get_connection().features.has_select_for_update:
        ids = {
            pk
            for query in queries
            for pk in Conversation.objects.filter(query).values_list("pk", flat=True)
        }
        locked = Conversation.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        rows = list(locked.values_list(*names))
    else:
        for query in queries:
            rows += Conversation.objects.filter(query).values_list(*names)
    found: dict[int, Thread] = {}
    for values in rows:
        row = dict(zip(names, values, strict=True))
        if row["pk"] in found:
            continue
        channel = channels.get(row["channel_id"])
        if channel is None:
            channel = Channel.objects.get(pk=row["channel_id"])
            channels[channel.pk] = channel
        row["channel"] = channel
        del row["channel_id"]
        found[row["pk"]] = Thread(**row)
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
    in_batch: dict[tuple[int, str], Thread] = {}
    new: list[Thread] = []
    touched: dict[int, Thread] = {}
    messages: list[tuple[Thread, tuple[Any, ...]]] = []
    teams: dict[int, TeamLoad | None] = {}
    auto_replies: list[tuple[Thread, int | None, int]] = []

    for event, incoming, reading in fresh:
        channel = event.channel
        channel_id = channel.id
        person = contacts.get((channel.kind, incoming.author_handle), _NOBODY)
        thread: Thread | None = None
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
        contact = Contact.objects.get(pk=contact_id) if contact_id is not None else None
        reply = _auto_reply(conversation, contact, saved_id)
        if reply is not None:
            report.auto_replies.append(reply.pk)


def _new_thread(
    ctx: _OrgContext,
    channel: Channel,
    incoming: Incoming,
    reading: understanding.Reading,
    person: _Person,
    key: str,
    teams: dict[int, TeamLoad | None],
    now: datetime,
) -> Thread:
    """A conversation for a message that starts one: routed, and given to an agent when its
    team has someone on shift with room."""
    thread = Thread(
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
    thread.four_eyes = decision.four_eyes
    thread.auto_reply_id = decision.auto_reply_id
    if thread.assignee_id is None and decision.team_id is not None:
        if decision.team_id not in teams:
            teams[decision.team_id] = TeamLoad.load_for(decision.team_id, ctx.org.pk)
        team = teams[decision.team_id]
        if team is not None:
            chosen = team.pick(ctx.org.pk, now)
            thread.assignee_id = chosen.pk if chosen is not None else None
    return thread


def _add_message(
    ctx: _OrgContext,
    thread: Thread,
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
        start_response_clock(thread, policy, ctx.calendar(policy, channel), since)


def _write_threads(new: Sequence[Thread], touched: Iterable[Thread], memo: TimeMemo) -> None:
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
        # Locked (PostgreSQL) with its conversation: a person working on the orphan meanwhile
        # is merged in, or finds it merged (see actions._fresh), never silently lost.
        replies = Message.objects.select_related("conversation")
        if transaction.get_connection().features.has_select_for_update_of:
            replies = replies.select_for_update(of=("self", "conversation"))
        reply = replies.get(pk=pk)
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
            start_response_clock(
                target, policy, ctx.calendar(policy, target.channel), target.waiting_since
            )
        target.save()


def _auto_reply(
    conversation: Conversation, contact: Contact | None, saved_id: int
) -> Message | None:
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
    send_after_commit(message.pk)
    return message


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


def process(event_ids: Sequence[int] | None, limit: int) -> IngestReport:
    """Take up to `limit` pending events (those of `event_ids`, or the oldest) and store them,
    in the caller's transaction; `report.organizations` says what each organisation received,
    for the caller's audit."""
    with _collector_paused():
        return _process(event_ids, limit)


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
    # Organisations in id order: the order their write locks are taken in (see below).
    for _, pairs in sorted(by_org.items()):
        org = pairs[0][0].channel.organization
        # Parents first, so a reply delivered in the same batch finds them.
        pairs.sort(key=lambda pair: (pair[1].sent_at, pair[0].pk))
        readings = understanding.read_many(
            [i.text for _, i in pairs], org.languages or [], names=_own_names(org.pk)
        )
        batch = [(e, i, r) for (e, i), r in zip(pairs, readings, strict=True)]
        _one_writer_per_organization(org.pk)
        before = (report.messages, report.duplicates)
        _ingest_batch(batch, _OrgContext.load(org), report, now)
        report.organizations.append(
            (
                org,
                {
                    "events": len(pairs),
                    "messages": report.messages - before[0],
                    "duplicates": report.duplicates - before[1],
                },
            )
        )
    _mark_processed([e.pk for e in events], now)
    return report


def _own_names(org_id: int) -> frozenset[str]:
    """The organisation's brand and channel names and handles: words its customers write the
    same in any language, left out when their language is told (`understanding.read_many`)."""
    rows = Channel.objects.filter(organization_id=org_id).values_list(
        "name", "handle", "brand__name"
    )
    return frozenset(name for row in rows for name in row if name)


# The key space of the organisation write locks (two-integer advisory locks): "gr".
_WRITE_LOCK_SPACE = 0x6772


def _one_writer_per_organization(org_id: int) -> None:
    """On PostgreSQL, wait until no other worker is writing this organisation's messages.

    Workers claim different events (SKIP LOCKED), so two of them can hold a comment and its
    reply, or a person's first two messages, at once. Each would look for the other's
    conversation before it committed, miss it, and start its own: the reply would stay a
    conversation of its own. Writing one batch per organisation at a time (a transaction lock,
    released at commit) lets the second see what the first committed. Workers still read and
    score their texts at once, and other organisations' batches are not held. Locks are taken
    in organisation order, so two workers never deadlock over them. SQLite needs none: its
    write transactions already run one at a time.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [_WRITE_LOCK_SPACE, org_id & 0x7FFFFFFF]
        )


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
