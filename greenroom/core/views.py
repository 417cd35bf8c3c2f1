"""The UI shell: home, the product's sections, channel inventory, people, audit log, preferences.

Every read goes through `restrict()` within the current organisation (core.tenancy), and anything
out of scope is a 404. Every write goes through core.actions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from greenroom.core import actions, audit, audit_csv
from greenroom.core.forms import (
    AuditFilterForm,
    LanguageForm,
    PreferencesForm,
)
from greenroom.core.health import healthz as healthz
from greenroom.core.models import (
    AuditEvent,
    Brand,
    Channel,
    ChannelStatus,
    Membership,
    Organization,
    Secret,
    Team,
    User,
)
from greenroom.core.permissions import ChannelPerm, Role
from greenroom.core.templatetags.greenroom import action_label
from greenroom.core.tenancy import (
    SECTIONS_BY_KEY,
    channel_perms,
    current_org,
    current_org_or_none,
    has_org_perm,
    require_section,
    switch_org,
)

TOKEN_WARNING_DAYS = 14
HOME_CHANNELS = 12
# "Your posts" on home: a handful per state, and published ones only from the last month.
MY_POSTS_PER_STATE = 5
MY_POSTS_PUBLISHED_DAYS = 30
AUDIT_PAGE_SIZE = 50
CHAIN_CACHE_KEY = "greenroom:audit-chain-report"
CHAIN_CACHE_S = 60


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # every caller is behind login_required
    return user


def _channels(request: HttpRequest, org: Organization, perm: str = "view") -> QuerySet[Channel]:
    # Never load vault ciphertext for a page, even though templates would not show it.
    return (
        Channel.objects.restrict(request.user, perm)
        .filter(organization=org)
        .select_related("brand", "owner", "backup", "credentials")
        .defer("credentials__ciphertext")
    )


def _expiring_tokens(
    request: HttpRequest, org: Organization, perms: frozenset[str]
) -> list[dict[str, Any]]:
    """Vault secrets expiring soon (or already expired) that this person looks after.

    Owners and admins (manage_vault) see every secret; people who administer channels see their
    channels' tokens. Only the name, the hint and the expiry leave the database.
    """
    now = timezone.now()
    secrets: QuerySet[Secret]
    if "manage_vault" in perms:
        secrets = Secret.objects.restrict(request.user, "manage_vault")
    elif "administer" in perms:
        secrets = Secret.objects.filter(
            pk__in=Channel.objects.restrict(request.user, "administer")
            .filter(organization=org, credentials__isnull=False)
            .values("credentials_id")
        )
    else:
        return []
    found = list(
        secrets.filter(organization=org, expires_at__lte=now + timedelta(days=TOKEN_WARNING_DAYS))
        .order_by("expires_at")
        .values_list("pk", "name", "hint", "expires_at")[:20]
    )
    channels = {
        c.credentials_id: c
        for c in Channel.objects.restrict(request.user, "view").filter(
            organization=org, credentials_id__in=[pk for pk, *_rest in found]
        )
    }
    return [
        {
            "name": name,
            "hint": hint,
            "expires_at": expires_at,
            "expired": expires_at is not None and expires_at <= now,
            "channel": channels.get(pk),
        }
        for pk, name, hint, expires_at in found
    ]


def _waiting_messages(request: HttpRequest, org: Organization) -> dict[str, Any] | None:
    """Conversations waiting for an answer, per channel the person engages on.

    A conversation waits from its first unanswered inbound message until someone answers,
    snoozes or closes it. The inbox app owns the model; core looks it up by name so the shell
    works without it (and stays below the apps in the import graph).
    """
    try:
        model = apps.get_model("inbox", "Conversation")
    except LookupError:
        return None
    waiting = model._default_manager.restrict(request.user, "engage").filter(
        organization=org, status__in=("open", "pending"), waiting_since__isnull=False
    )
    per_channel = list(
        waiting.values("channel_id", "channel__name", "channel__kind")
        .annotate(count=Count("pk"))
        .order_by("-count", "channel__name")[:10]
    )
    return {"total": waiting.count(), "per_channel": per_channel}


@dataclass(frozen=True)
class PostGroup:
    """One state group of "Your posts": which post states it holds and how it looks."""

    key: str
    label: Any
    states: tuple[str, ...]
    # The chip colour (gr-chip-<tone>) and which time each post shows.
    tone: str
    at_label: Any


# In the order an author acts on them: what was sent back or went wrong first.
MY_POST_GROUPS: tuple[PostGroup, ...] = (
    PostGroup("changes", _("Changes requested"), ("changes_requested",), "warn", _("Sent back")),
    PostGroup(
        "failed",
        _("Failed or needs a new time"),
        ("failed", "partially_published", "needs_new_time"),
        "bad",
        _("Updated"),
    ),
    PostGroup("draft", _("Drafts"), ("draft",), "muted", _("Updated")),
    PostGroup("approval", _("Waiting for approval"), ("in_approval",), "info", _("Submitted")),
    PostGroup(
        "scheduled",
        _("Scheduled"),
        ("scheduled", "approved", "publishing"),
        "info",
        _("Publishes"),
    ),
    # Its label names MY_POSTS_PUBLISHED_DAYS, so `_my_posts` words it when shown.
    PostGroup("published", "", ("published",), "ok", _("Published")),
)


# A post to many channels names the first few and counts the rest.
MY_POST_CHANNELS_SHOWN = 3


@dataclass
class MyPost:
    post: Any
    channels: list[Channel]
    at: datetime | None
    # The post's own state, when its group holds several (approved among scheduled ...).
    state_label: str = ""
    comment: str = ""
    commenter: str = ""

    @property
    def channels_shown(self) -> list[Channel]:
        return self.channels[:MY_POST_CHANNELS_SHOWN]

    @property
    def channels_more(self) -> int:
        return max(0, len(self.channels) - MY_POST_CHANNELS_SHOWN)


@dataclass
class MyPostGroup:
    group: PostGroup
    label: Any
    # Every post of this person in the group's states; `posts` holds the newest few.
    total: int
    posts: list[MyPost]


def _post_time(group: PostGroup, post: Any, variants: list[Any]) -> datetime | None:
    times: list[datetime]
    if group.key == "scheduled":
        times = [v.publish_at for v in variants if v.publish_at is not None]
        return min(times) if times else None
    updated: datetime = post.updated_at
    if group.key == "published":
        times = [v.published_at for v in variants if v.published_at is not None]
        return max(times) if times else updated
    if group.key == "approval":
        submitted: datetime | None = post.submitted_at
        return submitted or updated
    return updated


def _my_posts(request: HttpRequest, org: Organization, perms: frozenset[str]) -> dict[str, Any]:
    """The posts this person wrote, per state, newest first: what a writer comes home to.

    Only people who may open the publishing section get the panel, and only if they may write
    posts or have some of their own to show. Posts are read through `restrict(user, "view")`,
    so a post whose every channel the author can no longer see is gone from here too. The
    publishing app owns the models; core looks them up by name (see `_waiting_messages`).
    """
    if not SECTIONS_BY_KEY["publishing"].perms & perms:
        return {}
    try:
        post_model: Any = apps.get_model("publishing", "Post")
        variant_model: Any = apps.get_model("publishing", "Variant")
        decision_model: Any = apps.get_model("publishing", "ApprovalDecision")
    except LookupError:
        return {}
    user = _user(request)
    since = timezone.now() - timedelta(days=MY_POSTS_PUBLISHED_DAYS)
    mine = (
        post_model._default_manager.restrict(user, "view")
        .filter(organization=org, author=user)
        .exclude(state="published", updated_at__lt=since)
    )
    counts: dict[str, int] = dict(
        mine.order_by().values_list("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    # The composer offers the channels this person may draft on; without one it has nothing.
    may_compose = (
        "draft" in perms
        and Channel.objects.restrict(user, "draft")
        .filter(organization=org)
        .exclude(status=ChannelStatus.ARCHIVED)
        .exists()
    )
    if not counts and not may_compose:
        return {}
    shown: list[tuple[PostGroup, int, list[Any]]] = []
    for group in MY_POST_GROUPS:
        total = sum(counts.get(state, 0) for state in group.states)
        if total:
            newest = mine.filter(state__in=group.states).order_by("-updated_at", "-pk")
            shown.append((group, total, list(newest[:MY_POSTS_PER_STATE])))
    posts = [post for _group, _total, group_posts in shown for post in group_posts]
    # Only the channels the person can still see, for every post at once.
    visible_variants = (
        variant_model._default_manager.restrict(user, "view")
        .select_related("channel")
        .order_by("channel__name", "pk")
    )
    prefetch_related_objects(
        posts, Prefetch("variants", queryset=visible_variants, to_attr="visible_variants")
    )
    # The reviewer's comment of the round that sent each post back (earlier rounds are history).
    comments: dict[int, tuple[str, str]] = {}
    sent_back = {p.pk: p.approval_round for p in posts if p.state == "changes_requested"}
    if sent_back:
        decisions = (
            decision_model._default_manager.restrict(user, "view_org")
            .filter(post_id__in=list(sent_back), decision="request_changes")
            .order_by("post_id", "-at", "-pk")
            .values_list("post_id", "round", "comment", "approver_name")
        )
        for post_id, round_, comment, approver_name in decisions:
            if post_id not in comments and round_ == sent_back[post_id]:
                comments[post_id] = (comment, approver_name)
    groups = [
        MyPostGroup(
            group=group,
            label=gettext("Published in the last %(days)s days") % {"days": MY_POSTS_PUBLISHED_DAYS}
            if group.key == "published"
            else group.label,
            total=total,
            posts=[
                MyPost(
                    post=post,
                    channels=[v.channel for v in post.visible_variants],
                    at=_post_time(group, post, post.visible_variants),
                    state_label=post.get_state_display() if post.state != group.states[0] else "",
                    comment=comments.get(post.pk, ("", ""))[0],
                    commenter=comments.get(post.pk, ("", ""))[1],
                )
                for post in group_posts
            ],
        )
        for group, total, group_posts in shown
    ]
    return {
        "groups": groups,
        "total": sum(counts.values()),
        "may_compose": may_compose,
        "days": MY_POSTS_PUBLISHED_DAYS,
    }


@login_required
def home(request: HttpRequest) -> HttpResponse:
    org = current_org_or_none(request)
    if org is None:
        return render(request, "core/no_organization.html", status=200)
    user = _user(request)
    perms = channel_perms(request, org)
    context: dict[str, Any] = {
        "org": org,
        "perms": perms,
        "can_open_channels": bool(SECTIONS_BY_KEY["governance"].perms & perms),
    }
    if "administer" in perms or "manage_org" in perms:
        administered = _channels(request, org, "administer").exclude(status=ChannelStatus.ARCHIVED)
        context["uncovered"] = list(
            administered.filter(Q(owner__isnull=True) | Q(backup__isnull=True))[:20]
        )
        context["reconnect"] = list(administered.filter(status=ChannelStatus.NEEDS_RECONNECT)[:20])
        context["expiring"] = _expiring_tokens(request, org, perms)
        context["shows_governance"] = True
    if "engage" in perms:
        context["shows_inbox"] = True
        context["waiting"] = _waiting_messages(request, org)
    context["my_posts"] = _my_posts(request, org, perms)
    if "view_audit" in perms:
        context["recent_events"] = list(
            AuditEvent.objects.restrict(user, "view_audit").filter(organization=org)[:8]
        )
    # Everyone sees the channels they work on, the ones they own or back up first.
    channels = _channels(request, org).exclude(status=ChannelStatus.ARCHIVED)
    context["channel_count"] = channels.count()
    mine = list(channels.filter(Q(owner=user) | Q(backup=user))[:HOME_CHANNELS])
    others = channels.exclude(pk__in=[c.pk for c in mine])[: HOME_CHANNELS - len(mine)]
    context["my_channels"] = [*mine, *others]
    context["any_mine"] = bool(mine)
    if not context.get("shows_governance"):
        # Administrators see this in their own panel; everyone else hears it here.
        context["my_trouble"] = [
            c for c in context["my_channels"] if c.status == ChannelStatus.NEEDS_RECONNECT
        ]
    return render(request, "core/home.html", context)


# What each not-yet-built section will hold, in the product's words (MISSION.md).
SECTION_COPY: dict[str, dict[str, Any]] = {
    "publishing": {
        "lead": _(
            "Compose a post once and Greenroom makes a checked version for every network and "
            "placement, with text counted the way each network counts it."
        ),
        "body": _(
            "Drafts go through your approval steps, land on the calendar and publish exactly "
            "once at the time you chose: never twice, never silently dropped."
        ),
        "empty": _("Drafts, approvals and the calendar will appear here as your team writes."),
    },
    "inbox": {
        "lead": _(
            "Every comment, mention and direct message from every channel, in one queue and tied "
            "to the post it answers."
        ),
        "body": _(
            "Assign, route and answer with saved replies while the SLA clock (24 hours by "
            "default, aware of business hours) warns you before anyone waits too long."
        ),
        "empty": _(
            "New comments, mentions and direct messages from your channels will appear here, "
            "each with its SLA clock."
        ),
    },
    "crisis": {
        "lead": _(
            "The social team usually sees a crisis first. Greenroom watches for spikes in volume "
            "and negative sentiment and alerts whoever is on call."
        ),
        "body": _(
            "One switch pauses scheduled publishing for the organisation, a brand, a region or a "
            "channel; playbooks hold pre-approved holding statements, and every incident keeps a "
            "timeline for the report afterwards."
        ),
        "empty": _("Listening rules and open incidents will appear here."),
    },
    "analytics": {
        "lead": _(
            "Post, channel, campaign, inbox and team metrics, with charts and plain-language "
            "summaries you can forward to leadership."
        ),
        "body": _(
            "Scheduled PDF and CSV reports show what the team does and what it needs: the data "
            "to ask for resources."
        ),
        "empty": _(
            "Charts of posts, channels and campaigns will appear here as your channels publish."
        ),
    },
}


def _section_page(
    request: HttpRequest, org: Organization, key: str, extra: dict[str, Any]
) -> HttpResponse:
    context = {
        "org": org,
        "section": SECTIONS_BY_KEY[key],
        "copy": SECTION_COPY[key],
        **extra,
    }
    return render(request, f"core/sections/{key}.html", context)


@login_required
def crisis(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "crisis")
    return _section_page(request, org, "crisis", {})


@login_required
def analytics(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "analytics")
    channels = _channels(request, org)
    by_network = list(
        channels.order_by().values("kind").annotate(count=Count("pk")).order_by("-count", "kind")
    )
    return _section_page(request, org, "analytics", {"by_network": by_network})


@login_required
def team(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "team")
    memberships = (
        Membership.objects.restrict(request.user, "view_members")
        .filter(organization=org, is_active=True)
        .select_related("user")
        .prefetch_related("brands")
        .order_by("user__display_name", "user__username")
    )
    teams = (
        Team.objects.restrict(request.user, "view_members")
        .filter(organization=org)
        .select_related("lead")
        .prefetch_related("members")
    )
    context = {"org": org, "memberships": list(memberships), "teams": list(teams)}
    return render(request, "core/team.html", context)


def _audit_scope(request: HttpRequest) -> tuple[Organization, QuerySet[AuditEvent]]:
    org = current_org(request)
    if not has_org_perm(request, org, "view_audit"):
        raise Http404("No such page.")
    return org, AuditEvent.objects.restrict(request.user, "view_audit").filter(organization=org)


# Audit before/after hold ids for references; show the names people know instead.
_REFERENCES: dict[str, str] = {
    "owner": "user",
    "backup": "user",
    "user": "user",
    "lead": "user",
    "granted_by": "user",
    "members": "user",
    "brand": "brand",
    "brands": "brand",
    "channel": "channel",
}
# What the audit log calls the fields it shows most; any other key is shown as it is stored.
_FIELD_LABELS: dict[str, Any] = {
    "backup": _("Backup"),
    "brand": _("Brand"),
    "brands": _("Brands"),
    "channel": _("Channel"),
    "clock": _("SLA clock"),
    "display_name": _("Display name"),
    "due_at": _("Due"),
    "email": _("Email"),
    "error": _("Error"),
    "expires_at": _("Expires"),
    "external_id": _("ID on the network"),
    "filename": _("File name"),
    "handle": _("Handle"),
    "kind": _("Network"),
    "language": _("Language"),
    "languages": _("Languages"),
    "lead": _("Lead"),
    "members": _("Members"),
    "name": _("Name"),
    "owner": pgettext_lazy("channel", "Owner"),
    "permission": _("Permission"),
    "placement": _("Placement"),
    "region": _("Region"),
    "role": _("Role"),
    "sandboxed": _("Sandbox"),
    "secret": _("Vault entry"),
    "size": _("Size"),
    "status": _("Status"),
    "steps": _("Steps"),
    "timezone": _("Time zone"),
    "user": _("Person"),
    "username": _("Username"),
}
_CHOICE_LABELS: dict[str, dict[str, Any]] = {
    "role": dict(Role.choices),
    "status": dict(ChannelStatus.choices),
    "permission": dict(ChannelPerm.choices),
}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str
    # "changed" (before -> after), "set" (a new value) or "removed" (a value taken away)
    kind: str


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    changes: list[Change]
    unchanged: int


def _reference_names(
    request: HttpRequest, org: Organization, events: list[AuditEvent]
) -> dict[str, dict[int, str]]:
    """Names for every id the events' before/after refer to, within this organisation only."""
    wanted: dict[str, set[int]] = {"user": set(), "brand": set(), "channel": set()}
    for event in events:
        for side in (event.before, event.after):
            if not isinstance(side, dict):
                continue
            for key, value in side.items():
                kind = _REFERENCES.get(key)
                if kind is None:
                    continue
                values = value if isinstance(value, list) else [value]
                wanted[kind].update(v for v in values if isinstance(v, int))
    names: dict[str, dict[int, str]] = {"user": {}, "brand": {}, "channel": {}}
    if wanted["user"]:
        members = User.objects.filter(
            pk__in=wanted["user"],
            memberships__in=Membership.objects.restrict(request.user, "view_org").filter(
                organization=org
            ),
        )
        names["user"] = {u.pk: u.name for u in members}
    if wanted["brand"]:
        brands = Brand.objects.restrict(request.user, "view_org").filter(
            organization=org, pk__in=wanted["brand"]
        )
        names["brand"] = {b.pk: b.name for b in brands}
    if wanted["channel"]:
        channels = Channel.objects.restrict(request.user, "view").filter(
            organization=org, pk__in=wanted["channel"]
        )
        names["channel"] = {c.pk: c.name for c in channels}
    return names


