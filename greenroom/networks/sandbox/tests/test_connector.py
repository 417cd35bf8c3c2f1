"""The sandbox connector against the sandbox network over HTTP: what the publishing engine and the
inbox will rely on."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import vault
from greenroom.core.models import AuditEvent, Channel
from greenroom.networks.actions import do_connect_sandbox_channel
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    MediaItem,
    OutcomeUnknown,
    OutgoingPost,
)
from greenroom.networks.registry import connector_for
from greenroom.networks.sandbox import failures
from greenroom.networks.sandbox.connector import SandboxConnector, decode_tokens
from greenroom.networks.sandbox.models import SandboxAccount, SandboxPost
from greenroom.networks.sandbox.testing import Sandbox


def post(text: str = "Cold brew is back ☕", key: str = "variant-1") -> OutgoingPost:
    return OutgoingPost(text=text, idempotency_key=key)


def stored_tokens(channel: Channel) -> Any:
    channel.refresh_from_db()
    assert channel.credentials is not None
    return decode_tokens(vault.reveal(channel.credentials))


def test_the_registry_gives_sandboxed_channels_the_sandbox_connector(
    world: World, sandbox: Sandbox
) -> None:
    assert isinstance(connector_for(world.coffee_instagram), SandboxConnector)


def test_publishing_twice_with_the_same_key_makes_one_post(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)

    first = connector.publish(post())
    again = connector.publish(post())

    assert again.external_id == first.external_id
    assert SandboxPost.objects.filter(account=sandbox.account(world.coffee_x)).count() == 1
    assert first.url.endswith(f"/sandbox/p/{first.external_id}/")
    assert first.published_at is not None


def test_the_post_page_shows_the_post_escaped(world: World, sandbox: Sandbox, client: Any) -> None:
    sandbox.connect(world.coffee_x)
    ref = sandbox.connector(world.coffee_x).publish(post("<b>bold</b> claims", "k-escape"))
    page = client.get(f"/sandbox/p/{ref.external_id}/")
    assert page.status_code == 200
    assert b"&lt;b&gt;bold&lt;/b&gt; claims" in page.content
    assert b"<b>bold</b>" not in page.content


def test_text_over_the_emulated_networks_limit_is_refused_in_plain_words(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_x)
    with pytest.raises(ConnectorError) as caught:
        # 141 characters on screen; X weighs each Korean one 2: 280 + 1 = 281.
        sandbox.connector(world.coffee_x).publish(post("커" * 140 + "!", "too-long"))
    error = caught.value
    assert error.permanent
    assert error.code == "text_too_long"
    assert "X counts this post as 281 of 280" in error.message
    assert "Korean characters count 2" in error.message
    assert not SandboxPost.objects.exists()


def test_the_same_text_fits_a_network_that_counts_characters(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_instagram)
    ref = sandbox.connector(world.coffee_instagram).publish(
        OutgoingPost(
            text="커" * 140 + "!",
            idempotency_key="fits",
            media=[MediaItem(path="cup.jpg", mime_type="image/jpeg")],
        )
    )
    assert SandboxPost.objects.get(external_id=ref.external_id).media[0]["mime_type"] == (
        "image/jpeg"
    )


def test_media_the_network_does_not_take_is_refused(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_instagram)
    with pytest.raises(ConnectorError) as caught:
        sandbox.connector(world.coffee_instagram).publish(
            OutgoingPost(
                text="two photos",
                idempotency_key="k",
                media=[
                    MediaItem(path="a.jpg", mime_type="image/jpeg"),
                    MediaItem(path="b.jpg", mime_type="image/jpeg"),
                ],
            )
        )
    assert caught.value.permanent
    assert caught.value.code == "too_many_media"
    assert "Instagram accepts at most 1 attachments" in caught.value.message


def test_a_429_carries_retry_after_and_is_temporary(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    sandbox.set_failures(world.coffee_x, rate_limit_per_minute=2, retry_after_s=42)
    connector = sandbox.connector(world.coffee_x)
    connector.publish(post(key="a"))
    connector.publish(post(key="b"))

    with pytest.raises(ConnectorError) as caught:
        connector.publish(post(key="c"))

    assert caught.value.retry_after == 42
    assert not caught.value.permanent
    assert caught.value.code == "rate_limited"
    assert SandboxPost.objects.count() == 2


def test_the_rate_limit_is_per_account(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    sandbox.connect(world.tea_bluesky)
    sandbox.set_failures(world.coffee_x, rate_limit_per_minute=1)
    sandbox.connector(world.coffee_x).publish(post(key="a"))
    with pytest.raises(ConnectorError):
        sandbox.connector(world.coffee_x).publish(post(key="b"))
    sandbox.connector(world.tea_bluesky).publish(post(key="b"))


def test_server_errors_are_temporary_and_create_nothing(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    sandbox.set_failures(error_rate=1.0)  # globally
    with pytest.raises(ConnectorError) as caught:
        sandbox.connector(world.coffee_x).publish(post())
    assert not caught.value.permanent
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.code in ("internal_error", "unavailable")
    assert "temporary problem" in caught.value.message
    assert not SandboxPost.objects.exists()

    sandbox.set_failures(error_rate=0.0)
    sandbox.connector(world.coffee_x).publish(post())
    assert SandboxPost.objects.count() == 1


def test_an_expired_token_is_refreshed_stored_and_the_call_succeeds(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_x)
    before = stored_tokens(world.coffee_x)
    sandbox.expire_token(world.coffee_x)  # the network says: expired (the vault does not know)

    ref = sandbox.connector(world.coffee_x).publish(post())

    assert SandboxPost.objects.filter(external_id=ref.external_id).exists()
    after = stored_tokens(world.coffee_x)
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token
    assert after.expires_at is not None and after.expires_at > timezone.now() + timedelta(days=30)
    secret = world.coffee_x.credentials
    assert secret is not None and secret.expires_at == after.expires_at
    assert (
        AuditEvent.objects.filter(
            action="channel.credentials_set", actor=None, target_id=str(world.coffee_x.pk)
        ).count()
        == 2
    )
    # The old token is dead on the network.
    account = SandboxAccount.objects.get(pk=sandbox.account(world.coffee_x).pk)
    assert account.access_token_expires_at == after.expires_at


def test_a_token_near_expiry_is_refreshed_before_the_call(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x, token_ttl=timedelta(seconds=20))
    before = stored_tokens(world.coffee_x)
    sandbox.connector(world.coffee_x).find_published("nothing")
    assert stored_tokens(world.coffee_x).access_token != before.access_token


def test_a_revoked_refresh_token_asks_for_a_reconnect(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    account = sandbox.account(world.coffee_x)
    SandboxAccount.objects.filter(pk=account.pk).update(refresh_token_hash="revoked")
    sandbox.expire_token(world.coffee_x)
    with pytest.raises(ConnectorError) as caught:
        sandbox.connector(world.coffee_x).publish(post())
    assert caught.value.permanent
    assert "Reconnect the channel" in caught.value.message


def test_a_channel_without_a_token_fails_permanently(world: World, sandbox: Sandbox) -> None:
    with pytest.raises(ConnectorError) as caught:
        sandbox.connector(world.coffee_x).publish(post())
    assert caught.value.permanent
    assert caught.value.code == "no_credentials"


def test_find_published_knows_posts_by_key_even_after_deletion(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)
    assert connector.find_published("never-sent") is None
    ref = connector.publish(post(key="k1"))
    connector.delete(ref.external_id)
    found = connector.find_published("k1")
    assert found is not None and found.external_id == ref.external_id
    # Publishing again with the key still never makes a second post.
    assert connector.publish(post(key="k1")).external_id == ref.external_id
    assert SandboxPost.objects.count() == 1


def test_keys_are_per_account(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    sandbox.connect(world.globex_x)
    mine = sandbox.connector(world.coffee_x).publish(post(key="same"))
    assert sandbox.connector(world.globex_x).find_published("same") is None
    theirs = sandbox.connector(world.globex_x).publish(post(key="same"))
    assert theirs.external_id != mine.external_id


def test_inbox_pages_follow_a_stable_cursor(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)
    empty = connector.fetch_inbox(None)
    assert empty.items == [] and empty.cursor is None

    for n in range(3):
        sandbox.write(world.coffee_x, f"hello {n}", kind="mention", author=f"fan{n}")
    page = connector.fetch_inbox(None)
    assert [i.text for i in page.items] == ["hello 0", "hello 1", "hello 2"]
    assert page.items[0].kind == "mention" and page.items[0].author_handle == "fan0"

    again = connector.fetch_inbox(page.cursor)
    assert again.items == [] and again.cursor == page.cursor

    sandbox.write(world.coffee_x, "안녕하세요", kind="dm", author="minji", language="ko")
    later = connector.fetch_inbox(page.cursor)
    assert [i.text for i in later.items] == ["안녕하세요"]
    assert later.items[0].raw["language"] == "ko"
    # The same cursor gives the same page every time.
    assert [i.external_id for i in connector.fetch_inbox(page.cursor).items] == [
        later.items[0].external_id
    ]


def test_another_accounts_items_never_show_up(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    sandbox.connect(world.globex_x)
    sandbox.write(world.globex_x, "for globex only")
    assert sandbox.connector(world.coffee_x).fetch_inbox(None).items == []


def test_reply_answers_once_and_hide_hides(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)
    ref = connector.publish(post())
    comment = sandbox.write(world.coffee_x, "spam spam", in_reply_to=ref.external_id)
    dm = sandbox.write(world.coffee_x, "where is my order?", kind="dm")
    items = {i.external_id: i for i in connector.fetch_inbox(None).items}

    reply = connector.reply(items[dm.external_id], "Sorry! Could you send your order number?")
    assert connector.reply(items[dm.external_id], "Sorry! Could you send your order number?") == (
        reply
    )
    assert SandboxPost.objects.filter(in_reply_to=dm.external_id).count() == 1

    connector.hide(items[comment.external_id])
    comment.refresh_from_db()
    assert comment.hidden_at is not None
    with pytest.raises(ConnectorError) as caught:
        connector.hide(items[dm.external_id])
    assert caught.value.permanent and "cannot be hidden" in caught.value.message

    with pytest.raises(ConnectorError) as missing:
        connector.reply(
            InboundItem(
                external_id="si_nope",
                kind="comment",
                text="",
                author_handle="x",
                author_name="",
                created_at=timezone.now(),
            ),
            "hello",
        )
    assert missing.value.permanent and missing.value.code == "not_found"


def test_metrics_count_comments_and_engagement(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)
    ref = connector.publish(post())
    sandbox.write(world.coffee_x, "love it", in_reply_to=ref.external_id)
    sandbox.write(world.coffee_x, "me too", in_reply_to=ref.external_id)
    SandboxPost.objects.filter(external_id=ref.external_id).update(likes=7, impressions=300)

    [metrics] = connector.fetch_metrics([ref.external_id, "sp_unknown"])
    assert (metrics.external_id, metrics.likes, metrics.replies, metrics.impressions) == (
        ref.external_id,
        7,
        2,
        300,
    )


def test_a_connection_refused_is_temporary_and_not_an_unknown_outcome(
    world: World, sandbox: Sandbox, settings: Any
) -> None:
    sandbox.connect(world.coffee_x)
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9/sandbox"  # discard port: nothing listens
    from greenroom.networks.sandbox import connector as module

    with module.use_transport(None), pytest.raises(ConnectorError) as caught:
        sandbox.connector(world.coffee_x).publish(post())
    assert not isinstance(caught.value, OutcomeUnknown)
    assert not caught.value.permanent


def test_a_post_that_times_out_after_committing_is_found_not_resent(
    world: World, live_server: Any, settings: Any
) -> None:
    """Over a real socket: the sandbox commits, then hangs past the client's timeout."""
    settings.SANDBOX_BASE_URL = f"{live_server.url}/sandbox"
    settings.SANDBOX_CLIENT_TIMEOUT_S = 0.3
    settings.SANDBOX_LATENCY_MS = 0
    channel = world.coffee_x
    account = do_connect_sandbox_channel(channel, acting_user=None)
    hang = 1.0
    failures.update(account, {"timeout_rate": 1.0, "timeout_s": hang})
    connector = SandboxConnector(channel)

    started = time.monotonic()
    with pytest.raises(OutcomeUnknown):
        connector.publish(post(key="engine-attempt-1"))

    # What the engine does next: ask before sending again.
    found = connector.find_published("engine-attempt-1")
    assert found is not None
    assert SandboxPost.objects.filter(account=account).count() == 1
    assert SandboxPost.objects.get(account=account).external_id == found.external_id
    # Let the hanging request finish before the database is flushed.
    time.sleep(max(0.0, hang - (time.monotonic() - started)) + 0.2)


