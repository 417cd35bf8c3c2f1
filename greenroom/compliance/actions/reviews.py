"""Access reviews: start a campaign, certify or revoke each item, remind reviewers, and revoke
what nobody certified by the deadline.

Who reviews what (docs/architecture/compliance.md, "Reviewers"): owners' and admins' access is
reviewed by another owner or admin. Anyone else's by the lead of a team they are in (teams by
name); else by a brand manager whose brands cover the item (the membership's brands, or the
channel's brand for a grant); else by an owner or admin. Never by the person themselves: that
is checked again when a decision is made, and owners and admins, who may decide any item of a
campaign, cannot decide their own either.

Revoking goes through core's actions (`do_revoke_channel_permission`, `do_deactivate_membership`),
so each revocation is audited there as well as here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from greenroom.compliance.models import (
    AccessReview,
    AccessReviewItem,
    ComplianceSettings,
    ItemDecision,
    ItemKind,
    ReviewReminder,
    ReviewStatus,
)
from greenroom.core import actions as core_actions
from greenroom.core import audit
from greenroom.core.models import ChannelGrant, Membership, Organization, Team, User
from greenroom.core.permissions import Role

from .common import ActionError, ComplianceAction, NotAllowed, may, require_org_perm

ORG_WIDE_ROLES = frozenset({Role.OWNER, Role.ADMIN})


# --- Who reviews whom ----------------------------------------------------------------------------


@dataclass
class _People:
    """The organisation's active members, teams and brand managers, loaded once per campaign."""

    memberships: dict[int, Membership]  # by user id
    team_leads: dict[int, list[int]]  # user id -> leads of their teams, by team name
    brand_managers: list[Membership]  # by username
    overseers: list[int]  # owners, then admins, by username

    @classmethod
    def load(cls, org: Organization) -> _People:
        memberships = {
            m.user_id: m
            for m in Membership.objects.filter(organization=org, is_active=True)
            .select_related("user")
            .prefetch_related("brands")
            .order_by("user__username")
        }
        leads: dict[int, list[int]] = {}
        for team in (
            Team.objects.filter(organization=org, lead__isnull=False)
            .prefetch_related("members")
            .order_by("name", "pk")
        ):
            for member in team.members.all():
                leads.setdefault(member.pk, []).append(team.lead_id)  # type: ignore[arg-type]
        ordered = sorted(memberships.values(), key=lambda m: m.user.username)
        return cls(
            memberships=memberships,
            team_leads=leads,
            brand_managers=[m for m in ordered if m.role == Role.BRAND_MANAGER],
            overseers=[m.user_id for m in ordered if m.role == Role.OWNER]
            + [m.user_id for m in ordered if m.role == Role.ADMIN],
        )

    def _eligible(self, user_id: int | None, person_id: int) -> bool:
        member = self.memberships.get(user_id) if user_id is not None else None
        return member is not None and user_id != person_id and member.user.is_active

    def reviewer(self, person_id: int, brand_ids: set[int] | None) -> int | None:
        """The reviewer of one item of `person_id`'s access over `brand_ids` (None: every brand)."""
        own = self.memberships.get(person_id)
        if own is None or own.role not in ORG_WIDE_ROLES:
            for lead in self.team_leads.get(person_id, []):
                if self._eligible(lead, person_id):
                    return lead
            for manager in self.brand_managers:
                scope = {b.pk for b in manager.brands.all()} or None
                covers = scope is None or (brand_ids is not None and bool(scope & brand_ids))
                if covers and self._eligible(manager.user_id, person_id):
                    return manager.user_id
        return next((u for u in self.overseers if self._eligible(u, person_id)), None)


# --- Starting a campaign -------------------------------------------------------------------------


