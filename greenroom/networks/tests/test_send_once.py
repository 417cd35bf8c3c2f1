"""`network_api.send_once`, which every connector without idempotency keys answers through: once
per key, an unknown outcome looked for before sending again, and on a network that cannot list
what it was sent, a resend after an unknown outcome refused in plain words (never a silent
second copy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from django.core.cache import cache

from greenroom.conftest import World
from greenroom.networks import network_api as api
from greenroom.networks.base import ConnectorError, OutcomeUnknown, PublishedRef


@pytest.fixture(autouse=True)
def forget_attempts() -> None:
    cache.clear()


class Network:
    """A network that records what it was sent; `fail` makes the next send raise."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail: list[ConnectorError] = []

    def send(self, text: str) -> PublishedRef:
        if self.fail:
            error = self.fail.pop(0)
            if isinstance(error, OutcomeUnknown):
                self.sent.append(text)  # it arrived; the answer did not
            raise error
        self.sent.append(text)
        return PublishedRef(f"id{len(self.sent)}", "")


def test_a_network_that_cannot_list_sends_the_first_attempt_and_returns_it_again(
    world: World,
) -> None:
    network = Network()
    first = api.send_once(
        world.coffee_x, "k1", "Hi", send=lambda: network.send("Hi"), find=None, network_name="Net"
    )
    again = api.send_once(
        world.coffee_x, "k1", "Hi", send=lambda: network.send("Hi"), find=None, network_name="Net"
    )
    assert network.sent == ["Hi"]
    assert first == again == PublishedRef("id1", "")


def test_a_resend_after_an_unknown_outcome_it_cannot_check_is_refused_in_plain_words(
    world: World,
) -> None:
    network = Network()
    network.fail.append(OutcomeUnknown("no answer"))

    def send() -> PublishedRef:
        return network.send("Hi")

    with pytest.raises(OutcomeUnknown):
        api.send_once(world.coffee_x, "k2", "Hi", send=send, find=None, network_name="Net")
    with pytest.raises(ConnectorError) as refused:
        api.send_once(world.coffee_x, "k2", "Hi", send=send, find=None, network_name="Net")
    assert network.sent == ["Hi"]
    assert refused.value.permanent
    assert refused.value.code == "outcome_unknown_unverifiable"
    assert "Look on Net before sending it again" in refused.value.message


def test_a_refusal_the_network_answered_leaves_the_retry_free_to_send(world: World) -> None:
    network = Network()
    network.fail.append(ConnectorError("slow down", retry_after=60))
    looked: list[Mapping[str, Any]] = []

    def find(record: Mapping[str, Any]) -> PublishedRef | None:
        looked.append(record)
        return None

    with pytest.raises(ConnectorError):
        api.send_once(world.coffee_x, "k3", "Hi", send=lambda: network.send("Hi"), find=find)
    ref = api.send_once(world.coffee_x, "k3", "Hi", send=lambda: network.send("Hi"), find=find)
    assert network.sent == ["Hi"] and looked == []
    assert ref.external_id == "id1"


def test_an_unknown_outcome_is_looked_for_from_when_the_first_attempt_began(
    world: World,
) -> None:
    network = Network()
    network.fail.extend([OutcomeUnknown("no answer"), OutcomeUnknown("no answer")])
    looked: list[str] = []

    def find(record: Mapping[str, Any]) -> PublishedRef | None:
        looked.append(str(record["began"]))
        return None

    def send() -> PublishedRef:
        return network.send("Hi")

    for _attempt in range(2):
        with pytest.raises(OutcomeUnknown):
            api.send_once(world.coffee_x, "k4", "Hi", send=send, find=find)
    api.send_once(world.coffee_x, "k4", "Hi", send=send, find=find)
    # Each look starts from the first attempt's time, so a late arrival is still found.
    assert len(looked) == 2 and looked[0] == looked[1]
    assert len(network.sent) == 3


def test_a_server_error_keeps_the_attempt_open_so_the_retry_looks_first(world: World) -> None:
    """A 502 can come after the network made the answer: the retry finds it, sends nothing."""
    made: list[str] = []

    def send() -> PublishedRef:
        if not made:
            made.append("Hi")  # the network made it, then its gateway failed
            raise ConnectorError("X had a temporary problem (502).")
        made.append("Hi")
        return PublishedRef(f"id{len(made)}", "")

    def find(record: Mapping[str, Any]) -> PublishedRef | None:
        return PublishedRef("id1", "") if made else None

    with pytest.raises(ConnectorError):
        api.send_once(world.coffee_x, "k5", "Hi", send=send, find=find)
    ref = api.send_once(world.coffee_x, "k5", "Hi", send=send, find=find)
    assert made == ["Hi"] and ref.external_id == "id1"
    # Found once, it is remembered: a third call neither looks nor sends.
    assert api.send_once(world.coffee_x, "k5", "Hi", send=send, find=None) == ref


def test_a_server_error_that_made_nothing_is_sent_again_after_looking(world: World) -> None:
    network = Network()
    network.fail.append(ConnectorError("temporary problem (503)"))
    looked: list[Mapping[str, Any]] = []

    def find(record: Mapping[str, Any]) -> PublishedRef | None:
        looked.append(record)
        return None

    with pytest.raises(ConnectorError):
        api.send_once(world.coffee_x, "k6", "Hi", send=lambda: network.send("Hi"), find=find)
    ref = api.send_once(world.coffee_x, "k6", "Hi", send=lambda: network.send("Hi"), find=find)
    assert network.sent == ["Hi"] and len(looked) == 1
    assert ref.external_id == "id1"


def test_a_permanent_refusal_clears_the_attempt(world: World) -> None:
    network = Network()
    network.fail.append(ConnectorError("text rejected", permanent=True))
    looked: list[Mapping[str, Any]] = []

    def find(record: Mapping[str, Any]) -> PublishedRef | None:
        looked.append(record)
        return None

    with pytest.raises(ConnectorError):
        api.send_once(world.coffee_x, "k7", "Hi", send=lambda: network.send("Hi"), find=find)
    api.send_once(world.coffee_x, "k7", "Hi", send=lambda: network.send("Hi"), find=find)
    assert network.sent == ["Hi"] and looked == []
