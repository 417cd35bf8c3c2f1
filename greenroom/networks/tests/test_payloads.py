"""Every inbound event is stored in one shape the inbox reads, whatever JSON the network spoke:
the standard fields on top, the network's own JSON under "network", untouched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from greenroom.networks.base import InboundItem
from greenroom.networks.connections.payloads import (
    is_standard,
    network_json,
    standard_payload,
    stored_payload,
)

WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
# A YouTube comment as the connector reads it (commentThreads.list, snippet of a reply).
SNIPPET: dict[str, Any] = {
    "videoId": "dQw4w9WgXcQ",
    "textDisplay": "When is part two?",
    "authorDisplayName": "Minji",
    "authorChannelId": {"value": "UC_minji"},
    "parentId": "Ugz-parent",
}


def _item(raw: dict[str, Any]) -> InboundItem:
    return InboundItem(
        external_id="Ugz-reply",
        kind="comment",
        text="When is part two?",
        author_handle="UC_minji",
        author_name="Minji",
        created_at=WHEN,
        in_reply_to="Ugz-parent",
        raw=raw,
    )


def test_a_networks_own_json_is_wrapped_in_the_standard_shape_and_kept_whole() -> None:
    payload = stored_payload(_item(SNIPPET))
    assert is_standard(payload, external_id="Ugz-reply")
    assert payload["text"] == "When is part two?"
    assert payload["author"] == {"handle": "UC_minji", "name": "Minji"}
    assert (payload["in_reply_to"], payload["created_at"]) == ("Ugz-parent", WHEN.isoformat())
    assert payload["network"] == SNIPPET
    # A connector answering from the stored message reads the network's fields again.
    assert network_json(payload)["parentId"] == "Ugz-parent"
    assert network_json(SNIPPET) is SNIPPET


def test_a_payload_already_in_the_standard_shape_is_stored_as_it_came() -> None:
    standard = standard_payload(
        external_id="Ugz-reply",
        kind="comment",
        text="When is part two?",
        author_handle="UC_minji",
        author_name="Minji",
        created_at=WHEN,
        in_reply_to="Ugz-parent",
        thread_id=None,
        network=SNIPPET,
    )
    assert stored_payload(_item(standard)) is standard
    # Same fields but another item's id: not this item's payload, so it is wrapped.
    assert (
        stored_payload(InboundItem(**{**_item(standard).__dict__, "external_id": "other"}))[
            "network"
        ]
        == standard
    )
    assert not is_standard({"text": "hi", "author": {"handle": "x"}})  # no kind of ours
