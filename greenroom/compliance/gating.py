"""Publish and engage permissions held back until a channel's requirements are met.

A channel may require a guideline (its current version acknowledged) or a training course (a
record valid now). `withheld_permissions` is registered with core's `Access` as a withholder:
it runs once per Access computation, as one query, and returns the channels on which the person
loses publish or engage until they acknowledge or are trained. A new guideline version makes
earlier acknowledgements stale, so the permission is held back again until re-acknowledged.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from greenroom.compliance.models import (
    SCOPE_PERMS,
    Acknowledgement,
    ChannelRequirement,
    TrainingRecord,
)


def unmet_requirements(user_id: int, org_ids: set[int]) -> Any:
    """The requirements of channels in `org_ids` that the person does not meet now (a queryset)."""
    now = timezone.now()
    acknowledged = Acknowledgement.objects.filter(
        user_id=user_id, version_id=OuterRef("guideline__current_version_id")
    )
    trained = TrainingRecord.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        user_id=user_id,
        course_id=OuterRef("course_id"),
        completed_at__lte=now,
    )
    # A guideline that is switched off, or has no text yet, asks nothing of anyone.
    guideline_unmet = Q(
        guideline__isnull=False,
        guideline__is_active=True,
        guideline__current_version__isnull=False,
    ) & ~Exists(acknowledged)
    course_unmet = Q(course__isnull=False) & ~Exists(trained)
    return ChannelRequirement.objects.filter(
        guideline_unmet | course_unmet, channel__organization_id__in=org_ids
    )


def withheld_permissions(user: Any, org_ids: set[int]) -> dict[str, set[int]]:
    """{perm: channel ids} the person may not use yet (core.restrict withholder; one query)."""
    withheld: dict[str, set[int]] = {}
    for channel_id, applies_to in unmet_requirements(user.pk, org_ids).values_list(
        "channel_id", "applies_to"
    ):
        for perm in SCOPE_PERMS.get(applies_to, ("publish", "engage")):
            withheld.setdefault(perm, set()).add(channel_id)
    return withheld
