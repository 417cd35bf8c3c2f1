"""Shared test personas (compare healthchecks' BaseTestCase).

Acme has two brands. alice owns it; every other role has one named person; bianca manages only the
Coffee brand and agnes engages only on Tea channels; charlie belongs to no organisation. Globex is
another tenant with its own owner gina and its own channel: nothing of it may leak into Acme.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from greenroom.core import actions
from greenroom.core.models import AuditEvent, Brand, Channel, Organization, User
from greenroom.core.permissions import Role


def fuzz_examples(count: int) -> int:
    """How many examples a fuzz test draws: `count`, scaled by GREENROOM_FUZZ_SCALE. `make test`
    draws them all; CI (.ci/run) draws half in its SQLite pass and a quarter in its PostgreSQL
    pass to stay within its time budget, and each run draws new ones."""
    scale = float(os.environ.get("GREENROOM_FUZZ_SCALE") or 1)
    return max(5, round(count * scale))


PASSWORD = "correct horse battery staple"


@dataclass
class World:
    acme: Organization
    globex: Organization
    coffee: Brand
    tea: Brand
    coffee_x: Channel
    coffee_instagram: Channel
    tea_bluesky: Channel
    globex_x: Channel
    people: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["people"][name]
        except KeyError:
            raise AttributeError(name) from None


ROLE_OF = {
    "adam": Role.ADMIN,
    "bianca": Role.BRAND_MANAGER,
    "paul": Role.PUBLISHER,
    "carl": Role.CONTRIBUTOR,
    "april": Role.APPROVER,
    "agnes": Role.COMMUNITY_AGENT,
    "anna": Role.ANALYST,
    "otto": Role.AUDITOR,
}


def make_user(username: str) -> User:
    return actions.do_create_user(
        username=username,
        email=f"{username}@example.com",
        password=PASSWORD,
        display_name=username.capitalize(),
        acting_user=None,
    )


def build_world() -> World:
    people = {name: make_user(name) for name in ["alice", *ROLE_OF, "charlie", "gina"]}
    alice = people["alice"]
    acme = actions.do_create_organization(name="Acme", owner=alice, acting_user=alice)
    globex = actions.do_create_organization(name="Globex", owner=people["gina"], acting_user=None)
    coffee = actions.do_create_brand(acme, name="Acme Coffee", acting_user=alice)
    tea = actions.do_create_brand(acme, name="Acme Tea", acting_user=alice)
    for name, role in ROLE_OF.items():
        brands = {"bianca": [coffee], "agnes": [tea]}.get(name, [])
        actions.do_add_member(acme, people[name], role, brands=brands, acting_user=alice)

    def channel(org: Organization, brand: Brand, kind: str, handle: str) -> Channel:
        return actions.do_create_channel(
            org,
            brand=brand,
            kind=kind,
            handle=handle,
            sandboxed=True,
            acting_user=None,
            timezone_name="Asia/Seoul",
        )

    globex_brand = actions.do_create_brand(globex, name="Globex", acting_user=None)
    return World(
        acme=acme,
        globex=globex,
        coffee=coffee,
        tea=tea,
        coffee_x=channel(acme, coffee, "x", "@acmecoffee"),
        coffee_instagram=channel(acme, coffee, "instagram", "acme.coffee"),
        tea_bluesky=channel(acme, tea, "bluesky", "acmetea.bsky.social"),
        globex_x=channel(globex, globex_brand, "x", "@globex"),
        people=people,
    )


@dataclass
class _Snapshot:
    """The rows `build_world` wrote (per model, as instances), when, and which of them the
    World names: what the next test gets back with one INSERT per table instead of the ~240
    audited statements of building it again."""

    taken_at: datetime
    rows: list[tuple[type[models.Model], list[models.Model]]]
    names: dict[str, tuple[type[models.Model], Any]]


# Per process (each xdist worker has its own database) and per database vendor.
_SNAPSHOTS: dict[str, _Snapshot] = {}
_WORLD_FIELDS = (
    *("acme", "globex", "coffee", "tea"),
    *("coffee_x", "coffee_instagram", "tea_bluesky", "globex_x"),
)


def _all_models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if not m._meta.proxy and m._meta.managed
    ]


def _take_snapshot(before: dict[type[models.Model], set[Any]], built: World) -> _Snapshot:
    rows = []
    for model in _all_models():
        new = [obj for obj in model._base_manager.all() if obj.pk not in before[model]]
        if new:
            rows.append((model, new))
    names: dict[str, tuple[type[models.Model], Any]] = {
        name: (type(getattr(built, name)), getattr(built, name).pk) for name in _WORLD_FIELDS
    }
    names.update({f"people.{n}": (User, u.pk) for n, u in built.people.items()})
    return _Snapshot(timezone.now(), rows, names)


def _restore(snapshot: _Snapshot) -> World:
    """The snapshot's rows inserted again, their times moved on by the time since it was taken
    (so "expires in an hour" still does), except the audit log's, whose hashes cover them."""
    shift = timezone.now() - snapshot.taken_at
    # One transaction (a savepoint inside a test's): the foreign keys are checked once every
    # table has its rows.
    with transaction.atomic():
        for model, objs in snapshot.rows:
            model._base_manager.bulk_create([_copy(model, obj, shift) for obj in objs])
    found: dict[str, Any] = {
        name: model._base_manager.get(pk=pk) for name, (model, pk) in snapshot.names.items()
    }
    people = {n.split(".", 1)[1]: u for n, u in found.items() if n.startswith("people.")}
    return World(**{n: found[n] for n in _WORLD_FIELDS}, people=people)


def _copy(model: type[models.Model], obj: models.Model, shift: timedelta) -> models.Model:
    fields = model._meta.concrete_fields
    copy = model.from_db(
        "default", [f.attname for f in fields], [getattr(obj, f.attname) for f in fields]
    )
    if model is not AuditEvent:
        for f in fields:
            value = getattr(copy, f.attname)
            if isinstance(f, models.DateTimeField) and value is not None:
                setattr(copy, f.attname, value + shift)
    copy._state.adding = True
    return copy


@pytest.fixture
def world(db: Any) -> World:
    """The personas, built through the actions once per test process and database, then
    restored inside each test's transaction from what that build wrote: the same rows, ids and
    audit chain, in a tenth of the statements (GREENROOM_TEST_WORLD=build builds it every
    time)."""
    if os.environ.get("GREENROOM_TEST_WORLD") == "build" or not connection.in_atomic_block:
        # A transactional test (a live server, a browser) shares what it writes with other
        # connections as it commits: it gets the world built as users would build it.
        return build_world()
    vendor = connection.vendor
    snapshot = _SNAPSHOTS.get(vendor)
    if snapshot is not None:
        return _restore(snapshot)
    before = {m: set(m._base_manager.values_list("pk", flat=True)) for m in _all_models()}
    built = build_world()
    _SNAPSHOTS[vendor] = _take_snapshot(before, built)
    return built


@pytest.fixture(autouse=True)
def _english_and_utc_between_tests() -> Any:
    """A test that signs in a Korean-speaking person leaves Korean active in its thread; the next
    test in the same worker must start from the defaults again."""
    from django.utils import timezone, translation

    yield
    translation.activate("en")
    timezone.deactivate()
