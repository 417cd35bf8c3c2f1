"""SCIM 2.0 endpoints at /scim/v2 (RFC 7644) for Okta, Entra ID and other identity providers.

Authentication is the organisation's SCIM bearer token (never a person's session or API token);
every resource is looked up inside that organisation only, so another organisation's person or
team is a 404. Responses are `application/scim+json`; errors use the SCIM Error schema with
exact status codes (400 invalidFilter/invalidValue/invalidSyntax/invalidPath/noTarget, 401,
404, 409 uniqueness). Writes go through governance actions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from greenroom.core.actions import ActionError
from greenroom.core.models import Team, User
from greenroom.governance import actions
from greenroom.governance.actions.scim import hash_scim_token
from greenroom.governance.models import ScimIdentity, ScimToken

from . import resources
from .errors import ScimError, invalid_syntax, invalid_value, not_found, uniqueness
from .filters import Predicate, lookup, parse_filter, simple_equality
from .patch import apply_patch

CONTENT_TYPE = "application/scim+json"
LAST_USED_GRANULARITY = timedelta(minutes=1)
DEFAULT_COUNT = 100
USERNAME_CHARS = frozenset("@.+-_")


def scim_response(data: Any, status: int = 200, location: str = "") -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )
    if location:
        response["Location"] = location
    return response


def _authenticate(request: HttpRequest) -> ScimToken:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise ScimError(401, "Send the organisation's SCIM token as `Authorization: Bearer …`.")
    token = (
        ScimToken.objects.select_related("organization")
        .filter(token_hash=hash_scim_token(value), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        raise ScimError(401, "This SCIM token is not valid or was revoked.")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


Handler = Callable[..., HttpResponse]


def scim_endpoint(methods: dict[str, Handler]) -> Callable[..., HttpResponse]:
    """One URL: authenticate, dispatch on the method, and turn every refusal into SCIM's error."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        try:
            token = _authenticate(request)
            handler = methods.get(request.method or "")
            if handler is None:
                raise ScimError(405, f"{request.method} is not supported here.")
            return handler(request, token, **kwargs)
        except ScimError as error:
            response = scim_response(error.body(), status=error.status)
            if error.status == 401:
                response["WWW-Authenticate"] = 'Bearer realm="scim"'
            if error.status == 405:
                response["Allow"] = ", ".join(sorted(methods))
            return response
        except actions.ScimConflict as error:
            return scim_response(uniqueness(str(error)).body(), status=409)
        except ActionError as error:
            return scim_response(invalid_value(str(error)).body(), status=400)

    return view


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2")


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid_syntax("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise invalid_syntax("The body is a JSON object.")
    return body


def _paging(request: HttpRequest) -> tuple[int, int]:
    try:
        start = int(request.GET.get("startIndex", "1"))
        count = int(request.GET.get("count", str(DEFAULT_COUNT)))
    except ValueError:
        raise invalid_value("startIndex and count are integers.") from None
    return max(start, 1), min(max(count, 0), resources.MAX_RESULTS)


def _attribute_lists(request: HttpRequest) -> tuple[list[str], list[str]]:
    def split(name: str) -> list[str]:
        return [a.strip() for a in request.GET.get(name, "").split(",") if a.strip()]

    return split("attributes"), split("excludedAttributes")


def _list(
    request: HttpRequest, items: list[dict[str, Any]], total: int, start: int
) -> HttpResponse:
    attributes, excluded = _attribute_lists(request)
    return scim_response(
        {
            "schemas": [resources.LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(items),
            "Resources": [resources.project(r, attributes, excluded) for r in items],
        }
    )


def _one(request: HttpRequest, resource: dict[str, Any], status: int = 200) -> HttpResponse:
    attributes, excluded = _attribute_lists(request)
    location = resource["meta"]["location"] if status == 201 else ""
    return scim_response(resources.project(resource, attributes, excluded), status, location)


# --- Discovery ------------------------------------------------------------------------------------


def service_provider_config(request: HttpRequest, token: ScimToken) -> HttpResponse:
    return scim_response(resources.service_provider_config(_base(request)))


def resource_types(request: HttpRequest, token: ScimToken) -> HttpResponse:
    found = resources.resource_types(_base(request))
    return _list(request, found, len(found), 1)


def resource_type(request: HttpRequest, token: ScimToken, name: str) -> HttpResponse:
    for found in resources.resource_types(_base(request)):
        if found["id"].lower() == name.lower():
            return scim_response(found)
    raise not_found("ResourceType", name)


def schemas(request: HttpRequest, token: ScimToken) -> HttpResponse:
    found = resources.schemas(_base(request))
    return _list(request, found, len(found), 1)


def schema(request: HttpRequest, token: ScimToken, urn: str) -> HttpResponse:
    for found in resources.schemas(_base(request)):
        if found["id"].lower() == urn.lower():
            return scim_response(found)
    raise not_found("Schema", urn)


# --- Users ----------------------------------------------------------------------------------------


def _users(token: ScimToken) -> QuerySet[User]:
    """People of the token's organisation (members, current or former), minus those its identity
    provider deleted."""
    org = token.organization
    deleted = ScimIdentity.objects.filter(organization=org, deleted_at__isnull=False).values(
        "user_id"
    )
    return User.objects.filter(memberships__organization=org).exclude(pk__in=deleted).order_by("pk")


def _user(token: ScimToken, resource_id: str) -> User:
    if not resource_id.isdigit() or len(resource_id) > 18:
        raise not_found("User", resource_id)
    user = _users(token).filter(pk=int(resource_id)).first()
    if user is None:
        raise not_found("User", resource_id)
    return user


def _render_users(
    request: HttpRequest, token: ScimToken, users: list[User]
) -> list[dict[str, Any]]:
    ctx = resources.UserContext.load(token.organization, [u.pk for u in users])
    base = _base(request)
    return [resources.render_user(u, ctx, base) for u in users]


_USER_NARROWING: dict[str, Callable[[ScimToken, str], Q]] = {
    "username": lambda token, v: Q(username__iexact=v),
    "id": lambda token, v: Q(pk=int(v)) if v.isdigit() and len(v) < 19 else Q(pk__in=[]),
    "externalid": lambda token, v: Q(
        pk__in=ScimIdentity.objects.filter(organization=token.organization, external_id=v).values(
            "user_id"
        )
    ),
    "emails": lambda token, v: Q(email__iexact=v),
    "emails.value": lambda token, v: Q(email__iexact=v),
}


def list_users(request: HttpRequest, token: ScimToken) -> HttpResponse:
    start, count = _paging(request)
    users = _users(token)
    text = request.GET.get("filter", "")
    predicate: Predicate | None = parse_filter(text) if text else None
    equality = simple_equality(text) if text else None
    if equality is not None and equality[0] in _USER_NARROWING:
        users = users.filter(_USER_NARROWING[equality[0]](token, equality[1]))
    if predicate is None:
        total = users.count()
        page = list(users[start - 1 : start - 1 + count])
        return _list(request, _render_users(request, token, page), total, start)
    matching = [r for r in _render_users(request, token, list(users)) if predicate(r)]
    return _list(request, matching[start - 1 : start - 1 + count], len(matching), start)


def _text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_value(f"{field} is a string.")
    if len(value) > limit or "\x00" in value:
        raise invalid_value(f"{field} is longer than {limit} characters.")
    return value.strip()


def _bool(value: Any, field: str) -> bool | None:
    # Entra ID sends "True" and "False" as strings.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid_value(f"{field} is true or false.")


def read_user(resource: dict[str, Any]) -> actions.ScimUser:
    """A User resource (a POST or PUT body, or a PATCHed resource) as an action's input."""
    user_name = _text(lookup(resource, "userName"), "userName", 150)
    if not user_name:
        raise invalid_value("userName is required.")
    if not all(ch.isalnum() or ch in USERNAME_CHARS for ch in user_name):
        raise invalid_value("userName may hold letters, digits and @ . + - _ only.")
    name = lookup(resource, "name")
    if name is not None and not isinstance(name, dict):
        raise invalid_value("name is an object.")
    given = _text(lookup(name, "givenName"), "name.givenName", 150) if name else None
    family = _text(lookup(name, "familyName"), "name.familyName", 150) if name else None
    display = _text(lookup(resource, "displayName"), "displayName", 150)
    emails = lookup(resource, "emails")
    email: str | None = None
    if emails is not None:
        if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
            raise invalid_value("emails is a list of objects.")
        chosen = (
            next((e for e in emails if _bool(lookup(e, "primary"), "primary")), None)
            or next((e for e in emails if str(lookup(e, "type")).lower() == "work"), None)
            or (emails[0] if emails else None)
        )
        email = (_text(lookup(chosen, "value"), "emails.value", 254) or "") if chosen else ""
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise invalid_value(f"{email[:60]} is not an email address.") from None
    language = _text(lookup(resource, "preferredLanguage"), "preferredLanguage", 35)
    zone = _text(lookup(resource, "timezone"), "timezone", 64)
    return actions.ScimUser(
        user_name=user_name,
        external_id=_text(lookup(resource, "externalId"), "externalId", 255),
        given_name=given,
        family_name=family,
        display_name=display,
        email=email.lower() if email else email,
        active=_bool(lookup(resource, "active"), "active"),
        language=language.split("-")[0].lower() if language else None,
        timezone_name=zone or None,
    )


def _render_user(request: HttpRequest, token: ScimToken, user: User) -> dict[str, Any]:
    return _render_users(request, token, [User.objects.get(pk=user.pk)])[0]


def create_user(request: HttpRequest, token: ScimToken) -> HttpResponse:
    data = read_user(_body(request))
    if data.display_name is None and (data.given_name or data.family_name):
        data.display_name = f"{data.given_name or ''} {data.family_name or ''}".strip()
    user = actions.do_scim_create_user(token.organization, data, token=token)
    return _one(request, _render_user(request, token, user), status=201)


def get_user(request: HttpRequest, token: ScimToken, rid: str) -> HttpResponse:
    return _one(request, _render_user(request, token, _user(token, rid)))


def put_user(request: HttpRequest, token: ScimToken, rid: str) -> HttpResponse:
    user = _user(token, rid)
    actions.do_scim_update_user(token.organization, user, read_user(_body(request)), token=token)
    return _one(request, _render_user(request, token, user))


def patch_user(request: HttpRequest, token: ScimToken, rid: str) -> HttpResponse:
    user = _user(token, rid)
    current = _render_user(request, token, user)
    patched = apply_patch(current, _body(request))
    actions.do_scim_update_user(token.organization, user, read_user(patched), token=token)
    return _one(request, _render_user(request, token, user))


def delete_user(request: HttpRequest, token: ScimToken, rid: str) -> HttpResponse:
    actions.do_scim_delete_user(token.organization, _user(token, rid), token=token)
    return HttpResponse(status=204)


# --- Groups ---------------------------------------------------------------------------------------


def _team(token: ScimToken, resource_id: str) -> Team:
    if resource_id.isdigit() and len(resource_id) < 19:
        for team in resources.groups_of(token.organization):
            if team.pk == int(resource_id):
                return team
    raise not_found("Group", resource_id)


def _render_groups(
    request: HttpRequest, token: ScimToken, teams: list[Team]
) -> list[dict[str, Any]]:
    ctx = resources.GroupContext.load(token.organization, teams)
    base = _base(request)
    return [resources.render_group(t, ctx, base) for t in teams]


def list_groups(request: HttpRequest, token: ScimToken) -> HttpResponse:
    start, count = _paging(request)
    teams = resources.groups_of(token.organization)
    text = request.GET.get("filter", "")
    if text:
        predicate = parse_filter(text)
        equality = simple_equality(text)
        if equality is not None and equality[0] == "displayname":
            teams = [t for t in teams if t.name.lower() == equality[1].lower()]
        matching = [r for r in _render_groups(request, token, teams) if predicate(r)]
        return _list(request, matching[start - 1 : start - 1 + count], len(matching), start)
    page = teams[start - 1 : start - 1 + count]
    return _list(request, _render_groups(request, token, page), len(teams), start)


def _members(token: ScimToken, resource: dict[str, Any]) -> list[User] | None:
    members = lookup(resource, "members")
    if members is None:
        return None
    if not isinstance(members, list):
        raise invalid_value("members is a list.")
    ids: list[int] = []
    for member in members:
        value = str(lookup(member, "value") if isinstance(member, dict) else "")
        if not value.isdigit() or len(value) > 18:
            raise invalid_value(f"members holds {value[:40]!r}, which is not a User id.")
        ids.append(int(value))
    found = {u.pk: u for u in _users(token).filter(pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise invalid_value(f"No User with id {', '.join(missing[:10])} in this organisation.")
    return [found[pk] for pk in dict.fromkeys(ids)]


def create_group(request: HttpRequest, token: ScimToken) -> HttpResponse:
    body = _body(request)
    name = _text(lookup(body, "displayName"), "displayName", 200)
    if not name:
        raise invalid_value("displayName is required.")
    team = actions.do_scim_create_group(
        token.organization,
        display_name=name,
        external_id=_text(lookup(body, "externalId"), "externalId", 255) or "",
        members=_members(token, body) or [],
        token=token,
    )
    return _one(request, _render_groups(request, token, [Team.objects.get(pk=team.pk)])[0], 201)


def get_group(request: HttpRequest, token: ScimToken, rid: str) -> HttpResponse:
    return _one(request, _render_groups(request, token, [_team(token, rid)])[0])


def _update_group(
    token: ScimToken, team: Team, resource: dict[str, Any], members_changed: bool
) -> None:
    name = _text(lookup(resource, "displayName"), "displayName", 200)
    if name is not None and not name:
        raise invalid_value("displayName cannot be empty.")
    actions.do_scim_update_group(
        team,
        display_name=name,
        external_id=_text(lookup(resource, "externalId"), "externalId", 255),
        members=_members(token, resource) if members_changed else None,
        token=token,
    )


def put_group(request: HttpRequest, token: ScimToken, rid: str) -> HttpResponse:
    team = _team(token, rid)
    body = _body(request)
    if lookup(body, "displayName") is None:
        raise invalid_value("displayName is required.")
    if lookup(body, "members") is None:
        body = {**body, "members": []}  # PUT replaces: no members listed means none
    _update_group(token, team, body, members_changed=True)
    return _one(request, _render_groups(request, token, [Team.objects.get(pk=team.pk)])[0])


def _member_ids(resource: dict[str, Any]) -> set[str]:
    members = lookup(resource, "members")
    if not isinstance(members, list):
        return set()
    return {str(lookup(m, "value")) for m in members if isinstance(m, dict)}


def patch_group(request: HttpRequest, token: ScimToken, rid: str) -> HttpResponse:
    team = _team(token, rid)
    current = _render_groups(request, token, [team])[0]
    patched = apply_patch(current, _body(request))
    _update_group(
        token, team, patched, members_changed=_member_ids(current) != _member_ids(patched)
    )
    return HttpResponse(status=204)


def delete_group(request: HttpRequest, token: ScimToken, rid: str) -> HttpResponse:
    actions.do_scim_delete_group(_team(token, rid), token=token)
    return HttpResponse(status=204)
