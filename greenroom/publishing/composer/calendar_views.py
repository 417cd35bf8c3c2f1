"""The publishing calendar: month and week, in the viewer's time zone, with drag to reschedule.

A post's channels that go out at the same minute show as one entry; dragging it (or the
keyboard's "Move" form) reschedules exactly those channels through the publishing app's
`do_schedule`, which checks the person's rights. Times are stored in UTC and placed on the day
they fall on in the viewer's zone: 23:30 UTC is the next morning in Seoul.
"""

from __future__ import annotations

import calendar as pycalendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from greenroom.core.actions import ActionError
from greenroom.core.models import Brand, Channel, Organization, User
from greenroom.core.tenancy import require_section
from greenroom.publishing import actions
from greenroom.publishing.actions.common import channels_with
from greenroom.publishing.models import Campaign, Post, Variant, VariantState

from .compose import post_url
from .forms import CalendarFilterForm, RescheduleForm

# Channels in these states can be given a new time from the calendar (do_schedule's rules).
MOVABLE = frozenset(
    {
        VariantState.DRAFT,
        VariantState.IN_APPROVAL,
        VariantState.APPROVED,
        VariantState.SCHEDULED,
        VariantState.NEEDS_NEW_TIME,
        VariantState.FAILED,
    }
)
STATE_CHIP = {
    VariantState.PUBLISHED: "ok",
    VariantState.SCHEDULED: "ok",
    VariantState.FAILED: "bad",
    VariantState.NEEDS_NEW_TIME: "bad",
    VariantState.IN_APPROVAL: "warn",
    VariantState.PUBLISHING: "warn",
}
DEFAULT_COLOUR = "#6c757d"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


# --- The window ----------------------------------------------------------------------------------


def month_window(anchor: date) -> tuple[date, date]:
    """The Monday before the 1st to the Sunday after the month's last day (end exclusive)."""
    first = anchor.replace(day=1)
    last = anchor.replace(day=pycalendar.monthrange(anchor.year, anchor.month)[1])
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=7 - last.weekday())
    return start, end


def week_window(anchor: date) -> tuple[date, date]:
    start = anchor - timedelta(days=anchor.weekday())
    return start, start + timedelta(days=7)


def at_midnight(day: date, zone: tzinfo) -> datetime:
    # zoneinfo gives each midnight its own offset, so a window across a DST change is right.
    return datetime.combine(day, time(0), tzinfo=zone)


def calendar_time(variant: Variant) -> datetime | None:
    """When a channel shows on the calendar: when it went out, else when it is due."""
    if variant.state == VariantState.PUBLISHED and variant.published_at is not None:
        return variant.published_at
    return variant.publish_at


def variants_between(
    user: User, org: Organization, start: datetime, end: datetime
) -> QuerySet[Variant]:
    """Every channel of a post the person can see that goes out (or went out) in [start, end)."""
    published = Q(state=VariantState.PUBLISHED, published_at__gte=start, published_at__lt=end)
    due = ~Q(state=VariantState.PUBLISHED) & Q(publish_at__gte=start, publish_at__lt=end)
    return (
        Variant.objects.restrict(user, "view")
        .filter(channel__organization=org)
        .filter(published | due)
        .select_related("post", "post__campaign", "post__author", "channel", "channel__brand")
        .order_by("publish_at", "pk")
    )


# --- Entries -------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One post's channels that go out at the same minute, as one box on the calendar."""

    post: Post
    at: datetime  # local
    state: str
    variants: list[Variant] = field(default_factory=list)
    movable: bool = False

    @property
    def variant_ids(self) -> str:
        return " ".join(str(v.pk) for v in self.variants)

    @property
    def colour(self) -> str:
        campaign = self.post.campaign
        return campaign.colour if campaign is not None else DEFAULT_COLOUR

    @property
    def state_label(self) -> str:
        return str(VariantState(self.state).label)

    @property
    def chip(self) -> str:
        return STATE_CHIP.get(VariantState(self.state), "muted")

    @property
    def url(self) -> str:
        return post_url(self.post)

    @property
    def local_value(self) -> str:
        return self.at.strftime("%Y-%m-%dT%H:%M")

    @property
    def dom_id(self) -> str:
        return f"entry-{self.variants[0].pk}"


