"""People: the organisation's members, with their roles and brand scopes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from greenroom.core.models import Membership
from greenroom.core.permissions import Role
from greenroom.core.restrict import RestrictedQuerySet

from .access import require, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import BrandRef, ObjectId, Page, PageQuery, errors

router = Router(tags=["People"])


class PersonOut(Schema):
    id: int = Field(description="The person's user id.")
    username: str
    display_name: str
    email: str
    membership_id: int
    role: Role
    brands: list[BrandRef] = Field(
        description="The brands the role is limited to; empty means every brand."
    )
    is_active: bool = Field(description="False for former members.")
    member_since: datetime

    @staticmethod
    def resolve_id(obj: Membership) -> int:
        return obj.user_id

    @staticmethod
    def resolve_username(obj: Membership) -> str:
        return obj.user.username

    @staticmethod
    def resolve_display_name(obj: Membership) -> str:
        return obj.user.name

    @staticmethod
    def resolve_email(obj: Membership) -> str:
        return obj.user.email

    @staticmethod
    def resolve_membership_id(obj: Membership) -> int:
        return obj.pk

    @staticmethod
    def resolve_brands(obj: Membership) -> list[Any]:
        return list(obj.brands.all())

    @staticmethod
    def resolve_member_since(obj: Membership) -> datetime:
        return obj.created_at


class PeopleQuery(PageQuery):
    role: Role | None = None
    brand: ObjectId | None = Field(
        None, description="Only people whose role is limited to this brand (brand id)."
    )
    include_former: bool = Field(False, description="Also list deactivated members.")


def memberships(caller: Caller) -> RestrictedQuerySet[Membership]:
    return (
        visible(Membership.objects, caller, "view_members")
        .select_related("user")
        .prefetch_related("brands")
    )


@router.get(
    "/people",
    response={200: Page[PersonOut], **errors(401, 403, 422)},
    summary="List people",
    description="The organisation's members with their roles and brand scopes. Needs the "
    "view_members permission (owners, admins, brand managers, auditors).",
)
def list_people(request: HttpRequest, query: Query[PeopleQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    require(caller, "view_members")
    rows = memberships(caller)
    if not query.include_former:
        rows = rows.filter(is_active=True)
    if query.role is not None:
        rows = rows.filter(role=query.role)
    if query.brand is not None:
        rows = rows.filter(brands__pk=query.brand)
    return paginate(rows.order_by("user__username", "pk"), query)


@router.get(
    "/people/{user_id}",
    response={200: PersonOut, **errors(401, 403, 404)},
    summary="Get a person",
    description="One member, by user id (former members too).",
)
def get_person(request: HttpRequest, user_id: ObjectId) -> Membership:
    membership: Membership | None = memberships(caller_of(request)).filter(user_id=user_id).first()
    if membership is None:
        raise Http404(f"No person with id {user_id} in this organisation.")
    return membership
