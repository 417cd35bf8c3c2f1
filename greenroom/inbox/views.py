"""The agent workspace: queues, a conversation, replies and notes, approvals, inbox settings.

Reads go through `restrict(user, "engage")` inside the current organisation (the inbox section
opens for people who engage); anything out of scope is a 404. Writes go through inbox.actions.
Collision detection (who is looking at or answering a conversation) is in inbox.presence; the
pages hear about changes over server-sent events (inbox.live) and fall back to slow polling.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from greenroom.core.actions import ActionError
from greenroom.core.ids import as_id, as_ids
from greenroom.core.models import Brand, Channel, Organization, Team, User
from greenroom.core.templatetags.greenroom import network_name
from greenroom.core.tenancy import opens_section, require_section
from greenroom.inbox import actions, live, posts, queues, replies, routing
from greenroom.inbox import presence as presence_store
from greenroom.inbox.models import (
    Contact,
    Conversation,
    ConversationKind,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    Priority,
    SavedReply,
    Sentiment,
)
from greenroom.inbox.settings_views import may_configure
from greenroom.networks import rules as network_rules
from greenroom.networks import text as network_text
from greenroom.networks.models import HeldInbound

PAGE = 50
# The last page of a queue an address can ask for (500,000 conversations).
MAX_PAGE = 10_000
QUEUES = queues.NAMES


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _conversations(request: HttpRequest, org: Organization) -> QuerySet[Conversation]:
    return Conversation.objects.restrict(request.user, "engage").filter(organization=org)


def _conversation(request: HttpRequest, org: Organization, pk: int) -> Conversation:
    return get_object_or_404(
        _conversations(request, org).select_related(
            "channel", "brand", "contact", "assignee", "team", "sla_policy", "organization"
        ),
        pk=pk,
    )


def _queue(
    request: HttpRequest, org: Organization, name: str, filters: dict[str, str]
) -> QuerySet[Conversation]:
    rows = queues.narrowed(
        queues.in_queue(_conversations(request, org), name, _user(request), timezone.now()),
        org.pk,
        brand=as_id(filters.get("brand", "")),
        channel=as_id(filters.get("channel", "")),
        network=filters.get("network", ""),
        tag=filters.get("tag", ""),
        sentiment=filters.get("sentiment", ""),
        language=filters.get("language", ""),
        text=filters.get("q", ""),
    )
    if name == "closed":
        return rows.order_by("-closed_at", "-pk")
    if name == "snoozed":
        return rows.order_by("snoozed_until", "pk")
    return rows


class QueueRow(dict[str, Any]):
    """One line of a queue, ready to print: the template reads plain keys (no model instances,
    no filters per row on a 50-row page that refreshes every 15 s); code reads attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


ROW_FIELDS = (
    "pk",
    "kind",
    "priority",
    "preview",
    "sentiment",
    "language",
    "tags",
    "network",
    "sla_due_at",
    "sla_warn_at",
    "assignee_id",
    "channel__name",
    "contact__handle",
    "contact__name",
    "status",
    "snoozed_until",
    "closed_at",
    "last_message_at",
)


# The queues whose tabs say how many wait in them, counted up to COUNT_CAP ("99+"): one bounded
# query each, served by the queue indexes, so a queue of 100,000 costs what one of 100 does.
COUNTED = ("mine", "unassigned", "breaching")
COUNT_CAP = 99


def _counts(request: HttpRequest, org: Organization, now: datetime) -> dict[str, str]:
    """How many conversations wait in each counted queue, as the tab shows it."""
    rows = _conversations(request, org)
    user = _user(request)
    counts = {}
    for name in COUNTED:
        found = queues.in_queue(rows, name, user, now).values("pk")[: COUNT_CAP + 1].count()
        counts[name] = f"{COUNT_CAP}+" if found > COUNT_CAP else str(found)
    return counts