def entries_of(variants: list[Variant], user: User, zone: tzinfo) -> list[Entry]:
    grouped: dict[tuple[int, str, str], Entry] = {}
    for variant in variants:
        when = calendar_time(variant)
        if when is None:
            continue
        local = when.astimezone(zone)
        key = (variant.post_id, local.strftime("%Y-%m-%d %H:%M"), variant.state)
        entry = grouped.get(key)
        if entry is None:
            entry = grouped[key] = Entry(post=variant.post, at=local, state=variant.state)
        entry.variants.append(variant)
    entries = sorted(grouped.values(), key=lambda e: (e.at, e.post.pk))
    channels = [v.channel for e in entries for v in e.variants]
    may_publish = channels_with(user, "publish", channels)
    may_draft = channels_with(user, "draft", channels)
    for entry in entries:
        if entry.state not in MOVABLE:
            continue
        author = entry.post.author_id == user.pk
        entry.movable = all(
            v.channel_id in may_publish or (author and v.channel_id in may_draft)
            for v in entry.variants
        )
    return entries


# --- Pages ---------------------------------------------------------------------------------------


@dataclass
class Day:
    day: date
    in_range: bool
    today: bool
    entries: list[Entry]
    # Week view: entries by hour.
    hours: dict[int, list[Entry]] = field(default_factory=dict)


def _filters(request: HttpRequest, org: Organization, user: User) -> CalendarFilterForm:
    channels = Channel.objects.restrict(user, "view").filter(organization=org)
    networks = sorted(set(channels.values_list("kind", flat=True)))
    brands = Brand.objects.filter(organization=org, pk__in=channels.values("brand_id"))
    authors = User.objects.filter(
        pk__in=Post.objects.restrict(user, "view").filter(organization=org).values("author_id")
    ).order_by("display_name", "username")
    return CalendarFilterForm(
        request.GET or None,
        brands=brands,
        networks=networks,
        campaigns=Campaign.objects.restrict(user, "view_org").filter(organization=org),
        authors=authors,
    )


def _apply(variants: QuerySet[Variant], form: CalendarFilterForm) -> QuerySet[Variant]:
    if not form.is_bound or not form.is_valid():
        return variants.exclude(state=VariantState.CANCELLED)
    data = form.cleaned_data
    if data.get("brand"):
        variants = variants.filter(channel__brand=data["brand"])
    if data.get("network"):
        variants = variants.filter(channel__kind=data["network"])
    if data.get("campaign"):
        variants = variants.filter(post__campaign=data["campaign"])
    if data.get("author"):
        variants = variants.filter(post__author=data["author"])
    if data.get("state"):
        variants = variants.filter(state=data["state"])
    else:
        variants = variants.exclude(state=VariantState.CANCELLED)
    return variants


def _anchor(form: CalendarFilterForm, today: date) -> date:
    if form.is_bound and form.is_valid() and form.cleaned_data.get("date"):
        picked: date = form.cleaned_data["date"]
        return picked
    return today


def _query(request: HttpRequest, **changes: Any) -> str:
    params = {k: v for k, v in request.GET.items() if v}
    params.update({k: v for k, v in changes.items() if v is not None})
    return urlencode(params)


