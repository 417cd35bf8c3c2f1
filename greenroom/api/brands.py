"""Brands: the organisation's product lines, each with its own channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from greenroom.core import actions
from greenroom.core.models import Brand

from .access import get_or_404, require, visible
from .auth import caller_of
from .paging import paginate
from .schemas import Name, ObjectId, Page, PageQuery, errors

router = Router(tags=["Brands"])


class BrandOut(Schema):
    id: int
    name: str
    slug: str
    created_at: datetime


class BrandIn(Schema):
    name: Name


@router.get(
    "/brands",
    response={200: Page[BrandOut], **errors(401, 403)},
    summary="List brands",
    description="Every brand of the organisation, by name.",
)
def list_brands(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    return paginate(visible(Brand.objects, caller, "view_org").order_by("name", "pk"), query)


@router.get(
    "/brands/{brand_id}",
    response={200: BrandOut, **errors(401, 403, 404)},
    summary="Get a brand",
)
def get_brand(request: HttpRequest, brand_id: ObjectId) -> Brand:
    caller = caller_of(request)
    return get_or_404(visible(Brand.objects, caller, "view_org"), brand_id, "brand")


@router.post(
    "/brands",
    response={201: BrandOut, **errors(400, 401, 403, 422)},
    summary="Create a brand",
    description="Needs the manage_org permission (owners and admins).",
)
def create_brand(request: HttpRequest, body: BrandIn) -> Status[Brand]:
    caller = caller_of(request)
    require(caller, "manage_org")
    brand = actions.do_create_brand(caller.organization, name=body.name, acting_user=caller.user)
    return Status(201, brand)
