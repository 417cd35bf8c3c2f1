"""Channels: one connected account on one network, owned by a brand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from greenroom.core import actions
from greenroom.core.models import Brand, Channel, ChannelStatus
from greenroom.core.restrict import RestrictedQuerySet

from .access import get_or_404, optional_member, require, require_on, visible
from .auth import caller_of
from .paging import paginate
from .schemas import (
    BrandRef,
    Name,
    ObjectId,
    Page,
    PageQuery,
    PersonRef,
    ShortText,
    Text200,
    TimezoneName,
    errors,
)

router = Router(tags=["Channels"])


class CredentialsOut(Schema):
    """What is safe to know about a channel's stored network token: never the token itself."""

    hint: str = Field(description="The token's last characters, e.g. “…x9Qa”.")
    expires_at: datetime | None


class ChannelOut(Schema):
    id: int
    brand: BrandRef
    kind: str = Field(description="The network: x, instagram, bluesky, …")
    sandboxed: bool = Field(description="Talks to Greenroom's sandbox network, not the real one.")
    name: str
    handle: str
    external_id: str
    region: str
    timezone: str
    owner: PersonRef | None
    backup: PersonRef | None
    status: ChannelStatus
    has_credentials: bool
    credentials: CredentialsOut | None
    created_at: datetime

    @staticmethod
    def resolve_has_credentials(obj: Channel) -> bool:
        return obj.credentials_id is not None

    @staticmethod
    def resolve_credentials(obj: Channel) -> CredentialsOut | None:
        secret = obj.credentials
        if secret is None:
            return None
        return CredentialsOut(hint=secret.hint, expires_at=secret.expires_at)


class ChannelQuery(PageQuery):
    brand: ObjectId | None = Field(None, description="Only this brand's channels (brand id).")
    kind: ShortText | None = Field(None, description="Only this network, e.g. instagram.")
    region: ShortText | None = None
    status: ChannelStatus | None = None


class ChannelIn(Schema):
    brand_id: ObjectId
    kind: ShortText = Field(description="The network, e.g. x, instagram, bluesky, sandbox.")
    handle: Name
    name: Text200 = Field("", description="Shown in Greenroom; the handle if empty.")
    sandboxed: bool = False
    external_id: Text200 = ""
    region: ShortText = ""
    timezone: TimezoneName = "UTC"
    owner_id: ObjectId | None = None
    backup_id: ObjectId | None = None


class ChannelUpdate(Schema):
    """Only the fields sent are changed; send null to clear the owner or backup."""

    owner_id: ObjectId | None = None
    backup_id: ObjectId | None = None
    region: ShortText | None = None
    timezone: TimezoneName | None = None
    status: ChannelStatus | None = None


def _channels(request: HttpRequest, perm: str = "view") -> RestrictedQuerySet[Channel]:
    return visible(Channel.objects, caller_of(request), perm).select_related(
        "brand", "owner", "backup", "credentials"
    )


@router.get(
    "/channels",
    response={200: Page[ChannelOut], **errors(401, 403, 422)},
    summary="List channels",
    description="The channels you can see (a role limited to some brands sees only theirs), "
    "filtered by brand, network, region or status.",
)
def list_channels(request: HttpRequest, query: Query[ChannelQuery]) -> dict[str, Any]:
    channels = _channels(request)
    if query.brand is not None:
        channels = channels.filter(brand_id=query.brand)
    if query.kind is not None:
        channels = channels.filter(kind=query.kind)
    if query.region is not None:
        channels = channels.filter(region=query.region)
    if query.status is not None:
        channels = channels.filter(status=query.status)
    return paginate(channels.order_by("brand__name", "kind", "handle", "pk"), query)


@router.get(
    "/channels/{channel_id}",
    response={200: ChannelOut, **errors(401, 403, 404)},
    summary="Get a channel",
)
def get_channel(request: HttpRequest, channel_id: ObjectId) -> Channel:
    channel: Channel = get_or_404(_channels(request), channel_id, "channel")
    return channel


@router.post(
    "/channels",
    response={201: ChannelOut, **errors(400, 401, 403, 422)},
    summary="Add a channel",
    description="Adds an account on a network to a brand. Needs manage_org (owners and "
    "admins). Credentials are connected separately, in the app.",
)
def create_channel(request: HttpRequest, body: ChannelIn) -> Status[Channel]:
    caller = caller_of(request)
    require(caller, "manage_org")
    brand = visible(Brand.objects, caller, "view_org").filter(pk=body.brand_id).first()
    if brand is None:
        raise actions.ActionError(f"Brand {body.brand_id} is not a brand of {caller.organization}.")
    channel = actions.do_create_channel(
        caller.organization,
        brand=brand,
        kind=body.kind,
        handle=body.handle,
        name=body.name,
        sandboxed=body.sandboxed,
        external_id=body.external_id,
        region=body.region,
        timezone_name=body.timezone,
        owner=optional_member(caller, body.owner_id, "owner"),
        backup=optional_member(caller, body.backup_id, "backup"),
        acting_user=caller.user,
    )
    return Status(201, get_or_404(_channels(request), channel.pk, "channel"))


@router.patch(
    "/channels/{channel_id}",
    response={200: ChannelOut, **errors(400, 401, 403, 404, 422)},
    summary="Change a channel",
    description="Changes the owner, backup, region, time zone or status. Needs the "
    "administer permission on the channel. Fields you leave out stay as they are.",
)
def update_channel(request: HttpRequest, channel_id: ObjectId, body: ChannelUpdate) -> Channel:
    caller = caller_of(request)
    channel: Channel = get_or_404(_channels(request), channel_id, "channel")
    require_on(visible(Channel.objects, caller, "administer"), channel, "administer", "channel")
    sent = body.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if "owner_id" in sent:
        changes["owner"] = optional_member(caller, sent["owner_id"], "owner")
    if "backup_id" in sent:
        changes["backup"] = optional_member(caller, sent["backup_id"], "backup")
    for field in ("region", "timezone", "status"):
        if field in sent:
            if sent[field] is None:
                raise actions.ActionError(f"The channel's {field} cannot be empty (null).")
            changes[field] = str(sent[field])  # a ChannelStatus's str() is its value
    if changes:
        actions.do_update_channel(channel, acting_user=caller.user, **changes)
    return get_or_404(_channels(request), channel_id, "channel")