def _items(review: AccessReview, people: _People) -> list[AccessReviewItem]:
    items = []
    for membership in people.memberships.values():
        person = membership.user
        brands = list(membership.brands.all())
        items.append(
            AccessReviewItem(
                review=review,
                kind=ItemKind.MEMBERSHIP,
                person=person,
                person_name=person.name,
                membership=membership,
                role=membership.role,
                brand_names=sorted(b.name for b in brands),
                reviewer_id=people.reviewer(person.pk, {b.pk for b in brands} or None),
            )
        )
    grants = (
        ChannelGrant.objects.filter(
            channel__organization=review.organization, user_id__in=list(people.memberships)
        )
        .select_related("channel", "user")
        .order_by("user__username", "channel__name", "permission")
    )
    for grant in grants:
        items.append(
            AccessReviewItem(
                review=review,
                kind=ItemKind.GRANT,
                person=grant.user,
                person_name=grant.user.name,
                grant=grant,
                channel=grant.channel,
                channel_name=str(grant.channel)[:300],
                permission=grant.permission,
                reviewer_id=people.reviewer(grant.user_id, {grant.channel.brand_id}),
            )
        )
    return items


@transaction.atomic
def do_start_access_review(
    org: Organization, *, name: str = "", deadline: datetime, acting_user: User | None
) -> AccessReview:
    """Open a campaign: every active membership and channel grant of `org`, as it is now, goes to
    its reviewer (None as acting user: the quarterly schedule). Reviewers are e-mailed."""
    require_org_perm(acting_user, org, "manage_members", _("start an access review"))
    now = timezone.now()
    if timezone.is_naive(deadline):
        raise ActionError(_("Give the deadline with its time zone."))
    if deadline <= now:
        raise ActionError(_("The deadline must be in the future."))
    name = name.strip() or _("Access review of %(date)s") % {
        "date": timezone.localtime(now).strftime("%Y-%m-%d")
    }
    review = AccessReview.objects.create(
        organization=org, name=name[:200], started_by=acting_user, started_at=now, deadline=deadline
    )
    people = _People.load(org)
    items = AccessReviewItem.objects.bulk_create(_items(review, people))
    reviewers = sorted({i.reviewer_id for i in items if i.reviewer_id is not None})
    audit.record(
        ComplianceAction.REVIEW_STARTED,
        actor=acting_user,
        organization=org,
        target=review,
        after={
            "name": review.name,
            "deadline": deadline.isoformat(),
            "items": len(items),
            "memberships": sum(1 for i in items if i.kind == ItemKind.MEMBERSHIP),
            "grants": sum(1 for i in items if i.kind == ItemKind.GRANT),
            "reviewers": reviewers,
            "unassigned": sum(1 for i in items if i.reviewer_id is None),
        },
    )
    transaction.on_commit(lambda: tell_reviewers(review.pk, reviewers, reminder=False))
    return review


# --- Deciding ------------------------------------------------------------------------------------


def may_decide(user: User, item: AccessReviewItem) -> bool:
    """Whether `user` may decide `item`: its reviewer, or an owner or admin; never its person."""
    if item.person_id == user.pk:
        return False
    return item.reviewer_id == user.pk or may(user, item.review.organization_id, "manage_members")


def _snapshot(item: AccessReviewItem) -> dict[str, object]:
    return {
        "person": item.person_id,
        "kind": item.kind,
        "role": item.role,
        "brands": item.brand_names,
        "channel": item.channel_id,
        "permission": item.permission,
        "reviewer": item.reviewer_id,
    }


def _revoke(item: AccessReviewItem, *, acting_user: User | None) -> str:
    """Take the access away through core's actions; returns a note ("" or why nothing was done).
    Raises ActionError when core refuses (the organisation's last owner)."""
    if item.kind == ItemKind.GRANT:
        grant = (
            ChannelGrant.objects.filter(pk=item.grant_id).select_related("channel").first()
            if item.grant_id is not None
            else None
        )
        if grant is None:
            return _("The permission had already been removed.")
        core_actions.do_revoke_channel_permission(grant, acting_user=acting_user)
        return ""
    membership = (
        Membership.objects.filter(pk=item.membership_id, is_active=True)
        .select_related("organization", "user")
        .first()
        if item.membership_id is not None
        else None
    )
    if membership is None:
        return _("The person had already left the organisation.")
    core_actions.do_deactivate_membership(membership, acting_user=acting_user)
    return ""


def _settle(
    item: AccessReviewItem, decision: str, *, acting_user: User | None, note: str, now: datetime
) -> None:
    item.decision = decision
    item.decided_by = acting_user
    item.decided_by_name = acting_user.name if acting_user is not None else "system"
    item.decided_at = now
    item.note = note[:2000]
    item.save(update_fields=["decision", "decided_by", "decided_by_name", "decided_at", "note"])