def test_the_visible_hint_is_the_access_tokens_tail_not_the_stored_bundle(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_x)
    tokens = stored_tokens(world.coffee_x)
    hint = world.coffee_x.credentials.hint
    assert hint == "…" + tokens.access_token[-4:]
    assert '"' not in hint and "}" not in hint


def test_a_comment_on_the_channels_own_post_is_made_once_per_key(
    world: World, sandbox: Sandbox, client: Any
) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)
    ref = connector.publish(post())

    first = connector.comment_on_own_post(ref, "#coldbrew <b>link</b>", "variant-1:first-comment")
    again = connector.comment_on_own_post(ref, "#coldbrew <b>link</b>", "variant-1:first-comment")

    assert again.external_id == first.external_id
    [comment] = SandboxPost.objects.filter(in_reply_to=ref.external_id)
    assert comment.external_id == first.external_id
    assert comment.text == "#coldbrew <b>link</b>"
    assert first.url.endswith(f"/sandbox/p/{ref.external_id}/#{first.external_id}")
    page = client.get(f"/sandbox/p/{ref.external_id}/")
    assert b"&lt;b&gt;link&lt;/b&gt;" in page.content and b"<b>link</b>" not in page.content


def test_a_comment_on_a_deleted_post_fails_for_good_in_plain_words(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)
    ref = connector.publish(post())
    connector.delete(ref.external_id)

    with pytest.raises(ConnectorError) as caught:
        connector.comment_on_own_post(ref, "#coldbrew", "variant-1:first-comment")
    assert caught.value.permanent and caught.value.code == "post_deleted"
    assert caught.value.message == "The post was deleted, so there is nothing to comment under."