def _page(rows: QuerySet[Conversation], name: str, page: int) -> list[dict[str, Any]]:
    """One page (plus one row, to know whether there is a next page), soonest due first.

    Conversations with a running clock come first in due order, read in the order of the
    queue's index (organization, assignee, sla_due_at), never sorted in full; those without one
    (answered, waiting on the customer) follow, newest first.
    """
    start, stop = (page - 1) * PAGE, page * PAGE + 1
    if name in ("closed", "snoozed"):
        return list(rows.values(*ROW_FIELDS)[start:stop])
    due = rows.filter(sla_due_at__isnull=False).order_by("sla_due_at", "pk")
    found = list(due.values(*ROW_FIELDS)[start:stop])
    if len(found) < stop - start:
        # Counted only past the first page (on it the offset is 0 whatever the count).
        offset = max(0, start - due.count()) if not found and start else 0
        rest = rows.filter(sla_due_at__isnull=True).order_by("-last_message_at", "-pk")
        found += list(rest.values(*ROW_FIELDS)[offset : offset + (stop - start) - len(found)])
    return found


def _queue_rows(found: list[dict[str, Any]], now: datetime) -> list[QueueRow]:
    """What each line of the queue shows, worked out once per row."""
    kinds = {value: str(label) for value, label in ConversationKind.choices}
    priorities = {value: str(label) for value, label in Priority.choices}
    sentiments = {value: str(label) for value, label in Sentiment.choices}
    assignees = User.objects.in_bulk({r["assignee_id"] for r in found if r["assignee_id"]})
    networks: dict[str, str] = {}
    no_clock, just_now = _("No clock running"), _("just now")
    rows = []
    for r in found:
        state = _sla_state(r["sla_due_at"], r["sla_warn_at"], now)
        if state == "none":
            sla_text = no_clock
        elif state == "breached":
            # How late, not just "breached": an hour over and a day over are not the same.
            sla_text = overdue_text(r["sla_due_at"], now)
        else:
            sla_text = _("%(left)s left") % {"left": timeuntil(r["sla_due_at"], now, depth=1)}
        if r["network"] not in networks:
            networks[r["network"]] = network_name(r["network"])
        assignee = assignees.get(r["assignee_id"]) if r["assignee_id"] else None
        priority = r["priority"]
        rows.append(
            QueueRow(
                pk=r["pk"],
                url=reverse("inbox_conversation", args=[r["pk"]]),
                handle=r["contact__handle"] or "—",
                # The person's name when the network gave one that says more than the handle
                # (Facebook and Instagram handles are ids).
                name=name
                if (name := r["contact__name"] or "").casefold()
                != (r["contact__handle"] or "").casefold()
                else "",
                kind_label=kinds.get(r["kind"], r["kind"]),
                priority_label="" if priority == Priority.NORMAL else priorities.get(priority),
                priority_class="gr-chip-bad"
                if priority in (Priority.URGENT, Priority.HIGH)
                else "gr-chip-muted",
                preview=r["preview"]
                if len(r["preview"]) <= 120
                else Truncator(r["preview"]).chars(120),
                sentiment_label=sentiments.get(r["sentiment"], ""),
                sentiment_class={"negative": "gr-chip-bad", "positive": "gr-chip-ok"}.get(
                    r["sentiment"], "gr-chip-muted"
                ),
                language=r["language"],
                tags=[(tag, quote(tag, safe="/")) for tag in r["tags"] or []],
                channel_name=r["channel__name"],
                network=r["network"],
                network_label=networks[r["network"]],
                assignee=assignee.name if assignee is not None else "",
                sla_state=state,
                sla_text=sla_text,
                sla_class={"breached": "gr-chip-bad", "warning": "gr-chip-warn"}.get(
                    state, "gr-chip-ok"
                ),
                snoozed_until=r["snoozed_until"]
                if r["status"] == ConversationStatus.SNOOZED
                else None,
                closed_at=r["closed_at"] if r["status"] == ConversationStatus.CLOSED else None,
                # When they last wrote: the clock says how long is left, not how long they wait.
                last_at=r["last_message_at"].astimezone(UTC).isoformat(timespec="seconds"),
                last_ago=just_now
                if now - r["last_message_at"] < timedelta(minutes=1)
                else _("%(age)s ago") % {"age": timesince(r["last_message_at"], now, depth=1)},
            )
        )
    return rows


def overdue_text(due_at: datetime, now: datetime) -> str:
    """How late a breached clock is, in its largest unit: "2 hours overdue"."""
    return _("%(late)s overdue") % {"late": timesince(due_at, now, depth=1)}


