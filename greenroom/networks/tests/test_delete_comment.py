"""Networks whose API does not let an account delete other people's replies say so plainly,
without sending anything."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from django.utils import timezone

from greenroom.networks.base import ConnectorError, InboundItem
from greenroom.networks.bluesky.connector import BlueskyConnector
from greenroom.networks.mastodon.connector import MastodonConnector
from greenroom.networks.meta.connector import ThreadsConnector
from greenroom.networks.tiktok.connector import TikTokConnector
from greenroom.networks.x.connector import XConnector

REPLY = InboundItem(
    external_id="reply-1",
    kind="comment",
    text="rude words",
    author_handle="troll",
    author_name="Troll",
    created_at=timezone.now(),
)


@pytest.mark.parametrize(
    ("connector_class", "name"),
    [
        (XConnector, "X"),
        (BlueskyConnector, "Bluesky"),
        (MastodonConnector, "Mastodon"),
        (TikTokConnector, "TikTok"),
        (ThreadsConnector, "Threads"),
    ],
)
def test_networks_that_cannot_delete_replies_say_so(connector_class: type, name: str) -> None:
    # The answer does not depend on the channel: no connection is needed to know it.
    connector: Any = object.__new__(connector_class)
    with respx.mock(assert_all_mocked=True) as router, pytest.raises(ConnectorError) as caught:
        connector.delete_comment(REPLY)
    assert caught.value.permanent
    assert caught.value.code == "not_supported"
    assert name in caught.value.message
    assert not router.calls
