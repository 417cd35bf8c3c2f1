"""Governance: the channel inventory and its gaps, native admins and recovery details per
channel, offboarding people and following their checklists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from greenroom.core.actions import ActionError
from greenroom.core.models import Channel, Membership
from greenroom.core.restrict import Access
from greenroom.governance import actions, inventory
from greenroom.governance.models import (
    ChecklistItem,
    ChecklistKind,
    NativeAdmin,
    NativeAdminSource,
    Offboarding,
    OffboardingSource,
    OffboardingStep,
    StepKind,
    TwoFactorMethod,
)
from greenroom.governance.templatetags.governance import checklist_text, step_text

from .access import get_or_404, optional_member, require_on, visible
from .auth import Caller, caller_of
from .schemas import ObjectId, Page, PageQuery, PersonRef, ShortText, Text200, errors

router = Router(tags=["Governance"])

GAP_KINDS = list(inventory.GAP_LABELS)


def _require_governance(caller: Caller) -> None:
    """The inventory is for people who administer channels or audit them (the governance
    section's rule)."""
    access = Access.of(caller.user)
    perms: set[str] = set()
    for scope in access.scopes:
        if scope.org_id == caller.organization.pk:
            perms |= scope.perms
    granted = access.channel_grants.get("administer", set())
    if perms & {"administer", "view_audit"}:
        return
    if (
        granted
        and Channel.objects.filter(pk__in=granted, organization=caller.organization).exists()
    ):
        return
    raise HttpError(
        403,
        f"Your role in {caller.organization} does not open governance: it needs the administer "
        "permission on a channel, or view_audit.",
    )


def _may_read_reports(caller: Caller) -> bool:
    access = Access.of(caller.user)
    org = caller.organization.pk
    return access.has_org_perm(org, "manage_members") or access.has_org_perm(org, "view_audit")


class ChannelRef(Schema):
    id: int
    name: str
    kind: str
    handle: str


class NativeAdminOut(Schema):
    id: int
    name: str
    email: str
    person: PersonRef | None = Field(description="The Greenroom person, when they are one.")
    is_greenroom_user: bool
    network_role: str
    knows_password: bool
    source: NativeAdminSource
    created_at: datetime

    @staticmethod
    def resolve_person(obj: NativeAdmin) -> Any:
        return obj.user


class RecoveryOut(Schema):
    recovery_email: str
    recovery_email_kind: str = Field(
        description="none, shared (a mailbox of the organisation), personal (a free mail service "
        "or a person's own address) or outside (another organisation's domain)."
    )
    recovery_email_controller: PersonRef | None
    recovery_phone: str
    recovery_phone_controller: PersonRef | None
    two_factor_method: str
    two_factor_holder: PersonRef | None


class InventoryRowOut(Schema):
    channel: ChannelRef
    brand: str
    status: str
    owner: PersonRef | None
    backup: PersonRef | None
    owner_left: bool
    backup_left: bool
    native_admins: list[NativeAdminOut]
    recovery: RecoveryOut
    token_state: str = Field(description="none (not connected), ok, soon or expired.")
    token_expires_at: datetime | None
    last_published_at: datetime | None
    last_message_at: datetime | None
    gaps: list[str] = Field(description=f"Gap kinds: {', '.join(GAP_KINDS)}.")


def _row(row: inventory.InventoryRow) -> dict[str, Any]:
    channel = row.channel
    recovery = row.recovery
    return {
        "channel": channel,
        "brand": channel.brand.name,
        "status": channel.status,
        "owner": channel.owner,
        "backup": channel.backup,
        "owner_left": row.owner_left,
        "backup_left": row.backup_left,
        "native_admins": row.native_admins,
        "recovery": {
            "recovery_email": recovery.recovery_email if recovery else "",
            "recovery_email_kind": row.recovery_email.kind,
            "recovery_email_controller": recovery.recovery_email_controller if recovery else None,
            "recovery_phone": recovery.recovery_phone if recovery else "",
            "recovery_phone_controller": recovery.recovery_phone_controller if recovery else None,
            "two_factor_method": recovery.two_factor_method if recovery else "",
            "two_factor_holder": recovery.two_factor_holder if recovery else None,
        },
        "token_state": row.token_state,
        "token_expires_at": row.token_expires,
        "last_published_at": row.last_published,
        "last_message_at": row.last_message,
        "gaps": [g.kind for g in row.gaps],
    }


class InventoryQuery(PageQuery):
    gap: str | None = Field(
        None, description=f"Only channels with this gap: {', '.join(GAP_KINDS)}."
    )
    brand: ObjectId | None = None
    kind: ShortText | None = None


@router.get(
    "/governance/inventory",
    response={200: Page[InventoryRowOut], **errors(400, 401, 403, 422)},
    summary="The channel inventory",
    description="Every channel you may see with its owner and backup, native admins, recovery "
    "details, token health and last activity, and its gaps. Needs administer on a channel or "
    "view_audit.",
)
def channel_inventory(request: HttpRequest, query: Query[InventoryQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    _require_governance(caller)
    if query.gap is not None and query.gap not in GAP_KINDS:
        raise ActionError(f"Unknown gap {query.gap!r}: use one of {', '.join(GAP_KINDS)}.")
    channels = visible(Channel.objects, caller, "view")
    if query.brand is not None:
        channels = channels.filter(brand_id=query.brand)
    if query.kind:
        channels = channels.filter(kind=query.kind)
    rows = inventory.build(caller.organization, channels).rows
    if query.gap:
        rows = [r for r in rows if r.has(query.gap)]
    page = rows[query.offset : query.offset + query.limit]
    return {
        "items": [_row(r) for r in page],
        "total": len(rows),
        "limit": query.limit,
        "offset": query.offset,
    }


class GapCount(Schema):
    gap: str
    channels: int


class GapsOut(Schema):
    counts: list[GapCount]
    channels: list[InventoryRowOut] = Field(description="Only the channels with a gap.")


@router.get(
    "/governance/gaps",
    response={200: GapsOut, **errors(401, 403)},
    summary="The gaps report",
    description="Channels with no owner or backup, an owner or backup who left, native admins "
    "not recorded or a single one, a personal recovery email, a token about to expire, or no "
    "activity. Needs manage_members (owners, admins) or view_audit (auditors).",
)
def gaps_report(request: HttpRequest) -> dict[str, Any]:
    caller = caller_of(request)
    if not _may_read_reports(caller):
        raise HttpError(403, "The gaps report is for owners, admins and auditors.")
    built = inventory.build(caller.organization, visible(Channel.objects, caller, "view"))
    return {
        "counts": [{"gap": k, "channels": n} for k, n in built.gap_counts().items()],
        "channels": [_row(r) for r in built.with_gaps()],
    }


def _channel(caller: Caller, channel_id: int) -> Channel:
    _require_governance(caller)
    channel: Channel = get_or_404(
        visible(Channel.objects, caller, "view").select_related("organization"),
        channel_id,
        "channel",
    )
    return channel


def _administered(caller: Caller, channel_id: int) -> Channel:
    channel = _channel(caller, channel_id)
    require_on(visible(Channel.objects, caller, "administer"), channel, "administer", "channel")
    return channel


@router.get(
    "/channels/{channel_id}/native-admins",
    response={200: list[NativeAdminOut], **errors(401, 403, 404)},
    summary="List a channel's native admins",
    description="People with admin rights on the account at the network itself.",
)
def list_native_admins(request: HttpRequest, channel_id: ObjectId) -> list[NativeAdmin]:
    caller = caller_of(request)
    channel = _channel(caller, channel_id)
    return list(
        visible(NativeAdmin.objects, caller, "view")
        .filter(channel=channel, removed_at__isnull=True)
        .select_related("user")
    )


class NativeAdminIn(Schema):
    user_id: ObjectId | None = Field(None, description="The Greenroom person, if they are one.")
    name: Text200 = ""
    email: Text200 = ""
    network_role: ShortText = ""
    knows_password: bool = False


@router.post(
    "/channels/{channel_id}/native-admins",
    response={201: NativeAdminOut, **errors(400, 401, 403, 404, 422)},
    summary="Record a native admin",
    description="Needs administer on the channel.",
)
def add_native_admin(
    request: HttpRequest, channel_id: ObjectId, body: NativeAdminIn
) -> Status[NativeAdmin]:
    caller = caller_of(request)
    channel = _administered(caller, channel_id)
    user = None
    if body.user_id is not None:
        user = (
            Membership.objects.filter(organization=caller.organization, user_id=body.user_id)
            .select_related("user")
            .first()
        )
        if user is None:
            raise ActionError(
                f"The person (id {body.user_id}) is not a member of {caller.organization}."
            )
    admin = actions.do_record_native_admin(
        channel,
        name=body.name,
        email=body.email,
        user=user.user if user is not None else None,
        network_role=body.network_role,
        knows_password=body.knows_password,
        acting_user=caller.user,
    )
    return Status(201, admin)


@router.delete(
    "/channels/{channel_id}/native-admins/{admin_id}",
    response={204: None, **errors(401, 403, 404)},
    summary="Record that a native admin was removed on the network",
    description="Needs administer on the channel.",
)
def remove_native_admin(
    request: HttpRequest, channel_id: ObjectId, admin_id: ObjectId
) -> Status[None]:
    caller = caller_of(request)
    channel = _channel(caller, channel_id)
    admin: NativeAdmin = get_or_404(
        visible(NativeAdmin.objects, caller, "view").filter(
            channel=channel, removed_at__isnull=True
        ),
        admin_id,
        "native admin",
    )
    require_on(visible(Channel.objects, caller, "administer"), channel, "administer", "channel")
    actions.do_remove_native_admin(admin, acting_user=caller.user)
    return Status(204, None)


def _recovery_out(caller: Caller, channel: Channel) -> dict[str, Any]:
    row = inventory.build(caller.organization, Channel.objects.filter(pk=channel.pk)).rows[0]
    return _row(row)["recovery"]  # type: ignore[no-any-return]


@router.get(
    "/channels/{channel_id}/recovery",
    response={200: RecoveryOut, **errors(401, 403, 404)},
    summary="A channel's recovery details",
)
def get_recovery(request: HttpRequest, channel_id: ObjectId) -> dict[str, Any]:
    caller = caller_of(request)
    return _recovery_out(caller, _channel(caller, channel_id))


class RecoveryIn(Schema):
    recovery_email: Text200 = ""
    recovery_email_controller_id: ObjectId | None = None
    recovery_phone: ShortText = ""
    recovery_phone_controller_id: ObjectId | None = None
    two_factor_method: TwoFactorMethod = TwoFactorMethod.UNKNOWN
    two_factor_holder_id: ObjectId | None = None


@router.put(
    "/channels/{channel_id}/recovery",
    response={200: RecoveryOut, **errors(400, 401, 403, 404, 422)},
    summary="Set a channel's recovery details",
    description="Replaces the recovery email and phone, who controls them, and the two-factor "
    "method and its holder. Needs administer on the channel.",
)
def put_recovery(request: HttpRequest, channel_id: ObjectId, body: RecoveryIn) -> dict[str, Any]:
    caller = caller_of(request)
    channel = _administered(caller, channel_id)
    actions.do_save_recovery(
        channel,
        recovery_email=body.recovery_email,
        recovery_email_controller=optional_member(caller, body.recovery_email_controller_id),
        recovery_phone=body.recovery_phone,
        recovery_phone_controller=optional_member(caller, body.recovery_phone_controller_id),
        two_factor_method=body.two_factor_method,
        two_factor_holder=optional_member(caller, body.two_factor_holder_id),
        acting_user=caller.user,
    )
    return _recovery_out(caller, channel)


class StepOut(Schema):
    kind: StepKind
    count: int
    summary: str
    detail: dict[str, Any]

    @staticmethod
    def resolve_summary(obj: OffboardingStep) -> str:
        return step_text(obj)


class ChecklistItemOut(Schema):
    id: int
    kind: ChecklistKind
    channel: ChannelRef | None
    task: str
    done_at: datetime | None
    done_by: str
    note: str

    @staticmethod
    def resolve_task(obj: ChecklistItem) -> str:
        return checklist_text(obj)

    @staticmethod
    def resolve_done_by(obj: ChecklistItem) -> str:
        return obj.done_by_name


class OffboardingOut(Schema):
    id: int
    person_id: int | None
    person_name: str
    role: str
    successor: PersonRef | None
    conversations_to: PersonRef | None
    source: OffboardingSource
    reason: str
    started_by: str
    created_at: datetime
    took_ms: int
    steps: list[StepOut]
    checklist: list[ChecklistItemOut]
    open_items: int

    @staticmethod
    def resolve_started_by(obj: Offboarding) -> str:
        return obj.started_by_name

    @staticmethod
    def resolve_steps(obj: Offboarding) -> list[OffboardingStep]:
        return list(obj.steps.all())

    @staticmethod
    def resolve_checklist(obj: Offboarding) -> list[ChecklistItem]:
        return list(obj.checklist.all())

    @staticmethod
    def resolve_open_items(obj: Offboarding) -> int:
        return sum(1 for item in obj.checklist.all() if item.done_at is None)


def _offboardings(caller: Caller) -> Any:
    return (
        visible(Offboarding.objects, caller, "view_org")
        .select_related("successor", "conversations_to")
        .prefetch_related("steps", "checklist__channel", "checklist__offboarding")
    )


class OffboardIn(Schema):
    successor_id: ObjectId | None = Field(
        None,
        description="Receives their channels (as owner or backup) and pending approvals. "
        "Leave out: each channel's backup takes over.",
    )
    conversations_to_id: ObjectId | None = Field(
        None, description="Receives their open conversations. Leave out: the unassigned queue."
    )
    reason: Text200 = ""


@router.post(
    "/people/{user_id}/offboard",
    response={201: OffboardingOut, **errors(400, 401, 403, 404, 422)},
    summary="Offboard a person",
    description="In one action: signs them out and revokes their API tokens, hands their open "
    "conversations, pending approvals and channels over, removes their grants, teams and "
    "membership, and opens a checklist of tasks on the networks. Needs manage_members.",
)
def offboard_person(
    request: HttpRequest, user_id: ObjectId, body: OffboardIn
) -> Status[Offboarding]:
    caller = caller_of(request)
    membership = (
        visible(Membership.objects, caller, "view_members")
        .filter(is_active=True, user_id=user_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise Http404(f"No person with id {user_id} in this organisation.")
    if not Access.of(caller.user).has_org_perm(caller.organization.pk, "manage_members"):
        raise HttpError(403, "Offboarding needs manage_members (owners and admins).")
    try:
        offboarding = actions.do_offboard(
            caller.organization,
            membership.user,
            successor=optional_member(caller, body.successor_id, "successor"),
            conversations_to=optional_member(
                caller, body.conversations_to_id, "conversations' assignee"
            ),
            reason=body.reason,
            source=OffboardingSource.API,
            acting_user=caller.user,
        )
    except actions.NotAllowed as exc:
        raise HttpError(403, str(exc)) from None
    return Status(201, _offboardings(caller).get(pk=offboarding.pk))


@router.get(
    "/offboardings",
    response={200: Page[OffboardingOut], **errors(401, 403, 422)},
    summary="List offboardings",
    description="Newest first. Needs manage_members or view_audit.",
)
def list_offboardings(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    if not _may_read_reports(caller):
        raise HttpError(403, "Offboarding reports are for owners, admins and auditors.")
    found = _offboardings(caller)
    return {
        "items": list(found[query.offset : query.offset + query.limit]),
        "total": found.count(),
        "limit": query.limit,
        "offset": query.offset,
    }


def _offboarding(caller: Caller, offboarding_id: int) -> Offboarding:
    if not _may_read_reports(caller):
        raise Http404(f"No offboarding with id {offboarding_id} in this organisation.")
    found: Offboarding = get_or_404(_offboardings(caller), offboarding_id, "offboarding")
    return found


@router.get(
    "/offboardings/{offboarding_id}",
    response={200: OffboardingOut, **errors(401, 404)},
    summary="Get an offboarding with its steps and checklist",
)
def get_offboarding(request: HttpRequest, offboarding_id: ObjectId) -> Offboarding:
    return _offboarding(caller_of(request), offboarding_id)


class DoneIn(Schema):
    note: Text200 = ""


@router.post(
    "/offboardings/{offboarding_id}/checklist/{item_id}/done",
    response={200: ChecklistItemOut, **errors(400, 401, 403, 404, 422)},
    summary="Tick off a checklist task",
    description="Records who did it and when. Needs manage_members, or administer on the task's "
    "channel.",
)
def complete_checklist_item(
    request: HttpRequest, offboarding_id: ObjectId, item_id: ObjectId, body: DoneIn
) -> ChecklistItem:
    caller = caller_of(request)
    item: ChecklistItem = get_or_404(
        visible(ChecklistItem.objects, caller, "view").filter(offboarding_id=offboarding_id),
        item_id,
        "checklist task",
    )
    try:
        actions.do_complete_checklist_item(item, note=body.note, acting_user=caller.user)
    except actions.NotAllowed as exc:
        raise HttpError(403, str(exc)) from None
    return ChecklistItem.objects.select_related("channel", "offboarding").get(pk=item.pk)
