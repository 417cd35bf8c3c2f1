"""Compliance pages: a person's own page (reviews waiting, guidelines to acknowledge, training),
access reviews with their report and CSV export, publishing policy rules, guidelines, training,
channel requirements and the report of who is missing what.

Every read goes through `restrict()` within the current organisation, so another organisation's
object is a 404; every write goes through an action. Who may do what is written next to each
view and in docs/architecture/compliance.md.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from greenroom.compliance import actions, reports
from greenroom.compliance.actions import ActionError
from greenroom.compliance.actions.reviews import settings_of
from greenroom.compliance.forms import (
    CourseForm,
    DecideForm,
    GuidelineForm,
    GuidelineVersionForm,
    PolicyRuleForm,
    RequirementForm,
    ReviewSettingsForm,
    StartReviewForm,
    TrainingRecordForm,
    default_deadline,
)
from greenroom.compliance.models import (
    AccessReview,
    AccessReviewItem,
    Acknowledgement,
    ChannelRequirement,
    Guideline,
    GuidelineVersion,
    ItemDecision,
    PolicyRule,
    ReviewStatus,
    TrainingCourse,
    TrainingRecord,
)
from greenroom.core.models import Brand, Channel, Membership, Organization, User
from greenroom.core.tenancy import channel_perms, current_org, has_org_perm

PAGE_SIZE = 100


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # every caller is behind login_required
    return user


def _members(request: HttpRequest, org: Organization) -> QuerySet[User]:
    memberships = Membership.objects.restrict(request.user, "view_org").filter(
        organization=org, is_active=True
    )
    return User.objects.filter(memberships__in=memberships).order_by("display_name", "username")


def _nav(request: HttpRequest, org: Organization) -> dict[str, Any]:
    """What the governance tabs need (they include the compliance tabs), and whether this person
    reaches the governance section at all."""
    perms = channel_perms(request, org)
    return {
        "org": org,
        "in_governance": bool(perms & {"administer", "view_audit"}),
        "can_audit": has_org_perm(request, org, "view_audit"),
        "can_read_reports": has_org_perm(request, org, "manage_members")
        or has_org_perm(request, org, "view_audit"),
        "can_manage": has_org_perm(request, org, "manage_members"),
        "can_configure": has_org_perm(request, org, "manage_org"),
    }


def _require(request: HttpRequest, *perms: str) -> Organization:
    """The current organisation if the person holds any of `perms` there; else a 404."""
    org = current_org(request)
    if not any(has_org_perm(request, org, p) for p in perms):
        raise Http404("No such page.")
    return org


def _may_manage_reviews(request: HttpRequest, org: Organization) -> bool:
    return has_org_perm(request, org, "manage_members")


def _may_read_reviews(request: HttpRequest, org: Organization) -> bool:
    return _may_manage_reviews(request, org) or has_org_perm(request, org, "view_audit")


# --- A person's own page -------------------------------------------------------------------------


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """What compliance asks of me: review items waiting, guidelines to acknowledge (and the
    channels where my permissions wait for them), and my training records."""
    org = current_org(request)
    user = _user(request)
    waiting = (
        AccessReviewItem.objects.restrict(user, "view_org")
        .filter(
            review__organization=org,
            review__status=ReviewStatus.OPEN,
            reviewer=user,
            decision=ItemDecision.PENDING,
        )
        .values("review_id", "review__name", "review__deadline")
        .annotate(n=Count("pk"))
        .order_by("review__deadline")
    )
    guidelines = list(
        Guideline.objects.restrict(user, "view_org")
        .filter(organization=org, is_active=True, current_version__isnull=False)
        .select_related("current_version")
    )
    acknowledged = set(
        Acknowledgement.objects.filter(
            user=user, version_id__in=[g.current_version_id for g in guidelines]
        ).values_list("version_id", flat=True)
    )
    held_back = reports.missing(org, people=[user.pk])
    records = (
        TrainingRecord.objects.restrict(user, "view_org")
        .filter(course__organization=org, user=user)
        .select_related("course")
    )
    context = {
        **_nav(request, org),
        "waiting": list(waiting),
        "to_acknowledge": [g for g in guidelines if g.current_version_id not in acknowledged],
        "acknowledged": [g for g in guidelines if g.current_version_id in acknowledged],
        "held_back": held_back,
        "records": list(records),
        "now": timezone.now(),
    }
    return render(request, "compliance/mine.html", context)


# --- Access reviews ------------------------------------------------------------------------------


@login_required
def reviews(request: HttpRequest) -> HttpResponse:
    """Campaigns: owners and admins start them and see all; auditors read all; a reviewer sees
    those with items for them."""
    org = current_org(request)
    user = _user(request)
    may_manage = _may_manage_reviews(request, org)
    may_read = _may_read_reviews(request, org)
    campaigns = AccessReview.objects.restrict(user, "view_org").filter(organization=org)
    if not may_read:
        # A subquery, not a join: the counts below are of whole campaigns.
        campaigns = campaigns.filter(
            pk__in=AccessReviewItem.objects.filter(reviewer=user).values("review_id")
        )
        if not campaigns.exists():
            raise Http404("No such page.")
    form = StartReviewForm(
        request.POST or None,
        initial={"deadline": default_deadline(settings_of(org).review_days)},
    )
    if request.method == "POST":
        if not may_manage:
            raise Http404("No such page.")
        if form.is_valid():
            try:
                review = actions.do_start_access_review(
                    org,
                    name=form.cleaned_data["name"],
                    deadline=form.cleaned_data["deadline"],
                    acting_user=user,
                )
            except ActionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Access review started: %(n)s items went to their reviewers.")
                    % {"n": review.items.count()},
                )
                return redirect("compliance:review", pk=review.pk)
    rows = campaigns.annotate(
        total=Count("items"),
        waiting=Count("items", filter=Q(items__decision=ItemDecision.PENDING)),
        revoked=Count(
            "items",
            filter=Q(items__decision__in=[ItemDecision.REVOKED, ItemDecision.EXPIRED]),
        ),
        mine=Count(
            "items",
            filter=Q(items__reviewer=user, items__decision=ItemDecision.PENDING),
        ),
    ).order_by("-started_at", "-pk")
    context = {
        **_nav(request, org),
        "campaigns": list(rows),
        "form": form,
        "may_manage": may_manage,
        "may_read": may_read,
        "settings": settings_of(org),
    }
    return render(request, "compliance/reviews.html", context)


@login_required
def review_settings(request: HttpRequest) -> HttpResponse:
    """Quarterly schedule, length and reminder of access reviews (owners and admins)."""
    org = _require(request, "manage_members")
    current = settings_of(org)
    form = ReviewSettingsForm(
        request.POST or None,
        initial={
            "quarterly_reviews": current.quarterly_reviews,
            "review_days": current.review_days,
            "remind_days": current.remind_days,
            "next_review": timezone.localtime(current.next_review_at).date()
            if current.next_review_at
            else None,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = actions.do_save_compliance_settings(
                org,
                quarterly_reviews=data["quarterly_reviews"],
                review_days=data["review_days"],
                remind_days=data["remind_days"],
                next_review_at=form.next_review_at(),
                acting_user=_user(request),
            )
        except ActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Access review settings saved."))
            if saved.next_review_at:
                messages.info(
                    request,
                    _("The next quarterly review starts %(when)s.")
                    % {"when": timezone.localtime(saved.next_review_at).strftime("%Y-%m-%d %H:%M")},
                )
            return redirect("compliance:reviews")
    return render(request, "compliance/review_settings.html", {**_nav(request, org), "form": form})


def _review_for(request: HttpRequest, org: Organization, pk: int) -> AccessReview:
    review: AccessReview = get_object_or_404(
        AccessReview.objects.restrict(request.user, "view_org").filter(organization=org), pk=pk
    )
    return review


@login_required
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """Decide: a reviewer sees the items assigned to them; owners and admins every item (each
    may decide any item but their own)."""
    org = current_org(request)
    user = _user(request)
    campaign = _review_for(request, org, pk)
    may_manage = _may_manage_reviews(request, org)
    items = (
        AccessReviewItem.objects.restrict(user, "view_org")
        .filter(review=campaign)
        .select_related("reviewer", "person", "channel", "review")
    )
    if not may_manage:
        items = items.filter(reviewer=user)
        if not items.exists():
            raise Http404("No such page.")
    show = request.GET.get("show", "waiting")
    if show == "waiting":
        items = items.filter(decision=ItemDecision.PENDING)
    if show == "mine" or (show == "waiting" and not may_manage):
        items = items.filter(reviewer=user)
    page = Paginator(items.order_by("person_name", "kind", "channel_name", "pk"), PAGE_SIZE)
    page_obj = page.get_page(request.GET.get("page"))
    rows = [
        {
            "item": item,
            "may_decide": item.decision == ItemDecision.PENDING
            and campaign.status == ReviewStatus.OPEN
            and actions.may_decide(user, item),
        }
        for item in page_obj.object_list
    ]
    counts = dict(
        AccessReviewItem.objects.filter(review=campaign)
        .values_list("decision")
        .annotate(n=Count("pk"))
        .values_list("decision", "n")
    )
    context = {
        **_nav(request, org),
        "campaign": campaign,
        "rows": rows,
        "page": page_obj,
        "show": show,
        "may_manage": may_manage,
        "may_read": _may_read_reviews(request, org),
        "counts": [(label, counts.get(value, 0)) for value, label in ItemDecision.choices],
        "mine_waiting": AccessReviewItem.objects.filter(
            review=campaign, reviewer=user, decision=ItemDecision.PENDING
        ).count(),
    }
    return render(request, "compliance/review.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    org = current_org(request)
    user = _user(request)
    item: AccessReviewItem = get_object_or_404(
        AccessReviewItem.objects.restrict(user, "view_org")
        .filter(review__organization=org)
        .select_related("review"),
        pk=pk,
    )
    # Someone who may not decide this item does not learn more than a 404 would tell.
    if item.person_id != user.pk and not actions.may_decide(user, item):
        raise Http404("No such item.")
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose certify or revoke."))
    else:
        certify = form.cleaned_data["decision"] == "certify"
        try:
            actions.do_decide_review_item(
                item, certify=certify, note=form.cleaned_data["note"], acting_user=user
            )
        except ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                (_("Certified: %(item)s.") if certify else _("Revoked: %(item)s."))
                % {"item": item},
            )
    return redirect(f"{_review_url(item.review_id)}?{request.GET.urlencode()}")


def _review_url(pk: int) -> str:
    return reverse("compliance:review", args=[pk])


@login_required
@require_POST
def remind(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require(request, "manage_members")
    campaign = _review_for(request, org, pk)
    try:
        reminded = actions.do_remind_reviewers(campaign, acting_user=_user(request))
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        if reminded:
            messages.success(
                request, _("%(n)s reviewers were reminded by e-mail.") % {"n": len(reminded)}
            )
        else:
            messages.info(
                request,
                _("Every reviewer with items waiting has been reminded already."),
            )
    return redirect("compliance:review", pk=campaign.pk)


@login_required
def review_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Every item of a campaign with its decision, who made it and when (auditors, owners and
    admins)."""
    org = _require(request, "view_audit", "manage_members")
    campaign = _review_for(request, org, pk)
    items = (
        AccessReviewItem.objects.restrict(request.user, "view_org")
        .filter(review=campaign)
        .select_related("reviewer")
        .order_by("person_name", "kind", "channel_name", "pk")
    )
    page = Paginator(items, PAGE_SIZE * 2).get_page(request.GET.get("page"))
    context = {**_nav(request, org), "campaign": campaign, "page": page}
    return render(request, "compliance/review_report.html", context)


