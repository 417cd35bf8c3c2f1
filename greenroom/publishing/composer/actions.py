"""Writes of the composer's own model (saved channel groups). Posts are written only through
greenroom.publishing.actions."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models, transaction
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.actions import ActionError
from greenroom.core.models import Channel, Organization, User
from greenroom.core.restrict import Access
from greenroom.publishing.composer.models import ChannelGroup

MAX_NAME = 200


class ComposerAction(models.TextChoices):
    GROUP_SAVED = "channel_group.saved"
    GROUP_DELETED = "channel_group.deleted"


def _channel_ids(channels: Sequence[Channel]) -> list[int]:
    return sorted({c.pk for c in channels})


@transaction.atomic
def do_save_channel_group(
    org: Organization, *, name: str, channels: Sequence[Channel], acting_user: User
) -> ChannelGroup:
    """Save (or replace) a named set of channels for the whole organisation.

    The person must be able to draft on every channel they put in the group: a group never
    reaches further than its author could.
    """
    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        raise ActionError(_("Give the group a name."))
    if not channels:
        raise ActionError(_("Choose the channels that belong to the group."))
    if any(c.organization_id != org.pk for c in channels):
        raise ActionError(_("A group holds channels of one organisation only."))
    ids = _channel_ids(channels)
    allowed = set(
        Channel.objects.restrict(acting_user, "draft")
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    missing = [c for c in channels if c.pk not in allowed]
    if missing:
        raise ActionError(
            _("You may not draft on %(channels)s, so you cannot put them in a group.")
            % {"channels": ", ".join(str(c) for c in missing)}
        )
    group = (
        ChannelGroup.objects.select_for_update().filter(organization=org, name__iexact=name).first()
    )
    before = None
    if group is None:
        group = ChannelGroup.objects.create(organization=org, name=name, created_by=acting_user)
    else:
        before = {"name": group.name, "channels": _channel_ids(list(group.channels.all()))}
        group.name = name
        group.save(update_fields=["name"])
    group.channels.set(ids)
    audit.record(
        ComposerAction.GROUP_SAVED,
        actor=acting_user,
        organization=org,
        target=group,
        before=before,
        after={"name": name, "channels": ids},
    )
    return group


@transaction.atomic
def do_delete_channel_group(group: ChannelGroup, *, acting_user: User) -> None:
    """Delete a saved group (its channels and posts are untouched). Anyone who drafts in the
    organisation may tidy the shared groups."""
    if group.organization_id not in Access.of(acting_user).org_ids("draft"):
        raise ActionError(_("Deleting channel groups needs the draft permission."))
    before = {"name": group.name, "channels": _channel_ids(list(group.channels.all()))}
    audit.record(
        ComposerAction.GROUP_DELETED,
        actor=acting_user,
        organization=group.organization,
        target=group,
        before=before,
    )
    group.delete()