def _show_value(key: str, value: Any, names: dict[str, dict[int, str]]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    kind = _REFERENCES.get(key)
    if kind is not None:
        values = value if isinstance(value, list) else [value]
        return ", ".join(
            names[kind].get(v, f"#{v}") if isinstance(v, int) else str(v) for v in values
        )
    if key in _CHOICE_LABELS and isinstance(value, str):
        return str(_CHOICE_LABELS[key].get(value, value))
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, str) and key.endswith("_at"):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
        return value
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def audit_rows(request: HttpRequest, org: Organization, events: list[AuditEvent]) -> list[AuditRow]:
    """Each event with what it changed: for an update only the fields that differ, for a
    creation the values it set, for a removal the values it took away."""
    names = _reference_names(request, org, events)
    rows = []
    for event in events:
        before = event.before if isinstance(event.before, dict) else {}
        after = event.after if isinstance(event.after, dict) else {}
        changes: list[Change] = []
        unchanged = 0
        for key in sorted(set(before) | set(after)):
            label = str(_FIELD_LABELS.get(key, key.replace("_", " ")))
            if key in before and key in after:
                if before[key] == after[key]:
                    unchanged += 1
                    continue
                changes.append(
                    Change(
                        label,
                        _show_value(key, before[key], names),
                        _show_value(key, after[key], names),
                        "changed",
                    )
                )
            elif key in after:
                if not _is_empty(after[key]):
                    changes.append(Change(label, "", _show_value(key, after[key], names), "set"))
            elif not _is_empty(before[key]):
                changes.append(Change(label, _show_value(key, before[key], names), "", "removed"))
        rows.append(AuditRow(event, changes, unchanged))
    return rows


