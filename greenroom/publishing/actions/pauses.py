"""The publishing pause: one switch that holds scheduled publishing for an organisation, a
brand, a region or a channel, with a reason, until lifted (or until its end time)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.models import Brand, Channel, Organization, User
from greenroom.core.restrict import Access
from greenroom.publishing.models import PauseScope, PublishingPause

from .common import ActionError, NotAllowed, PublishingAction

PAUSE_FIELDS = ("scope", "brand", "region", "channel", "reason", "starts_at", "ends_at")


def may_pause(
    user: User | None,
    org: Organization,
    scope: str,
    *,
    brand: Brand | None = None,
    channel: Channel | None = None,
) -> bool:
    """Who may pause (and lift): people who may publish over the whole scope.

    A channel: publish on it. A brand: a role with publish over that brand. A region or the
    organisation: a role with publish over every brand.
    """
    if user is None:
        return True
    if scope == PauseScope.CHANNEL:
        return (
            channel is not None
            and Channel.objects.restrict(user, "publish").filter(pk=channel.pk).exists()
        )
    for s in Access.of(user).scopes:
        if s.org_id != org.pk or "publish" not in s.perms:
            continue
        if s.brand_ids is None:
            return True
        if scope == PauseScope.BRAND and brand is not None and brand.pk in s.brand_ids:
            return True
    return False


@transaction.atomic
def do_pause_publishing(
    org: Organization,
    *,
    scope: str,
    reason: str,
    brand: Brand | None = None,
    region: str = "",
    channel: Channel | None = None,
    until: datetime | None = None,
    acting_user: User | None,
) -> PublishingPause:
    """Pause scheduled publishing for a scope. Held posts stay scheduled and wait, showing who
    paused them and why; they go out when the pause is lifted or ends."""
    if scope not in PauseScope.values:
        raise ActionError(_("Unknown pause scope %(scope)r.") % {"scope": scope})
    if not reason.strip():
        raise ActionError(_("Give a reason: people whose posts wait will read it."))
    if scope == PauseScope.BRAND and (brand is None or brand.organization_id != org.pk):
        raise ActionError(_("Choose one of the organisation's brands to pause."))
    if scope == PauseScope.CHANNEL and (channel is None or channel.organization_id != org.pk):
        raise ActionError(_("Choose one of the organisation's channels to pause."))
    if scope == PauseScope.REGION and not region.strip():
        raise ActionError(_("Name the region to pause."))
    now = timezone.now()
    if until is not None and until <= now:
        raise ActionError(_("The end of the pause must be in the future."))
    if not may_pause(acting_user, org, scope, brand=brand, channel=channel):
        raise NotAllowed(
            _("Pausing this needs the publish permission over all of it; ask a publisher.")
        )
    pause = PublishingPause.objects.create(
        organization=org,
        scope=scope,
        brand=brand if scope == PauseScope.BRAND else None,
        region=region.strip() if scope == PauseScope.REGION else "",
        channel=channel if scope == PauseScope.CHANNEL else None,
        reason=reason.strip(),
        created_by=acting_user,
        created_by_name=acting_user.name if acting_user is not None else "system",
        starts_at=now,
        ends_at=until,
    )
    audit.record(
        PublishingAction.PAUSE_CREATED,
        actor=acting_user,
        organization=org,
        target=pause,
        after=audit.snapshot(pause, PAUSE_FIELDS),
    )
    return pause


@transaction.atomic
def do_lift_pause(pause: PublishingPause, *, acting_user: User | None) -> PublishingPause:
    """Lift a pause: held posts go out at the next dispatch (within seconds); any whose time
    passed meanwhile go out at once, late rather than never."""
    pause = PublishingPause.objects.select_for_update().get(pk=pause.pk)
    if pause.lifted_at is not None:
        raise ActionError(_("This pause was already lifted."))
    if not may_pause(
        acting_user, pause.organization, pause.scope, brand=pause.brand, channel=pause.channel
    ):
        raise NotAllowed(
            _("Lifting this pause needs the publish permission over all of it; ask a publisher.")
        )
    pause.lifted_at = timezone.now()
    pause.lifted_by = acting_user
    pause.save(update_fields=["lifted_at", "lifted_by"])
    audit.record(
        PublishingAction.PAUSE_LIFTED,
        actor=acting_user,
        organization=pause.organization,
        target=pause,
        before={"reason": pause.reason},
        after={"lifted_at": pause.lifted_at.isoformat()},
    )
    from greenroom.publishing import tasks

    transaction.on_commit(lambda: tasks.dispatch_due.delay())
    return pause
