"""The Mastodon connector against request/response pairs from Mastodon's API documentation
(docs.joinmastodon.org: statuses, media, notifications, conversations, instance, rate limits).

Mastodon.py speaks through `requests`, so these use the `responses` library (respx only sees
httpx); they assert the exact requests Greenroom sends as well as how it reads the answers.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.core.cache import cache

from greenroom.conftest import World
from greenroom.core.actions import do_create_channel, do_set_channel_credentials
from greenroom.core.models import Channel
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    InboundKind,
    MediaItem,
    OutcomeUnknown,
    OutgoingPost,
    PublishedRef,
)
from greenroom.networks.connections.actions import do_record_connection
from greenroom.networks.mastodon.connector import MastodonConnector, MastodonLogin

SERVER = "https://mastodon.example"
INSTANCE_URL = re.compile(r"https://mastodon\.example/api/v2/instance/?$")
TOKEN = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
ME = "14715"

# docs.joinmastodon.org/entities/Instance/ (trimmed to what Greenroom reads).
INSTANCE_V2 = {
    "domain": "mastodon.example",
    "title": "Mastodon",
    "version": "4.3.0",
    "api_versions": {"mastodon": 2},
    "configuration": {
        "statuses": {
            "max_characters": 1000,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {"image_size_limit": 16777216},
    },
}

# docs.joinmastodon.org/entities/Status/ (trimmed).
STATUS: dict[str, Any] = {
    "id": "103270115826048975",
    "created_at": "2019-12-08T03:48:33.901Z",
    "in_reply_to_id": None,
    "in_reply_to_account_id": None,
    "sensitive": True,
    "spoiler_text": "Coffee talk",
    "visibility": "unlisted",
    "language": "en",
    "uri": "https://mastodon.example/users/acmecoffee/statuses/103270115826048975",
    "url": "https://mastodon.example/@acmecoffee/103270115826048975",
    "replies_count": 5,
    "reblogs_count": 6,
    "favourites_count": 11,
    "content": "<p>Our new roast</p>",
    "account": {"id": ME, "username": "acmecoffee", "acct": "acmecoffee", "display_name": "Acme"},
    "media_attachments": [],
    "mentions": [],
    "tags": [],
    "emojis": [],
}

# docs.joinmastodon.org/entities/MediaAttachment/ (trimmed).
MEDIA = {
    "id": "22345792",
    "type": "image",
    "url": "https://files.mastodon.example/media_attachments/files/022/345/792/original/cup.png",
    "preview_url": None,
    "description": "A dark roast in a white cup",
}

# docs.joinmastodon.org/entities/Notification/ (type mention, trimmed).
MENTION = {
    "id": "34975861",
    "type": "mention",
    "created_at": "2019-11-23T07:49:02.064Z",
    "account": {"id": "971724", "username": "zsc", "acct": "zsc", "display_name": ""},
    "status": {
        **STATUS,
        "id": "103186126728896492",
        "created_at": "2019-11-23T07:49:01.940Z",
        "in_reply_to_id": "103186038209478512",
        "in_reply_to_account_id": ME,
        "visibility": "public",
        "spoiler_text": "",
        "content": (
            '<p><span class="h-card"><a href="https://mastodon.example/@acmecoffee" '
            'class="u-url mention">@<span>acmecoffee</span></a></span> is it decaf?&nbsp;&amp; '
            "hot?<br>thanks</p>"
        ),
        "account": {"id": "971724", "username": "zsc", "acct": "zsc", "display_name": "Z"},
    },
}


@pytest.fixture
def channel(world: World, settings: Any) -> Channel:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "mastodon"]
    cache.clear()
    channel = do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="mastodon",
        handle="@acmecoffee@mastodon.example",
        acting_user=world.alice,
    )
    login = MastodonLogin(instance=SERVER, access_token=TOKEN, account_id=ME, acct="acmecoffee")
    do_set_channel_credentials(channel, token=login.encode(), acting_user=world.alice)
    do_record_connection(channel, service_url=SERVER, account_id=ME, acting_user=world.alice)
    channel.refresh_from_db()
    return channel


@pytest.fixture
def server() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        # (Mastodon.py asks for /api/v2/instance/, with a slash; the server answers both.)
        mock.get(INSTANCE_URL, json=INSTANCE_V2)
        mock.get(f"{SERVER}/api/v1/instance/", json={**INSTANCE_V2, "uri": "mastodon.example"})
        yield mock


def form(request: Any) -> dict[str, list[str]]:
    body = request.body
    return parse_qs(body if isinstance(body, str) else body.decode())


def test_a_status_is_sent_as_the_docs_describe(
    channel: Channel, server: Any, tmp_path: Path
) -> None:
    image = tmp_path / "cup.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    server.post(f"{SERVER}/api/v2/media", json=MEDIA)
    server.post(f"{SERVER}/api/v1/statuses", json=STATUS)
    # 700 characters: over the rule table's default of 500, under this server's 1,000.
    text = "Our new roast. " + "x" * 685

    ref = MastodonConnector(channel).publish(
        OutgoingPost(
            text=text,
            idempotency_key="variant-42",
            media=[MediaItem(str(image), "image/png", "A dark roast in a white cup")],
            extra={"spoiler_text": "Coffee talk", "visibility": "unlisted"},
        )
    )

    upload = next(c.request for c in server.calls if c.request.url.endswith("/api/v2/media"))
    assert b"A dark roast in a white cup" in upload.body
    sent = next(c.request for c in server.calls if c.request.url.endswith("/api/v1/statuses"))
    assert sent.method == "POST"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Idempotency-Key"] == "variant-42"
    fields = form(sent)
    assert fields["status"] == [text]
    assert fields["visibility"] == ["unlisted"]
    assert fields["spoiler_text"] == ["Coffee talk"]
    assert fields["media_ids[]"] == ["22345792"]
    assert fields["sensitive"] == ["1"] or fields["sensitive"] == ["True"]
    assert ref.external_id == "103270115826048975"
    assert ref.url == "https://mastodon.example/@acmecoffee/103270115826048975"
    assert ref.published_at == datetime(2019, 12, 8, 3, 48, 33, 901000, tzinfo=UTC)


def test_a_first_comment_is_a_reply_status_to_the_accounts_own_status(
    channel: Channel, server: Any
) -> None:
    reply = {**STATUS, "id": "103270115826049000", "in_reply_to_id": STATUS["id"]}
    server.post(f"{SERVER}/api/v1/statuses", json=reply)

    ref = MastodonConnector(channel).comment_on_own_post(
        PublishedRef(STATUS["id"], STATUS["url"]), "#coffee https://acme.example", "v42:fc"
    )

    [sent] = [c.request for c in server.calls if c.request.url.endswith("/api/v1/statuses")]
    assert sent.headers["Idempotency-Key"] == "v42:fc"
    fields = form(sent)
    assert fields["status"] == ["#coffee https://acme.example"]
    assert fields["in_reply_to_id"] == [STATUS["id"]]
    assert fields["visibility"] == ["public"]
    assert ref.external_id == "103270115826049000"


def test_the_servers_own_limit_refuses_a_long_post_before_sending(
    channel: Channel, server: Any
) -> None:
    server.replace(
        responses.GET,
        INSTANCE_URL,
        json={**INSTANCE_V2, "configuration": {"statuses": {"max_characters": 100}}},
    )
    statuses = server.post(f"{SERVER}/api/v1/statuses", json=STATUS)

    with pytest.raises(ConnectorError, match="takes 100 characters") as error:
        MastodonConnector(channel).publish(OutgoingPost(text="y" * 150, idempotency_key="k"))

    assert error.value.permanent and error.value.code == "too_long"
    assert statuses.call_count == 0


def test_rate_limit_headers_become_retry_after(channel: Channel, server: Any) -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    server.post(
        f"{SERVER}/api/v1/statuses",
        status=429,
        json={"error": "Too many requests"},
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset,
        },
    )

    with pytest.raises(ConnectorError) as error:
        MastodonConnector(channel).publish(OutgoingPost(text="hi", idempotency_key="k"))

    assert not error.value.permanent
    assert error.value.retry_after is not None and 60 < error.value.retry_after <= 91


@pytest.mark.parametrize(
    ("status", "body", "words", "permanent"),
    [
        (422, {"error": "Validation failed: Text can't be blank"}, "Text can't be blank", True),
        (401, {"error": "The access token is invalid"}, "Connect the channel again", True),
        (403, {"error": "This action is not allowed"}, "not allowed", True),
        (503, {"error": "Service Unavailable"}, "temporary problem", False),
    ],
)
def test_errors_in_plain_words(
    channel: Channel, server: Any, status: int, body: Any, words: str, permanent: bool
) -> None:
    server.post(f"{SERVER}/api/v1/statuses", status=status, json=body)

    with pytest.raises(ConnectorError, match=re.escape(words)) as error:
        MastodonConnector(channel).publish(OutgoingPost(text="hi", idempotency_key="k"))

    assert error.value.permanent is permanent
    assert TOKEN not in error.value.message


def test_a_timeout_after_sending_is_an_unknown_outcome(channel: Channel, server: Any) -> None:
    server.post(f"{SERVER}/api/v1/statuses", body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(OutcomeUnknown):
        MastodonConnector(channel).publish(OutgoingPost(text="hi", idempotency_key="k"))


def test_an_unreachable_server_is_not_an_unknown_outcome(channel: Channel, server: Any) -> None:
    server.post(
        f"{SERVER}/api/v1/statuses",
        body=requests.exceptions.ConnectionError(
            "HTTPSConnectionPool: Failed to establish a new connection: [Errno 111] refused"
        ),
    )

    with pytest.raises(ConnectorError) as error:
        MastodonConnector(channel).publish(OutgoingPost(text="hi", idempotency_key="k"))

    assert not isinstance(error.value, OutcomeUnknown)
    assert error.value.code == "unreachable"


def test_mention_notifications_and_conversations_are_read_after_the_cursor(
    channel: Channel, server: Any
) -> None:
    notes = server.get(f"{SERVER}/api/v1/notifications", json=[MENTION])
    dm = {
        **STATUS,
        "id": "103186126728896600",
        "visibility": "direct",
        "content": "<p>@acmecoffee my order</p>",
        "account": {"id": "971724", "username": "zsc", "acct": "zsc@other.example"},
    }
    old_dm = {**dm, "id": "103186126728896400", "content": "<p>an old one</p>"}
    server.get(
        f"{SERVER}/api/v1/conversations/",
        json=[
            {"id": "418450", "unread": True, "accounts": [], "last_status": dm},
            {"id": "418449", "unread": False, "accounts": [], "last_status": old_dm},
        ],
    )

    page = MastodonConnector(channel).fetch_inbox("n:34975800|c:103186126728896500")

    query = parse_qs(notes.calls[0].request.url.split("?", 1)[1])
    assert query["types[]"] == ["mention"]
    assert query["min_id"] == ["34975800"]
    reply, direct = page.items
    assert reply.kind == InboundKind.COMMENT
    assert reply.text == "@acmecoffee is it decaf?\xa0& hot?\nthanks"
    assert reply.in_reply_to == "103186038209478512"
    assert reply.author_handle == "zsc"
    assert direct.kind == InboundKind.DM
    assert direct.thread_id == "418450"
    assert direct.author_handle == "zsc@other.example"
    assert page.cursor == "n:34975861|c:103186126728896600"
    json.dumps([i.raw for i in page.items])  # what is stored must be plain JSON


def test_metrics_read_favourites_and_boosts(channel: Channel, server: Any) -> None:
    many = server.get(f"{SERVER}/api/v1/statuses", json=[STATUS])

    [metrics] = MastodonConnector(channel).fetch_metrics(["103270115826048975"])

    assert parse_qs(many.calls[0].request.url.split("?", 1)[1])["id[]"] == ["103270115826048975"]
    assert (metrics.likes, metrics.reposts, metrics.replies) == (11, 6, 5)


def test_metrics_on_a_server_without_the_batch_endpoint(channel: Channel, server: Any) -> None:
    server.get(f"{SERVER}/api/v1/statuses", status=404, json={"error": "Record not found"})
    server.get(f"{SERVER}/api/v1/statuses/103270115826048975", json=STATUS)

    [metrics] = MastodonConnector(channel).fetch_metrics(["103270115826048975"])

    assert (metrics.likes, metrics.reposts) == (11, 6)


def test_the_connect_page_sends_the_person_to_their_server(
    world: World, channel: Channel, client: Any
) -> None:
    from greenroom.core.actions import do_store_secret
    from greenroom.networks.mastodon.actions import app_secret_name

    # Greenroom is already registered on this server for Acme: no call to the server is needed.
    app = {
        "instance": SERVER,
        "client_id": "greenroom-client",
        "client_secret": "greenroom-secret-1234",
        "redirect_uri": "http://testserver/hooks/mastodon/oauth/callback/",
    }
    do_store_secret(
        world.acme, name=app_secret_name(SERVER), value=json.dumps(app), acting_user=None
    )
    client.force_login(world.alice)

    response = client.post(
        f"/networks/mastodon/connect/{channel.pk}/", {"instance_url": "Mastodon.example/"}
    )

    assert response.status_code == 302
    url, query = response["Location"].split("?", 1)
    fields = {k: v[0] for k, v in parse_qs(query).items()}
    assert url == f"{SERVER}/oauth/authorize"
    assert fields["client_id"] == "greenroom-client"
    assert fields["redirect_uri"] == app["redirect_uri"]
    assert fields["code_challenge_method"] == "S256"
    assert "greenroom-secret-1234" not in response["Location"]


def test_the_connect_page_is_for_channel_administrators(
    world: World, channel: Channel, client: Any
) -> None:
    client.force_login(world.agnes)  # engages on Tea only; this is a Coffee channel
    assert client.get(f"/networks/mastodon/connect/{channel.pk}/").status_code == 404
    client.force_login(world.alice)
    page = client.get(f"/networks/mastodon/connect/{channel.pk}/")
    assert page.status_code == 200 and 'value="mastodon.example"' in page.content.decode()


# --- An answer sent twice answers once (send_reply is acks_late, retried and swept) --------------

QUESTION_ID = "103186126728896492"


def question() -> InboundItem:
    return InboundItem(
        external_id=QUESTION_ID,
        kind=InboundKind.COMMENT,
        text="@acmecoffee is it decaf?",
        author_handle="zsc",
        author_name="Z",
        created_at=datetime.now(UTC),
        raw={"network": {"visibility": "public"}},
    )


def answer_status(status_id: str, *, made: datetime | None = None) -> dict[str, Any]:
    return {
        **STATUS,
        "id": status_id,
        "created_at": (made or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "in_reply_to_id": QUESTION_ID,
        "in_reply_to_account_id": "971724",
        "visibility": "public",
        "spoiler_text": "",
        "sensitive": False,
        "content": "<p>@zsc Yes, all day</p>",
        "url": f"https://mastodon.example/@acmecoffee/{status_id}",
    }


def posts_to(server: Any) -> list[Any]:
    return [
        c.request
        for c in server.calls
        if c.request.method == "POST" and c.request.url.endswith("/api/v1/statuses")
    ]


def own_statuses(server: Any, *statuses: dict[str, Any]) -> None:
    server.get(f"{SERVER}/api/v1/accounts/{ME}/statuses", json=list(statuses))
    for status in statuses:
        server.get(
            f"{SERVER}/api/v1/statuses/{status['id']}/source",
            json={"id": status["id"], "text": "@zsc Yes, all day", "spoiler_text": ""},
        )


def test_an_answer_is_sent_once_and_a_resend_finds_it(channel: Channel, server: Any) -> None:
    answer = answer_status("103270115826049100")
    server.post(f"{SERVER}/api/v1/statuses", json=answer)
    own_statuses(server, answer)

    first = MastodonConnector(channel).reply(question(), "Yes, all day")
    again = MastodonConnector(channel).reply(question(), "Yes, all day")

    [sent] = posts_to(server)
    assert form(sent)["status"] == ["@zsc Yes, all day"]
    assert form(sent)["in_reply_to_id"] == [QUESTION_ID]
    assert sent.headers["Idempotency-Key"].startswith("reply-")
    assert first.external_id == again.external_id == "103270115826049100"


def test_an_answer_whose_post_timed_out_is_found_not_posted_again(
    channel: Channel, server: Any
) -> None:
    server.post(f"{SERVER}/api/v1/statuses", body=requests.exceptions.ReadTimeout("timed out"))
    own_statuses(server, answer_status("103270115826049101"))

    with pytest.raises(OutcomeUnknown):
        MastodonConnector(channel).reply(question(), "Yes, all day")
    found = MastodonConnector(channel).reply(question(), "Yes, all day")

    assert len(posts_to(server)) == 1
    assert found.external_id == "103270115826049101"


def test_an_answer_that_never_arrived_is_posted_once_more(channel: Channel, server: Any) -> None:
    server.post(f"{SERVER}/api/v1/statuses", body=requests.exceptions.ReadTimeout("timed out"))
    server.post(f"{SERVER}/api/v1/statuses", json=answer_status("103270115826049102"))
    # The account's newest status is older than the attempt: the answer is not there.
    server.get(
        f"{SERVER}/api/v1/accounts/{ME}/statuses",
        json=[answer_status("103270115826040000", made=datetime.now(UTC) - timedelta(days=1))],
    )

    with pytest.raises(OutcomeUnknown):
        MastodonConnector(channel).reply(question(), "Yes, all day")
    sent = MastodonConnector(channel).reply(question(), "Yes, all day")

    assert len(posts_to(server)) == 2
    assert sent.external_id == "103270115826049102"
