"""X through the v2 API (api.x.com), with httpx.

Why not tweepy: tweepy speaks `requests` (respx, which the tests use to assert the exact requests
we send, only intercepts httpx), and its media upload still targets the v1.1 endpoint X has moved
to /2/media/upload. Everything here is the v2 API as documented on docs.x.com.

- Connect: OAuth 2.0 authorization code with PKCE, confidential client (HTTP Basic on the token
  endpoint), `offline.access` for a refresh token; tokens refresh before their 2-hour expiry.
- Publish: media by chunked upload (INIT, APPEND in chunks, FINALIZE, STATUS until succeeded),
  alt text through /2/media/metadata, then POST /2/tweets.
- find_published: X takes no idempotency key. The attempt's text (links reduced, since X shows
  them as t.co) is matched against the account's own recent posts made after the attempt began.
- First comments: a reply post to the account's own post, found the same way before a resend.
- Replies and DMs: once per item and text (`network_api.send_once`); a resend after an unknown
  outcome looks for the reply among the account's posts (replied_to the mention) or for the DM
  among the conversation's events before sending again.
- Inbox: mentions since the newest id seen, and DM events; webhooks through the Account Activity
  API (CRC challenge and x-twitter-webhooks-signature), see `webhooks.py`.
- Rate limits: 429 with x-rate-limit-reset (Unix time) becomes retry_after.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core.actions import do_update_channel
from greenroom.networks import network_api as api
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    InboundKind,
    InboxPage,
    MediaItem,
    OutgoingPost,
    PostMetrics,
    PublishedRef,
    TokenSet,
    WebhookRejected,
)
from greenroom.networks.connections.payloads import network_json
from greenroom.networks.registry import register

if TYPE_CHECKING:
    from django.http import HttpRequest

    from greenroom.core.models import Channel, User

logger = logging.getLogger(__name__)

API = "https://api.x.com/2"
# X's chunked upload takes segments of up to 5 MB; 4 MB leaves room for the multipart envelope.
CHUNK_BYTES = 4 * 1024 * 1024
STATUS_ATTEMPTS = 60
METRICS_BATCH = 100
_URL = re.compile(r"https?://\S+")
sleep: Callable[[float], None] = time.sleep


def _category(item: MediaItem) -> str:
    if item.mime_type == "image/gif":
        return "tweet_gif"
    return "tweet_video" if api.is_video(item) else "tweet_image"


def _comparable(text: str) -> str:
    """Text as X shows it back: links become t.co links, so compare without them."""
    return api.text_hash(_URL.sub("<link>", text))


def _x_time(value: Any) -> datetime | None:
    """v2 writes ISO 8601; the Account Activity API writes 'Wed Oct 10 20:19:24 +0000 2018'."""
    parsed = api.parse_time(value)
    if parsed is not None or not isinstance(value, str):
        return parsed
    try:
        return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return None


# A one-to-one conversation's id: its two participants' user ids joined by a hyphen.
_ONE_TO_ONE = re.compile(r"^(\d+)-(\d+)$")


def one_to_one_conversation(first: str, second: str) -> str | None:
    """X's id of the one-to-one DM conversation between two accounts: the smaller user id, a
    hyphen, the larger (docs.x.com, Direct Messages lookup integration guide: "Conversation
    ID format: {smaller_user_id}-{larger_user_id}"). User ids are 64-bit numbers written as
    strings of different lengths, so they are compared as numbers. None when either is not an
    id."""
    # ASCII digits only: "²" and "١" are digits to str.isdigit, and int() refuses the first.
    if not all(part.isascii() and part.isdigit() and len(part) <= 20 for part in (first, second)):
        return None
    low, high = sorted((first, second), key=int)
    return f"{low}-{high}"


def dm_thread(conversation_id: Any) -> str | None:
    """The inbox thread of a polled DM: a one-to-one id rebuilt in the one order (the same as
    X's own when X writes it as documented), so it always equals what a webhook DM of the same
    two people gets, which carries no conversation id; a group conversation's id as it is."""
    text = str(conversation_id or "")
    match = _ONE_TO_ONE.match(text)
    if match:
        return one_to_one_conversation(match[1], match[2])
    return text or None


def _connect(channel: Channel, tokens: api.StoredTokens, user: User) -> api.StoredTokens:
    """Note the account's id (GET /2/users/me) as the channel's external id."""
    with api.client() as http:
        request = http.build_request(
            "GET", f"{API}/users/me", headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
        response = api.send(http, request, write=False, network_name="X")
    data = api.json_of(response).get("data") or {}
    if not response.is_success or not data.get("id"):
        raise error_of(response)
    if channel.external_id != str(data["id"]):
        do_update_channel(channel, external_id=str(data["id"]), acting_user=user)
    return api.StoredTokens(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        scopes=tokens.scopes,
        extra={"username": str(data.get("username") or "")},
    )


OAUTH = api.AppProvider(
    "x",
    "X",
    authorize_url="https://x.com/i/oauth2/authorize",
    token_url=f"{API}/oauth2/token",
    scopes=(
        "tweet.read",
        "tweet.write",
        "tweet.moderate.write",
        "users.read",
        "media.write",
        "dm.read",
        "dm.write",
        "offline.access",
    ),
    pkce=True,
    client_auth="basic",
    service_url=API,
    after_connect=_connect,
)


def error_of(response: httpx.Response) -> ConnectorError:
    """A v2 error response (RFC 7807 problem: title, detail, type, status) in plain words."""
    body = api.json_of(response)
    detail = str(body.get("detail") or body.get("title") or "")
    errors = body.get("errors") or []
    if not detail and errors and isinstance(errors[0], dict):
        detail = str(errors[0].get("message") or "")
    kind = str(body.get("type") or "")
    status = response.status_code
    code = kind.rsplit("/", 1)[-1] if kind.startswith("https://") else f"http_{status}"
    if status == 429 or kind.endswith("usage-capped"):
        wait = api.seconds_until(response.headers.get("x-rate-limit-reset"))
        capped = kind.endswith("usage-capped")
        message = (
            _("X: the app has used its posting allowance for this period. Greenroom will retry.")
            if capped
            else _("X is limiting how fast this account may post. Greenroom will retry.")
        )
        return ConnectorError(message, retry_after=wait or 900.0, code=code or "rate_limited")
    if status >= 500:
        return ConnectorError(
            _("X had a temporary problem. Greenroom will retry."),
            retry_after=api.retry_after(response.headers.get("Retry-After")),
            code=f"http_{status}",
        )
    if status == 401:
        return ConnectorError(detail, permanent=True, code="reconnect_needed")
    if status == 403 and "duplicate" in detail.lower():
        return ConnectorError(
            _("X refused a post identical to one this account made recently. Change the text."),
            permanent=True,
            code="duplicate",
        )
    if status == 403:
        return ConnectorError(
            _(
                "X does not allow this (%(detail)s). Check the app's access level and that the "
                "channel was connected with every permission asked for."
            )
            % {"detail": detail or status},
            permanent=True,
            code=code,
        )
    return ConnectorError(
        _("X refused the request: %(detail)s") % {"detail": detail or status},
        permanent=True,
        code=code,
    )


@register("x")
class XConnector:
    """An X account: posts with images, GIFs and video, replies; mentions and DMs; hide replies,
    delete posts; public metrics."""

    kind: ClassVar[str] = "x"
    oauth: ClassVar[api.AppProvider] = OAUTH
    polls_inbox: ClassVar[bool] = True

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.tokens = api.ChannelTokens(channel, "X", OAUTH.refresher(channel))

    # --- plumbing --------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        write: bool = False,
    ) -> dict[str, Any]:
        for attempt in range(2):
            token = self.tokens.access_token()
            with api.client() as http:
                request = http.build_request(
                    method,
                    f"{API}/{path}",
                    params=params,
                    json=json_body,
                    files=files,
                    data=data,
                    headers={"Authorization": f"Bearer {token}"},
                )
                response = api.send(http, request, write=write, network_name="X")
            if response.is_success:
                return api.json_of(response)
            error = error_of(response)
            if error.code != "reconnect_needed":
                raise error
            # Refused before it did anything: refresh once (another worker may have already).
            if attempt == 0 and self.tokens.refresh(force=True) is not None:
                continue
            raise self.tokens.reconnect_error(error.message or _("the token was refused"))
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def user_id(self) -> str:
        if not self.channel.external_id:
            raise self.tokens.reconnect_error(_("Greenroom does not know its account id"))
        return self.channel.external_id

    def _url(self, post_id: str) -> str:
        handle = self.channel.handle.lstrip("@") or "i/web"
        return f"https://x.com/{handle}/status/{post_id}"

    # --- publishing ------------------------------------------------------------------------------

    def upload(self, item: MediaItem) -> str:
        """Chunked upload: INIT, APPEND each chunk, FINALIZE, then STATUS until processed."""
        content = api.media_bytes(item)
        init = self._call(
            "POST",
            "media/upload",
            files={
                "command": (None, "INIT"),
                "media_type": (None, item.mime_type),
                "total_bytes": (None, str(len(content))),
                "media_category": (None, _category(item)),
            },
            write=True,
        )
        media_id = str(init["data"]["id"])
        for index, start in enumerate(range(0, len(content), CHUNK_BYTES)):
            self._call(
                "POST",
                "media/upload",
                files={
                    "command": (None, "APPEND"),
                    "media_id": (None, media_id),
                    "segment_index": (None, str(index)),
                    "media": ("chunk", content[start : start + CHUNK_BYTES], item.mime_type),
                },
                write=True,
            )
        final = self._call(
            "POST",
            "media/upload",
            files={"command": (None, "FINALIZE"), "media_id": (None, media_id)},
            write=True,
        )
        info = (final.get("data") or {}).get("processing_info")
        for _attempt in range(STATUS_ATTEMPTS):
            if not info or info.get("state") == "succeeded":
                break
            if info.get("state") == "failed":
                error = info.get("error") or {}
                raise ConnectorError(
                    _("X could not process %(name)s: %(reason)s. Check it against the rule table.")
                    % {
                        "name": item.path.rsplit("/", 1)[-1],
                        "reason": error.get("message") or error.get("name") or _("no reason"),
                    },
                    permanent=True,
                    code="media_failed",
                )
            sleep(float(info.get("check_after_secs") or 1))
            status = self._call(
                "GET", "media/upload", params={"command": "STATUS", "media_id": media_id}
            )
            info = (status.get("data") or {}).get("processing_info")
        else:
            raise ConnectorError(
                _("X is still processing the media. Greenroom will retry."),
                retry_after=60.0,
                code="still_processing",
            )
        if item.alt_text:
            self._call(
                "POST",
                "media/metadata",
                json_body={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
                write=True,
            )
        return media_id

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Upload the media, then create the post (a reply when `reply_to` is set)."""
        api.remember_attempt(
            self.channel,
            post.idempotency_key,
            text=_comparable(post.text),
            began=timezone.now().isoformat(),
        )
        body: dict[str, Any] = {"text": post.text}
        if post.media:
            body["media"] = {"media_ids": [self.upload(item) for item in post.media]}
        if post.reply_to:
            body["reply"] = {"in_reply_to_tweet_id": post.reply_to}
        data = self._call("POST", "tweets", json_body=body, write=True)["data"]
        api.remember_attempt(self.channel, post.idempotency_key, published=str(data["id"]))
        return PublishedRef(external_id=str(data["id"]), url=self._url(str(data["id"])))

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """The post this key's attempt made, among the account's 20 newest (see module doc)."""
        record = api.recall_attempt(self.channel, idempotency_key)
        if not record:
            return None
        if record.get("published"):
            return PublishedRef(str(record["published"]), self._url(str(record["published"])))
        began = api.parse_time(record.get("began"))
        recent = self._call(
            "GET",
            f"users/{self.user_id}/tweets",
            params={"max_results": "20", "tweet.fields": "created_at"},
        )
        for tweet in recent.get("data") or []:
            made = api.parse_time(tweet.get("created_at"))
            late_enough = began is None or made is None or made >= began - _SKEW
            if _comparable(str(tweet.get("text") or "")) == record.get("text") and late_enough:
                return PublishedRef(str(tweet["id"]), self._url(str(tweet["id"])), made)
        return None

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """X has no comments: the first comment is a reply post in the post's thread
        (reply.in_reply_to_tweet_id). X takes no idempotency key, so an earlier attempt with
        this key is looked for first (its record, else the account's newest posts by text)."""
        if api.recall_attempt(self.channel, idempotency_key):
            found = self.find_published(idempotency_key)
            if found is not None:
                return found
        return self.publish(
            OutgoingPost(text=text, idempotency_key=idempotency_key, reply_to=ref.external_id)
        )

    def delete(self, external_id: str) -> None:
        self._call("DELETE", f"tweets/{external_id}", write=True)

    # --- inbox -----------------------------------------------------------------------------------

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Mentions after the newest id seen, and DMs after the newest DM event seen.

        The cursor is JSON: {"mentions": id, "dm": id}."""
        try:
            cursor = json.loads(since) if since else {}
        except ValueError:
            cursor = {}
        cursor = cursor if isinstance(cursor, dict) else {}
        params = {
            "max_results": "100",
            "tweet.fields": (
                "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets"
            ),
            "expansions": "author_id,attachments.media_keys",
            "user.fields": "username,name",
            "media.fields": "type,url,preview_image_url,alt_text",
        }
        if cursor.get("mentions"):
            params["since_id"] = str(cursor["mentions"])
        mentions = self._call("GET", f"users/{self.user_id}/mentions", params=params)
        includes = mentions.get("includes") or {}
        users = {u["id"]: u for u in includes.get("users", [])}
        media = {m["media_key"]: m for m in includes.get("media", []) if m.get("media_key")}
        items = [
            item
            for tweet in mentions.get("data") or []
            if (item := tweet_item(tweet, users.get(tweet.get("author_id"), {}), media)) is not None
        ]
        newest = (mentions.get("meta") or {}).get("newest_id") or cursor.get("mentions")
        dms = self._call(
            "GET",
            "dm_events",
            params={
                "dm_event.fields": "id,text,created_at,sender_id,dm_conversation_id",
                "event_types": "MessageCreate",
                "max_results": "100",
                # The senders' names, as the mentions' authors: not their numeric ids.
                "expansions": "sender_id",
                "user.fields": "username,name",
            },
        )
        senders = {u["id"]: u for u in (dms.get("includes") or {}).get("users", [])}
        newest_dm = int(cursor.get("dm") or 0)
        for event in dms.get("data") or []:
            if int(event.get("id") or 0) <= int(cursor.get("dm") or 0):
                continue
            if str(event.get("sender_id")) == self.user_id:
                continue  # our own answers
            made = api.parse_time(event.get("created_at")) or timezone.now()
            newest_dm = max(newest_dm, int(event["id"]))
            sender = senders.get(event.get("sender_id")) or {}
            items.append(
                InboundItem(
                    external_id=f"dm:{event['id']}",
                    kind=InboundKind.DM,
                    text=str(event.get("text") or ""),
                    author_handle=str(sender.get("username") or event.get("sender_id") or ""),
                    author_name=str(sender.get("name") or ""),
                    created_at=made,
                    # One thread with the webhook's DMs of the same two people.
                    thread_id=dm_thread(event.get("dm_conversation_id")),
                    raw=event,
                )
            )
        items.sort(key=lambda i: i.created_at)
        return InboxPage(items=items, cursor=json.dumps({"mentions": newest, "dm": newest_dm}))

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer a mention with a reply post, or a DM in its conversation, once per item and
        text (`api.send_once`): X takes no idempotency key, so an attempt that never heard
        back is looked for first, the reply among the account's own posts since the attempt
        began (GET /2/users/:id/tweets, `referenced_tweets` replied_to the mention), the DM
        among the conversation's events (GET /2/dm_conversations/:id/dm_events)."""
        key = api.reply_key(item, text)
        if item.kind == InboundKind.DM:
            # X's own conversation id when the event carries it (polled), else the one-to-one
            # conversation with the sender (X's dm_conversations/with/:participant_id
            # endpoints): a webhook DM is always one-to-one, and its thread id is one Greenroom
            # built, so X's own address for it is the safer one.
            event = network_json(item.raw)
            create = event.get("message_create")
            webhook = isinstance(create, dict)
            known = str(
                event.get("dm_conversation_id") or ("" if webhook else item.thread_id) or ""
            )
            # The sender's id: the DM event's sender_id (polled), or its message_create's
            # (Account Activity webhook); the handle is their @username.
            sender = str(
                event.get("sender_id")
                or (create.get("sender_id") if isinstance(create, dict) else "")
                or item.author_handle
            )
            conversation = known or f"with/{sender}"

            def send_dm() -> PublishedRef:
                data = self._call(
                    "POST",
                    f"dm_conversations/{conversation}/messages",
                    json_body={"text": text},
                    write=True,
                )["data"]
                return PublishedRef(external_id=f"dm:{data['dm_event_id']}", url="")

            return api.send_once(
                self.channel,
                key,
                text,
                send=send_dm,
                find=lambda record: self._find_dm(conversation, text, record),
                network_name="X",
            )

        def send_post() -> PublishedRef:
            body = {"text": text, "reply": {"in_reply_to_tweet_id": item.external_id}}
            data = self._call("POST", "tweets", json_body=body, write=True)["data"]
            return PublishedRef(external_id=str(data["id"]), url=self._url(str(data["id"])))

        return api.send_once(
            self.channel,
            key,
            text,
            send=send_post,
            find=lambda record: self._find_reply(item.external_id, text, record),
            network_name="X",
        )

    def _find_reply(
        self, parent_id: str, text: str, record: Mapping[str, Any]
    ) -> PublishedRef | None:
        """The account's reply to `parent_id` with this text, made after the attempt began."""
        params = {
            "max_results": "100",
            "tweet.fields": "created_at,referenced_tweets",
        }
        began = api.parse_time(record.get("began"))
        if began is not None:
            params["start_time"] = (began - _SKEW).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        recent = self._call("GET", f"users/{self.user_id}/tweets", params=params)
        for tweet in recent.get("data") or []:
            answers = any(
                ref.get("type") == "replied_to" and str(ref.get("id")) == parent_id
                for ref in tweet.get("referenced_tweets") or []
            )
            made = api.parse_time(tweet.get("created_at"))
            if (
                answers
                and _same_text(str(tweet.get("text") or ""), text)
                and api.made_after_began(record, made)
            ):
                return PublishedRef(str(tweet["id"]), self._url(str(tweet["id"])), made)
        return None

    def _find_dm(
        self, conversation: str, text: str, record: Mapping[str, Any]
    ) -> PublishedRef | None:
        """The account's message in the conversation with this text, made after the attempt
        began (X keeps 30 days of DM events)."""
        events = self._call(
            "GET",
            f"dm_conversations/{conversation}/dm_events",
            params={
                "dm_event.fields": "id,text,created_at,sender_id",
                "event_types": "MessageCreate",
                "max_results": "100",
            },
        )
        for event in events.get("data") or []:
            made = api.parse_time(event.get("created_at"))
            if (
                str(event.get("sender_id")) == self.user_id
                and _same_text(str(event.get("text") or ""), text)
                and api.made_after_began(record, made)
            ):
                return PublishedRef(f"dm:{event['id']}", "", made)
        return None

    def delete_comment(self, item: InboundItem) -> None:
        """X does not let an account delete other people's replies: say so."""
        raise ConnectorError(
            _("X does not let an account delete other people's replies. Hide the reply instead."),
            permanent=True,
            code="not_supported",
        )

    def hide(self, item: InboundItem) -> None:
        """Hide a reply to one of the account's posts (PUT /2/tweets/:id/hidden)."""
        if item.kind == InboundKind.DM:
            raise ConnectorError(
                _("X cannot hide direct messages."), permanent=True, code="unsupported"
            )
        self._call("PUT", f"tweets/{item.external_id}/hidden", json_body={"hidden": True})

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """public_metrics of up to 100 posts per request."""
        result = []
        ids = list(refs)
        for start in range(0, len(ids), METRICS_BATCH):
            data = self._call(
                "GET",
                "tweets",
                params={
                    "ids": ",".join(ids[start : start + METRICS_BATCH]),
                    "tweet.fields": "public_metrics",
                },
            )
            for tweet in data.get("data") or []:
                m = tweet.get("public_metrics") or {}
                result.append(
                    PostMetrics(
                        external_id=str(tweet["id"]),
                        likes=int(m.get("like_count") or 0),
                        reposts=int(m.get("retweet_count") or 0),
                        replies=int(m.get("reply_count") or 0),
                        impressions=m.get("impression_count"),
                        extra={
                            "quotes": int(m.get("quote_count") or 0),
                            "bookmarks": int(m.get("bookmark_count") or 0),
                        },
                    )
                )
        return result

    def refresh_token(self) -> TokenSet | None:
        fresh = self.tokens.refresh()
        return None if fresh is None else TokenSet(*_token_triple(fresh))

    @classmethod
    def verify_webhook(cls, request: HttpRequest) -> list[InboundItem]:
        raise WebhookRejected(_("Use the organisation's X webhook address."), status=404)


_SKEW = timedelta(minutes=2)
_LEADING_MENTIONS = re.compile(r"^(?:@\w+\s+)+")


def _same_text(shown: str, sent: str) -> bool:
    """Whether X shows `sent` as `shown`: links become t.co links, and a reply may carry the
    @handles of the people answered in front of its text."""
    return _comparable(_LEADING_MENTIONS.sub("", shown)) == _comparable(
        _LEADING_MENTIONS.sub("", sent)
    )


def _token_triple(tokens: api.StoredTokens) -> tuple[str, str | None, datetime | None]:
    return tokens.access_token, tokens.refresh_token, tokens.expires_at


def tweet_item(
    tweet: dict[str, Any], author: dict[str, Any], media: dict[str, Any] | None = None
) -> InboundItem | None:
    """A mention as an inbox item; `media`: the response's `includes.media` by media key."""
    made = _x_time(tweet.get("created_at"))
    if not tweet.get("id") or made is None:
        return None
    # The post it answers: the account's own post (the conversation's post), or a mention
    # already in the inbox (the reply joins that conversation).
    replied_to = next(
        (
            str(ref.get("id"))
            for ref in tweet.get("referenced_tweets") or []
            if ref.get("type") == "replied_to" and ref.get("id")
        ),
        None,
    )
    return InboundItem(
        external_id=str(tweet["id"]),
        kind=InboundKind.MENTION,
        text=str(tweet.get("text") or ""),
        author_handle=str(author.get("username") or tweet.get("author_id") or ""),
        author_name=str(author.get("name") or ""),
        created_at=made,
        in_reply_to=replied_to,
        thread_id=str(tweet.get("conversation_id") or "") or None,
        raw=tweet,
        media=[
            {
                "type": str(found.get("type") or ""),
                # A photo has its address; a video or GIF only its preview image.
                "url": str(found.get("url") or found.get("preview_image_url") or ""),
                "alt": str(found.get("alt_text") or ""),
            }
            for key in (tweet.get("attachments") or {}).get("media_keys") or []
            if (found := (media or {}).get(key))
        ],
    )
