"""Ids from addresses and forms: odd ones find nothing instead of crashing a page."""

from __future__ import annotations

import pytest
from django.test import Client

from greenroom.conftest import World
from greenroom.core.ids import MAX_ID, as_id, as_ids

HUGE = str(2**63)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        (42, 42),
        (str(MAX_ID), MAX_ID),
        (HUGE, None),  # past the 64-bit key: SQLite raises on it in an IN list
        ("0", None),
        ("-3", None),
        ("²", None),  # "²".isdigit() is true, int("²") raises
        ("١٢", None),  # Arabic-Indic digits: not how our pages write ids
        ("1.5", None),
        ("", None),
        ("12a", None),
    ],
)
def test_an_id_is_a_plain_number_in_the_databases_range(
    value: object, expected: int | None
) -> None:
    assert as_id(value) == expected


def test_ids_keep_the_good_ones_in_order() -> None:
    assert as_ids(["3", HUGE, "x", "1", "²"]) == [3, 1]


@pytest.fixture
def alice(client: Client, world: World) -> Client:
    client.force_login(world.alice)
    return client


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/publishing/notifications/read/", {"notification": [HUGE, "²", "1"]}),
        ("get", "/publishing/import/", {"done": f"{HUGE},²,1"}),
        ("get", "/publishing/compose/", {"group": HUGE, "channel": ["²", HUGE]}),
        ("post", "/publishing/compose/count/", {"channel": "²", "text": "hi"}),
        ("post", "/publishing/compose/count/", {"channel": HUGE, "text": "hi"}),
        ("post", "/publishing/compose/groups/", {"name": "G", "channels": [HUGE, "²"]}),
    ],
)
def test_odd_ids_in_publishing_pages_find_nothing(
    alice: Client, method: str, path: str, data: dict[str, object]
) -> None:
    response = getattr(alice, method)(path, data)
    assert response.status_code in (200, 302, 400, 404), response.status_code
