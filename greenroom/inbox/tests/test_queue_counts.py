"""The queue tabs say how many conversations wait in mine, unassigned and about to breach,
within what the person may see, up to "99+", and a live refresh brings the counts along."""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.models import User
from greenroom.inbox import actions
from greenroom.inbox.models import Conversation
from greenroom.inbox.tests.conftest import conversation_of, item, land


def counts(page: str) -> dict[str, str]:
    return dict(re.findall(r'id="gr-count-(\w+)"[^>]*><span aria-hidden="true">([^<]+)<', page))


def test_each_counted_queue_says_how_many_wait_in_it(client: Client, world: World) -> None:
    land(world.coffee_x, *(item(f"c{n}", f"question {n}", author=f"p{n}") for n in range(5)))
    land(world.tea_bluesky, item("t1", "tea question", author="jun"))
    actions.do_assign(
        [conversation_of(world.coffee_x, "c0"), conversation_of(world.coffee_x, "c1")],
        world.alice,
        acting_user=world.alice,
    )
    late = conversation_of(world.coffee_x, "c2")
    Conversation.objects.filter(pk=late.pk).update(sla_warn_at=timezone.now() - timedelta(1))
    client.force_login(world.alice)
    page = client.get("/inbox/").content.decode()
    assert counts(page) == {"unassigned": "4", "mine": "2", "breaching": "1"}
    # Only what the person may engage on: Agnes works Tea.
    client.force_login(world.agnes)
    assert counts(client.get("/inbox/").content.decode()) == {
        "unassigned": "1",
        "mine": "0",
        "breaching": "0",
    }


def test_a_long_queue_reads_99_plus(client: Client, world: World) -> None:
    land(world.coffee_x, *(item(f"c{n}", f"question {n}", author=f"p{n}") for n in range(101)))
    client.force_login(world.alice)
    assert counts(client.get("/inbox/").content.decode())["unassigned"] == "99+"


def test_a_live_refresh_brings_the_counts_out_of_band(client: Client, world: World) -> None:
    land(world.coffee_x, item("c1", "question", author="p1"))
    client.force_login(world.alice)
    part = client.get("/inbox/", headers={"HX-Request": "true"}).content.decode()
    assert 'id="gr-count-unassigned" class="gr-sidenav-count" hx-swap-oob="true"' in part
    assert counts(part)["unassigned"] == "1"
    # The full page carries them in the tabs, not out of band.
    assert "hx-swap-oob" not in client.get("/inbox/").content.decode()


def test_counts_are_read_in_korean_by_screen_readers(client: Client, world: World) -> None:
    land(world.coffee_x, item("c1", "question", author="p1"))
    User.objects.filter(pk=world.alice.pk).update(language="ko")
    client.force_login(world.alice)
    assert '<span class="visually-hidden">대기 1건</span>' in client.get("/inbox/").content.decode()
