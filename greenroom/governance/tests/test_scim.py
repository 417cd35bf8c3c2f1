"""SCIM 2.0 as identity providers call it: Okta's and Entra ID's requests, exact status codes and
schemas (RFC 7643/7644)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from greenroom.conftest import PASSWORD, World
from greenroom.core import actions as core
from greenroom.core.models import AuditEvent, Membership, Team, User
from greenroom.governance import actions
from greenroom.governance.models import Offboarding, OffboardingSource, ScimIdentity

from .conftest import conversations

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


class Idp:
    """An identity provider holding one organisation's SCIM token."""

    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        url = "/scim/v2" + path
        if method == "GET":
            return self.client.get(url, params)
        data = json.dumps(body) if body is not None else ""
        return getattr(self.client, method.lower())(url, data, content_type="application/scim+json")


@pytest.fixture
def okta(world: World) -> Idp:
    _token, plaintext = actions.do_create_scim_token(
        world.acme, name="Okta", acting_user=world.alice
    )
    return Idp(plaintext)


@pytest.fixture
def globex_idp(world: World) -> Idp:
    _token, plaintext = actions.do_create_scim_token(
        world.globex, name="Entra", acting_user=world.gina
    )
    return Idp(plaintext)


def okta_user(user_name: str = "jane@acme.test", **extra: Any) -> dict[str, Any]:
    """The body Okta sends to create a user."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Jane Doe",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "groups": [],
        "password": "not-used-by-greenroom",
        "active": True,
        **extra,
    }


def is_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


# --- Discovery and authentication -------------------------------------------------------------


def test_discovery_documents(okta: Idp) -> None:
    config = okta.call("GET", "/ServiceProviderConfig")
    assert config.status_code == 200
    assert config["Content-Type"] == "application/scim+json"
    body = config.json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"]["supported"] and body["filter"] == {"supported": True, "maxResults": 200}
    assert not body["bulk"]["supported"]
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    types = okta.call("GET", "/ResourceTypes").json()
    assert types["schemas"] == [LIST] and types["totalResults"] == 2
    assert {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
    assert okta.call("GET", "/ResourceTypes/User").json()["schema"] == USER

    schemas = okta.call("GET", "/Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} == {USER, GROUP}
    user_schema = okta.call("GET", f"/Schemas/{USER}").json()
    assert "userName" in {a["name"] for a in user_schema["attributes"]}
    is_error(okta.call("GET", "/Schemas/urn:nope"), 404)


def test_requests_without_a_valid_scim_token_are_401(world: World, okta: Idp) -> None:
    response = Client().get("/scim/v2/Users")
    is_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    is_error(Idp("grscim_wrong").call("GET", "/Users"), 401)
    # A person's API token is not a SCIM token.
    _row, personal = core.do_create_api_token(
        world.alice, world.acme, name="script", scopes=["read", "write"], acting_user=world.alice
    )
    is_error(Idp(personal).call("GET", "/Users"), 401)
    token = actions.do_create_scim_token(world.acme, name="Old", acting_user=world.alice)
    actions.do_revoke_scim_token(token[0], acting_user=world.alice)
    is_error(Idp(token[1]).call("GET", "/Users"), 401)


def test_only_owners_and_admins_create_scim_tokens(world: World) -> None:
    for person in ("bianca", "otto", "paul"):
        with pytest.raises(actions.NotAllowed):
            actions.do_create_scim_token(world.acme, name="x", acting_user=world.people[person])
    token, plaintext = actions.do_create_scim_token(world.acme, name="Okta", acting_user=world.adam)
    assert token.token_hash != plaintext and plaintext not in json.dumps(
        list(AuditEvent.objects.filter(action="scim.token_created").values("after"))
    )


# --- Users ---------------------------------------------------------------------------------------


def test_okta_creates_a_user_after_looking_for_it(world: World, okta: Idp) -> None:
    found = okta.call(
        "GET", "/Users", filter='userName eq "jane@acme.test"', startIndex="1", count="100"
    )
    assert found.status_code == 200
    assert found.json() == {
        "schemas": [LIST],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }
    created = okta.call("POST", "/Users", okta_user())
    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == f"http://testserver/scim/v2/Users/{body['id']}"
    assert body["schemas"] == [USER]
    assert (body["userName"], body["externalId"], body["active"]) == (
        "jane@acme.test",
        "00u1abcd",
        True,
    )
    assert body["name"]["givenName"] == "Jane" and body["emails"][0]["value"] == "jane@acme.test"
    assert body["meta"]["resourceType"] == "User"
    user = User.objects.get(username="jane@acme.test")
    assert not user.has_usable_password()
    assert Membership.objects.get(organization=world.acme, user=user).role == "contributor"

    again = okta.call("GET", "/Users", filter='userName eq "JANE@acme.test"')
    assert again.json()["totalResults"] == 1 and again.json()["Resources"][0]["id"] == str(user.pk)
    by_external = okta.call("GET", "/Users", filter='externalId eq "00u1abcd"')
    assert by_external.json()["totalResults"] == 1
    is_error(okta.call("POST", "/Users", okta_user()), 409, "uniqueness")
    # Another organisation's account name is taken too, and nothing of it leaks.
    body = is_error(
        okta.call("POST", "/Users", okta_user("gina", emails=[{"value": "g@acme.test"}])),
        409,
        "uniqueness",
    )
    assert "Globex" not in body["detail"]


def test_filters_and_pages(world: World, okta: Idp) -> None:
    everyone = okta.call("GET", "/Users").json()
    acme_people = Membership.objects.filter(organization=world.acme).count()
    assert everyone["totalResults"] == acme_people
    assert "gina" not in {r["userName"] for r in everyone["Resources"]}
    page = okta.call("GET", "/Users", startIndex="4", count="3").json()
    assert (page["startIndex"], page["itemsPerPage"], page["totalResults"]) == (4, 3, acme_people)
    assert [r["id"] for r in page["Resources"]] == [r["id"] for r in everyone["Resources"][3:6]]
    starts = okta.call("GET", "/Users", filter='userName sw "a" and active eq true').json()
    assert {r["userName"] for r in starts["Resources"]} == {
        "alice",
        "adam",
        "april",
        "agnes",
        "anna",
    }
    by_email = okta.call(
        "GET", "/Users", filter='emails[type eq "work" and value co "paul"]'
    ).json()
    assert [r["userName"] for r in by_email["Resources"]] == ["paul"]
    assert okta.call("GET", "/Users", filter='userName eq "gina"').json()["totalResults"] == 0
    is_error(okta.call("GET", "/Users", filter="userName equals paul"), 400, "invalidFilter")
    is_error(okta.call("GET", "/Users", filter='userName eq "paul" and'), 400, "invalidFilter")
    is_error(okta.call("GET", "/Users", filter="(userName eq "), 400, "invalidFilter")


def test_another_organisations_people_and_groups_are_404(
    world: World, okta: Idp, globex_idp: Idp
) -> None:
    is_error(okta.call("GET", f"/Users/{world.gina.pk}"), 404)
    is_error(
        okta.call(
            "PATCH",
            f"/Users/{world.gina.pk}",
            {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
        ),
        404,
    )
    is_error(okta.call("DELETE", f"/Users/{world.gina.pk}"), 404)
    is_error(globex_idp.call("GET", f"/Users/{world.paul.pk}"), 404)
    team = core.do_create_team(
        world.globex, name="Ops", members=[world.gina], acting_user=world.gina
    )
    is_error(okta.call("GET", f"/Groups/{team.pk}"), 404)
    is_error(okta.call("DELETE", f"/Groups/{team.pk}"), 404)
    is_error(okta.call("GET", "/Users/not-a-number"), 404)
    assert Membership.objects.get(user=world.gina).is_active


def test_okta_deactivates_a_user_and_that_offboards_them(world: World, okta: Idp) -> None:
    core.do_update_channel(
        world.coffee_x, owner=world.carl, backup=world.bianca, acting_user=world.alice
    )
    mine = conversations(world.coffee_x, world.carl, 2)
    browser = Client()
    assert browser.login(username="carl", password=PASSWORD)
    response = okta.call(
        "PATCH",
        f"/Users/{world.carl.pk}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    offboarding = Offboarding.objects.get(person=world.carl)
    assert offboarding.source == OffboardingSource.SCIM and offboarding.started_by is None
    assert not Membership.objects.get(organization=world.acme, user=world.carl).is_active
    assert browser.get("/")["Location"].startswith("/login/")
    assert not Client().login(username="carl", password=PASSWORD)
    world.coffee_x.refresh_from_db()
    assert world.coffee_x.owner == world.bianca  # no SCIM successor set: the backup took over
    assert not type(mine[0]).objects.filter(assignee=world.carl).exists()
    # Deactivating again changes nothing; the user still reads as inactive.
    again = okta.call(
        "PATCH",
        f"/Users/{world.carl.pk}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert again.status_code == 200 and Offboarding.objects.filter(person=world.carl).count() == 1
    assert okta.call("GET", f"/Users/{world.carl.pk}").json()["active"] is False


def test_entra_patches_attributes_with_paths_and_string_booleans(world: World, okta: Idp) -> None:
    created = okta.call("POST", "/Users", okta_user("sam@acme.test", externalId="e-1")).json()
    uid = created["id"]
    response = okta.call(
        "PATCH",
        f"/Users/{uid}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Sam Kim"},
                {"op": "Replace", "path": "name.givenName", "value": "Sam"},
                {"op": "Add", "path": 'emails[type eq "work"].value', "value": "sam.kim@acme.test"},
                {"op": "Replace", "path": "preferredLanguage", "value": "ko-KR"},
                {
                    "op": "Add",
                    "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                    "value": "Social",
                },
            ],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["displayName"] == "Sam Kim" and body["name"]["givenName"] == "Sam"
    assert body["emails"] == [{"value": "sam.kim@acme.test", "type": "work", "primary": True}]
    user = User.objects.get(pk=uid)
    assert (user.email, user.language) == ("sam.kim@acme.test", "ko")
    off = okta.call(
        "PATCH",
        f"/Users/{uid}",
        {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert Offboarding.objects.filter(person=user, source="scim").exists()
    back = okta.call(
        "PATCH",
        f"/Users/{uid}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": True}]},
    )
    assert back.status_code == 200 and back.json()["active"] is True
    assert Membership.objects.get(organization=world.acme, user=user).is_active
    assert User.objects.get(pk=uid).is_active


def test_bad_patches_are_400_with_the_right_scim_type(world: World, okta: Idp) -> None:
    path = f"/Users/{world.paul.pk}"
    is_error(
        okta.call("PATCH", path, {"Operations": [{"op": "replace", "value": {"active": False}}]}),
        400,
        "invalidSyntax",
    )
    is_error(
        okta.call(
            "PATCH", path, {"schemas": [PATCH], "Operations": [{"op": "move", "path": "active"}]}
        ),
        400,
        "invalidSyntax",
    )
    is_error(
        okta.call("PATCH", path, {"schemas": [PATCH], "Operations": [{"op": "remove"}]}),
        400,
        "noTarget",
    )
    is_error(
        okta.call(
            "PATCH",
            path,
            {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "active", "value": "maybe"}],
            },
        ),
        400,
        "invalidValue",
    )
    is_error(
        okta.call(
            "PATCH",
            path,
            {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}],
            },
        ),
        400,
    )
    response = okta.call("POST", "/Users", okta_user("bad name", emails=[]))
    is_error(response, 400, "invalidValue")
    bad_json = okta.client.post("/scim/v2/Users", "{not json", content_type="application/scim+json")
    is_error(bad_json, 400, "invalidSyntax")
    assert Membership.objects.get(organization=world.acme, user=world.paul).is_active


def test_put_replaces_a_user(world: World, okta: Idp) -> None:
    uid = okta.call("POST", "/Users", okta_user("lee@acme.test")).json()["id"]
    replaced = okta.call(
        "PUT",
        f"/Users/{uid}",
        {
            "schemas": [USER],
            "id": uid,
            "userName": "lee.park@acme.test",
            "name": {"givenName": "Lee", "familyName": "Park"},
            "emails": [{"value": "lee.park@acme.test", "primary": True}],
            "active": True,
            "externalId": "00u-lee",
        },
    )
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert (body["userName"], body["externalId"], body["name"]["familyName"]) == (
        "lee.park@acme.test",
        "00u-lee",
        "Park",
    )
    is_error(
        okta.call("PUT", f"/Users/{uid}", {"schemas": [USER], "userName": "alice"}),
        409,
        "uniqueness",
    )
    is_error(okta.call("PUT", f"/Users/{uid}", {"schemas": [USER]}), 400, "invalidValue")


def test_delete_offboards_and_the_user_is_gone_for_scim(world: World, okta: Idp) -> None:
    uid = okta.call("POST", "/Users", okta_user("kim@acme.test")).json()["id"]
    deleted = okta.call("DELETE", f"/Users/{uid}")
    assert deleted.status_code == 204 and deleted.content == b""
    is_error(okta.call("GET", f"/Users/{uid}"), 404)
    is_error(okta.call("DELETE", f"/Users/{uid}"), 404)
    assert (
        okta.call("GET", "/Users", filter='userName eq "kim@acme.test"').json()["totalResults"] == 0
    )
    assert Offboarding.objects.filter(person_id=uid, source="scim").count() == 1
    assert not Membership.objects.get(organization=world.acme, user_id=uid).is_active
    # Provisioned again later: the same account comes back.
    again = okta.call("POST", "/Users", okta_user("kim@acme.test"))
    assert again.status_code == 201 and again.json()["id"] == uid and again.json()["active"] is True
    assert ScimIdentity.objects.get(user_id=uid).deleted_at is None


def test_an_account_another_organisation_uses_keeps_its_profile(world: World, okta: Idp) -> None:
    core.do_add_member(world.globex, world.paul, "analyst", acting_user=world.gina)
    response = okta.call(
        "PATCH",
        f"/Users/{world.paul.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "evil@elsewhere.test",
                }
            ],
        },
    )
    assert response.status_code == 200
    assert User.objects.get(pk=world.paul.pk).email == "paul@example.com"
    event = AuditEvent.objects.filter(action="scim.user_updated").latest("pk")
    assert event.after["profile_kept"] is True


# --- Groups --------------------------------------------------------------------------------------


def test_groups_as_okta_pushes_them(world: World, okta: Idp) -> None:
    jane = okta.call("POST", "/Users", okta_user()).json()["id"]
    created = okta.call(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "Publishers", "members": [{"value": jane}]},
    )
    assert created.status_code == 201, created.content
    group = created.json()
    gid = group["id"]
    assert created["Location"].endswith(f"/scim/v2/Groups/{gid}")
    assert group["schemas"] == [GROUP] and group["members"][0]["value"] == jane
    is_error(
        okta.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "publishers"}),
        409,
        "uniqueness",
    )
    found = okta.call(
        "GET", "/Groups", filter='displayName eq "Publishers"', excludedAttributes="members"
    ).json()
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]

    add = okta.call(
        "PATCH",
        f"/Groups/{gid}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": str(world.paul.pk), "display": "paul"}],
                }
            ],
        },
    )
    assert add.status_code == 204
    team = Team.objects.get(pk=gid)
    assert {u.pk for u in team.members.all()} == {int(jane), world.paul.pk}
    member = okta.call(
        "GET", "/Groups", filter=f'id eq "{gid}" and members[value eq "{world.paul.pk}"]'
    ).json()
    assert member["totalResults"] == 1

    remove = okta.call(
        "PATCH",
        f"/Groups/{gid}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{world.paul.pk}"]'}],
        },
    )
    assert remove.status_code == 204
    assert list(team.members.values_list("pk", flat=True)) == [int(jane)]

    rename = okta.call(
        "PATCH",
        f"/Groups/{gid}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "replace", "value": {"id": gid, "displayName": "Social publishers"}}
            ],
        },
    )
    assert rename.status_code == 204
    assert Team.objects.get(pk=gid).name == "Social publishers"

    unknown = okta.call(
        "PATCH",
        f"/Groups/{gid}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "add", "path": "members", "value": [{"value": str(world.gina.pk)}]}
            ],
        },
    )
    is_error(unknown, 400, "invalidValue")

    put = okta.call(
        "PUT",
        f"/Groups/{gid}",
        {
            "schemas": [GROUP],
            "displayName": "Social publishers",
            "members": [{"value": str(world.carl.pk)}],
        },
    )
    assert put.status_code == 200
    assert [m["value"] for m in put.json()["members"]] == [str(world.carl.pk)]

    deleted = okta.call("DELETE", f"/Groups/{gid}")
    assert deleted.status_code == 204
    is_error(okta.call("GET", f"/Groups/{gid}"), 404)
    assert Team.objects.get(pk=gid).members.count() == 0


def test_entra_removes_members_with_a_value_list(world: World, okta: Idp) -> None:
    team = core.do_create_team(
        world.acme, name="Agents", members=[world.agnes, world.paul], acting_user=world.alice
    )
    response = okta.call(
        "PATCH",
        f"/Groups/{team.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": str(world.agnes.pk)}]}
            ],
        },
    )
    assert response.status_code == 204
    assert list(team.members.all()) == [world.paul]


def test_a_group_gives_its_scim_managed_members_a_role(world: World, okta: Idp) -> None:
    jane = okta.call("POST", "/Users", okta_user()).json()["id"]
    team = Team.objects.get(
        pk=okta.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Publishers"}).json()[
            "id"
        ]
    )
    with pytest.raises(core.ActionError):
        actions.do_set_group_role(team, role="owner", acting_user=world.alice)
    with pytest.raises(actions.NotAllowed):
        actions.do_set_group_role(team, role="publisher", acting_user=world.bianca)
    actions.do_set_group_role(team, role="publisher", acting_user=world.alice)
    okta.call(
        "PATCH",
        f"/Groups/{team.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": jane}, {"value": str(world.alice.pk)}],
                }
            ],
        },
    )
    assert Membership.objects.get(organization=world.acme, user_id=jane).role == "publisher"
    # Owners are Greenroom's to manage; people SCIM never touched keep their role.
    assert Membership.objects.get(organization=world.acme, user=world.alice).role == "owner"
    okta.call(
        "PATCH",
        f"/Groups/{team.pk}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{jane}"]'}],
        },
    )
    assert Membership.objects.get(organization=world.acme, user_id=jane).role == "contributor"


def test_every_scim_write_is_audited(world: World, okta: Idp) -> None:
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    uid = okta.call("POST", "/Users", okta_user()).json()["id"]
    okta.call(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "G", "members": [{"value": uid}]}
    )
    okta.call("DELETE", f"/Users/{uid}")
    seen = list(AuditEvent.objects.filter(pk__gt=before).values_list("action", "organization_id"))
    actions_seen = [a for a, _org in seen]
    for needed in (
        "user.created",
        "member.added",
        "scim.user_created",
        "team.created",
        "scim.group_created",
        "governance.offboarded",
        "scim.user_deleted",
    ):
        assert needed in actions_seen, actions_seen
    assert {org for a, org in seen if a.startswith("scim.")} == {world.acme.pk}
    event = AuditEvent.objects.filter(action="scim.user_created").latest("pk")
    assert event.after["via"] == "scim" and event.after["token"].startswith("grscim_")