def test_a_rate_limited_comment_waits_as_asked_and_goes_out_once_on_retry(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)
    sandbox.set_failures(world.coffee_x, rate_limit_per_minute=1, retry_after_s=42)
    ref = connector.publish(post())

    with pytest.raises(ConnectorError) as caught:
        connector.comment_on_own_post(ref, "#coldbrew", "variant-1:first-comment")
    assert not caught.value.permanent and caught.value.retry_after == 42.0
    assert not SandboxPost.objects.filter(in_reply_to=ref.external_id).exists()

    sandbox.set_failures(world.coffee_x, rate_limit_per_minute=0)
    connector.comment_on_own_post(ref, "#coldbrew", "variant-1:first-comment")
    connector.comment_on_own_post(ref, "#coldbrew", "variant-1:first-comment")
    assert SandboxPost.objects.filter(in_reply_to=ref.external_id).count() == 1


def test_delete_comment_deletes_a_comment_once_and_refuses_messages(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_x)
    connector = sandbox.connector(world.coffee_x)
    ref = connector.publish(post())
    comment = sandbox.write(world.coffee_x, "spam spam", in_reply_to=ref.external_id)
    dm = sandbox.write(world.coffee_x, "where is my order?", kind="dm")
    items = {i.external_id: i for i in connector.fetch_inbox(None).items}

    connector.delete_comment(items[comment.external_id])
    comment.refresh_from_db()
    deleted_at = comment.deleted_at
    assert deleted_at is not None
    # Again: nothing more happens.
    connector.delete_comment(items[comment.external_id])
    comment.refresh_from_db()
    assert comment.deleted_at == deleted_at

    with pytest.raises(ConnectorError) as caught:
        connector.delete_comment(items[dm.external_id])
    assert caught.value.permanent and "Only comments" in caught.value.message