class _Echo:
    """csv.writer writes into this and gets the line back, so rows can be streamed."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells that start with these as formulas; names are user-controlled.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


@login_required
def review_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    org = _require(request, "view_audit", "manage_members")
    campaign = _review_for(request, org, pk)
    actions.do_record_review_export(campaign, acting_user=_user(request))
    items = (
        AccessReviewItem.objects.restrict(request.user, "view_org")
        .filter(review=campaign)
        .select_related("reviewer")
        .order_by("person_name", "kind", "channel_name", "pk")
    )
    writer = csv.writer(_Echo())
    header = [
        "item",
        "person",
        "kind",
        "role",
        "brands",
        "channel",
        "permission",
        "reviewer",
        "decision",
        "decided_by",
        "decided_at_utc",
        "note",
    ]

    def rows() -> Iterator[str]:
        # A byte-order mark lets spreadsheet programs read Korean names correctly.
        yield "\ufeff" + writer.writerow(header)
        for item in items.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    item.pk,
                    csv_cell(item.person_name),
                    item.kind,
                    item.role,
                    csv_cell("; ".join(item.brand_names)),
                    csv_cell(item.channel_name),
                    item.permission,
                    csv_cell(item.reviewer.name if item.reviewer else ""),
                    item.decision,
                    csv_cell(item.decided_by_name),
                    item.decided_at.astimezone(UTC).isoformat() if item.decided_at else "",
                    csv_cell(item.note),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="greenroom-access-review-{campaign.pk}-{stamp}.csv"'
    )
    return response


# --- Policy rules --------------------------------------------------------------------------------


def _brands(request: HttpRequest, org: Organization) -> QuerySet[Brand]:
    return Brand.objects.restrict(request.user, "view_org").filter(organization=org)


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    """Publishing policy rules: every member reads them (they explain what stops a post);
    owners and admins write them."""
    org = current_org(request)
    user = _user(request)
    may_manage = has_org_perm(request, org, "manage_org")
    form = PolicyRuleForm(
        request.POST or None, brands=_brands(request, org), initial={"action": "block"}
    )
    if request.method == "POST":
        if not may_manage:
            raise Http404("No such page.")
        saved = _save_rule(request, org, form, None)
        if saved is not None:
            return redirect("compliance:policies")
    rules = (
        PolicyRule.objects.restrict(user, "view_org")
        .filter(organization=org)
        .select_related("brand")
        .order_by("-is_active", "name", "pk")
    )
    context = {**_nav(request, org), "rules": list(rules), "form": form, "may_manage": may_manage}
    return render(request, "compliance/policies.html", context)


def _save_rule(
    request: HttpRequest, org: Organization, form: PolicyRuleForm, rule: PolicyRule | None
) -> PolicyRule | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        saved = actions.do_save_policy_rule(
            org,
            rule=rule,
            name=data["name"],
            kind=data["kind"],
            action=data["action"],
            brand=data["brand"],
            region=data["region"],
            terms=form.term_list(),
            data_kinds=data["data_kinds"],
            reason=data["reason"],
            acting_user=_user(request),
        )
    except ActionError as exc:
        form.add_error(None, str(exc))
        return None
    messages.success(
        request,
        _(
            "Rule “%(name)s” saved. Posts are checked against it when submitted and again just "
            "before they are published."
        )
        % {"name": saved.name},
    )
    return saved


def _rule_for(request: HttpRequest, org: Organization, pk: int) -> PolicyRule:
    rule: PolicyRule = get_object_or_404(
        PolicyRule.objects.restrict(request.user, "view_org").filter(organization=org), pk=pk
    )
    return rule


@login_required
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require(request, "manage_org")
    rule = _rule_for(request, org, pk)
    form = PolicyRuleForm(
        request.POST or None,
        brands=_brands(request, org),
        initial={
            "name": rule.name,
            "kind": rule.kind,
            "action": rule.action,
            "brand": rule.brand_id,
            "region": rule.region,
            "terms": "\n".join(rule.terms),
            "data_kinds": rule.data_kinds,
            "reason": rule.reason,
        },
    )
    if request.method == "POST" and _save_rule(request, org, form, rule) is not None:
        return redirect("compliance:policies")
    return render(
        request, "compliance/policy_edit.html", {**_nav(request, org), "rule": rule, "form": form}
    )


@login_required
@require_POST
def policy_active(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require(request, "manage_org")
    rule = _rule_for(request, org, pk)
    active = request.POST.get("active") == "1"
    try:
        actions.do_set_policy_rule_active(rule, active=active, acting_user=_user(request))
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            (_("“%(name)s” is on again.") if active else _("“%(name)s” is switched off."))
            % {"name": rule.name},
        )
    return redirect("compliance:policies")


# --- Guidelines ----------------------------------------------------------------------------------


@login_required
def guidelines(request: HttpRequest) -> HttpResponse:
    """Every member reads guidelines and acknowledges them; owners and admins write them."""
    org = current_org(request)
    user = _user(request)
    may_manage = has_org_perm(request, org, "manage_org")
    form = GuidelineForm(request.POST or None)
    if request.method == "POST":
        if not may_manage:
            raise Http404("No such page.")
        if form.is_valid():
            try:
                guideline = actions.do_create_guideline(
                    org,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    acting_user=user,
                )
            except ActionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Guideline published."))
                return redirect("compliance:guideline", pk=guideline.pk)
    found = list(
        Guideline.objects.restrict(user, "view_org")
        .filter(organization=org)
        .select_related("current_version")
        .annotate(channels=Count("requirements", distinct=True))
        .order_by("-is_active", "title")
    )
    acknowledged = set(
        Acknowledgement.objects.filter(
            user=user, version_id__in=[g.current_version_id for g in found]
        ).values_list("version_id", flat=True)
    )
    rows = [{"guideline": g, "acknowledged": g.current_version_id in acknowledged} for g in found]
    context = {**_nav(request, org), "rows": rows, "form": form, "may_manage": may_manage}
    return render(request, "compliance/guidelines.html", context)


def _guideline_for(request: HttpRequest, org: Organization, pk: int) -> Guideline:
    guideline: Guideline = get_object_or_404(
        Guideline.objects.restrict(request.user, "view_org")
        .filter(organization=org)
        .select_related("current_version"),
        pk=pk,
    )
    return guideline


@login_required
def guideline(request: HttpRequest, pk: int) -> HttpResponse:
    org = current_org(request)
    user = _user(request)
    found = _guideline_for(request, org, pk)
    may_manage = has_org_perm(request, org, "manage_org")
    versions = list(
        GuidelineVersion.objects.restrict(user, "view_org")
        .filter(guideline=found)
        .select_related("published_by")
        .annotate(acks=Count("acknowledgements"))
        .order_by("-number")
    )
    wanted = request.GET.get("version", "")
    shown = next((v for v in versions if str(v.number) == wanted), None) or next(
        (v for v in versions if v.pk == found.current_version_id), None
    )
    mine = Acknowledgement.objects.filter(user=user, version__guideline=found).select_related(
        "version"
    )
    my_versions = {a.version_id: a for a in mine}
    requirements = (
        ChannelRequirement.objects.restrict(user, "view")
        .filter(guideline=found)
        .select_related("channel")
    )
    context = {
        **_nav(request, org),
        "guideline": found,
        "versions": versions,
        "shown": shown,
        "acknowledged_current": found.current_version_id in my_versions,
        "my_acknowledgement": my_versions.get(found.current_version_id or 0),
        "acknowledged_earlier": bool(my_versions) and found.current_version_id not in my_versions,
        "requirements": list(requirements),
        "may_manage": may_manage,
        "version_form": GuidelineVersionForm(initial={"body": shown.body if shown else ""}),
    }
    return render(request, "compliance/guideline.html", context)


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    org = current_org(request)
    found = _guideline_for(request, org, pk)
    version = found.current_version
    if version is None or str(version.pk) != request.POST.get("version", ""):
        messages.error(
            request,
            _(
                "The guideline changed while you read it. Read the current version, then "
                "acknowledge it."
            ),
        )
        return redirect("compliance:guideline", pk=found.pk)
    try:
        actions.do_acknowledge(version, acting_user=_user(request))
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Thank you: you acknowledged “%(title)s”, version %(n)s.")
            % {"title": found.title, "n": version.number},
        )
    if request.POST.get("next") == "mine":
        return redirect("compliance:mine")
    return redirect("compliance:guideline", pk=found.pk)


@login_required
@require_POST
def guideline_version(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require(request, "manage_org")
    found = _guideline_for(request, org, pk)
    form = GuidelineVersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write the new text of the guideline."))
        return redirect("compliance:guideline", pk=found.pk)
    try:
        version = actions.do_publish_guideline_version(
            found,
            body=form.cleaned_data["body"],
            changes=form.cleaned_data["changes"],
            acting_user=_user(request),
        )
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Version %(n)s published. Everyone must acknowledge it again.")
            % {"n": version.number},
        )
    return redirect("compliance:guideline", pk=found.pk)


@login_required
@require_POST
def guideline_active(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require(request, "manage_org")
    found = _guideline_for(request, org, pk)
    try:
        actions.do_set_guideline_active(
            found, active=request.POST.get("active") == "1", acting_user=_user(request)
        )
    except ActionError as exc:
        messages.error(request, str(exc))
    return redirect("compliance:guideline", pk=found.pk)


# --- Training ------------------------------------------------------------------------------------


@login_required
def training(request: HttpRequest) -> HttpResponse:
    """Courses and who completed them: owners and admins record; auditors read."""
    org = _require(request, "manage_members", "view_audit")
    user = _user(request)
    may_manage = has_org_perm(request, org, "manage_members")
    courses = TrainingCourse.objects.restrict(user, "view_org").filter(organization=org)
    course_form = CourseForm(request.POST if request.POST.get("form") == "course" else None)
    record_form = TrainingRecordForm(
        request.POST if request.POST.get("form") == "record" else None,
        courses=courses,
        people=_members(request, org),
        initial={
            "course": request.GET.get("course") or None,
            "person": request.GET.get("person") or None,
        },
    )
    if request.method == "POST":
        if not may_manage:
            raise Http404("No such page.")
        try:
            if course_form.is_bound and course_form.is_valid():
                actions.do_create_course(
                    org,
                    name=course_form.cleaned_data["name"],
                    description=course_form.cleaned_data["description"],
                    acting_user=user,
                )
                messages.success(request, _("Course added."))
                return redirect("compliance:training")
            if record_form.is_bound and record_form.is_valid():
                data = record_form.cleaned_data
                actions.do_record_training(
                    data["course"],
                    data["person"],
                    completed_at=record_form.completed_at(),
                    expires_at=record_form.expires_at(),
                    evidence=data["evidence"],
                    acting_user=user,
                )
                messages.success(request, _("Training recorded."))
                return redirect("compliance:training")
        except ActionError as exc:
            (course_form if course_form.is_bound else record_form).add_error(None, str(exc))
    records = (
        TrainingRecord.objects.restrict(user, "view_org")
        .filter(course__organization=org)
        .select_related("course", "user", "recorded_by")
        .order_by("user__display_name", "user__username", "course__name", "-completed_at")
    )
    page = Paginator(records, PAGE_SIZE * 2).get_page(request.GET.get("page"))
    context = {
        **_nav(request, org),
        "courses": list(courses.annotate(people=Count("records__user", distinct=True))),
        "page": page,
        "course_form": course_form,
        "record_form": record_form,
        "may_manage": may_manage,
        "now": timezone.now(),
    }
    return render(request, "compliance/training.html", context)


@login_required
@require_POST
def training_remove(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require(request, "manage_members")
    record: TrainingRecord = get_object_or_404(
        TrainingRecord.objects.restrict(request.user, "view_org").filter(course__organization=org),
        pk=pk,
    )
    try:
        actions.do_remove_training_record(record, acting_user=_user(request))
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Training record removed."))
    return redirect("compliance:training")


# --- Channel requirements ------------------------------------------------------------------------


def _administered(request: HttpRequest, org: Organization) -> QuerySet[Channel]:
    return Channel.objects.restrict(request.user, "administer").filter(organization=org)


@login_required
def requirements(request: HttpRequest) -> HttpResponse:
    """What each channel requires: its administrators add and remove requirements; auditors
    read them all."""
    org = current_org(request)
    user = _user(request)
    administered = _administered(request, org)
    may_audit = has_org_perm(request, org, "view_audit")
    if not may_audit and not administered.exists():
        raise Http404("No such page.")
    form = RequirementForm(
        request.POST or None,
        channels=administered,
        guidelines=Guideline.objects.restrict(user, "view_org").filter(
            organization=org, is_active=True
        ),
        courses=TrainingCourse.objects.restrict(user, "view_org").filter(organization=org),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_add_requirement(
                data["channel"],
                guideline=data["guideline"],
                course=data["course"],
                applies_to=data["applies_to"],
                acting_user=user,
            )
        except ActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Requirement added."))
            return redirect("compliance:requirements")
    visible = ChannelRequirement.objects.restrict(user, "view" if may_audit else "administer")
    rows = (
        visible.filter(channel__organization=org)
        .select_related("channel", "channel__brand", "guideline", "course")
        .order_by("channel__brand__name", "channel__name", "pk")
    )
    administered_ids = set(administered.values_list("pk", flat=True))
    context = {
        **_nav(request, org),
        "rows": [{"requirement": r, "may_remove": r.channel_id in administered_ids} for r in rows],
        "form": form,
        "may_add": bool(administered_ids),
    }
    return render(request, "compliance/requirements.html", context)


@login_required
@require_POST
def requirement_remove(request: HttpRequest, pk: int) -> HttpResponse:
    org = current_org(request)
    requirement: ChannelRequirement = get_object_or_404(
        ChannelRequirement.objects.restrict(request.user, "administer").filter(
            channel__organization=org
        ),
        pk=pk,
    )
    try:
        actions.do_remove_requirement(requirement, acting_user=_user(request))
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Requirement removed."))
    return redirect("compliance:requirements")


# --- Who is missing what -------------------------------------------------------------------------


@login_required
def missing(request: HttpRequest) -> HttpResponse:
    """Per channel and per person: whose publish or engage permission waits for a guideline or a
    training. Owners, admins and auditors see every channel; channel administrators theirs."""
    org = current_org(request)
    everything = has_org_perm(request, org, "manage_members") or has_org_perm(
        request, org, "view_audit"
    )
    channels = None if everything else list(_administered(request, org))
    if channels is not None and not channels:
        raise Http404("No such page.")
    rows = reports.missing(org, channels=channels)
    context = {
        **_nav(request, org),
        "by_channel": reports.by_channel(rows),
        "by_person": reports.by_person(rows),
        "view": "person" if request.GET.get("view") == "person" else "channel",
        "may_record": has_org_perm(request, org, "manage_members"),
        "total": len(rows),
    }
    return render(request, "compliance/missing.html", context)
