"""The Bluesky connector against a real PDS + AppView (@atproto/dev-env, started by .ci/run).

Each test opens its own accounts, so tests do not see each other's notifications.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from atproto import AtUri, models

from greenroom.conftest import World
from greenroom.core import vault
from greenroom.core.actions import (
    ActionError,
    do_create_api_token,
    do_create_channel,
    do_set_channel_credentials,
)
from greenroom.core.logging import JsonFormatter, RedactSecretsFilter
from greenroom.core.models import AuditEvent
from greenroom.networks.base import (
    ConnectorError,
    InboundKind,
    MediaItem,
    OutgoingPost,
    PublishedRef,
)
from greenroom.networks.bluesky.actions import do_connect_bluesky_channel
from greenroom.networks.bluesky.connector import KEY_FIELD, BlueskyConnector
from greenroom.networks.bluesky.session import BlueskyLogin
from greenroom.networks.bluesky.tests.conftest import make_account, wait_for
from greenroom.networks.connections.models import ChannelConnection
from greenroom.networks.connections.polling import poll_channel
from greenroom.networks.models import InboundEvent

pytestmark = pytest.mark.peer


def record_of(account: Any, uri: str) -> Any:
    at = AtUri.from_str(uri)
    return account.client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=at.host, collection=at.collection, rkey=at.rkey)
    )


def png(path: Path, width: int = 40, height: int = 30) -> Path:
    import pyvips

    pyvips.Image.black(width, height).write_to_file(str(path))
    return path


def test_connecting_keeps_the_login_in_the_vault(world: World, bluesky_channel: Any) -> None:
    channel, account = bluesky_channel()

    assert channel.external_id == account.did
    login = BlueskyLogin.decode(vault.reveal(channel.credentials))
    assert login.app_password == account.app_password
    assert login.did == account.did and login.access_jwt and login.refresh_jwt
    # What people may see is a hint, not the password.
    assert channel.credentials.hint == "…" + account.app_password[-4:]
    connection = ChannelConnection.objects.get(channel=channel)
    assert connection.account_id == account.did
    actions = set(
        AuditEvent.objects.filter(target_id=str(channel.pk)).values_list("action", flat=True)
    )
    assert {"channel.credentials_set", "channel.connected"} <= actions


def test_a_wrong_app_password_is_refused_in_plain_words(
    world: World, pds: str, settings: Any
) -> None:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "bluesky"]
    account = make_account(pds)
    channel = do_create_channel(
        world.acme, brand=world.tea, kind="bluesky", handle=account.handle, acting_user=None
    )
    with pytest.raises(ActionError, match="app password"):
        do_connect_bluesky_channel(
            channel,
            identifier=account.handle,
            app_password="aaaa-bbbb-cccc-dddd",
            service_url=pds,
            acting_user=world.alice,
        )
    channel.refresh_from_db()
    assert channel.credentials is None


def test_a_post_appears_on_the_pds_with_links_mentions_and_hashtags(
    bluesky_channel: Any, pds: str
) -> None:
    channel, account = bluesky_channel()
    friend = make_account(pds)
    text = f"새 메뉴 🎉 with @{friend.handle} #그린룸 https://example.com/menu?x=1 done"

    ref = BlueskyConnector(channel).publish(OutgoingPost(text=text, idempotency_key="k-facets"))

    record = record_of(account, ref.external_id)
    assert record.value.text == text
    raw = text.encode()
    spans = {
        raw[f.index.byte_start : f.index.byte_end].decode(): f.features[0]
        for f in record.value.facets
    }
    assert spans[f"@{friend.handle}"].did == friend.did
    assert spans["#그린룸"].tag == "그린룸"
    assert spans["https://example.com/menu?x=1"].uri == "https://example.com/menu?x=1"
    assert ref.url.endswith(
        f"/profile/{account.handle}/post/{AtUri.from_str(ref.external_id).rkey}"
    )


def test_images_go_up_with_their_alt_text(bluesky_channel: Any, tmp_path: Path) -> None:
    channel, account = bluesky_channel()
    media = [
        MediaItem(str(png(tmp_path / "a.png", 40, 30)), "image/png", "A cup of green tea"),
        MediaItem(str(png(tmp_path / "b.png", 30, 40)), "image/png", "The shop front"),
    ]

    ref = BlueskyConnector(channel).publish(
        OutgoingPost(text="Two pictures", idempotency_key="k-img", media=media)
    )

    embed = record_of(account, ref.external_id).value.embed
    assert [i.alt for i in embed.images] == ["A cup of green tea", "The shop front"]
    assert (embed.images[0].aspect_ratio.width, embed.images[0].aspect_ratio.height) == (40, 30)
    assert embed.images[0].image.mime_type == "image/png"


def test_an_image_over_the_rule_tables_size_is_refused_before_upload(
    bluesky_channel: Any, tmp_path: Path
) -> None:
    channel, _account = bluesky_channel()
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * 2_000_001)

    with pytest.raises(ConnectorError, match="smaller rendition") as error:
        BlueskyConnector(channel).publish(
            OutgoingPost(
                text="too big", idempotency_key="k-big", media=[MediaItem(str(big), "image/png")]
            )
        )
    assert error.value.permanent


def test_a_video_is_accepted_by_the_pds(bluesky_channel: Any, tmp_path: Path) -> None:
    ffmpeg = _ffmpeg()
    if ffmpeg is None:
        pytest.skip("no ffmpeg to make a test video")
    clip = tmp_path / "clip.mp4"
    subprocess.run(  # noqa: S603
        [
            ffmpeg,
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=green:s=64x48:d=1",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            str(clip),
        ],
        check=True,
    )
    channel, account = bluesky_channel()

    ref = BlueskyConnector(channel).publish(
        OutgoingPost(
            text="A short clip",
            idempotency_key="k-video",
            media=[MediaItem(str(clip), "video/mp4", "Tea leaves in water")],
        )
    )

    embed = record_of(account, ref.external_id).value.embed
    assert embed.py_type == "app.bsky.embed.video"
    assert embed.alt == "Tea leaves in water"
    assert embed.video.mime_type == "video/mp4"


def _ffmpeg() -> str | None:
    try:
        import importlib

        return str(importlib.import_module("imageio_ffmpeg").get_ffmpeg_exe())
    except Exception:
        return shutil.which("ffmpeg")


def test_a_thread_is_published_as_replies_to_the_first_post(bluesky_channel: Any) -> None:
    channel, account = bluesky_channel()
    connector = BlueskyConnector(channel)

    first = connector.publish(
        OutgoingPost(
            text="1/3 A thread", idempotency_key="k-thread", extra={"thread": ["2/3", "3/3"]}
        )
    )

    second = connector.find_published("k-thread#1")
    third = connector.find_published("k-thread#2")
    assert second is not None and third is not None
    second_reply = record_of(account, second.external_id).value.reply
    third_reply = record_of(account, third.external_id).value.reply
    assert second_reply.parent.uri == first.external_id
    assert third_reply.parent.uri == second.external_id
    assert third_reply.root.uri == first.external_id


def test_a_first_comment_is_a_reply_under_the_post_written_once_per_key(
    bluesky_channel: Any,
) -> None:
    channel, account = bluesky_channel()
    connector = BlueskyConnector(channel)
    post = connector.publish(OutgoingPost(text="New oat latte", idempotency_key="k-fc-post"))

    comment = connector.comment_on_own_post(post, "#커피 menu: https://example.com/m", "k-fc")
    again = connector.comment_on_own_post(post, "#커피 menu: https://example.com/m", "k-fc")

    assert again == comment
    record = record_of(account, comment.external_id)
    parent = record_of(account, post.external_id)
    assert record.value.text == "#커피 menu: https://example.com/m"
    assert record.value.reply.parent.uri == post.external_id
    assert record.value.reply.parent.cid == parent.cid
    assert record.value.reply.root.uri == post.external_id
    assert getattr(record.value, KEY_FIELD) == "k-fc"
    listed = account.client.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(
            repo=account.did, collection="app.bsky.feed.post", limit=100
        )
    )
    replies = [r for r in listed.records if getattr(r.value, "reply", None) is not None]
    assert [r.uri for r in replies] == [comment.external_id]


def test_find_published_answers_for_an_unknown_outcome(bluesky_channel: Any) -> None:
    channel, account = bluesky_channel()
    connector = BlueskyConnector(channel)
    ref = connector.publish(OutgoingPost(text="Once only", idempotency_key="variant-17-try-1"))

    assert connector.find_published("variant-17-try-1") == ref
    assert connector.find_published("variant-17-try-2") is None
    # The key lives in the record itself, where any client may read it.
    assert getattr(record_of(account, ref.external_id).value, KEY_FIELD) == "variant-17-try-1"


def test_deleting_a_post_removes_it(bluesky_channel: Any) -> None:
    channel, _account = bluesky_channel()
    connector = BlueskyConnector(channel)
    ref = connector.publish(OutgoingPost(text="Oops", idempotency_key="k-del"))

    connector.delete(ref.external_id)

    assert connector.find_published("k-del") is None


def test_a_post_composed_in_greenroom_gets_a_reply_that_lands_in_greenroom(
    world: World, bluesky_channel: Any, pds: str
) -> None:
    """The issue's 'done means': Greenroom publishes for alice.test, bob.test answers on the
    network, polling brings the answer into Greenroom as an inbound event."""
    channel, _alice = bluesky_channel("alice.test")
    bob = make_account(pds, "bob.test")
    published = _publish(world, channel, "Our autumn blend is in the shop today")

    post = wait_for(lambda: bob.client.get_posts([published.external_id]).posts)
    parent = models.create_strong_ref(post[0])
    answer = f"Does it come in 500 g bags? ({published.external_id[-6:]})"
    bob.client.send_post(
        text=answer, reply_to=models.AppBskyFeedPost.ReplyRef(parent=parent, root=parent)
    )

    event = wait_for(lambda: _poll_for(channel, answer), seconds=15)
    assert event is not None, "bob's reply never reached Greenroom"
    assert event.kind == InboundKind.COMMENT
    assert event.payload["author"]["handle"] == "bob.test"
    assert event.payload["in_reply_to"] == published.external_id
    assert event.payload["network"]["record"]["reply"]["parent"]["uri"] == published.external_id
    # The inbox reads it like any network's item.
    from greenroom.inbox.ingest import read_payload

    incoming = read_payload(event)
    assert (incoming.text, incoming.author_handle) == (answer, "bob.test")
    assert ChannelConnection.objects.get(channel=channel).inbox_cursor
    # Polling again stores nothing twice.
    before = InboundEvent.objects.filter(channel=channel).count()
    poll_channel(channel)
    assert InboundEvent.objects.filter(channel=channel).count() == before


def _publish(world: World, channel: Any, text: str) -> PublishedRef:
    """Compose and publish in Greenroom: the publishing engine calls the connector."""
    from datetime import timedelta

    from django.utils import timezone

    from greenroom.publishing import actions, engine
    from greenroom.publishing.models import Variant, VariantState

    post = actions.do_create_post(
        world.acme,
        text=text,
        channels=[channel],
        publish_at=timezone.now() + timedelta(hours=1),
        acting_user=world.alice,
    )
    actions.do_submit_for_approval(post, acting_user=world.alice)
    # Time passes: the post is due.
    due = timezone.now() - timedelta(seconds=1)
    Variant.objects.filter(post=post).update(publish_at=due, next_attempt_at=due)
    assert engine.dispatch_due() == 1
    variant = Variant.objects.get(post=post, channel=channel)
    assert variant.state == VariantState.PUBLISHED, variant.last_error
    return PublishedRef(external_id=variant.external_id, url=variant.external_url)


def _poll_for(channel: Any, text: str) -> InboundEvent | None:
    poll_channel(channel)
    for event in InboundEvent.objects.filter(channel=channel):
        if event.payload.get("text") == text:
            return event
    return None


def test_mentions_and_quotes_come_in_and_likes_count_as_metrics(
    bluesky_channel: Any, pds: str
) -> None:
    channel, account = bluesky_channel()
    fan = make_account(pds)
    connector = BlueskyConnector(channel)
    ref = connector.publish(OutgoingPost(text="Rate our new cup", idempotency_key="k-m"))
    post = wait_for(lambda: fan.client.get_posts([ref.external_id]).posts)[0]
    strong = models.create_strong_ref(post)
    fan.client.like(strong.uri, strong.cid)
    fan.client.repost(strong.uri, strong.cid)
    fan.client.send_post(
        text="Love it", reply_to=models.AppBskyFeedPost.ReplyRef(parent=strong, root=strong)
    )
    fan.client.send_post(
        text="Look at this one", embed=models.AppBskyEmbedRecord.Main(record=strong)
    )
    mention = f"@{account.handle} when do you open?"
    fan.client.send_post(text=mention, facets=fan.client.detect_facets(mention))

    def inbox() -> dict[str, str]:
        page = connector.fetch_inbox(None)
        return {i.text: i.kind for i in page.items} if len(page.items) >= 3 else {}

    kinds = wait_for(inbox, seconds=15)
    assert kinds == {
        "Love it": InboundKind.COMMENT,
        "Look at this one": InboundKind.MENTION,
        mention: InboundKind.MENTION,
    }
    metrics = wait_for(
        lambda: next(
            (m for m in connector.fetch_metrics([ref.external_id]) if m.extra["quotes"]), None
        ),
        seconds=15,
    )
    assert (metrics.likes, metrics.reposts, metrics.replies, metrics.extra["quotes"]) == (
        1,
        1,
        1,
        1,
    )


def test_replying_and_hiding_from_greenroom(bluesky_channel: Any, pds: str) -> None:
    channel, account = bluesky_channel()
    troll = make_account(pds)
    connector = BlueskyConnector(channel)
    ref = connector.publish(OutgoingPost(text="Ask us anything", idempotency_key="k-ama"))
    post = wait_for(lambda: troll.client.get_posts([ref.external_id]).posts)[0]
    strong = models.create_strong_ref(post)
    troll.client.send_post(
        text="rude words", reply_to=models.AppBskyFeedPost.ReplyRef(parent=strong, root=strong)
    )
    items = wait_for(lambda: connector.fetch_inbox(None).items, seconds=15)
    item = items[0]

    answer = connector.reply(item, "Please keep it kind.")
    again = connector.reply(item, "Please keep it kind.")
    connector.hide(item)

    assert again == answer
    assert record_of(account, answer.external_id).value.reply.parent.uri == item.external_id
    gate = record_of(
        account, ref.external_id.replace("app.bsky.feed.post", "app.bsky.feed.threadgate")
    )
    assert gate.value.hidden_replies == [item.external_id]


def test_a_reply_in_someone_elses_thread_cannot_be_hidden(bluesky_channel: Any, pds: str) -> None:
    channel, account = bluesky_channel()
    other = make_account(pds)
    text = f"hey @{account.handle}"
    other.client.send_post(text=text, facets=other.client.detect_facets(text))
    connector = BlueskyConnector(channel)
    item = wait_for(lambda: connector.fetch_inbox(None).items, seconds=15)[0]

    with pytest.raises(ConnectorError, match="only a thread's author") as error:
        connector.hide(item)
    assert error.value.permanent


def test_an_expired_session_is_renewed_from_the_app_password(bluesky_channel: Any) -> None:
    """Access token expired and refresh token revoked: Greenroom signs in again with the app
    password and keeps the new session."""
    channel, account = bluesky_channel()
    login = BlueskyLogin.decode(vault.reveal(channel.credentials))
    account.client.com.atproto.server.delete_session(
        headers={"Authorization": f"Bearer {login.refresh_jwt}"}
    )
    header, _payload, signature = login.access_jwt.split(".")
    expired = base64.urlsafe_b64encode(json.dumps({"exp": 1, "sub": login.did}).encode())
    stale = f"{header}.{expired.decode().rstrip('=')}.{signature}"
    broken = BlueskyLogin(**{**login.__dict__, "access_jwt": stale})
    do_set_channel_credentials(channel, token=broken.encode(), acting_user=None)

    ref = BlueskyConnector(channel).publish(OutgoingPost(text="Still here", idempotency_key="k-s"))

    assert ref.external_id
    channel.refresh_from_db()
    renewed = BlueskyLogin.decode(vault.reveal(channel.credentials))
    # (Two sessions opened in the same second can share an access JWT; never a refresh JWT.)
    assert renewed.access_jwt != stale
    assert renewed.refresh_jwt != login.refresh_jwt


def test_no_password_or_session_token_reaches_a_log_line_or_the_api(
    world: World, bluesky_channel: Any, pds: str, client: Any
) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        channel, account = bluesky_channel()
        connector = BlueskyConnector(channel)
        connector.publish(OutgoingPost(text="Logged?", idempotency_key="k-log"))
        poll_channel(channel)
        try:
            connector.delete("at://did:plc:nobody/app.bsky.feed.post/3aaaaaaaaaaaa")
        except ConnectorError:
            logging.getLogger("greenroom.test").exception("a failure with a traceback")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    login = BlueskyLogin.decode(vault.reveal(channel.credentials))
    secrets = [account.app_password, login.access_jwt, login.refresh_jwt]

    _token, plaintext = do_create_api_token(
        world.alice, world.acme, name="check", scopes=("read",), acting_user=world.alice
    )
    api = client.get(f"/api/channels/{channel.pk}", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    client.force_login(world.alice)
    page = client.get(f"/governance/channels/{channel.pk}/")
    assert api.status_code == 200 and page.status_code == 200
    output = lines.getvalue() + api.content.decode() + page.content.decode()
    assert "inbox polled" in output or "bluesky post published" in output
    for secret in secrets:
        assert secret and secret not in output
    assert json.loads(api.content)["id"] == channel.pk
