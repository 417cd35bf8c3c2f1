"""Whatever a client sends, the API answers with a 4xx that says why, never a 500.

Hypothesis throws wrong types, huge and odd strings (NUL, lone surrogates, right-to-left
overrides, emoji sequences, Korean), huge and negative numbers and garbage bodies at a few
endpoints. The Django test client re-raises a server error, so any crash fails the example.
Each example runs in a savepoint that is rolled back, so they all start from the same world.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from greenroom.conftest import fuzz_examples

from .conftest import bearer, make_token

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202egnp.exe",
    "🏳️‍🌈👩‍👩‍👧‍👦🏽",
    "한국어 채널 ☕",
    "a" * 100_000,
    "Europe/Berlin",
    "../../etc/passwd",
    "'; DROP TABLE core_channel; --",
    "null",
    "2026-13-45T25:61:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
]
ODD_NUMBERS = [0, -1, 1, 2**31, 2**63 - 1, 2**63, 10**30, -(10**30)]

text = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=300))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(ODD_NUMBERS),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
# Text half the time: it is what reaches the database.
values = st.one_of(
    text,
    st.recursive(
        scalars | text,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=8,
    ),
)

FUZZ = settings(
    max_examples=fuzz_examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _body(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies with some of the endpoint's own fields, each of any type, plus stray keys."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(fields, values)).flatmap(
        lambda known: st.dictionaries(st.text(max_size=8), values, max_size=2).map(
            lambda extra: {**extra, **known}
        )
    )


def _send(client: Any, method: str, path: str, body: Any = None, raw: bytes | None = None) -> None:
    with transaction.atomic():
        if raw is not None:
            response = client.generic(method, path, raw, content_type="application/json")
        elif method == "GET":
            response = client.get(path, body or {})
        else:
            payload = json.dumps(body)  # lone surrogates travel as \ud800 escapes, as in JSON
            response = client.generic(method, path, payload, content_type="application/json")
        assert response.status_code < 500, response.content[:500]
        if response.get("Content-Type", "").startswith("application/json"):
            # Errors are objects with a detail; a list endpoint answers a list.
            answer = response.json()
            assert isinstance(answer, dict if response.status_code >= 400 else (dict, list))
        transaction.set_rollback(True)


@pytest.fixture
def owner(world):
    return bearer(make_token(world, "alice")[1])


@FUZZ
@given(body=_body(["name"]))
@example(body={"name": "\ud800"})
@example(body={"name": "a\x00b"})
@example(body={"name": "a" * 100_000})
def test_creating_a_brand_never_crashes(owner, body):
    _send(owner, "POST", "/api/brands", body)


@FUZZ
@given(
    body=_body(
        [
            "brand_id",
            "kind",
            "handle",
            "name",
            "sandboxed",
            "external_id",
            "region",
            "timezone",
            "owner_id",
            "backup_id",
        ]
    )
)
def test_creating_a_channel_never_crashes(owner, world, body):
    _send(owner, "POST", "/api/channels", body)


@FUZZ
@given(body=_body(["owner_id", "backup_id", "region", "timezone", "status"]))
def test_changing_a_channel_never_crashes(owner, world, body):
    _send(owner, "PATCH", f"/api/channels/{world.coffee_x.pk}", body)


@FUZZ
@given(body=_body(["user", "role", "brand_ids"]))
def test_adding_a_member_never_crashes(owner, body):
    _send(owner, "POST", "/api/memberships", body)


@FUZZ
@given(body=_body(["name", "scopes", "expires_at"]))
def test_creating_a_token_never_crashes(owner, body):
    _send(owner, "POST", "/api/tokens", body)


@FUZZ
@given(body=_body(["name", "lead_id", "member_ids"]))
def test_creating_a_team_never_crashes(owner, body):
    _send(owner, "POST", "/api/teams", body)


query_values = st.one_of(
    st.sampled_from([t for t in ODD_TEXT if "\ud800" not in t and "\udfff" not in t]),
    st.sampled_from([str(n) for n in ODD_NUMBERS]),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=50),
)


@FUZZ
@given(
    path=st.sampled_from(["/api/channels", "/api/audit-events", "/api/people", "/api/tokens"]),
    params=st.dictionaries(
        st.sampled_from(
            [
                "limit",
                "offset",
                "brand",
                "kind",
                "region",
                "status",
                "action",
                "actor",
                "target_type",
                "since",
                "until",
                "role",
                "include_former",
                "other",
            ]
        ),
        query_values,
        max_size=5,
    ),
)
def test_filters_never_crash(owner, path, params):
    _send(owner, "GET", path, params)


@FUZZ
@given(
    route=st.sampled_from(
        [
            "/api/channels/{}",
            "/api/brands/{}",
            "/api/people/{}",
            "/api/audit-events/{}",
            "/api/channels/{}/grants",
            "/api/teams/{}",
            "/api/tokens/{}",
            "/api/memberships/{}",
        ]
    ),
    ident=st.one_of(
        st.sampled_from([str(n) for n in ODD_NUMBERS]),
        st.text(
            alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/?#%"),
            min_size=1,
            max_size=30,
        ),
    ),
)
def test_odd_ids_never_crash(owner, route, ident):
    _send(owner, "GET", route.format(ident))


@FUZZ
@given(
    path=st.sampled_from(["/api/brands", "/api/channels", "/api/tokens", "/api/memberships"]),
    raw=st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"",
                b"{",
                b"[]",
                b"null",
                b"1e999",
                b'{"name": 1e400}',
                b"\xff\xfe",
                b'{"name": "\\ud800"}',
                b'{"name": "\\u0000"}',
            ]
        ),
    ),
)
def test_garbage_bodies_never_crash(owner, path, raw):
    _send(owner, "POST", path, raw=raw)


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x" * 300])
@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("POST", "/api/brands", "name"),
        ("POST", "/api/teams", "name"),
        ("POST", "/api/tokens", "name"),
        ("POST", "/api/memberships", "user"),
        ("PATCH", "/api/channels/{coffee_x}", "region"),
    ],
)
def test_text_the_database_cannot_store_is_a_422(owner, world, method, path, field, value):
    # SQLite stores NUL but PostgreSQL refuses it; neither stores a lone surrogate.
    body = {"name": "ok", "scopes": ["read"], "role": "analyst", field: value}
    payload = json.dumps(body)
    response = owner.generic(
        method, path.format(coffee_x=world.coffee_x.pk), payload, content_type="application/json"
    )
    assert response.status_code == 422, response.content[:300]
    assert response.json()["detail"][0]["loc"][-1] == field
