"""Live updates of the inbox pages over server-sent events (docs/architecture/inbox.md).

The queue and each conversation page keep one EventSource open on a stream from here. Once a
second the stream asks whether anything the page shows has changed and, if so, sends one short
event naming the part ("thread", "conversation", "presence", "queue"); the page then fetches that
part again through its usual view, which reads through `restrict()`. An event carries no data.

How changes are seen, across processes (web, worker, beat) and on SQLite and PostgreSQL alike:
every state change of the inbox is an action that writes an audit event in its own transaction,
and audit writers are serialised (`audit.record` locks the chain head), so an organisation's
newest audit id only grows, in commit order. One indexed query (`organization, -id`) a second
tells whether anything happened in the organisation; only when it did are the new events' actions
and targets read (an index range of the new rows) to decide whether they concern the page. The
audit rows are a signal here: nothing of them is sent. Who is viewing or replying lives in the
cache (`inbox.presence`) and is compared each second too. Under ASGI one watcher thread per
process runs every stream's check on one database connection (`_Watcher`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connection, connections
from django.http import HttpRequest, StreamingHttpResponse

from greenroom.core.models import AuditEvent, Organization, User
from greenroom.inbox import presence
from greenroom.inbox.actions import InboxAction
from greenroom.inbox.models import Conversation, Message

logger = logging.getLogger(__name__)

CHECK_S = 1.0
# A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15.0
# How long EventSource waits before it reconnects when a stream ends.
RETRY_MS = 2000
# New audit events read at most per check; more than this and the page is simply refreshed.
READ_LIMIT = 200
# A reconnecting page says when it last heard from us; further back than this, it reloads its
# parts rather than have us replay the gap.
CATCH_UP_S = 600.0
# An action's audit row is written a moment before its transaction commits.
COMMIT_MARGIN_S = 2.0
# The queue page is heavier than a thread: changes are gathered into one event this often.
QUEUE_GAP_S = 3.0

CONVERSATION_TARGET = "inbox.conversation"
MESSAGE_TARGET = "inbox.message"
CONTACT_TARGET = "inbox.contact"

# An audit event as the stream reads it: action, target type, target id, actor id.
AuditRow = tuple[str, str, str, int | None]
# What the watcher thread hands an ASGI stream: the names of the parts that changed.
Queue = asyncio.Queue[list[str]]

_open = 0
_open_lock = threading.Lock()


def open_streams() -> int:
    """Streams being served by this process right now."""
    return _open


def _count(delta: int) -> None:
    global _open
    with _open_lock:
        _open += delta


def _newest_event_id(org_id: int) -> int:
    found = (
        AuditEvent.objects.filter(organization_id=org_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return found or 0


class Pass:
    """What one pass of the watcher over its streams reads once per organisation: the newest
    audit event, and the events after a given one (every stream of an organisation is at the
    same event after the first pass, so a thousand open tabs cost two queries, not two
    thousand)."""

    def __init__(self) -> None:
        self._heads: dict[int, int] = {}
        self._rows: dict[tuple[int, int], list[AuditRow]] = {}

    def head(self, org_id: int) -> int:
        if org_id not in self._heads:
            self._heads[org_id] = _newest_event_id(org_id)
        return self._heads[org_id]

    def rows_after(self, org_id: int, event_id: int) -> list[AuditRow]:
        key = (org_id, event_id)
        if key not in self._rows:
            self._rows[key] = _rows_after(org_id, event_id)
        return self._rows[key]


def _rows_after(org_id: int, event_id: int) -> list[AuditRow]:
    return list(
        AuditEvent.objects.filter(organization_id=org_id, id__gt=event_id)
        .order_by("id")
        .values_list("action", "target_type", "target_id", "actor_id")[:READ_LIMIT]
    )


@dataclass
class Watch:
    """What one stream watches, and what it has seen so far. `check` is plain sync code (the
    database and the cache); both the ASGI and the WSGI loop call it."""

    org_id: int
    user: User
    conversation_id: int | None = None
    contact_id: int | None = None
    last_event_id: int = 0
    # The conversation's counters and fields that inbound messages change (see `_relevant`);
    # None: not read yet, so the first ingestion seen refreshes the thread.
    marker: tuple[Any, ...] | None = None
    others: frozenset[tuple[str, str]] = frozenset()
    # Parts to refresh at the first check (a page back after a long gap).
    owed: set[str] = field(default_factory=set)
    queue_pending: bool = False
    queue_sent_at: float = 0.0

    @classmethod
    def start(
        cls,
        *,
        org: Organization,
        user: User,
        conversation: Conversation | None = None,
        since: float | None = None,
    ) -> Watch:
        """Watch the queue (no conversation) or one conversation from now, or from `since` (the
        epoch time the page was drawn or last heard from the stream) so nothing in between is
        missed."""
        watch = cls(org_id=org.pk, user=user)
        if conversation is not None:
            watch.conversation_id = conversation.pk
            watch.contact_id = conversation.contact_id
        head = _newest_event_id(org.pk)
        watch.last_event_id = head
        now = time.time()
        if since is None or since > now + 5:
            if conversation is not None:
                watch.marker = watch._marker()
                watch.others = presence.signature(conversation.pk, besides=user.pk)
            return watch
        # Presence is compared from nobody: whoever is there is shown at the first check.
        before = watch._event_id_before(head, since - COMMIT_MARGIN_S)
        if before is None or now - since > CATCH_UP_S:
            # Too much to tell apart: fetch the thread or the queue once. (The "changed" notice
            # is not shown: nobody knows that the conversation's fields changed.)
            watch.owed = {"thread"} if conversation is not None else {"queue"}
        else:
            watch.last_event_id = before
        return watch

    def _event_id_before(self, head: int, moment: float) -> int | None:
        """The newest event of the organisation written before `moment`, read back from the
        head along the index (None: more than READ_LIMIT events since)."""
        rows = (
            AuditEvent.objects.filter(organization_id=self.org_id, id__lte=head)
            .order_by("-id")
            .values_list("id", "created_at")[: READ_LIMIT + 1]
        )
        seen = 0
        for event_id, created_at in rows:
            seen += 1
            if created_at.timestamp() < moment:
                return int(event_id)
        return 0 if seen <= READ_LIMIT else None

    def _marker(self) -> tuple[Any, ...] | None:
        if self.conversation_id is None:
            return None
        row = (
            Conversation.objects.filter(pk=self.conversation_id)
            .values_list(
                "messages_in",
                "messages_out",
                "last_message_at",
                "status",
                "assignee_id",
                "team_id",
                "priority",
            )
            .first()
        )
        return tuple(row) if row is not None else None

    def check(self, shared: Pass | None = None) -> list[str]:
        """The parts of the page that changed since the last check. `shared`: the watcher's
        pass, which reads the organisation's new events once for all its streams."""
        found = set(self.owed)
        self.owed.clear()
        reads = shared or Pass()
        head = reads.head(self.org_id)
        if head > self.last_event_id:
            rows = reads.rows_after(self.org_id, self.last_event_id)
            found |= self._relevant(rows, overflow=len(rows) >= READ_LIMIT)
            self.last_event_id = head
        if self.conversation_id is None:
            return self._paced(found)
        others = presence.signature(self.conversation_id, besides=self.user.pk)
        if others != self.others:
            found.add("presence")
            self.others = others
        return sorted(found)

    def _relevant(self, rows: Sequence[AuditRow], *, overflow: bool) -> set[str]:
        messages = _ids(r[2] for r in rows if r[1] == MESSAGE_TARGET)
        ingested = any(r[0] == InboxAction.INGESTED for r in rows)
        if self.conversation_id is None:
            conversations = _ids(r[2] for r in rows if r[1] == CONVERSATION_TARGET)
            changed = (
                overflow
                or ingested
                or (
                    bool(conversations)
                    and Conversation.objects.restrict(self.user, "engage")
                    .filter(organization_id=self.org_id, pk__in=conversations)
                    .exists()
                )
                or (
                    bool(messages)
                    and Message.objects.restrict(self.user, "engage")
                    .filter(organization_id=self.org_id, pk__in=messages)
                    .exists()
                )
            )
            return {"queue"} if changed else set()
        found: set[str] = {"thread"} if overflow else set()
        mine = str(self.conversation_id)
        contact = str(self.contact_id) if self.contact_id is not None else None
        for _action, target_type, target_id, actor_id in rows:
            about_it = (target_type == CONVERSATION_TARGET and target_id == mine) or (
                target_type == CONTACT_TARGET and target_id == contact
            )
            # The page of whoever made the change was drawn again after it.
            if about_it and actor_id != self.user.pk:
                found.add("conversation")
        in_thread = Message.objects.filter(pk__in=messages, conversation_id=self.conversation_id)
        if messages and "thread" not in found and in_thread.exists():
            found.add("thread")
        if ingested:
            # An ingestion batch names no conversation: compare this one's counters.
            old, new = self.marker, self._marker()
            self.marker = new
            if old is None or new is None:
                found.add("thread")
            else:
                if new[:3] != old[:3]:  # messages in and out, last message time
                    found.add("thread")
                if new[3:] != old[3:]:  # status, assignee, team, priority
                    found.add("conversation")
        return found

    def _paced(self, found: set[str]) -> list[str]:
        """At most one queue event every QUEUE_GAP_S; changes in between wait for the next."""
        self.queue_pending = self.queue_pending or bool(found)
        now = time.monotonic()
        if not self.queue_pending or now - self.queue_sent_at < QUEUE_GAP_S:
            return []
        self.queue_pending = False
        self.queue_sent_at = now
        return ["queue"]