@transaction.atomic
def do_decide_review_item(
    item: AccessReviewItem, *, certify: bool, note: str = "", acting_user: User
) -> AccessReviewItem:
    """Certify an item (the access stays) or revoke it (taken away now, through core's actions).

    Only its reviewer, or an owner or admin of the organisation, may decide; nobody decides an
    item of their own access.
    """
    item = (
        AccessReviewItem.objects.select_for_update()
        .select_related("review", "review__organization")
        .get(pk=item.pk)
    )
    review = item.review
    if item.person_id == acting_user.pk:
        raise NotAllowed(
            _("Nobody certifies or revokes their own access. This item goes to another reviewer.")
        )
    if not may_decide(acting_user, item):
        raise NotAllowed(_("This item is for another reviewer."))
    if review.status != ReviewStatus.OPEN:
        raise ActionError(_("This access review is closed."))
    if item.decision != ItemDecision.PENDING:
        raise ActionError(
            _("This item was already decided (%(decision)s).")
            % {"decision": item.get_decision_display().lower()}
        )
    now = timezone.now()
    note = note.strip()
    if certify:
        _settle(item, ItemDecision.CERTIFIED, acting_user=acting_user, note=note, now=now)
        action = ComplianceAction.REVIEW_CERTIFIED
    else:
        done = _revoke(item, acting_user=acting_user)
        _settle(
            item,
            ItemDecision.REVOKED,
            acting_user=acting_user,
            note=" ".join(p for p in (note, done) if p),
            now=now,
        )
        action = ComplianceAction.REVIEW_REVOKED
    audit.record(
        action,
        actor=acting_user,
        organization=review.organization,
        target=item,
        before=_snapshot(item),
        after={"decision": item.decision, "note": item.note, "review": review.pk},
    )
    return item


# --- The deadline --------------------------------------------------------------------------------


@transaction.atomic
def do_close_review(
    review: AccessReview, *, acting_user: User | None, now: datetime | None = None
) -> dict[str, int]:
    """Close a campaign whose deadline passed: every item still waiting is revoked (audited,
    with the reason), grants before memberships. An item core refuses to revoke (the last
    owner) is recorded as not revoked, with core's reason."""
    review = (
        AccessReview.objects.select_for_update().select_related("organization").get(pk=review.pk)
    )
    if review.status != ReviewStatus.OPEN:
        return {}
    now = now or timezone.now()
    if acting_user is not None:
        require_org_perm(acting_user, review.organization, "manage_members", _("close a review"))
    elif review.deadline > now:
        raise ActionError(_("The deadline has not passed yet."))
    reason = _("Not certified by the deadline (%(deadline)s).") % {
        "deadline": review.deadline.astimezone(timezone.get_default_timezone()).strftime(
            "%Y-%m-%d %H:%M %Z"
        )
    }
    counts = {"revoked": 0, "not_revoked": 0}
    pending = list(
        review.items.select_for_update()
        .filter(decision=ItemDecision.PENDING)
        .order_by("kind", "pk")  # "grant" sorts before "membership"
    )
    for item in pending:
        try:
            with transaction.atomic():
                done = _revoke(item, acting_user=acting_user)
        except ActionError as exc:
            decision, note = ItemDecision.NOT_REVOKED, f"{reason} {exc}"
            action = ComplianceAction.REVIEW_NOT_REVOKED
            counts["not_revoked"] += 1
        else:
            decision, note = ItemDecision.EXPIRED, " ".join(p for p in (reason, done) if p)
            action = ComplianceAction.REVIEW_EXPIRED
            counts["revoked"] += 1
        _settle(item, decision, acting_user=acting_user, note=note, now=now)
        audit.record(
            action,
            actor=acting_user,
            organization=review.organization,
            target=item,
            before=_snapshot(item),
            after={"decision": decision, "reason": note, "review": review.pk},
        )
    review.status = ReviewStatus.CLOSED
    review.closed_at = now
    review.save(update_fields=["status", "closed_at"])
    audit.record(
        ComplianceAction.REVIEW_CLOSED,
        actor=acting_user,
        organization=review.organization,
        target=review,
        after=counts,
    )
    return counts


