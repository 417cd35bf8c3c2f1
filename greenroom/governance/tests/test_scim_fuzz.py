"""Whatever an identity provider (or anyone holding a token) sends to /scim/v2, the answer is a
SCIM response, never a server error: filters, PATCH operations and bodies of any shape."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from greenroom.conftest import World, fuzz_examples
from greenroom.core import actions as core
from greenroom.governance import actions

from .test_scim import PATCH, Idp

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
PATHS = st.sampled_from(
    [
        "active",
        "userName",
        "name.givenName",
        'emails[type eq "work"].value',
        "emails[",
        "members",
        'members[value eq "1"]',
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName",
        "",
        "]]",
        "a.b.c",
    ]
) | st.text(max_size=40)
OPERATION = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Replace", "remove", "move", ""]) | st.text(max_size=8)},
    optional={"path": PATHS | JSON, "value": JSON},
)
SETTINGS = settings(
    max_examples=fuzz_examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _idp(world: World) -> Idp:
    return Idp(actions.do_create_scim_token(world.acme, name="Fuzz", acting_user=world.alice)[1])


def _status(idp: Idp, method: str, path: str, body: Any = None, **params: str) -> int:
    with transaction.atomic():
        response = idp.call(method, path, body, **params)
        if response.status_code not in (204,):
            assert response["Content-Type"].startswith("application/scim+json")
            json.loads(response.content)
        transaction.set_rollback(True)
    status: int = response.status_code
    return status


@SETTINGS
@given(text=st.text(max_size=80))
@example(text='userName eq "a" or (emails[value co "x" and not (active eq true)])')
@example(text='members[value eq "1"].value eq "2"')
@example(text="active gt true")
@example(text='name.givenName pr and userName ew "@acme.test"')
def test_any_filter_is_answered(world: World, text: str) -> None:
    idp = _idp(world)
    assert _status(idp, "GET", "/Users", filter=text) in (200, 400)
    assert _status(idp, "GET", "/Groups", filter=text) in (200, 400)


@SETTINGS
@given(operations=st.lists(OPERATION, max_size=4), schemas=st.sampled_from([[PATCH], [], None]))
def test_any_patch_is_answered(world: World, operations: list[Any], schemas: Any) -> None:
    idp = _idp(world)
    body: dict[str, Any] = {"Operations": operations}
    if schemas is not None:
        body["schemas"] = schemas
    assert _status(idp, "PATCH", f"/Users/{world.paul.pk}", body) in (200, 400, 409)
    team = world.acme.teams.first() or core.do_create_team(
        world.acme, name="Fuzzers", members=[world.paul], acting_user=world.alice
    )
    assert _status(idp, "PATCH", f"/Groups/{team.pk}", body) in (204, 400, 409)


@SETTINGS
@given(
    body=st.dictionaries(
        st.sampled_from(
            [
                "userName",
                "name",
                "emails",
                "active",
                "externalId",
                "displayName",
                "members",
                "timezone",
            ]
        ),
        JSON,
    )
)
def test_any_body_is_answered(world: World, body: dict[str, Any]) -> None:
    idp = _idp(world)
    assert _status(idp, "POST", "/Users", body) in (201, 400, 409)
    assert _status(idp, "PUT", f"/Users/{world.paul.pk}", body) in (200, 400, 409)
    assert _status(idp, "POST", "/Groups", body) in (201, 400, 409)
