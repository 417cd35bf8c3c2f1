"""SCIM resources as Greenroom renders them, and the discovery documents (RFC 7643, 7644).

User: `id` is the Greenroom user id; `userName` the username; `active` whether the person is an
active member of this organisation; `groups` the teams they are in (read-only, as RFC 7643
says). Group: a team; `id` the team id; `members` its people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from greenroom.core.models import Membership, Organization, Team, User
from greenroom.governance.models import ScimGroup, ScimIdentity

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
MAX_RESULTS = 200


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class UserContext:
    """What rendering many users needs, loaded in a constant number of queries."""

    memberships: dict[int, Membership]
    identities: dict[int, ScimIdentity]
    teams: dict[int, list[Team]]

    @classmethod
    def load(cls, org: Organization, user_ids: list[int]) -> UserContext:
        memberships = {
            m.user_id: m for m in Membership.objects.filter(organization=org, user_id__in=user_ids)
        }
        identities = {
            i.user_id: i
            for i in ScimIdentity.objects.filter(organization=org, user_id__in=user_ids)
        }
        teams: dict[int, list[Team]] = {}
        visible = {t.pk: t for t in groups_of(org)}
        for team_id, user_id in Team.members.through.objects.filter(
            team_id__in=list(visible), user_id__in=user_ids
        ).values_list("team_id", "user_id"):
            teams.setdefault(user_id, []).append(visible[team_id])
        return cls(memberships, identities, teams)


def groups_of(org: Organization) -> list[Team]:
    deleted = ScimGroup.objects.filter(organization=org, deleted_at__isnull=False).values("team_id")
    return list(Team.objects.filter(organization=org).exclude(pk__in=deleted).order_by("pk"))


def render_user(user: User, ctx: UserContext, base: str) -> dict[str, Any]:
    membership = ctx.memberships.get(user.pk)
    identity = ctx.identities.get(user.pk)
    created = membership.created_at if membership is not None else user.date_joined
    modified = identity.updated_at if identity is not None else created
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": str(user.pk),
        "userName": user.username,
        "name": {
            "givenName": user.first_name,
            "familyName": user.last_name,
            "formatted": user.get_full_name() or user.name,
        },
        "displayName": user.name,
        "emails": [{"value": user.email, "type": "work", "primary": True}] if user.email else [],
        "active": bool(user.is_active and membership is not None and membership.is_active),
        "preferredLanguage": user.language,
        "timezone": user.timezone,
        "groups": [
            {"value": str(t.pk), "display": t.name, "$ref": f"{base}/Groups/{t.pk}"}
            for t in ctx.teams.get(user.pk, [])
        ],
        "meta": {
            "resourceType": "User",
            "created": _time(created),
            "lastModified": _time(max(created, modified)),
            "location": f"{base}/Users/{user.pk}",
        },
    }
    if identity is not None and identity.external_id:
        resource["externalId"] = identity.external_id
    return resource


@dataclass
class GroupContext:
    members: dict[int, list[User]]
    links: dict[int, ScimGroup]

    @classmethod
    def load(cls, org: Organization, teams: list[Team]) -> GroupContext:
        ids = [t.pk for t in teams]
        rows = list(
            Team.members.through.objects.filter(team_id__in=ids)
            .select_related("user")
            .order_by("user_id")
        )
        members: dict[int, list[User]] = {}
        for row in rows:
            members.setdefault(row.team_id, []).append(row.user)
        links = {g.team_id: g for g in ScimGroup.objects.filter(organization=org, team_id__in=ids)}
        return cls(members, links)


def render_group(team: Team, ctx: GroupContext, base: str) -> dict[str, Any]:
    link = ctx.links.get(team.pk)
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": str(team.pk),
        "displayName": team.name,
        "members": [
            {"value": str(u.pk), "display": u.name, "$ref": f"{base}/Users/{u.pk}"}
            for u in ctx.members.get(team.pk, [])
        ],
        "meta": {
            "resourceType": "Group",
            "created": _time(team.created_at),
            "lastModified": _time(team.created_at),
            "location": f"{base}/Groups/{team.pk}",
        },
    }
    if link is not None and link.external_id:
        resource["externalId"] = link.external_id
    return resource


def project(resource: dict[str, Any], attributes: list[str], excluded: list[str]) -> dict[str, Any]:
    """`attributes` / `excludedAttributes` (top-level names; id and schemas always stay)."""
    always = {"id", "schemas"}
    if attributes:
        keep = {a.split(".")[0].split(":")[-1].lower() for a in attributes} | always
        return {k: v for k, v in resource.items() if k.lower() in keep}
    if excluded:
        drop = {a.split(".")[0].split(":")[-1].lower() for a in excluded} - always
        return {k: v for k, v in resource.items() if k.lower() not in drop}
    return resource


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token an owner or admin creates in Governance → "
                "Provisioning; send it as `Authorization: Bearer grscim_…`.",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A person in the organisation",
            "schema": USER_SCHEMA,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A team; it may give its members a role",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        },
    ]


def _attr(
    name: str,
    type_: str = "string",
    *,
    multi: bool = False,
    required: bool = False,
    mutability: str = "readWrite",
    uniqueness: str = "none",
    case_exact: bool = False,
    sub: list[dict[str, Any]] | None = None,
    description: str = "",
) -> dict[str, Any]:
    attr: dict[str, Any] = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    }
    if sub is not None:
        attr["subAttributes"] = sub
    return attr


def schemas(base: str) -> list[dict[str, Any]]:
    member = [
        _attr("value", mutability="immutable", description="The id of the resource"),
        _attr("display", mutability="readOnly"),
        _attr("$ref", "reference", mutability="immutable"),
    ]
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": USER_SCHEMA,
            "name": "User",
            "description": "A person in the organisation",
            "attributes": [
                _attr(
                    "userName",
                    required=True,
                    uniqueness="server",
                    description="Unique across Greenroom",
                ),
                _attr(
                    "name",
                    "complex",
                    sub=[
                        _attr("givenName"),
                        _attr("familyName"),
                        _attr("formatted", mutability="readOnly"),
                    ],
                ),
                _attr("displayName"),
                _attr(
                    "emails",
                    "complex",
                    multi=True,
                    sub=[_attr("value"), _attr("type"), _attr("primary", "boolean")],
                    description="The primary (or work, or first) address is the person's",
                ),
                _attr("active", "boolean", description="false (or DELETE) offboards the person"),
                _attr("preferredLanguage", description="en or ko"),
                _attr("timezone", description="An IANA time zone"),
                _attr("externalId", case_exact=True),
                _attr("groups", "complex", multi=True, mutability="readOnly", sub=member),
            ],
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{USER_SCHEMA}"},
        },
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": GROUP_SCHEMA,
            "name": "Group",
            "description": "A team",
            "attributes": [
                _attr("displayName", required=True, uniqueness="server"),
                _attr("externalId", case_exact=True),
                _attr("members", "complex", multi=True, sub=member),
            ],
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{GROUP_SCHEMA}"},
        },
    ]