def _filtered_events(
    request: HttpRequest, events: QuerySet[AuditEvent]
) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    distinct = events.order_by()
    form = AuditFilterForm(
        request.GET or None,
        actions=sorted(
            (
                (code, action_label(code))
                for code in distinct.values_list("action", flat=True).distinct()
            ),
            key=lambda choice: choice[1],
        ),
        target_types=sorted(
            t for t in distinct.values_list("target_type", flat=True).distinct() if t
        ),
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            events = events.filter(
                Q(actor_name__icontains=data["actor"]) | Q(actor__username__iexact=data["actor"])
            )
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["target_type"]:
            events = events.filter(target_type=data["target_type"])
        start, end = form.time_range()
        if start is not None:
            events = events.filter(created_at__gte=start)
        if end is not None:
            events = events.filter(created_at__lt=end)
    elif form.is_bound:
        events = events.none()
    return form, events


def chain_report() -> audit.ChainReport:
    """The audit chain's verification, cached for a minute: it walks every event."""
    report = cache.get(CHAIN_CACHE_KEY)
    if not isinstance(report, audit.ChainReport):
        report = audit.verify()
        cache.set(CHAIN_CACHE_KEY, report, CHAIN_CACHE_S)
    return report


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    org, events = _audit_scope(request)
    form, events = _filtered_events(request, events.select_related("actor"))
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "org": org,
        "form": form,
        "page": page,
        "rows": audit_rows(request, org, list(page.object_list)),
        "chain": chain_report(),
        "export_query": request.GET.urlencode(),
    }
    return render(request, "core/audit.html", context)