def _page(request: HttpRequest, view: str) -> HttpResponse:
    org = require_section(request, "publishing")
    user = _user(request)
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    form = _filters(request, org, user)
    anchor = _anchor(form, today)
    start, end = month_window(anchor) if view == "month" else week_window(anchor)
    variants = list(
        _apply(variants_between(user, org, at_midnight(start, zone), at_midnight(end, zone)), form)
    )
    by_day: dict[date, list[Entry]] = defaultdict(list)
    for entry in entries_of(variants, user, zone):
        by_day[entry.at.date()].append(entry)
    days = []
    cursor = start
    while cursor < end:
        in_range = cursor.month == anchor.month if view == "month" else True
        day = Day(day=cursor, in_range=in_range, today=cursor == today, entries=by_day[cursor])
        for entry in day.entries:
            day.hours.setdefault(entry.at.hour, []).append(entry)
        days.append(day)
        cursor += timedelta(days=1)
    if view == "month":
        previous = (anchor.replace(day=1) - timedelta(days=1)).replace(day=1)
        following = (anchor.replace(day=28) + timedelta(days=4)).replace(day=1)
        title = date_format(anchor, "YEAR_MONTH_FORMAT")
    else:
        previous, following = anchor - timedelta(days=7), anchor + timedelta(days=7)
        title = _("%(start)s to %(end)s") % {
            "start": date_format(start, "Y-m-d"),
            "end": date_format(end - timedelta(days=1), "Y-m-d"),
        }
    campaigns = {v.post.campaign for v in variants if v.post.campaign is not None}
    return render(
        request,
        "composer/calendar.html",
        {
            "org": org,
            "view": view,
            "title": title,
            "form": form,
            "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
            "days": days,
            "hours": range(24),
            "weekdays": [date_format(d.day, "D") for d in days[:7]],
            "previous": _query(request, date=previous.isoformat()),
            "following": _query(request, date=following.isoformat()),
            "today_query": _query(request, date=today.isoformat()),
            "here": request.get_full_path(),
            "campaigns": sorted(campaigns, key=lambda c: c.name),
            "count": sum(len(d.entries) for d in days),
            "zone": str(zone),
            "reschedule_url": reverse("calendar:reschedule"),
        },
    )


@login_required
@require_GET
def month(request: HttpRequest) -> HttpResponse:
    return _page(request, "month")


@login_required
@require_GET
def week(request: HttpRequest) -> HttpResponse:
    return _page(request, "week")


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: HttpRequest, form: RescheduleForm | None) -> str:
    target = form.cleaned_data.get("next", "") if form is not None and form.is_valid() else ""
    target = target or request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return str(target)
    return reverse("calendar:month")


@login_required
@require_POST
def reschedule(request: HttpRequest) -> HttpResponse:
    """Give one calendar entry (a post's channels at one time) a new time.

    Posted by dragging (JSON answer) or by the "Move" form (a redirect back with a message).
    A channel the person cannot see is a 404; one they may not schedule is refused by the
    publishing app's action, and the message says why.
    """
    org = require_section(request, "publishing")
    user = _user(request)
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        message = _("Give the new date and time, e.g. 2026-12-24 09:30.")
        return _answer(request, form, ok=False, message=message, status=400)
    ids = form.variant_ids()
    variants = list(
        Variant.objects.restrict(user, "view")
        .filter(channel__organization=org, pk__in=ids)
        .select_related("post", "channel")
    )
    if not ids or len(variants) != len(set(ids)):
        raise Http404("No such post on your calendar.")
    posts = {v.post_id for v in variants}
    if len(posts) != 1:
        return _answer(request, form, ok=False, message=_("Move one post at a time."), status=400)
    post = variants[0].post
    when = form.when()
    try:
        actions.do_schedule(
            post, publish_at=when, channels=[v.channel for v in variants], acting_user=user
        )
    except ActionError as exc:
        return _answer(request, form, ok=False, message=str(exc), status=400)
    local = timezone.localtime(when)
    message = _("“%(post)s” moved to %(time)s.") % {
        "post": post,
        "time": date_format(local, "Y-m-d H:i"),
    }
    return _answer(request, form, ok=True, message=message, status=200, day=local.date())


def _answer(
    request: HttpRequest,
    form: RescheduleForm,
    *,
    ok: bool,
    message: str,
    status: int,
    day: date | None = None,
) -> HttpResponse:
    if _wants_json(request):
        body: dict[str, Any] = {"ok": ok, "message": message}
        if day is not None:
            body["date"] = day.isoformat()
        return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    (messages.success if ok else messages.error)(request, message)
    return redirect(_back(request, form))