def _filters(request: HttpRequest) -> dict[str, str]:
    return {
        key: request.GET.get(key, "")[:60]
        for key in ("brand", "network", "channel", "tag", "sentiment", "language", "q")
        if request.GET.get(key)
    }


def _sla_state(due_at: datetime | None, warn_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return "none"
    if due_at <= now:
        return "breached"
    if warn_at is not None and warn_at <= now:
        return "warning"
    return "ok"


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "inbox")
    name = request.GET.get("queue", "unassigned")
    if name not in QUEUES:
        name = "unassigned"
    filters = _filters(request)
    # Capped: a page number from an address could ask for an offset past the database's range.
    page = min(as_id(request.GET.get("page", "1")) or 1, MAX_PAGE)
    found = _page(_queue(request, org, name, filters), name, page)
    has_next = len(found) > PAGE
    now = timezone.now()
    rows = _queue_rows(found[:PAGE], now)
    counts = _counts(request, org, now)
    context = {
        "org": org,
        "queue": name,
        "filters": filters,
        "rows": rows,
        "page": page,
        "has_next": has_next,
        "now": now,
        "queues": [
            (key, label, counts.get(key, ""))
            for key, label in (
                ("unassigned", _("Unassigned")),
                ("mine", _("Mine")),
                ("breaching", _("About to breach")),
                ("all", _("All open")),
                ("snoozed", _("Snoozed")),
                ("closed", _("Closed")),
            )
        ],
        "brands": Brand.objects.restrict(request.user, "view_org").filter(organization=org),
        "networks": sorted(
            set(
                Channel.objects.restrict(request.user, "engage")
                .filter(organization=org)
                .values_list("kind", flat=True)
            )
        ),
        "people": _agents(org),
        "snooze_choices": snooze_choices(),
        "sentiments": Sentiment.choices,
        "languages": org.languages or [],
        # Webhook items waiting for a second lookup before they land (networks/held.py).
        "held": HeldInbound.objects.restrict(request.user, "engage")
        .filter(organization=org)
        .count(),
        # What this person could approve (their own replies are someone else's to approve).
        "awaiting_approval": Message.objects.restrict(request.user, "approve")
        .filter(organization=org, status=DeliveryStatus.AWAITING_APPROVAL)
        .exclude(author=_user(request))
        .count(),
        "can_configure": may_configure(request, org),
        # The numbers page is the analytics section's.
        "sees_numbers": opens_section(request, org, "analytics"),
        "querystring": request.GET.urlencode(),
        "drawn_at": f"{time.time():.3f}",
        # A live refresh swaps the table; the tabs' counts come along out of band.
        "oob_counts": bool(request.htmx),  # type: ignore[attr-defined]
    }
    template = "inbox/_queue_table.html" if request.htmx else "inbox/queue.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _agents(org: Organization) -> list[User]:
    return list(
        User.objects.filter(memberships__organization=org, memberships__is_active=True)
        .order_by("display_name", "username")
        .distinct()
    )


def _thread(conversation: Conversation) -> list[Message]:
    return list(
        conversation.messages.select_related("author", "approved_by", "contact").order_by(
            "sent_at", "pk"
        )
    )


def _counter(conversation: Conversation, text: str) -> dict[str, Any]:
    try:
        measured = network_text.count_reply(text, conversation.channel.kind, conversation.kind)
    except (network_rules.UnknownNetwork, ValueError):
        return {"length": len(text), "limit": None, "over": False}
    return {
        "length": measured.length,
        "limit": measured.limit,
        "over": measured.over,
        "over_by": max(0, measured.length - measured.limit) if measured.limit else 0,
    }