@login_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    org, events = _audit_scope(request)
    _form, events = _filtered_events(request, events)
    actions.do_record_audit_export(org, filters=request.GET.dict(), acting_user=_user(request))
    return audit_csv.response(org, events, timezone.get_current_timezone())


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            language = form.cleaned_data["language"]
            actions.do_update_preferences(
                user,
                language=language,
                timezone_name=form.cleaned_data["timezone"],
                acting_user=user,
            )
            # Say it in the language just chosen.
            translation.activate(language)
            messages.success(request, gettext("Preferences saved."))
            response = redirect("preferences")
            _set_language_cookie(response, language)
            return response
    else:
        form = PreferencesForm(initial={"language": user.language, "timezone": user.timezone})
    return render(
        request,
        "core/preferences.html",
        {"form": form, "now": timezone.now()},
        status=400 if form.errors else 200,
    )


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """The language switch in the header; works signed in (saved to the person) or out."""
    form = LanguageForm(request.POST)
    fallback = reverse("home") if request.user.is_authenticated else reverse("login")
    if not form.is_valid():
        return HttpResponseRedirect(fallback)
    language = form.cleaned_data["language"]
    target = form.cleaned_data["next"] or request.headers.get("referer", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = fallback
    if request.user.is_authenticated:
        user = _user(request)
        actions.do_update_preferences(
            user, language=language, timezone_name=user.timezone, acting_user=user
        )
    response = HttpResponseRedirect(target)
    _set_language_cookie(response, language)
    return response


@login_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    try:
        org_id = int(request.POST.get("organization", ""))
    except ValueError:
        return redirect("home")
    org = switch_org(request, org_id)
    messages.info(request, gettext("You are now working in %(org)s.") % {"org": org.name})
    # The page the person was on may belong to the previous organisation: start from home.
    return redirect("home")
