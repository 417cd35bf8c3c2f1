"""Who is missing what: for each channel requirement, the people whose publish or engage
permission there (from their role or a grant) is held back, and why.

Computed from the raw roles and grants, not from `Access` (which already hides the withheld
permissions). A constant number of queries whatever the size of the organisation: requirements,
memberships with their brands, grants on the required channels, acknowledgements of the current
versions, and training records of the required courses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from greenroom.compliance.models import (
    Acknowledgement,
    ChannelRequirement,
    TrainingRecord,
)
from greenroom.core.models import Channel, ChannelGrant, Membership, Organization, User
from greenroom.core.permissions import ROLE_PERMS


@dataclass(frozen=True)
class Missing:
    """One person who lacks one requirement of one channel."""

    channel: Channel
    requirement: ChannelRequirement
    person: User
    perms: tuple[str, ...]  # what is held back: publish, engage
    # "not_acknowledged", "old_version" (acknowledged an earlier one), "no_training", "expired"
    why: str
    acknowledged_number: int | None = None
    expired_at: datetime | None = None

    @property
    def guideline(self) -> object:
        return self.requirement.guideline

    @property
    def course(self) -> object:
        return self.requirement.course


def missing(
    org: Organization,
    *,
    channels: Iterable[Channel] | None = None,
    people: Iterable[int] | None = None,
) -> list[Missing]:
    """Every (channel, requirement, person) not met, ordered by channel, requirement and person.
    `channels` and `people` narrow it (a person's own page, a channel administrator's view)."""
    now = timezone.now()
    requirements = ChannelRequirement.objects.filter(channel__organization=org).select_related(
        "channel", "channel__brand", "guideline", "guideline__current_version", "course"
    )
    if channels is not None:
        requirements = requirements.filter(channel__in=[c.pk for c in channels])
    requirements = requirements.filter(
        Q(course__isnull=False)
        | Q(guideline__is_active=True, guideline__current_version__isnull=False)
    ).order_by("channel__brand__name", "channel__name", "pk")
    required = list(requirements)
    if not required:
        return []
    person_ids = set(people) if people is not None else None
    memberships = Membership.objects.filter(organization=org, is_active=True).select_related("user")
    if person_ids is not None:
        memberships = memberships.filter(user_id__in=person_ids)
    members = list(memberships.prefetch_related("brands"))
    users = {m.user_id: m.user for m in members}
    channel_ids = {r.channel_id for r in required}
    grants: dict[tuple[int, int], set[str]] = {}
    for user_id, channel_id, perm in ChannelGrant.objects.filter(
        channel_id__in=channel_ids, user_id__in=list(users)
    ).values_list("user_id", "channel_id", "permission"):
        grants.setdefault((user_id, channel_id), set()).add(perm)
    versions = {r.guideline.current_version_id for r in required if r.guideline is not None}
    guideline_ids = {r.guideline_id for r in required if r.guideline_id is not None}
    current_acks = set(
        Acknowledgement.objects.filter(
            version_id__in=versions, user_id__in=list(users)
        ).values_list("user_id", "version_id")
    )
    latest_ack: dict[tuple[int, int], int] = {}
    for user_id, guideline_id, number in Acknowledgement.objects.filter(
        version__guideline_id__in=guideline_ids, user_id__in=list(users)
    ).values_list("user_id", "version__guideline_id", "version__number"):
        key = (user_id, guideline_id)
        latest_ack[key] = max(latest_ack.get(key, 0), number)
    course_ids = {r.course_id for r in required if r.course_id is not None}
    valid_training: set[tuple[int, int]] = set()
    expired: dict[tuple[int, int], datetime] = {}
    for record in TrainingRecord.objects.filter(
        course_id__in=course_ids, user_id__in=list(users)
    ).only("user_id", "course_id", "completed_at", "expires_at"):
        key = (record.user_id, record.course_id)
        if record.is_valid(now):
            valid_training.add(key)
        elif record.expires_at is not None and record.expires_at <= now:
            expired[key] = max(expired.get(key, record.expires_at), record.expires_at)

    def held(member: Membership, channel: Channel) -> set[str]:
        perms = set(grants.get((member.user_id, channel.pk), set()))
        brands = {b.pk for b in member.brands.all()}
        if not brands or channel.brand_id in brands:
            perms |= set(ROLE_PERMS[member.role])
        return perms

    found: list[Missing] = []
    for requirement in required:
        channel = requirement.channel
        for member in members:
            perms = tuple(p for p in requirement.perms if p in held(member, channel))
            if not perms:
                continue
            user_id = member.user_id
            if requirement.guideline is not None:
                version = requirement.guideline.current_version
                assert version is not None
                if (user_id, version.pk) in current_acks:
                    continue
                earlier = latest_ack.get((user_id, requirement.guideline_id or 0))
                why = "old_version" if earlier else "not_acknowledged"
                found.append(Missing(channel, requirement, users[user_id], perms, why, earlier))
            else:
                key = (user_id, requirement.course_id or 0)
                if key in valid_training:
                    continue
                found.append(
                    Missing(
                        channel,
                        requirement,
                        users[user_id],
                        perms,
                        "expired" if key in expired else "no_training",
                        expired_at=expired.get(key),
                    )
                )
    found.sort(
        key=lambda m: (m.channel.brand.name, m.channel.name, m.requirement.pk, str(m.person))
    )
    return found


def by_person(rows: Iterable[Missing]) -> list[tuple[User, list[Missing]]]:
    grouped: dict[int, tuple[User, list[Missing]]] = {}
    for row in rows:
        grouped.setdefault(row.person.pk, (row.person, []))[1].append(row)
    return sorted(grouped.values(), key=lambda pair: str(pair[0]).casefold())


def by_channel(rows: Iterable[Missing]) -> list[tuple[Channel, list[Missing]]]:
    grouped: dict[int, tuple[Channel, list[Missing]]] = {}
    for row in rows:
        grouped.setdefault(row.channel.pk, (row.channel, []))[1].append(row)
    return list(grouped.values())