@login_required
def conversation_view(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "inbox")
    conversation = _conversation(request, org, pk)
    user = _user(request)
    presence_store.touch(conversation.pk, user, "viewing")
    history: list[Conversation] = []
    same_handle: list[Conversation] = []
    if conversation.contact is not None:
        others = (
            _conversations(request, org)
            .exclude(pk=conversation.pk)
            .select_related("channel")
            .order_by("-last_message_at")
        )
        # The same person: their contact (one per network and handle), on every channel.
        history = list(others.filter(contact=conversation.contact)[:10])
        # The same handle on another network may be someone else: listed apart, as a maybe.
        same_handle = list(
            others.filter(contact__handle=conversation.contact.handle).exclude(
                contact__network=conversation.contact.network
            )[:5]
        )
    saved = SavedReply.objects.restrict(user, "view_org").filter(organization=org, is_active=True)
    saved = saved.filter(Q(brand__isnull=True) | Q(brand_id=conversation.brand_id))
    variables = replies.reply_variables(conversation, user)
    now = timezone.now()
    context = {
        "org": org,
        "c": conversation,
        "thread": _thread(conversation),
        "history": history,
        "same_handle": same_handle,
        "post": posts.find_post(user, conversation.channel_id, conversation.post_external_id),
        "saved_replies": [
            {"id": s.pk, "title": s.title, "text": routing.fill(s.body, variables)} for s in saved
        ],
        # A reply or note the server refused comes back in its box, not lost (one display).
        "reply_draft": request.session.pop(_draft_key("reply", conversation.pk), ""),
        "note_draft": request.session.pop(_draft_key("note", conversation.pk), ""),
        "people": _agents(org),
        "teams": Team.objects.restrict(user, "view_org").filter(organization=org),
        "priorities": Priority.choices,
        "snooze_choices": snooze_choices(),
        "now": now,
        "sla_state": _sla_state(conversation.sla_due_at, conversation.sla_warn_at, now),
        "sla_overdue": overdue_text(conversation.sla_due_at, now)
        if conversation.sla_due_at is not None and conversation.sla_due_at <= now
        else "",
        "others": [],
        # Whether this person's reply goes out or waits (an approver's goes out, unless the
        # rule wants four eyes): the button says which.
        "reply_waits": actions.reply_waits(user, conversation),
        # The event stream reports changes made after this moment (inbox.live).
        "drawn_at": f"{time.time():.3f}",
        "heartbeat_s": presence_store.heartbeat_s(),
    }
    context["counter"] = _counter(conversation, context["reply_draft"])
    return render(request, "inbox/conversation.html", context)


def _draft_key(box: str, pk: int) -> str:
    return f"inbox-{box}-draft-{pk}"


@login_required
def thread_part(request: HttpRequest, pk: int) -> HttpResponse:
    """The messages of a conversation (polled: new messages appear without a reload)."""
    org = require_section(request, "inbox")
    conversation = _conversation(request, org, pk)
    return render(
        request, "inbox/_thread.html", {"c": conversation, "thread": _thread(conversation)}
    )


@login_required
@require_POST
def presence(request: HttpRequest, pk: int) -> HttpResponse:
    """I am viewing (or replying to) this conversation; who else is?"""
    org = require_section(request, "inbox")
    conversation = _conversation(request, org, pk)
    user = _user(request)
    state = "replying" if request.POST.get("state") == "replying" else "viewing"
    people = presence_store.touch(conversation.pk, user, state)
    others = [v for k, v in people.items() if k != str(user.pk)]
    return render(request, "inbox/_presence.html", {"others": others})


def _watch(request: HttpRequest, pk: int | None) -> live.Watch:
    """What an event stream watches, checked like the page it feeds: the inbox section, and
    the conversation through restrict() (another organisation's is a 404 before any stream)."""
    org = require_section(request, "inbox")
    conversation = _conversation(request, org, pk) if pk is not None else None
    return live.Watch.start(
        org=org, user=_user(request), conversation=conversation, since=live.since_of(request)
    )


@login_required
async def queue_events(request: HttpRequest) -> StreamingHttpResponse:
    """Server-sent events for the queue page: a conversation in the organisation changed."""
    watch = await sync_to_async(_watch)(request, None)
    return live.stream(request, watch)


