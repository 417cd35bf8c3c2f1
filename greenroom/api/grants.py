"""Channel grants: one channel permission for one person on one channel, beyond their role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from greenroom.core import actions
from greenroom.core.models import Channel, ChannelGrant
from greenroom.core.permissions import ChannelPerm
from greenroom.core.restrict import RestrictedQuerySet

from .access import get_or_404, member, require_on, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import ObjectId, Page, PageQuery, PersonRef, errors

router = Router(tags=["Channel grants"])


class GrantOut(Schema):
    id: int
    channel_id: int
    person: PersonRef
    permission: ChannelPerm
    granted_by: PersonRef | None
    created_at: datetime

    @staticmethod
    def resolve_person(obj: ChannelGrant) -> Any:
        return obj.user


class GrantIn(Schema):
    user_id: ObjectId
    permission: ChannelPerm


def _administered(caller: Caller, channel_id: int) -> Channel:
    """The channel, if the caller may see it (else 404) and administer it (else 403)."""
    channel: Channel = get_or_404(visible(Channel.objects, caller, "view"), channel_id, "channel")
    require_on(visible(Channel.objects, caller, "administer"), channel, "administer", "channel")
    return channel


def _grants(caller: Caller, channel: Channel) -> RestrictedQuerySet[ChannelGrant]:
    return (
        visible(ChannelGrant.objects, caller, "administer")
        .filter(channel=channel)
        .select_related("user", "granted_by")
    )


@router.get(
    "/channels/{channel_id}/grants",
    response={200: Page[GrantOut], **errors(401, 403, 404, 422)},
    summary="List a channel's grants",
    description="Who holds which extra permission on this channel. Needs the administer "
    "permission on the channel.",
)
def list_grants(
    request: HttpRequest, channel_id: ObjectId, query: Query[PageQuery]
) -> dict[str, Any]:
    caller = caller_of(request)
    channel = _administered(caller, channel_id)
    return paginate(_grants(caller, channel).order_by("user__username", "permission", "pk"), query)


@router.post(
    "/channels/{channel_id}/grants",
    response={200: GrantOut, 201: GrantOut, **errors(400, 401, 403, 404, 422)},
    summary="Grant a permission on a channel",
    description="Gives one member one permission on this channel (201; 200 if they already "
    "had it). Needs the administer permission on the channel.",
)
def add_grant(request: HttpRequest, channel_id: ObjectId, body: GrantIn) -> Status[ChannelGrant]:
    caller = caller_of(request)
    channel = _administered(caller, channel_id)
    user = member(caller, body.user_id)
    existing = _grants(caller, channel).filter(user=user, permission=body.permission).first()
    if existing is not None:
        return Status(200, existing)
    grant = actions.do_grant_channel_permission(
        channel, user, body.permission, acting_user=caller.user
    )
    return Status(201, grant)


@router.delete(
    "/channels/{channel_id}/grants/{grant_id}",
    response={204: None, **errors(401, 403, 404)},
    summary="Remove a grant",
    description="Takes the permission back. Needs the administer permission on the channel.",
)
def remove_grant(request: HttpRequest, channel_id: ObjectId, grant_id: ObjectId) -> Status[None]:
    caller = caller_of(request)
    channel = _administered(caller, channel_id)
    grant: ChannelGrant = get_or_404(_grants(caller, channel), grant_id, "grant on this channel")
    actions.do_revoke_channel_permission(grant, acting_user=caller.user)
    return Status(204, None)
