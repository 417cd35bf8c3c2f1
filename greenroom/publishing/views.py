"""Publishing pages: the list of posts, a post's page (per-channel status, approvals, history,
retry and cancel), a minimal composer, and the publishing pause switch.

Reads go through `restrict()` within the current organisation; anything out of scope is a 404.
Writes go through greenroom.publishing.actions; an ActionError becomes a message on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from greenroom.core.ids import as_ids
from greenroom.core.models import AuditEvent, Brand, Channel, ChannelStatus, Organization, User
from greenroom.core.tenancy import require_section
from greenroom.publishing import actions, approvals, engine, options, sentences
from greenroom.publishing.actions.common import channels_with
from greenroom.publishing.forms import (
    CommentForm,
    PauseForm,
    PostFilterForm,
    PostForm,
    ScheduleForm,
)
from greenroom.publishing.models import (
    Campaign,
    Notification,
    Post,
    PostQuerySet,
    PostState,
    PublishAttempt,
    PublishingPause,
    Variant,
    VariantState,
)

PAGE_SIZE = 30

# What each audit action means on a post's history, in the words of the people who did it.
HISTORY_LABELS: dict[str, Any] = {
    "post.created": gettext_lazy("Drafted"),
    "post.edited": gettext_lazy("Edited"),
    "post.submitted": gettext_lazy("Submitted for approval"),
    "post.withdrawn": gettext_lazy("Withdrawn to draft"),
    "post.approval_given": gettext_lazy("Approved"),
    "post.changes_requested": gettext_lazy("Requested changes"),
    "post.approved": gettext_lazy("Approval complete"),
    "variant.scheduled": gettext_lazy("Scheduled"),
    "variant.rescheduled": gettext_lazy("Rescheduled"),
    "variant.publish_now": gettext_lazy("Published now"),
    "variant.cancelled": gettext_lazy("Cancelled"),
    "variant.retried": gettext_lazy("Retried"),
    "variant.needs_new_time": gettext_lazy("Approved too late: needs a new time"),
    "variant.published": gettext_lazy("Published"),
    "variant.failed": gettext_lazy("Failed"),
    "variant.first_comment_sent": gettext_lazy("First comment posted"),
    "variant.first_comment_failed": gettext_lazy("First comment failed"),
    "variant.first_comment_retried": gettext_lazy("First comment retried"),
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # every view is behind login_required
    return user


def _posts(request: HttpRequest, org: Organization, perm: str = "view") -> PostQuerySet:
    return Post.objects.restrict(request.user, perm).filter(organization=org)


def _post(request: HttpRequest, org: Organization, pk: int) -> Post:
    return get_object_or_404(
        _posts(request, org).select_related("author", "campaign", "brand", "organization"), pk=pk
    )


def _variant(request: HttpRequest, org: Organization, pk: int) -> Variant:
    return get_object_or_404(
        Variant.objects.restrict(request.user, "view")
        .filter(channel__organization=org)
        .select_related("post", "channel"),
        pk=pk,
    )


def _channels(request: HttpRequest, org: Organization, perm: str) -> QuerySet[Channel]:
    return (
        Channel.objects.restrict(request.user, perm)
        .filter(organization=org)
        .exclude(status=ChannelStatus.ARCHIVED)
        .select_related("brand")
        .defer("credentials")
    )


def _pauses_context(org: Organization) -> dict[str, Any]:
    return {"active_pauses": list(PublishingPause.objects.active().filter(organization=org))}


def _back(post: Post) -> HttpResponseRedirect:
    return redirect("publishing_post", pk=post.pk)


def _act(request: HttpRequest, post: Post, act: Callable[[], Any], done: str) -> HttpResponse:
    try:
        act()
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return _back(post)


# --- List ----------------------------------------------------------------------------------------


@login_required
def post_list(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "publishing")
    user = _user(request)
    posts = _posts(request, org)
    brands = Brand.objects.restrict(user, "view_org").filter(organization=org)
    form = PostFilterForm(
        request.GET or None,
        brands=brands,
        channels=_channels(request, org, "view"),
        campaigns=Campaign.objects.restrict(user, "view_org").filter(organization=org),
    )
    if form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            posts = posts.filter(state=data["state"])
        if data["brand"]:
            posts = posts.filter(
                Q(brand=data["brand"]) | Q(variants__channel__brand=data["brand"])
            ).distinct()
        if data["channel"]:
            posts = posts.filter(variants__channel=data["channel"]).distinct()
        if data["campaign"]:
            posts = posts.filter(campaign=data["campaign"])
    posts = posts.select_related("author", "campaign").prefetch_related(
        Prefetch("variants", queryset=Variant.objects.select_related("channel").order_by("pk"))
    )
    page = Paginator(posts.order_by("-updated_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    waiting = [
        p
        for p in _posts(request, org).filter(state="in_approval").select_related("author")[:50]
        if _may_decide(user, p)
    ]
    notes = list(
        Notification.objects.restrict(user, "view_org")
        .filter(organization=org, recipient=user, read_at__isnull=True)
        .select_related("post")[:20]
    )
    context = {
        "org": org,
        "form": form,
        "page": page,
        "filtered": bool(request.GET.get("state") or request.GET.get("brand"))
        or bool(request.GET.get("channel") or request.GET.get("campaign")),
        "any_posts": _posts(request, org).exists(),
        "waiting": waiting,
        "notes": notes,
        "channels": list(_channels(request, org, "draft")[:50]),
        **_pauses_context(org),
    }
    return render(request, "publishing/list.html", context)


def _may_decide(user: User, post: Post) -> bool:
    current = approvals.current_step(approvals.progress(post))
    return current is not None and approvals.eligible(user, current, post)


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    require_section(request, "publishing")
    ids = as_ids(request.POST.getlist("notification"))
    actions.do_mark_notifications_read(_user(request), ids)
    return redirect("publishing")


# --- Compose -------------------------------------------------------------------------------------


@login_required
def post_create(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "publishing")
    user = _user(request)
    channels = _channels(request, org, "draft")
    campaigns = Campaign.objects.restrict(user, "view_org").filter(organization=org)
    form = PostForm(request.POST or None, channels=channels, campaigns=campaigns)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            post = actions.do_create_post(
                org,
                text=data["text"],
                channels=list(data["channels"]),
                link=data["link"] or "",
                campaign=data["campaign"],
                publish_at=data["publish_at"],
                acting_user=user,
            )
            if request.POST.get("then") == "submit":
                post = actions.do_submit_for_approval(post, acting_user=user)
        except actions.ContentProblems as exc:
            for problem in exc.problems:
                form.add_error(None, problem)
        except actions.ActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("Post saved: %(state)s.") % {"state": post.get_state_display()}
            )
            return _back(post)
    return render(
        request,
        "publishing/create.html",
        {"org": org, "form": form, "has_channels": channels.exists(), **_pauses_context(org)},
    )


# --- A post's page -------------------------------------------------------------------------------


@dataclass
class ChannelRow:
    variant: Variant
    pause: PublishingPause | None
    may_schedule: bool
    retrying: bool
    placement: str
    # The publish permission on the channel: what retrying its first comment needs.
    may_publish: bool = False
    # The network options set for this channel, as (label, value) a person reads.
    options: list[tuple[str, str]] = field(default_factory=list)
    # Why the last try failed: Greenroom's own sentences are stored in English and said in the
    # reader's language; a network's words match no msgid and stay as they came.
    error: str = ""
    first_comment_error: str = ""


def _placement_label(variant: Variant) -> str:
    from greenroom.networks import rules

    try:
        return rules.get_spec(variant.channel.kind, variant.placement).display_label
    except rules.UnknownNetwork:
        return variant.placement


@dataclass
class HistoryEntry:
    at: datetime
    who: str
    what: str
    channel: str
    detail: str


def _history(
    org: Organization, post: Post, variants: list[Variant], attempts: list[PublishAttempt]
) -> list[HistoryEntry]:
    """Who drafted, approved, rescheduled and published, from the audit log, with each of the
    engine's attempts. Visible to whoever may see the post (the audit log page stays with
    auditors)."""
    by_variant = {str(v.pk): v for v in variants}
    events = AuditEvent.objects.filter(organization=org).filter(
        Q(target_type="publishing.post", target_id=str(post.pk))
        | Q(target_type="publishing.variant", target_id__in=list(by_variant))
    )
    entries = []
    for event in events.order_by("created_at", "pk")[:500]:
        variant = by_variant.get(event.target_id) if event.target_type.endswith("variant") else None
        after = event.after or {}
        detail = ""
        if isinstance(after, dict):
            if after.get("comment"):
                detail = str(after["comment"])
            elif after.get("step"):
                detail = str(after["step"])
            elif after.get("error"):
                # Greenroom's sentence (stored in English) in the reader's language.
                detail = sentences.say_again(str(after["error"]))
            elif after.get("publish_at") and event.action != "variant.needs_new_time":
                at = datetime.fromisoformat(str(after["publish_at"]))
                detail = _("for %(time)s") % {
                    "time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M %Z")
                }
        entries.append(
            HistoryEntry(
                at=event.created_at,
                who=event.actor_name,
                what=str(HISTORY_LABELS.get(event.action, event.action)),
                channel=str(variant.channel) if variant else "",
                detail=detail,
            )
        )
    for attempt in attempts:
        if attempt.outcome in ("published", "failed", ""):
            continue  # the audit rows above say these
        entries.append(
            HistoryEntry(
                at=attempt.finished_at or attempt.started_at,
                who=_("Greenroom"),
                what=_("Attempt %(n)s: %(outcome)s")
                % {"n": attempt.number, "outcome": attempt.get_outcome_display()},
                channel=str(attempt.variant.channel),
                # Greenroom's own messages are stored in English; say them in the reader's
                # language (a network's message matches no msgid and stays as it came).
                detail=" ".join(
                    x for x in (sentences.say_again(attempt.error), f"({attempt.error_code})") if x
                )
                if attempt.error
                else "",
            )
        )
    entries.sort(key=lambda e: e.at)
    return entries


@login_required
def post_detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    user = _user(request)
    post = _post(request, org, pk)
    variants = list(
        post.variants.select_related("channel", "channel__brand").order_by("channel__name", "pk")
    )
    channels = [v.channel for v in variants]
    publishable = channels_with(user, "publish", channels)
    schedulable = set(publishable)
    if post.author_id == user.pk:
        schedulable |= channels_with(user, "draft", channels)
    pauses = engine.active_pauses()
    rows = [
        ChannelRow(
            variant=v,
            pause=engine.pause_holding(v.channel, pauses)
            if v.state in (VariantState.SCHEDULED, VariantState.PUBLISHING)
            else None,
            may_schedule=v.channel_id in schedulable,
            retrying=v.state == VariantState.SCHEDULED and bool(v.last_error),
            placement=_placement_label(v),
            may_publish=v.channel_id in publishable,
            options=options.describe(v.channel.kind, v.options),
            error=sentences.say_again(v.last_error),
            first_comment_error=sentences.say_again(v.first_comment_error),
        )
        for v in variants
    ]
    attempts = list(
        PublishAttempt.objects.restrict(user, "view")
        .filter(variant__post=post)
        .select_related("variant__channel")
    )
    steps = approvals.progress(post)
    current = approvals.current_step(steps) if post.state == "in_approval" else None
    may_decide = current is not None and approvals.eligible(user, current, post)
    decisions = list(post.decisions.select_related("step").order_by("at", "pk"))
    actions.do_mark_notifications_read(
        user,
        list(
            Notification.objects.filter(
                recipient=user, post=post, read_at__isnull=True
            ).values_list("pk", flat=True)
        ),
    )
    states = {v.state for v in variants}
    context = {
        "org": org,
        "post": post,
        "rows": rows,
        "steps": steps,
        "current_step": current,
        "may_decide": may_decide,
        "decisions": decisions,
        "history": _history(org, post, variants, attempts),
        "schedule_form": ScheduleForm(
            initial={"publish_at": next((v.publish_at for v in variants if v.publish_at), None)}
        ),
        "comment_form": CommentForm(),
        "is_author": post.author_id == user.pk,
        "may_schedule_any": bool(schedulable),
        "can_submit": states == {VariantState.DRAFT}
        and bool(channels_with(user, "draft", channels)),
        "can_edit": post.state == PostState.DRAFT and bool(channels_with(user, "draft", channels)),
        "can_withdraw": bool(states & {"in_approval", "approved", "scheduled", "needs_new_time"})
        and bool(schedulable),
        "can_schedule": bool(states & {"approved", "scheduled", "needs_new_time", "draft"})
        and bool(schedulable),
        "can_publish_now": bool(states & {"approved", "scheduled", "needs_new_time"})
        and bool(schedulable),
        "can_cancel": bool(
            states & {"draft", "in_approval", "approved", "scheduled", "needs_new_time", "failed"}
        )
        and bool(schedulable),
        **_pauses_context(org),
    }
    return render(request, "publishing/detail.html", context)


@login_required
@require_POST
def post_submit(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    post = _post(request, org, pk)
    return _act(
        request,
        post,
        lambda: actions.do_submit_for_approval(post, acting_user=_user(request)),
        _("Submitted."),
    )


@login_required
@require_POST
def post_approve(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    post = _post(request, org, pk)
    form = CommentForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    return _act(
        request,
        post,
        lambda: actions.do_approve(post, comment=comment, acting_user=_user(request)),
        _("Approved."),
    )


@login_required
@require_POST
def post_request_changes(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    post = _post(request, org, pk)
    form = CommentForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    return _act(
        request,
        post,
        lambda: actions.do_request_changes(post, comment=comment, acting_user=_user(request)),
        _("Sent back to the author with your comment."),
    )


@login_required
@require_POST
def post_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    post = _post(request, org, pk)
    return _act(
        request,
        post,
        lambda: actions.do_withdraw(post, acting_user=_user(request)),
        _("Back to draft."),
    )


@login_required
@require_POST
def post_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    post = _post(request, org, pk)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a date and time."))
        return _back(post)
    publish_at = form.cleaned_data["publish_at"]
    return _act(
        request,
        post,
        lambda: actions.do_schedule(post, publish_at=publish_at, acting_user=_user(request)),
        _("Scheduled."),
    )


@login_required
@require_POST
def post_publish_now(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    post = _post(request, org, pk)
    return _act(
        request,
        post,
        lambda: actions.do_publish_now(post, acting_user=_user(request)),
        _("Publishing now; this page shows each channel's result."),
    )


@login_required
@require_POST
def post_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    post = _post(request, org, pk)
    return _act(
        request,
        post,
        lambda: actions.do_cancel(post, acting_user=_user(request)),
        _("Cancelled."),
    )


@login_required
@require_POST
def variant_retry(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    variant = _variant(request, org, pk)
    return _act(
        request,
        variant.post,
        lambda: actions.do_retry_variant(variant, acting_user=_user(request)),
        _("Trying %(channel)s again.") % {"channel": variant.channel},
    )


@login_required
@require_POST
def first_comment_retry(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    variant = _variant(request, org, pk)
    return _act(
        request,
        variant.post,
        lambda: actions.do_retry_first_comment(variant, acting_user=_user(request)),
        _("Posting the first comment on %(channel)s again.") % {"channel": variant.channel},
    )


@login_required
@require_POST
def variant_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    variant = _variant(request, org, pk)
    return _act(
        request,
        variant.post,
        lambda: actions.do_cancel(
            variant.post, channels=[variant.channel], acting_user=_user(request)
        ),
        _("Cancelled on %(channel)s.") % {"channel": variant.channel},
    )


# --- Pauses --------------------------------------------------------------------------------------


@login_required
def pauses(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "publishing")
    user = _user(request)
    brands = Brand.objects.restrict(user, "view_org").filter(organization=org)
    channels = _channels(request, org, "publish")
    form = PauseForm(request.POST or None, brands=brands, channels=channels)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_pause_publishing(
                org,
                scope=data["scope"],
                reason=data["reason"],
                brand=data["brand"],
                region=data["region"] or "",
                channel=data["channel"],
                until=data["until"],
                acting_user=user,
            )
        except actions.ActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Publishing is paused. Held posts wait on their pages."))
            return redirect("publishing_pauses")
    history = (
        PublishingPause.objects.restrict(user, "view_org")
        .filter(organization=org)
        .select_related("brand", "channel", "lifted_by")[:50]
    )
    now = timezone.now()
    return render(
        request,
        "publishing/pauses.html",
        {
            "org": org,
            "form": form,
            "history": [(p, p.is_active(now)) for p in history],
            "may_pause_anything": bool(channels.exists()),
            "held": Variant.objects.restrict(user, "view")
            .filter(channel__organization=org, state=VariantState.SCHEDULED, publish_at__lte=now)
            .count(),
            **_pauses_context(org),
        },
    )


@login_required
@require_POST
def pause_lift(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    pause = get_object_or_404(
        PublishingPause.objects.restrict(request.user, "view_org").filter(organization=org), pk=pk
    )
    try:
        actions.do_lift_pause(pause, acting_user=_user(request))
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Pause lifted: held posts go out within seconds."))
    return HttpResponseRedirect(reverse("publishing_pauses"))
