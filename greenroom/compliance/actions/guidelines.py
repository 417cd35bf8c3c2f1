"""Guidelines (with versions and acknowledgements), training courses and records, and what a
channel requires before publish and engage permissions take effect there.

Anything that changes whether a requirement is met drops the cached access of the person it
concerns (`forget_access`), so the same request sees the new permissions.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.compliance.models import (
    Acknowledgement,
    ChannelRequirement,
    Guideline,
    GuidelineVersion,
    RequirementScope,
    TrainingCourse,
    TrainingRecord,
)
from greenroom.core import audit
from greenroom.core.models import Channel, Organization, User
from greenroom.core.restrict import forget_access

from .common import ActionError, ComplianceAction, NotAllowed, require_member, require_org_perm

MAX_BODY = 100_000


def _clean_body(body: str) -> str:
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise ActionError(_("Write the guideline's text."))
    if len(body) > MAX_BODY:
        raise ActionError(
            _("A guideline holds at most %(n)s characters; link to a longer document instead.")
            % {"n": MAX_BODY}
        )
    return body


@transaction.atomic
def do_create_guideline(
    org: Organization, *, title: str, body: str, acting_user: User
) -> Guideline:
    """A new guideline with its first version."""
    require_org_perm(acting_user, org, "manage_org", _("write guidelines"))
    title = title.strip()
    if not title:
        raise ActionError(_("Give the guideline a title."))
    if Guideline.objects.filter(organization=org, title__iexact=title).exists():
        raise ActionError(
            _("%(org)s already has a guideline called “%(title)s”.") % {"org": org, "title": title}
        )
    guideline = Guideline.objects.create(organization=org, title=title[:200])
    version = GuidelineVersion.objects.create(
        guideline=guideline, number=1, body=_clean_body(body), published_by=acting_user
    )
    guideline.current_version = version
    guideline.save(update_fields=["current_version"])
    audit.record(
        ComplianceAction.GUIDELINE_CREATED,
        actor=acting_user,
        organization=org,
        target=guideline,
        after={"title": guideline.title, "version": 1},
    )
    return guideline


@transaction.atomic
def do_publish_guideline_version(
    guideline: Guideline, *, body: str, changes: str = "", acting_user: User
) -> GuidelineVersion:
    """A new version becomes the current one: everyone must acknowledge it again before the
    channels that require the guideline let them publish or engage."""
    org = guideline.organization
    require_org_perm(acting_user, org, "manage_org", _("write guidelines"))
    guideline = Guideline.objects.select_for_update().get(pk=guideline.pk)
    number = (guideline.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = GuidelineVersion.objects.create(
        guideline=guideline,
        number=number,
        body=_clean_body(body),
        changes=changes.strip(),
        published_by=acting_user,
    )
    previous = guideline.current_version_id
    guideline.current_version = version
    guideline.save(update_fields=["current_version"])
    forget_access(acting_user)
    audit.record(
        ComplianceAction.GUIDELINE_VERSION_PUBLISHED,
        actor=acting_user,
        organization=org,
        target=guideline,
        before={"version": previous},
        after={"version": version.pk, "number": number, "changes": version.changes},
    )
    return version


@transaction.atomic
def do_set_guideline_active(guideline: Guideline, *, active: bool, acting_user: User) -> Guideline:
    """A guideline switched off asks nothing of anyone, even where a channel requires it."""
    require_org_perm(acting_user, guideline.organization, "manage_org", _("write guidelines"))
    guideline = Guideline.objects.select_for_update().get(pk=guideline.pk)
    if guideline.is_active != active:
        guideline.is_active = active
        guideline.save(update_fields=["is_active"])
        forget_access(acting_user)
        audit.record(
            ComplianceAction.GUIDELINE_SWITCHED_ON
            if active
            else ComplianceAction.GUIDELINE_SWITCHED_OFF,
            actor=acting_user,
            organization=guideline.organization,
            target=guideline,
            after={"is_active": active},
        )
    return guideline


@transaction.atomic
def do_acknowledge(version: GuidelineVersion, *, acting_user: User) -> Acknowledgement:
    """The acting person read and accepts this version (people acknowledge for themselves)."""
    # Read again: a new version may have been published since `version` was loaded.
    guideline = Guideline.objects.select_related("organization").get(pk=version.guideline_id)
    org = guideline.organization
    require_member(org, acting_user, _("acknowledge its guidelines"))
    if guideline.current_version_id != version.pk:
        raise ActionError(
            _("A newer version of “%(title)s” exists: read and acknowledge that one.")
            % {"title": guideline.title}
        )
    if not guideline.is_active:
        raise ActionError(_("This guideline is switched off."))
    ack, created = Acknowledgement.objects.get_or_create(version=version, user=acting_user)
    if created:
        forget_access(acting_user)
        audit.record(
            ComplianceAction.GUIDELINE_ACKNOWLEDGED,
            actor=acting_user,
            organization=org,
            target=guideline,
            after={"version": version.pk, "number": version.number},
        )
    return ack


@transaction.atomic
def do_create_course(
    org: Organization, *, name: str, description: str = "", acting_user: User
) -> TrainingCourse:
    require_org_perm(acting_user, org, "manage_members", _("manage training"))
    name = name.strip()
    if not name:
        raise ActionError(_("Give the course a name."))
    if TrainingCourse.objects.filter(organization=org, name__iexact=name).exists():
        raise ActionError(
            _("%(org)s already has a course called “%(name)s”.") % {"org": org, "name": name}
        )
    course = TrainingCourse.objects.create(
        organization=org, name=name[:200], description=description.strip()
    )
    audit.record(
        ComplianceAction.COURSE_CREATED,
        actor=acting_user,
        organization=org,
        target=course,
        after={"name": course.name},
    )
    return course


@transaction.atomic
def do_record_training(
    course: TrainingCourse,
    person: User,
    *,
    completed_at: datetime,
    expires_at: datetime | None = None,
    evidence: str = "",
    acting_user: User,
) -> TrainingRecord:
    """Record that `person` completed `course` (owners and admins; the evidence says how it is
    known: a certificate number, an attendance list)."""
    org = course.organization
    require_org_perm(acting_user, org, "manage_members", _("record training"))
    require_member(org, person, _("have training recorded"))
    if timezone.is_naive(completed_at) or (
        expires_at is not None and timezone.is_naive(expires_at)
    ):
        raise ActionError(_("Give times with their time zone."))
    if completed_at > timezone.now():
        raise ActionError(_("The completion date is in the future."))
    if expires_at is not None and expires_at <= completed_at:
        raise ActionError(_("A training expires after it was completed."))
    record = TrainingRecord.objects.create(
        course=course,
        user=person,
        completed_at=completed_at,
        expires_at=expires_at,
        evidence=evidence.strip(),
        recorded_by=acting_user,
    )
    forget_access(person)
    audit.record(
        ComplianceAction.TRAINING_RECORDED,
        actor=acting_user,
        organization=org,
        target=record,
        after={
            "course": course.pk,
            "user": person.pk,
            "completed_at": completed_at.isoformat(),
            "expires_at": expires_at.isoformat() if expires_at else None,
            "evidence": record.evidence,
        },
    )
    return record


@transaction.atomic
def do_remove_training_record(record: TrainingRecord, *, acting_user: User) -> None:
    org = record.course.organization
    require_org_perm(acting_user, org, "manage_members", _("record training"))
    audit.record(
        ComplianceAction.TRAINING_REMOVED,
        actor=acting_user,
        organization=org,
        target=record,
        before={
            "course": record.course_id,
            "user": record.user_id,
            "completed_at": record.completed_at.isoformat(),
            "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        },
    )
    person = record.user
    record.delete()
    forget_access(person)


def _require_administer(user: User, channel: Channel) -> None:
    if not Channel.objects.restrict(user, "administer").filter(pk=channel.pk).exists():
        raise NotAllowed(
            _("You need to administer %(channel)s to change what it requires.")
            % {"channel": channel}
        )


@transaction.atomic
def do_add_requirement(
    channel: Channel,
    *,
    guideline: Guideline | None = None,
    course: TrainingCourse | None = None,
    applies_to: str = RequirementScope.PUBLISH_AND_ENGAGE,
    acting_user: User,
) -> ChannelRequirement:
    """Require a guideline (acknowledged in its current version) or a valid training before
    publish or engage permissions on `channel` take effect. Channel administrators decide."""
    _require_administer(acting_user, channel)
    if (guideline is None) == (course is None):
        raise ActionError(_("Choose a guideline or a training course."))
    required = guideline or course
    assert required is not None
    if required.organization_id != channel.organization_id:
        raise ActionError(_("That belongs to another organisation."))
    if applies_to not in RequirementScope.values:
        raise ActionError(_("Choose what the requirement holds back."))
    existing = ChannelRequirement.objects.filter(
        channel=channel, guideline=guideline, course=course
    ).first()
    if existing is not None:
        raise ActionError(
            _("%(channel)s already requires “%(what)s”.") % {"channel": channel, "what": required}
        )
    requirement = ChannelRequirement.objects.create(
        channel=channel,
        guideline=guideline,
        course=course,
        applies_to=applies_to,
        created_by=acting_user,
    )
    forget_access(acting_user)
    audit.record(
        ComplianceAction.REQUIREMENT_ADDED,
        actor=acting_user,
        organization=channel.organization,
        target=requirement,
        after={
            "channel": channel.pk,
            "guideline": guideline.pk if guideline else None,
            "course": course.pk if course else None,
            "applies_to": applies_to,
        },
    )
    return requirement


@transaction.atomic
def do_remove_requirement(requirement: ChannelRequirement, *, acting_user: User) -> None:
    channel = requirement.channel
    _require_administer(acting_user, channel)
    audit.record(
        ComplianceAction.REQUIREMENT_REMOVED,
        actor=acting_user,
        organization=channel.organization,
        target=requirement,
        before={
            "channel": channel.pk,
            "guideline": requirement.guideline_id,
            "course": requirement.course_id,
            "applies_to": requirement.applies_to,
        },
    )
    requirement.delete()
    forget_access(acting_user)