# --- Reminders -----------------------------------------------------------------------------------


def pending_reviewers(review: AccessReview) -> list[int]:
    return sorted(
        set(
            review.items.filter(decision=ItemDecision.PENDING, reviewer__isnull=False)
            .values_list("reviewer_id", flat=True)
            .distinct()
        )
    )


@transaction.atomic
def do_remind_reviewers(review: AccessReview, *, acting_user: User | None) -> list[int]:
    """Remind each reviewer who still has items waiting, once per campaign (e-mailed after
    commit). Returns the ids of the people reminded now."""
    org = review.organization
    require_org_perm(acting_user, org, "manage_members", _("remind reviewers"))
    if review.status != ReviewStatus.OPEN:
        return []
    reminded = []
    for reviewer_id in pending_reviewers(review):
        try:
            with transaction.atomic():
                ReviewReminder.objects.create(review=review, reviewer_id=reviewer_id)
        except IntegrityError:
            continue  # reminded already (by an earlier beat, or another worker)
        reminded.append(reviewer_id)
    if reminded:
        audit.record(
            ComplianceAction.REVIEW_REMINDED,
            actor=acting_user,
            organization=org,
            target=review,
            after={"reviewers": reminded, "deadline": review.deadline.isoformat()},
        )
        transaction.on_commit(lambda: tell_reviewers(review.pk, reminded, reminder=True))
    return reminded


def tell_reviewers(review_id: int, reviewer_ids: Sequence[int], *, reminder: bool) -> list[str]:
    """E-mail reviewers that a campaign waits for them (started, or its deadline is near)."""
    review = AccessReview.objects.select_related("organization").filter(pk=review_id).first()
    if review is None:
        return []
    link = f"{settings.BASE_URL}{reverse('compliance:review', args=[review.pk])}"
    told = []
    for person in User.objects.filter(pk__in=list(reviewer_ids), is_active=True).exclude(email=""):
        waiting = review.items.filter(reviewer=person, decision=ItemDecision.PENDING).count()
        if not waiting:
            continue
        with translation.override(person.language or settings.LANGUAGE_CODE):
            deadline = timezone.localtime(
                review.deadline, timezone=_zone(person.timezone)
            ).strftime("%Y-%m-%d %H:%M %Z")
            subject = (
                _("Reminder: access review “%(name)s” is due %(deadline)s")
                if reminder
                else _("Access review “%(name)s”: please decide by %(deadline)s")
            ) % {"name": review.name, "deadline": deadline}
            body = _(
                "%(org)s asks you to certify or revoke %(n)s pieces of access of the people you "
                "review, by %(deadline)s. Whatever is not certified by then is revoked.\n\n"
                "Review them here: %(link)s"
            ) % {"org": review.organization.name, "n": waiting, "deadline": deadline, "link": link}
        if send_mail(subject, body, None, [person.email], fail_silently=True):
            told.append(person.username)
    return told


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- The schedule --------------------------------------------------------------------------------


def add_months(when: datetime, months: int) -> datetime:
    month = when.month - 1 + months
    year = when.year + month // 12
    month = month % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30]
    days += [31, 31, 30, 31, 30, 31]
    return when.replace(year=year, month=month, day=min(when.day, days[month - 1]))