@login_required
async def conversation_events(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Server-sent events for a conversation page: its thread, its fields or who is here
    changed."""
    watch = await sync_to_async(_watch)(request, pk)
    return live.stream(request, watch)


@login_required
@require_POST
def count(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "inbox")
    conversation = _conversation(request, org, pk)
    counter = _counter(conversation, request.POST.get("text", ""))
    return render(request, "inbox/_counter.html", {"counter": counter})


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(default)


@login_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "inbox")
    conversation = _conversation(request, org, pk)
    user = _user(request)
    text = request.POST.get("text", "")
    try:
        message = actions.do_reply(
            conversation,
            text,
            acting_user=user,
            handle_seconds=presence_store.handle_seconds(pk, user),
        )
    except ActionError as exc:
        messages.error(request, str(exc))
        request.session[_draft_key("reply", pk)] = text[:20_000]
    else:
        presence_store.touch(pk, user, "viewing")
        if message.status == DeliveryStatus.AWAITING_APPROVAL:
            messages.info(request, _("Your reply waits for approval before it is sent."))
        else:
            messages.success(request, _("Reply sent to the network."))
    return redirect("inbox_conversation", pk=pk)


@login_required
@require_POST
def note(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "inbox")
    conversation = _conversation(request, org, pk)
    text = request.POST.get("text", "")
    try:
        actions.do_add_note(conversation, text, acting_user=_user(request))
    except ActionError as exc:
        messages.error(request, str(exc))
        request.session[_draft_key("note", pk)] = text[:20_000]
    return redirect("inbox_conversation", pk=pk)


# The Snooze menus: a few hours, or the next working morning in the person's own time zone
# (when they will look again). Anything else is the default, four hours.
SNOOZE_MORNING = clock_time(9)


def snooze_choices() -> list[tuple[str, str]]:
    return [
        ("1h", _("1 hour")),
        ("4h", _("4 hours")),
        ("tomorrow", _("Tomorrow 09:00")),
        ("monday", _("Monday 09:00")),
    ]


def snooze_until(choice: str, now: datetime) -> datetime:
    """When a snooze chosen in a menu ends; mornings are in the active (the person's) zone."""
    if choice == "1h":
        return now + timedelta(hours=1)
    local = timezone.localtime(now)
    if choice == "tomorrow":
        day = local.date() + timedelta(days=1)
    elif choice == "monday":
        day = local.date() + timedelta(days=(7 - local.weekday()) or 7)
    else:
        return now + timedelta(hours=4)
    return timezone.make_aware(datetime.combine(day, SNOOZE_MORNING))


def _person(org: Organization, value: str) -> User | None:
    """The member chosen in a form; None for nobody (an empty choice)."""
    if not value:
        return None
    pk = as_id(value)
    if pk is None:
        raise Http404("No such person.")
    return get_object_or_404(
        User, pk=pk, memberships__organization=org, memberships__is_active=True
    )


def _team(org: Organization, value: str) -> Team | None:
    """The team chosen in a form; None for no team (an empty choice)."""
    if not value:
        return None
    pk = as_id(value)
    if pk is None:
        raise Http404("No such team.")
    return get_object_or_404(Team.objects.filter(organization=org), pk=pk)


def _apply(request: HttpRequest, org: Organization, rows: list[Conversation]) -> None:
    """One action from the conversation page or the queue's bulk bar."""
    user = _user(request)
    what = request.POST.get("action", "")
    if what == "assign_me":
        actions.do_assign(rows, user, acting_user=user)
    elif what == "assign":
        actions.do_assign(rows, _person(org, request.POST.get("assignee", "")), acting_user=user)
    elif what == "team":
        actions.do_set_team(rows, _team(org, request.POST.get("team", "")), acting_user=user)
    elif what == "priority":
        actions.do_set_priority(rows, request.POST.get("priority", ""), acting_user=user)
    elif what == "tag":
        tags = [t for t in request.POST.get("tag", "").split(",") if t.strip()]
        actions.do_tag(rows, add=tags, acting_user=user)
    elif what == "untag":
        actions.do_tag(rows, remove=[request.POST.get("tag", "")], acting_user=user)
    elif what == "close":
        actions.do_close(rows, acting_user=user)
    elif what == "reopen":
        for row in rows:
            actions.do_reopen(row, acting_user=user)
    elif what == "snooze":
        until = snooze_until(request.POST.get("snooze", ""), timezone.now())
        actions.do_snooze(rows, until, acting_user=user)
    else:
        raise ActionError(_("Choose what to do."))


@login_required
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "inbox")
    conversation = _conversation(request, org, pk)
    try:
        _apply(request, org, [conversation])
    except ActionError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("inbox_conversation", args=[pk]))


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "inbox")
    ids = as_ids(request.POST.getlist("ids"))[:500]
    rows = list(_conversations(request, org).filter(pk__in=ids).select_related("organization"))
    if not rows:
        messages.error(request, _("Select conversations first."))
    else:
        try:
            _apply(request, org, rows)
        except ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                ngettext("Done for %(n)s conversation.", "Done for %(n)s conversations.", len(rows))
                % {"n": len(rows)},
            )
    return _back(request, reverse("inbox"))


