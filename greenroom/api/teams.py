"""Teams: named groups of people (a shift, a market, an agency)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from greenroom.core import actions
from greenroom.core.models import Team
from greenroom.core.restrict import RestrictedQuerySet

from .access import get_or_404, members, optional_member, require, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import MAX_IDS, Name, ObjectId, Page, PageQuery, PersonRef, errors

router = Router(tags=["Teams"])


class TeamOut(Schema):
    id: int
    name: str
    lead: PersonRef | None
    members: list[PersonRef]
    created_at: datetime

    @staticmethod
    def resolve_members(obj: Team) -> list[Any]:
        return list(obj.members.all())


class TeamIn(Schema):
    name: Name
    lead_id: ObjectId | None = None
    member_ids: list[ObjectId] = Field([], max_length=MAX_IDS)


class TeamMembersIn(Schema):
    member_ids: list[ObjectId] = Field(
        max_length=MAX_IDS, description="The whole new list of members (user ids)."
    )


def _teams(caller: Caller) -> RestrictedQuerySet[Team]:
    return (
        visible(Team.objects, caller, "view_members")
        .select_related("lead")
        .prefetch_related("members")
    )


@router.get(
    "/teams",
    response={200: Page[TeamOut], **errors(401, 403, 422)},
    summary="List teams",
    description="Needs view_members (teams show who is in them).",
)
def list_teams(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    require(caller, "view_members")
    return paginate(_teams(caller).order_by("name", "pk"), query)


@router.get(
    "/teams/{team_id}",
    response={200: TeamOut, **errors(401, 403, 404)},
    summary="Get a team",
)
def get_team(request: HttpRequest, team_id: ObjectId) -> Team:
    team: Team = get_or_404(_teams(caller_of(request)), team_id, "team")
    return team


@router.post(
    "/teams",
    response={201: TeamOut, **errors(400, 401, 403, 422)},
    summary="Create a team",
    description="Needs manage_members. The lead and members must be members of the organisation.",
)
def create_team(request: HttpRequest, body: TeamIn) -> Status[Team]:
    caller = caller_of(request)
    require(caller, "manage_members")
    team = actions.do_create_team(
        caller.organization,
        name=body.name,
        lead=optional_member(caller, body.lead_id, "lead"),
        members=members(caller, body.member_ids),
        acting_user=caller.user,
    )
    return Status(201, get_or_404(_teams(caller), team.pk, "team"))


@router.put(
    "/teams/{team_id}/members",
    response={200: TeamOut, **errors(400, 401, 403, 404, 422)},
    summary="Set a team's members",
    description="Replaces the member list with the one sent. Needs manage_members.",
)
def set_team_members(request: HttpRequest, team_id: ObjectId, body: TeamMembersIn) -> Team:
    caller = caller_of(request)
    team: Team = get_or_404(_teams(caller), team_id, "team")
    require(caller, "manage_members")
    actions.do_set_team_members(
        team, members=members(caller, body.member_ids), acting_user=caller.user
    )
    return get_or_404(_teams(caller), team_id, "team")
