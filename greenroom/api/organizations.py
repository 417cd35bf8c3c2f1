"""The organisation a token belongs to."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema

from greenroom.core.models import Membership, Organization
from greenroom.core.permissions import ROLE_PERMS

from .access import get_or_404, visible
from .auth import caller_of
from .schemas import errors

router = Router(tags=["Organisation"])


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    timezone: str
    languages: list[str] = Field(description="Languages the audience writes in.")
    created_at: datetime
    your_role: str = Field(description="Your role in this organisation.")
    your_permissions: list[str] = Field(
        description="What your role lets you do here (channel permissions may be limited to "
        "some brands; per-channel grants add more)."
    )
    token_scopes: list[str] = Field(description="The scopes of the credential you called with.")


@router.get(
    "/organization",
    response={200: OrganizationOut, **errors(401, 403)},
    summary="Your organisation",
    description="The organisation this token belongs to (for a browser session: the "
    "organisation you are working in), with your role and permissions there.",
)
def get_organization(request: HttpRequest) -> OrganizationOut:
    caller = caller_of(request)
    org = get_or_404(
        visible(Organization.objects, caller, "view_org"), caller.organization.pk, "organisation"
    )
    membership = Membership.objects.get(organization=org, user=caller.user, is_active=True)
    return OrganizationOut(
        id=org.pk,
        name=org.name,
        slug=org.slug,
        timezone=org.timezone,
        languages=list(org.languages),
        created_at=org.created_at,
        your_role=membership.role,
        your_permissions=sorted(ROLE_PERMS[membership.role]),
        token_scopes=sorted(caller.scopes),
    )
