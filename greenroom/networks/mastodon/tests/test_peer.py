"""The Mastodon connector against mastodon-mock, a stateful Mastodon API (started by .ci/run).

The mock is not Mastodon: test_contract.py holds the same behaviour against Mastodon's own API
documentation as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from greenroom.conftest import World
from greenroom.core import vault
from greenroom.core.actions import do_create_channel
from greenroom.networks.base import ConnectorError, InboundKind, MediaItem, OutgoingPost
from greenroom.networks.connections.models import ChannelConnection
from greenroom.networks.connections.polling import poll_channel
from greenroom.networks.mastodon import instance as mastodon_instance
from greenroom.networks.mastodon.connector import MastodonConnector, MastodonLogin
from greenroom.networks.mastodon.tests.conftest import make_account
from greenroom.networks.models import InboundEvent

pytestmark = pytest.mark.peer


def png(path: Path) -> Path:
    import pyvips

    pyvips.Image.black(32, 24).write_to_file(str(path))
    return path


def test_connecting_with_oauth_and_pkce_through_the_pages(
    world: World, mastodon_server: str, client: Any, settings: Any
) -> None:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "mastodon"]
    account = make_account(mastodon_server)
    channel = do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="mastodon",
        handle=f"@{account.username}@mock",
        acting_user=world.alice,
    )
    client.force_login(world.alice)

    start = client.post(
        f"/networks/mastodon/connect/{channel.pk}/", {"instance_url": mastodon_server}
    )
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert (
        f"{authorize.scheme}://{authorize.netloc}{authorize.path}"
        == f"{mastodon_server}/oauth/authorize"
    )
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["scope"] == "read write"
    # The person signs in on the server and allows access; the server sends them back.
    allowed = httpx.post(
        f"{mastodon_server}/oauth/authorize",
        data={
            "username": account.username,
            "redirect_uri": query["redirect_uri"],
            "client_id": query["client_id"],
            "state": query["state"],
        },
    )
    back = urlsplit(allowed.headers["location"])
    done = client.get(f"{back.path}?{back.query}")

    assert done.status_code == 302 and done["Location"] == f"/governance/channels/{channel.pk}/"
    channel.refresh_from_db()
    assert channel.credentials is not None
    login = MastodonLogin.decode(vault.reveal(channel.credentials))
    assert login.account_id == account.id and channel.external_id == account.id
    connection = ChannelConnection.objects.get(channel=channel)
    assert connection.service_url == mastodon_server and connection.scopes
    # The same state cannot be used twice.
    again = client.get(f"{back.path}?{back.query}")
    assert again.status_code == 302 and again["Location"] == "/governance/"


def test_limits_come_from_the_server(mastodon_channel: Any, mastodon_server: str) -> None:
    channel, _account = mastodon_channel()
    limits = mastodon_instance.limits_for(channel)
    assert limits.from_server
    assert (limits.max_characters, limits.max_media_attachments) == (500, 4)


def test_a_status_with_media_alt_text_and_a_content_warning(
    mastodon_channel: Any, tmp_path: Path
) -> None:
    channel, account = mastodon_channel()
    ref = MastodonConnector(channel).publish(
        OutgoingPost(
            text="Our new roast ☕ https://example.com/roast",
            idempotency_key="m-1",
            media=[
                MediaItem(
                    str(png(tmp_path / "cup.png")), "image/png", "A dark roast in a white cup"
                )
            ],
            extra={"spoiler_text": "Coffee talk", "visibility": "unlisted"},
        )
    )

    status = account.api.status(ref.external_id)
    assert status["spoiler_text"] == "Coffee talk"
    assert status["visibility"] == "unlisted"
    assert [m["description"] for m in status["media_attachments"]] == [
        "A dark roast in a white cup"
    ]
    assert account.api.status_source(ref.external_id)["text"].startswith("Our new roast ☕")


def test_the_same_key_publishes_once_and_find_published_finds_it(mastodon_channel: Any) -> None:
    channel, account = mastodon_channel()
    connector = MastodonConnector(channel)
    post = OutgoingPost(text="Exactly once", idempotency_key="variant-9")

    first = connector.publish(post)
    second = connector.publish(post)

    assert first.external_id == second.external_id
    assert [s["id"] for s in account.api.account_statuses(account.id)] == [first.external_id]
    assert connector.find_published("variant-9") == first
    assert connector.find_published("never-sent") is None


def test_a_first_comment_is_a_reply_to_the_accounts_own_status_made_once(
    mastodon_channel: Any,
) -> None:
    channel, account = mastodon_channel()
    connector = MastodonConnector(channel)
    post = connector.publish(OutgoingPost(text="New oat latte", idempotency_key="variant-fc"))

    comment = connector.comment_on_own_post(post, "#coffee #라떼", "variant-fc:first-comment")
    again = connector.comment_on_own_post(post, "#coffee #라떼", "variant-fc:first-comment")

    assert again.external_id == comment.external_id
    statuses = account.api.account_statuses(account.id)
    assert sorted(s["id"] for s in statuses) == sorted([post.external_id, comment.external_id])
    status = account.api.status(comment.external_id)
    assert status["in_reply_to_id"] == post.external_id
    assert account.api.status_source(comment.external_id)["text"] == "#coffee #라떼"


def test_find_published_says_no_when_the_post_never_arrived(mastodon_channel: Any) -> None:
    from greenroom.networks.connections.actions import record_publish_attempt
    from greenroom.networks.mastodon.connector import fingerprint

    channel, _account = mastodon_channel()
    connector = MastodonConnector(channel)
    connector.publish(OutgoingPost(text="Something else", idempotency_key="other"))
    record_publish_attempt(channel, idempotency_key="lost", fingerprint=fingerprint("Lost post"))

    assert connector.find_published("lost") is None


def test_too_long_for_the_server_is_refused_before_sending(mastodon_channel: Any) -> None:
    channel, account = mastodon_channel()
    with pytest.raises(ConnectorError, match="500 characters") as error:
        MastodonConnector(channel).publish(
            OutgoingPost(text="a" * 490, idempotency_key="long", extra={"spoiler_text": "b" * 20})
        )
    assert error.value.permanent
    assert list(account.api.account_statuses(account.id)) == []


def test_replies_mentions_and_direct_messages_come_in_once(
    mastodon_channel: Any, mastodon_server: str
) -> None:
    channel, account = mastodon_channel()
    fan = make_account(mastodon_server)
    ref = MastodonConnector(channel).publish(OutgoingPost(text="Ask us", idempotency_key="ask"))
    fan.api.status_post(f"@{account.username} is it decaf?", in_reply_to_id=ref.external_id)
    fan.api.status_post(f"@{account.username} my order is late", visibility="direct")
    fan.api.status_post(f"Shout out to @{account.username}")
    fan.api.status_favourite(ref.external_id)

    result = poll_channel(channel)

    assert result is not None and result.created == 3
    events = {e.payload["text"]: e.kind for e in InboundEvent.objects.filter(channel=channel)}
    assert events == {
        f"@{account.username} is it decaf?": InboundKind.COMMENT,
        f"@{account.username} my order is late": InboundKind.DM,
        f"Shout out to @{account.username}": InboundKind.MENTION,
    }
    event = InboundEvent.objects.get(channel=channel, kind=InboundKind.DM)
    assert event.payload["author"]["handle"] == fan.username
    assert event.payload["network"]["visibility"] == "direct"
    assert ChannelConnection.objects.get(channel=channel).inbox_cursor.startswith("n:")
    again = poll_channel(channel)
    assert again is not None and again.created == 0
    fan.api.status_post(f"@{account.username} one more", in_reply_to_id=ref.external_id)
    page = MastodonConnector(channel).fetch_inbox(
        ChannelConnection.objects.get(channel=channel).inbox_cursor
    )
    assert [i.text for i in page.items] == [f"@{account.username} one more"]


def test_answering_from_greenroom(mastodon_channel: Any, mastodon_server: str) -> None:
    channel, account = mastodon_channel()
    fan = make_account(mastodon_server)
    fan.api.status_post(f"@{account.username} where is my parcel?", visibility="direct")
    connector = MastodonConnector(channel)
    item = connector.fetch_inbox(None).items[0]

    ref = connector.reply(item, "We are on it, sorry!")
    again = connector.reply(item, "We are on it, sorry!")

    assert again.external_id == ref.external_id
    status = account.api.status(ref.external_id)
    assert status["in_reply_to_id"] == item.external_id
    assert status["visibility"] == "direct"
    assert (
        account.api.status_source(ref.external_id)["text"]
        == f"@{fan.username} We are on it, sorry!"
    )
    with pytest.raises(ConnectorError, match="cannot hide"):
        connector.hide(item)


def test_favourites_and_boosts_are_metrics(mastodon_channel: Any, mastodon_server: str) -> None:
    channel, _account = mastodon_channel()
    fan = make_account(mastodon_server)
    connector = MastodonConnector(channel)
    ref = connector.publish(OutgoingPost(text="Boost me", idempotency_key="boost"))
    fan.api.status_favourite(ref.external_id)
    fan.api.status_reblog(ref.external_id)
    fan.api.status_post("so good", in_reply_to_id=ref.external_id)

    [metrics] = connector.fetch_metrics([ref.external_id])

    assert (metrics.likes, metrics.reposts, metrics.replies) == (1, 1, 1)


def test_deleting_a_status(mastodon_channel: Any) -> None:
    channel, account = mastodon_channel()
    connector = MastodonConnector(channel)
    ref = connector.publish(OutgoingPost(text="Typo", idempotency_key="typo"))

    connector.delete(ref.external_id)

    assert list(account.api.account_statuses(account.id)) == []


def test_a_revoked_token_is_explained(mastodon_channel: Any, mastodon_server: str) -> None:
    channel, account = mastodon_channel()
    httpx.post(f"{mastodon_server}/oauth/revoke", data={"token": account.token})

    with pytest.raises(ConnectorError, match="Connect the channel again") as error:
        MastodonConnector(channel).publish(OutgoingPost(text="hello", idempotency_key="revoked"))
    assert error.value.permanent


def test_no_access_token_reaches_a_log_line_or_the_api(
    world: World, mastodon_channel: Any, mastodon_server: str, client: Any
) -> None:
    import io
    import logging

    from greenroom.core.actions import do_create_api_token
    from greenroom.core.logging import JsonFormatter, RedactSecretsFilter

    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        channel, account = mastodon_channel()
        fan = make_account(mastodon_server)
        fan.api.status_post(f"@{account.username} hi", visibility="direct")
        connector = MastodonConnector(channel)
        connector.publish(OutgoingPost(text="Logged?", idempotency_key="log"))
        poll_channel(channel)
        httpx.post(f"{mastodon_server}/oauth/revoke", data={"token": account.token})
        try:
            MastodonConnector(channel).publish(OutgoingPost(text="x", idempotency_key="log2"))
        except ConnectorError:
            logging.getLogger("greenroom.test").exception("a failure with a traceback")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    _token, plaintext = do_create_api_token(
        world.alice, world.acme, name="check", scopes=("read",), acting_user=world.alice
    )
    api = client.get(f"/api/channels/{channel.pk}", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    client.force_login(world.alice)
    page = client.get(f"/governance/channels/{channel.pk}/")
    assert api.status_code == 200 and page.status_code == 200
    output = lines.getvalue() + api.content.decode() + page.content.decode()
    assert "mastodon status published" in output and "a failure with a traceback" in output
    assert account.token not in output
