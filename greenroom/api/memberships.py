"""Memberships: adding people to the organisation, changing their role, deactivating them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from greenroom.core import actions
from greenroom.core.models import Membership, User
from greenroom.core.permissions import Role
from greenroom.core.restrict import RestrictedQuerySet

from .access import brands, get_or_404, require, visible
from .auth import Caller, caller_of
from .schemas import MAX_IDS, BrandRef, ObjectId, PersonRef, UsernameOrEmail, errors

router = Router(tags=["Memberships"])


class MembershipOut(Schema):
    id: int
    person: PersonRef
    role: Role
    brands: list[BrandRef] = Field(
        description="The brands the role is limited to; empty means every brand."
    )
    is_active: bool
    created_at: datetime

    @staticmethod
    def resolve_person(obj: Membership) -> User:
        return obj.user

    @staticmethod
    def resolve_brands(obj: Membership) -> list[Any]:
        return list(obj.brands.all())


class MembershipIn(Schema):
    user: UsernameOrEmail = Field(
        description="The person's username or email; they need a Greenroom account already."
    )
    role: Role
    brand_ids: list[ObjectId] = Field(
        [], max_length=MAX_IDS, description="Limit the role to these brands; empty for every brand."
    )


class MembershipChange(Schema):
    role: Role
    brand_ids: list[ObjectId] | None = Field(
        None,
        max_length=MAX_IDS,
        description="The new brand scope; leave out (or null) to keep it, [] for every brand.",
    )


def _find_user(identifier: str) -> User:
    matches = list(
        User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier))[:3]
    )
    by_username = [u for u in matches if u.username.lower() == identifier.lower()]
    if by_username:
        return by_username[0]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise actions.ActionError(
            f"Several accounts use the email {identifier}; give the username instead."
        )
    raise actions.ActionError(
        f"No Greenroom account is called {identifier}: create the account first."
    )


def _memberships(caller: Caller) -> RestrictedQuerySet[Membership]:
    return (
        visible(Membership.objects, caller, "view_members")
        .select_related("user", "organization")
        .prefetch_related("brands")
    )


def _managed(caller: Caller, membership_id: int) -> Membership:
    membership: Membership = get_or_404(_memberships(caller), membership_id, "membership")
    require(caller, "manage_members")
    return membership


@router.get(
    "/memberships/{membership_id}",
    response={200: MembershipOut, **errors(401, 403, 404)},
    summary="Get a membership",
    description="Needs view_members.",
)
def get_membership(request: HttpRequest, membership_id: ObjectId) -> Membership:
    caller = caller_of(request)
    membership: Membership = get_or_404(_memberships(caller), membership_id, "membership")
    return membership


@router.post(
    "/memberships",
    response={201: MembershipOut, **errors(400, 401, 403, 422)},
    summary="Add a member",
    description="Adds an existing Greenroom account to the organisation with a role, "
    "optionally limited to some brands. Re-adding a former member reactivates them. "
    "Needs manage_members (owners and admins).",
)
def add_member(request: HttpRequest, body: MembershipIn) -> Status[Membership]:
    caller = caller_of(request)
    require(caller, "manage_members")
    user = _find_user(body.user)
    membership = actions.do_add_member(
        caller.organization,
        user,
        body.role,
        brands=brands(caller, body.brand_ids),
        acting_user=caller.user,
    )
    return Status(201, get_or_404(_memberships(caller), membership.pk, "membership"))


@router.patch(
    "/memberships/{membership_id}",
    response={200: MembershipOut, **errors(400, 401, 403, 404, 422)},
    summary="Change a member's role",
    description="Sets the role and, if given, the brands it is limited to. The last owner "
    "cannot be demoted. Needs manage_members.",
)
def change_role(
    request: HttpRequest, membership_id: ObjectId, body: MembershipChange
) -> Membership:
    caller = caller_of(request)
    membership = _managed(caller, membership_id)
    if not membership.is_active:
        raise actions.ActionError("This membership is deactivated: add the person again instead.")
    brand_list = None if body.brand_ids is None else brands(caller, body.brand_ids)
    actions.do_change_role(membership, role=body.role, brands=brand_list, acting_user=caller.user)
    return get_or_404(_memberships(caller), membership_id, "membership")


@router.post(
    "/memberships/{membership_id}/deactivate",
    response={200: MembershipOut, **errors(400, 401, 403, 404)},
    summary="Deactivate a member",
    description="Removes the person from the organisation: their role and channel grants stop "
    "working at once, and so do their tokens for it. The history stays. The last owner "
    "cannot be deactivated. Needs manage_members.",
)
def deactivate_member(request: HttpRequest, membership_id: ObjectId) -> Membership:
    caller = caller_of(request)
    membership = _managed(caller, membership_id)
    if membership.is_active:
        actions.do_deactivate_membership(membership, acting_user=caller.user)
    return get_or_404(_memberships(caller), membership_id, "membership")