def next_quarter_start(org: Organization, after: datetime | None = None) -> datetime:
    """09:00 on the first day of the next calendar quarter, in the organisation's time zone."""
    local = timezone.localtime(after or timezone.now(), timezone=_zone(org.timezone))
    month = ((local.month - 1) // 3 + 1) * 3 + 1
    year = local.year + (1 if month > 12 else 0)
    month = month - 12 if month > 12 else month
    return local.replace(year=year, month=month, day=1, hour=9, minute=0, second=0, microsecond=0)


def settings_of(org: Organization) -> ComplianceSettings:
    found = ComplianceSettings.objects.filter(organization=org).first()
    return found or ComplianceSettings(organization=org)


SETTINGS_FIELDS = ("quarterly_reviews", "review_days", "remind_days", "next_review_at")


@transaction.atomic
def do_save_compliance_settings(
    org: Organization,
    *,
    quarterly_reviews: bool,
    review_days: int,
    remind_days: int,
    next_review_at: datetime | None,
    acting_user: User,
) -> ComplianceSettings:
    """How access reviews run: every quarter by themselves or not, for how long, with a
    reminder how many days before the deadline."""
    require_org_perm(acting_user, org, "manage_members", _("change access review settings"))
    if not 1 <= review_days <= 365:
        raise ActionError(_("Reviewers need between 1 and 365 days."))
    if remind_days >= review_days:
        raise ActionError(
            _("The reminder must come before the deadline: fewer days than the review lasts.")
        )
    current = ComplianceSettings.objects.select_for_update().filter(organization=org).first()
    found = current or ComplianceSettings(organization=org)
    before = audit.snapshot(found, SETTINGS_FIELDS) if current is not None else None
    if quarterly_reviews and next_review_at is None:
        next_review_at = next_quarter_start(org)
    found.quarterly_reviews = quarterly_reviews
    found.review_days = review_days
    found.remind_days = remind_days
    found.next_review_at = next_review_at if quarterly_reviews else None
    found.updated_at = timezone.now()
    found.save()
    audit.record(
        ComplianceAction.SETTINGS_SAVED,
        actor=acting_user,
        organization=org,
        target=found,
        before=before,
        after=audit.snapshot(found, SETTINGS_FIELDS),
    )
    return found


def start_due_reviews(now: datetime | None = None) -> list[AccessReview]:
    """Start the quarterly campaign of every organisation whose time has come (beat)."""
    now = now or timezone.now()
    started = []
    due = ComplianceSettings.objects.filter(
        quarterly_reviews=True, next_review_at__lte=now
    ).select_related("organization")
    for found in due:
        with transaction.atomic():
            locked = ComplianceSettings.objects.select_for_update().get(pk=found.pk)
            if not locked.quarterly_reviews or locked.next_review_at is None:
                continue
            if locked.next_review_at > now:
                continue  # another worker started it
            org = found.organization
            review = do_start_access_review(
                org,
                name=_("Quarterly access review %(date)s")
                % {"date": timezone.localtime(now, _zone(org.timezone)).strftime("%Y-%m-%d")},
                deadline=now + timedelta(days=locked.review_days),
                acting_user=None,
            )
            following = locked.next_review_at
            while following <= now:
                following = add_months(following, 3)
            # The schedule's own bookkeeping: the campaign's audit row says it started.
            ComplianceSettings.objects.filter(pk=locked.pk).update(next_review_at=following)
            started.append(review)
    return started


def remind_due(now: datetime | None = None) -> int:
    """Remind reviewers of open campaigns whose deadline is within their reminder window."""
    now = now or timezone.now()
    count = 0
    for review in AccessReview.objects.filter(
        status=ReviewStatus.OPEN, deadline__gt=now
    ).select_related("organization"):
        remind_days = settings_of(review.organization).remind_days
        if review.deadline - timedelta(days=remind_days) <= now:
            count += len(do_remind_reviewers(review, acting_user=None))
    return count


def close_due(now: datetime | None = None) -> list[AccessReview]:
    now = now or timezone.now()
    closed = []
    for review in AccessReview.objects.filter(status=ReviewStatus.OPEN, deadline__lte=now):
        do_close_review(review, acting_user=None, now=now)
        closed.append(review)
    return closed


def reviews_waiting_for(user: User, org_ids: Iterable[int]) -> int:
    """How many items of open campaigns wait for `user` (for the "my compliance" page)."""
    return AccessReviewItem.objects.filter(
        review__organization_id__in=list(org_ids),
        review__status=ReviewStatus.OPEN,
        reviewer=user,
        decision=ItemDecision.PENDING,
    ).count()


@transaction.atomic
def do_record_review_export(review: AccessReview, *, acting_user: User) -> None:
    """Exporting a campaign's decisions is recorded: who took a copy, and when."""
    audit.record(
        ComplianceAction.REVIEW_EXPORTED,
        actor=acting_user,
        organization=review.organization,
        target=review,
        after={"items": review.items.count()},
    )