def _ids(values: Iterable[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


def since_of(request: HttpRequest) -> float | None:
    """When the page last knew the state: EventSource's Last-Event-ID on a reconnection (our
    ids are epoch times), else the `since` the page was drawn with."""
    for value in (request.headers.get("Last-Event-ID", ""), request.GET.get("since", "")):
        try:
            moment = float(value)
        except ValueError:
            continue
        if moment > 0:
            return moment
    return None


def _lifetime() -> float:
    return float(settings.GREENROOM_INBOX_LIVE_SECONDS)


def _stamp() -> str:
    return f"{time.time():.3f}"


def _frame(names: list[str]) -> bytes:
    # `data` is required: EventSource dispatches no event without it. The id lets a
    # reconnection resume from here (see `since_of`).
    stamp = _stamp()
    return "".join(f"event: {n}\nid: {stamp}\ndata: {n}\n\n" for n in names).encode()


def _keepalive() -> bytes:
    # A comment and an id: no event fires, but a reconnection resumes from here.
    return f": keep-alive\nid: {_stamp()}\n\n".encode()


HELLO = f"retry: {RETRY_MS}\n: connected\n\n".encode()


def _sync_events(watch: Watch, lifetime: float) -> Iterator[bytes]:
    """The stream under WSGI (the test server; production serves ASGI). A WSGI server notices a
    closed connection only when it writes, so this writes at every check: the stream ends within
    a second or two of the page closing."""
    _count(1)
    try:
        yield HELLO
        end = time.monotonic() + lifetime
        while time.monotonic() < end:
            time.sleep(CHECK_S)
            names = watch.check()
            yield _frame(names) if names else _keepalive()
        yield _keepalive()
    finally:
        _count(-1)


class _Watcher:
    """Under ASGI, one thread per process runs every open stream's check once a second, on one
    database connection: a thread and a connection per stream would hold a PostgreSQL
    connection for every open inbox tab. The thread stops (and gives its connection back) when
    no stream is left."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[int, tuple[Watch, asyncio.AbstractEventLoop, Queue]] = {}
        self._thread: threading.Thread | None = None

    def add(self, watch: Watch) -> Queue:
        queue: Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        with self._lock:
            self._streams[id(queue)] = (watch, loop, queue)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="inbox-live", daemon=True)
                self._thread.start()
        return queue

    def remove(self, queue: Queue) -> None:
        with self._lock:
            self._streams.pop(id(queue), None)

    def running(self) -> bool:
        with self._lock:
            return self._thread is not None

    def _run(self) -> None:
        try:
            while True:
                time.sleep(CHECK_S)
                with self._lock:
                    streams = list(self._streams.values())
                    if not streams:
                        self._thread = None
                        return
                shared = Pass()
                for watch, loop, queue in streams:
                    self._check(watch, loop, queue, shared)
        finally:
            connections.close_all()

    def _check(
        self, watch: Watch, loop: asyncio.AbstractEventLoop, queue: Queue, shared: Pass
    ) -> None:
        try:
            names = watch.check(shared)
        except DatabaseError:
            # A broken connection (a database restart): open a new one at the next check.
            logger.warning("inbox live check failed; retrying", exc_info=True)
            connection.close()
            return
        except Exception:
            # One stream's failure must not stop the others'.
            logger.exception("inbox live check failed")
            return
        if names:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, names)
            except RuntimeError:  # that stream's event loop is gone
                self.remove(queue)


_watcher = _Watcher()


def watcher_running() -> bool:
    """Whether this process's watcher thread is running (it stops with the last stream)."""
    return _watcher.running()


async def _async_events(watch: Watch, lifetime: float) -> AsyncIterator[bytes]:
    """The stream under ASGI (uvicorn). Django cancels it when the client disconnects."""
    _count(1)
    queue = _watcher.add(watch)
    try:
        yield HELLO
        # The request's own thread is done with the database (the checks run on the watcher's
        # connection): give its connection back rather than hold it for the stream's life.
        await sync_to_async(connections.close_all)()
        loop = asyncio.get_running_loop()
        end = loop.time() + lifetime
        while (left := end - loop.time()) > 0:
            try:
                names = await asyncio.wait_for(queue.get(), timeout=min(KEEPALIVE_S, left))
            except TimeoutError:
                yield _keepalive()
                continue
            yield _frame(names)
        yield _keepalive()
    finally:
        _watcher.remove(queue)
        _count(-1)


def stream(request: HttpRequest, watch: Watch) -> StreamingHttpResponse:
    """The event stream for `watch`: async under ASGI, a plain iterator under WSGI (Django would
    otherwise gather a whole async stream before sending any of it)."""
    lifetime = _lifetime()
    content: Iterator[bytes] | AsyncIterator[bytes]
    if isinstance(request, ASGIRequest):
        content = _async_events(watch, lifetime)
    else:
        content = _sync_events(watch, lifetime)
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    # A reverse proxy (nginx) passes each event on at once instead of buffering the stream.
    response["X-Accel-Buffering"] = "no"
    return response