@login_required
@require_POST
def hide(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "inbox")
    message = get_object_or_404(
        Message.objects.restrict(request.user, "engage")
        .filter(organization=org)
        .select_related("conversation__organization"),
        pk=pk,
    )
    try:
        actions.do_hide_message(message, acting_user=_user(request))
    except ActionError as exc:
        messages.error(request, str(exc))
    return redirect("inbox_conversation", pk=message.conversation_id)


@login_required
def delete_message(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a comment on the network: GET asks to confirm (showing the comment), POST does it."""
    org = require_section(request, "inbox")
    message = get_object_or_404(
        Message.objects.restrict(request.user, "engage")
        .filter(organization=org)
        .select_related("conversation__organization", "channel"),
        pk=pk,
    )
    if request.method == "POST":
        try:
            actions.do_delete_message(message, acting_user=_user(request))
        except ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The comment is being deleted on the network."))
        return redirect("inbox_conversation", pk=message.conversation_id)
    return render(
        request, "inbox/delete_message.html", {"org": org, "m": message, "c": message.conversation}
    )


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "inbox")
    user = _user(request)
    # Nobody approves their own reply: an approver's own waiting replies are listed as theirs.
    waiting = list(
        Message.objects.restrict(request.user, "approve")
        .filter(organization=org, status=DeliveryStatus.AWAITING_APPROVAL)
        .exclude(author=user)
        .select_related("conversation", "channel", "author")
        .order_by("created_at")[:200]
    )
    # What each reply answers, so the approver reads both without opening the conversation.
    answered = {
        (m.conversation_id, m.external_id): m
        for m in Message.objects.filter(
            organization=org,
            direction=Direction.INBOUND,
            conversation_id__in={m.conversation_id for m in waiting},
            external_id__in={m.in_reply_to for m in waiting if m.in_reply_to},
        )
    }
    items = [(m, answered.get((m.conversation_id, m.in_reply_to))) for m in waiting]
    # Whoever wrote a held reply (an agent, or an approver under four eyes) sees where it is.
    mine = list(
        Message.objects.restrict(request.user, "engage")
        .filter(organization=org, status=DeliveryStatus.AWAITING_APPROVAL, author=user)
        .select_related("channel")
        .order_by("created_at")[:200]
    )
    can_approve = (
        bool(waiting)
        or Channel.objects.restrict(request.user, "approve").filter(organization=org).exists()
    )
    return render(
        request,
        "inbox/approvals.html",
        {"org": org, "items": items, "mine": mine, "can_approve": can_approve},
    )


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "inbox")
    message = get_object_or_404(
        Message.objects.restrict(request.user, "approve")
        .filter(organization=org)
        .select_related("conversation__organization"),
        pk=pk,
    )
    try:
        if request.POST.get("decision") == "approve":
            actions.do_approve_reply(message, acting_user=_user(request))
            messages.success(request, _("Approved: the reply is on its way."))
        else:
            actions.do_reject_reply(
                message, reason=request.POST.get("reason", ""), acting_user=_user(request)
            )
            messages.info(request, _("Rejected: the reply will not be sent."))
    except ActionError as exc:
        messages.error(request, str(exc))
    return redirect("inbox_approvals")


@login_required
@require_POST
def contact_update(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "inbox")
    contact = get_object_or_404(Contact.objects.restrict(request.user, "view_org"), pk=pk)
    if contact.organization_id != org.pk:
        raise Http404
    try:
        actions.do_update_contact(
            contact,
            acting_user=_user(request),
            is_vip=request.POST.get("is_vip") == "on",
            is_customer=request.POST.get("is_customer") == "on",
        )
    except ActionError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("inbox"))
