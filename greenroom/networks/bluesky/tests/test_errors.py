"""How the Bluesky connector reads failures, against XRPC answers shaped as the AT Protocol
specifies them (respx: the atproto SDK speaks through httpx). No PDS needed."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
import respx

from greenroom.conftest import World
from greenroom.core.actions import ActionError, do_create_channel, do_set_channel_credentials
from greenroom.core.models import Channel
from greenroom.networks.base import ConnectorError, OutcomeUnknown, OutgoingPost
from greenroom.networks.bluesky.actions import do_connect_bluesky_channel
from greenroom.networks.bluesky.connector import BlueskyConnector
from greenroom.networks.bluesky.session import BlueskyLogin, jwt_expiry

PDS = "https://pds.example"
CREATE = f"{PDS}/xrpc/com.atproto.repo.createRecord"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def jwt(**claims: Any) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'at+jwt', 'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def channel(world: World, settings: Any) -> Channel:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "bluesky"]
    channel = do_create_channel(
        world.acme, brand=world.tea, kind="bluesky", handle="acmetea.test", acting_user=None
    )
    now = int(time.time())
    login = BlueskyLogin(
        service=PDS,
        identifier="acmetea.test",
        app_password="abcd-efgh-ijkl-mnop",
        did=DID,
        handle="acmetea.test",
        access_jwt=jwt(scope="com.atproto.appPass", sub=DID, iat=now, exp=now + 7200),
        refresh_jwt=jwt(scope="com.atproto.refresh", sub=DID, iat=now, exp=now + 86400 * 60),
    )
    do_set_channel_credentials(channel, token=login.encode(), acting_user=None)
    channel.refresh_from_db()
    return channel


def publish(channel: Channel) -> Any:
    return BlueskyConnector(channel).publish(OutgoingPost(text="hello", idempotency_key="k"))


@respx.mock
def test_a_rate_limit_waits_until_the_window_resets(channel: Channel) -> None:
    reset = int(time.time()) + 120
    respx.post(CREATE).mock(
        return_value=httpx.Response(
            429,
            json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            headers={
                "ratelimit-limit": "5000",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(reset),
                "ratelimit-policy": "5000;w=3600",
            },
        )
    )

    with pytest.raises(ConnectorError) as error:
        publish(channel)

    assert not error.value.permanent
    assert error.value.retry_after is not None and 100 < error.value.retry_after <= 120
    assert "rate limiting" in error.value.message


@respx.mock
def test_a_refused_record_is_permanent_and_says_why(channel: Channel) -> None:
    respx.post(CREATE).mock(
        return_value=httpx.Response(
            400,
            json={
                "error": "InvalidRequest",
                "message": "Invalid app.bsky.feed.post record: Record/text must not be longer "
                "than 300 graphemes",
            },
        )
    )

    with pytest.raises(ConnectorError, match="300 graphemes") as error:
        publish(channel)

    assert error.value.permanent and error.value.code == "InvalidRequest"


@respx.mock
def test_a_timeout_while_publishing_is_an_unknown_outcome(channel: Channel) -> None:
    respx.post(CREATE).mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(OutcomeUnknown):
        publish(channel)


@respx.mock
def test_an_unreachable_pds_is_temporary_and_certain(channel: Channel) -> None:
    respx.post(CREATE).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(ConnectorError) as error:
        publish(channel)

    assert not isinstance(error.value, OutcomeUnknown) and not error.value.permanent


@respx.mock
def test_a_revoked_app_password_asks_for_a_new_one(channel: Channel) -> None:
    respx.post(CREATE).mock(
        return_value=httpx.Response(
            401, json={"error": "ExpiredToken", "message": "Token has been revoked"}
        )
    )
    respx.post(f"{PDS}/xrpc/com.atproto.server.createSession").mock(
        return_value=httpx.Response(
            401,
            json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
        )
    )

    with pytest.raises(ConnectorError, match="new app password") as error:
        publish(channel)

    assert error.value.permanent
    assert "abcd-efgh-ijkl-mnop" not in error.value.message


def test_an_account_password_is_refused(world: World, settings: Any) -> None:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "bluesky"]
    channel = do_create_channel(
        world.acme, brand=world.tea, kind="bluesky", handle="x.test", acting_user=None
    )

    with pytest.raises(ActionError, match="not a Bluesky app password"):
        do_connect_bluesky_channel(
            channel, identifier="x.test", app_password="my real password", acting_user=None
        )


def test_only_bluesky_channels_connect_to_bluesky(world: World) -> None:
    with pytest.raises(ActionError, match="not a Bluesky channel"):
        do_connect_bluesky_channel(
            world.coffee_x,
            identifier="x.test",
            app_password="abcd-efgh-ijkl-mnop",
            acting_user=None,
        )


def test_the_session_expiry_is_read_from_the_token() -> None:
    assert jwt_expiry(jwt(exp=1_900_000_000)) is not None
    assert jwt_expiry("not a token") is None


@pytest.mark.parametrize("person", ["agnes", "gina"])
def test_the_connect_page_is_for_channel_administrators(
    world: World, channel: Channel, client: Any, person: str
) -> None:
    client.force_login(world.people[person])
    assert client.get(f"/networks/bluesky/connect/{channel.pk}/").status_code == 404


def test_the_connect_page_never_shows_the_stored_password(
    world: World, channel: Channel, client: Any
) -> None:
    client.force_login(world.alice)
    page = client.get(f"/networks/bluesky/connect/{channel.pk}/")

    assert page.status_code == 200
    body = page.content.decode()
    assert "App password" in body and "abcd-efgh-ijkl-mnop" not in body
