"""Facebook Pages, Instagram and Threads: one connector class per network kind, sharing the Graph
API client (`graph.Graph`).

Publishing follows Meta's documented flows:
- Instagram (feed, carousel, Reels, Stories) and Threads (text, image, video, carousel): create a
  media container (children first for a carousel), poll its status until FINISHED, publish it.
- Facebook Pages: text to /feed, one photo to /photos, several photos uploaded unpublished and
  attached to a /feed post, a video to /videos; Reels through the Reels Publishing API (start,
  hosted-file upload to rupload.facebook.com, poll, finish).

None of these APIs takes an idempotency key. `find_published` relies on what the attempt
recorded in the shared cache: the container id (Instagram, Threads: a container that finished
processing is published rather than created again) and a hash of the text, matched against the
account's recent posts made after the attempt began. Without that record (cache lost), Meta
cannot tell whether a post came from this attempt, and `find_published` says "not found".

First comments: Facebook and Instagram comment on the post (POST /{id}/comments) through
`network_api.comment_once` (the post's own comments are read back when an answer was lost);
Threads replies to the post (a container with reply_to_id), found again among the profile's
replies.

Inbox answers go out once per item and text (`network_api.send_once`, the key
`network_api.reply_key`): a re-send after an unknown outcome reads the comment's replies
(Facebook /{comment-id}/comments, Instagram /{comment-id}/replies) or the conversation with the
person (/{page-id}/conversations?user_id=...) for the account's answer before sending again.
Threads answers are posts with reply_to_id, kept once by the container the attempt recorded
and found among the profile's replies. Instagram @mentions are answered through POST
/{ig-user-id}/mentions.

Inbox items carry what people attached (`media`: a comment's `attachment`, a DM's
`attachments`, a Threads reply's `media_url`; http(s) addresses only) and their authors' names:
a DM webhook names its sender by id only, so the User Profile API is asked once per person and
call (`name_senders`); a lookup Meta refuses or does not answer keeps the message under the id.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core.actions import do_update_channel
from greenroom.networks import network_api as api
from greenroom.networks import rules
from greenroom.networks.base import (
    Completed,
    ConnectorError,
    InboundItem,
    InboundKind,
    InboxPage,
    OutgoingPost,
    PostMetrics,
    PublishedRef,
    TokenSet,
    WebhookRejected,
)
from greenroom.networks.connections.payloads import network_json
from greenroom.networks.meta import errors, graph
from greenroom.networks.registry import register

if TYPE_CHECKING:
    from django.http import HttpRequest

    from greenroom.core.models import Channel, User

logger = logging.getLogger(__name__)

INBOX_POSTS = 10
METRICS_BATCH = 50


def _facebook_oauth(network: str, network_name: str, scopes: Sequence[str]) -> api.AppProvider:
    # Facebook Login's server-side flow: the code is exchanged with the app secret (no PKCE).
    return api.AppProvider(
        network,
        network_name,
        authorize_url=f"https://www.facebook.com/{graph.graph_version()}/dialog/oauth",
        token_url=f"{graph.facebook_base()}/oauth/access_token",
        scopes=scopes,
        pkce=False,
        scope_separator=",",
        service_url=graph.facebook_base(),
        after_connect=lambda channel, tokens, user: _connect_page(
            channel, tokens, user, network=network, network_name=network_name
        ),
    )


def _graph_get(url: str, params: dict[str, str], network_name: str) -> dict[str, Any]:
    """A Graph call made while connecting, before the channel has tokens."""
    with api.client() as http:
        request = http.build_request("GET", url, params=params)
        response = api.send(http, request, write=False, network_name=network_name)
    if not response.is_success:
        raise errors.to_connector_error(response, network_name, None)
    return api.json_of(response)


def _connect_page(
    channel: Channel, tokens: api.StoredTokens, user: User, *, network: str, network_name: str
) -> api.StoredTokens:
    """Trade the short-lived user token for a long-lived one, then keep the token of the Page
    this channel is (for Instagram: the Page linked to the Instagram professional account).

    Page tokens obtained from a long-lived user token do not expire."""
    org = channel.organization_id
    long_lived = _graph_get(
        f"{graph.facebook_base()}/oauth/access_token",
        {
            "grant_type": "fb_exchange_token",
            "client_id": api.require_app_value(org, network, "client_id", network_name),
            "client_secret": api.require_app_value(org, network, "client_secret", network_name),
            "fb_exchange_token": tokens.access_token,
        },
        network_name,
    )
    user_token = str(long_lived.get("access_token") or tokens.access_token)
    pages = _graph_get(
        f"{graph.facebook_base()}/me/accounts",
        {
            "fields": "id,name,username,access_token,instagram_business_account{id,username}",
            "access_token": user_token,
        },
        network_name,
    ).get("data", [])
    wanted = channel.handle.lstrip("@").lower()

    def account_of(page: dict[str, Any]) -> tuple[str, str]:
        if network == "instagram":
            ig = page.get("instagram_business_account") or {}
            return str(ig.get("id") or ""), str(ig.get("username") or "").lower()
        return str(page.get("id") or ""), str(page.get("username") or page.get("name") or "")

    candidates = [p for p in pages if isinstance(p, dict) and account_of(p)[0]]
    chosen = next(
        (
            p
            for p in candidates
            if account_of(p)[0] == channel.external_id
            or account_of(p)[1].lower() == wanted
            or str(p.get("name", "")).lower() == wanted
        ),
        candidates[0] if len(candidates) == 1 else None,
    )
    if chosen is None:
        raise ConnectorError(
            _(
                "%(network)s: the account that signed in does not manage %(handle)s. Sign in with "
                "an account that has a role on it, and allow access to it."
            )
            % {"network": network_name, "handle": channel.handle},
            permanent=True,
            code="account_not_found",
        )
    account_id = account_of(chosen)[0]
    if channel.external_id != account_id:
        do_update_channel(channel, external_id=account_id, acting_user=user)
    page_token = str(chosen["access_token"])
    return api.StoredTokens(
        access_token=page_token,
        scopes=tokens.scopes,
        extra={"page_id": str(chosen["id"]), "user_id": tokens.extra.get("user_id", "")},
    )


class MetaConnector:
    """What Facebook, Instagram and Threads share: tokens, the Graph client, attempts."""

    kind: ClassVar[str]
    network_name: ClassVar[str]
    base_url: ClassVar[str]
    # Polled as a backstop to webhooks (greenroom.networks.connections.polling).
    polls_inbox: ClassVar[bool] = True

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.tokens = api.ChannelTokens(channel, self.network_name, self._refresher())

    def _refresher(self) -> Any:
        return None

    def graph(self, placement: str | None = None) -> graph.Graph:
        spec = rules.get_spec(self.channel.kind, placement) if placement else None
        return graph.Graph(self.base_url, self.tokens, self.network_name, spec)

    @property
    def account_id(self) -> str:
        if not self.channel.external_id:
            raise self.tokens.reconnect_error(_("Greenroom does not know its account id"))
        return self.channel.external_id

    def refresh_token(self) -> TokenSet | None:
        fresh = self.tokens.refresh()
        if fresh is None:
            return None
        return TokenSet(fresh.access_token, fresh.refresh_token, fresh.expires_at)

    def _since(self, since: str | None) -> datetime | None:
        return api.parse_time(since) if since else None

    @staticmethod
    def _page(items: list[InboundItem], since: str | None) -> InboxPage:
        items.sort(key=lambda i: i.created_at)
        cursor = items[-1].created_at.isoformat() if items else since
        return InboxPage(items=items, cursor=cursor)

    def _message_once(
        self, item: InboundItem, text: str, *, owner: str, send_params: Mapping[str, str]
    ) -> PublishedRef:
        """Answer a DM through the Send API (POST /{owner}/messages), once per item and text.

        The Send API takes no idempotency key; an attempt that never heard back is looked for
        in the conversation with the person (GET /{owner}/conversations?user_id=..., its
        messages): the account's message with the same text, sent after the attempt began."""
        g = self.graph()
        person = item.author_handle

        def send() -> PublishedRef:
            data = g.call(
                "POST",
                f"{owner}/messages",
                data={
                    "recipient": json.dumps({"id": person}),
                    **send_params,
                    "message": json.dumps({"text": text}),
                },
                write=True,
            )
            return PublishedRef(external_id=str(data.get("message_id") or ""), url="")

        def find(record: Mapping[str, Any]) -> PublishedRef | None:
            params = {
                "user_id": person,
                "fields": "messages.limit(25){id,message,from,created_time}",
            }
            if self.kind == "instagram":
                params["platform"] = "instagram"
            conversations = g.call("GET", f"{owner}/conversations", params=params).get("data", [])
            for conversation in conversations:
                for message in (conversation.get("messages") or {}).get("data", []):
                    made = api.parse_time(message.get("created_time"))
                    if self._is_own(message.get("from") or {}) and api.made_by_attempt(
                        record, str(message.get("message") or ""), made
                    ):
                        return PublishedRef(str(message["id"]), "", made)
            return None

        return api.send_once(
            self.channel,
            api.reply_key(item, text),
            text,
            send=send,
            find=find,
            network_name=self.network_name,
        )

    def _comment_once(self, item: InboundItem, text: str, edge: str) -> PublishedRef:
        """Answer a comment publicly (POST /{edge}), once per item and text: an attempt that
        never heard back is looked for first among the comments on that edge
        (`_own_comment`, which each network reads in its own fields)."""
        g = self.graph()

        def send() -> PublishedRef:
            data = g.call("POST", edge, data={"message": text}, write=True)
            return PublishedRef(external_id=str(data["id"]), url="")

        return api.send_once(
            self.channel,
            api.reply_key(item, text),
            text,
            send=send,
            find=lambda record: self._own_comment(edge, record),
            network_name=self.network_name,
        )

    def _own_comment(self, edge: str, record: Mapping[str, Any]) -> PublishedRef | None:
        """The account's comment on `edge` made by the attempt: each network that answers
        comments reads it in its own fields."""
        raise NotImplementedError

    def _is_own(self, author: Mapping[str, Any], username: str = "") -> bool:
        """Whether a comment or message's author is this account (by id, or by handle where
        Meta gives only the username)."""
        handle = self.channel.handle.lstrip("@").lower()
        name = str(username or author.get("username") or "").lower()
        return str(author.get("id") or "") in (self.account_id, self.page_id) or (
            bool(name) and name == handle
        )

    @property
    def page_id(self) -> str:
        return self.tokens.stored().extra.get("page_id") or self.account_id

    # The User Profile API fields that name a person who wrote to the account (Messenger:
    # name; Instagram: name, username); empty where the network has no DMs.
    profile_fields: ClassVar[str] = ""

    def name_senders(
        self, items: Sequence[InboundItem], *, deadline: float | None = None
    ) -> list[InboundItem]:
        """The items, with the readable name of each DM's sender who came without one (webhooks
        carry only the sender's id), asked of the User Profile API (GET /{id}?fields=...) once
        per person in this call. A lookup Meta refuses (no consent, a blocked account, a
        phone-only Messenger account) or that does not answer in time leaves the name empty:
        the message is kept and the inbox shows the id. author_handle stays the id, the key
        the person's conversation and contact already have."""
        return self._named(items, deadline)[0]

    def _named(
        self, items: Sequence[InboundItem], deadline: float | None
    ) -> tuple[list[InboundItem], set[str]]:
        """`name_senders`, and the external ids of the DMs whose sender could not be named for
        now: no time left, past the lookups of one call, Meta unreachable or failing."""
        names: dict[str, str] = {}
        # Meta unreachable or slow: the other lookups of this call would wait as long for
        # nothing, so none is asked after it. Past the cap or the `deadline` (time.monotonic()
        # by which a webhook must answer), names stay empty.
        gave_up = False
        unasked: set[str] = set()
        named = []
        later: set[str] = set()
        for item in items:
            person = item.author_handle
            if item.kind == InboundKind.DM and person and not item.author_name:
                if person not in names:
                    wait = lookup_timeout(deadline)
                    if gave_up or wait is None or len(names) >= PROFILE_LOOKUPS:
                        names[person] = ""
                        unasked.add(person)
                    else:
                        names[person], outcome = self._profile(person, wait)
                        gave_up = outcome == "unreachable"
                        if outcome != "told":
                            unasked.add(person)
                if names[person]:
                    item = dataclasses.replace(item, author_name=names[person])
                elif person in unasked and self.profile_fields and is_graph_id(person):
                    later.add(item.external_id)
            named.append(item)
        return named, later

    def _profile(self, person: str, wait: float) -> tuple[str, str]:
        """(the person's name or "", what came of asking): "told" (a name, or Meta refused
        to tell one: asking again would not change it), "failed" (Meta throttled or failed:
        it may tell later) or "unreachable" (no answer in time: not worth asking it more now)."""
        if not self.profile_fields or not is_graph_id(person):
            return "", "told"  # no id of Meta's: nothing to ask (it would go in the address)
        try:
            profile = self.graph().call(
                "GET",
                person,
                params={"fields": self.profile_fields},
                timeout=wait,
            )
        except ConnectorError as exc:
            logger.info(
                "profile lookup network=%s channel=%s outcome=failed code=%s",
                self.kind,
                self.channel.pk,
                exc.code,
            )
            if exc.code in ("unreachable", "no_answer"):
                return "", "unreachable"
            return "", "told" if exc.permanent else "failed"
        return str(profile.get("name") or profile.get("username") or "").strip(), "told"

    def complete_webhook_items(
        self, items: Sequence[InboundItem], *, deadline: float | None = None
    ) -> Completed:
        """What a webhook delivered, completed with what it leaves out and the Graph API
        tells (the senders' names; Instagram: the text of @mentions), asked no later than
        `deadline` (time.monotonic()). What could not be asked by then, or Meta could not
        answer for now, is in `later`: the caller lands it as it is or asks again."""
        named, later = self._named(items, deadline)
        return Completed(named, frozenset(later))

    def _matching_recent(
        self, record: dict[str, Any], posts: list[dict[str, Any]], *, text_field: str
    ) -> dict[str, Any] | None:
        """The recent post made by the recorded attempt: same text, made after it began."""
        began = api.parse_time(record.get("began"))
        for post in posts:
            made = api.parse_time(post.get("timestamp") or post.get("created_time"))
            text = str(post.get(text_field) or "")
            if api.text_hash(text) == record.get("text") and (
                began is None or made is None or made >= began - _CLOCK_SKEW
            ):
                return post
        return None


_CLOCK_SKEW = timedelta(minutes=2)
# A profile or a mention is looked up while a webhook waits for its answer: never for long.
PROFILE_TIMEOUT_S = 5.0
# At most this many people are looked up in one call (one webhook delivery, one poll).
PROFILE_LOOKUPS = 20
# Every lookup of one webhook delivery shares this many seconds (Meta wants its answer within
# 20): what is not completed by then lands as the webhook gave it.
WEBHOOK_BUDGET_S = 8.0
# A lookup is not started with less than this left.
MIN_LOOKUP_S = 0.5
# The clock deadlines are read on (tests move it).
clock = time.monotonic


def webhook_deadline() -> float:
    """The moment (on `clock`) by which a delivery's lookups must be done."""
    return clock() + WEBHOOK_BUDGET_S


def lookup_timeout(deadline: float | None) -> float | None:
    """How long the next lookup may wait: PROFILE_TIMEOUT_S, or what is left before
    `deadline` when that is shorter; None when too little is left to ask at all."""
    if deadline is None:
        return PROFILE_TIMEOUT_S
    left = deadline - clock()
    return min(PROFILE_TIMEOUT_S, left) if left >= MIN_LOOKUP_S else None


# --- Instagram and Threads: containers -----------------------------------------------------------


class ContainerConnector(MetaConnector):
    """Instagram and Threads publish through media containers."""

    status_fields: ClassVar[str]
    text_param: ClassVar[str]

    @staticmethod
    def _state(data: dict[str, Any]) -> str:
        return str(data.get("status_code") or data.get("status") or "")

    def _container(self, g: graph.Graph, params: dict[str, str]) -> str:
        data = g.call("POST", f"{self.account_id}/{self.media_edge}", data=params, write=True)
        return str(data["id"])

    media_edge: ClassVar[str]
    publish_edge: ClassVar[str]

    def _children(self, g: graph.Graph, post: OutgoingPost) -> list[str]:
        ids = []
        for item in post.media:
            params = {"is_carousel_item": "true"}
            params.update(self._media_params(item, carousel=True))
            ids.append(self._container(g, params))
        for child in ids:
            g.wait_until_ready(child, fields=self.status_fields, state_of=self._state)
        return ids

    def _media_params(self, item: Any, *, carousel: bool) -> dict[str, str]:
        raise NotImplementedError

    def _build(self, g: graph.Graph, post: OutgoingPost) -> str:
        raise NotImplementedError

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Create the container (or reuse the one this attempt made), wait until Meta has
        processed it, publish it, and read its permalink."""
        g = self.graph(post.placement)
        record = api.recall_attempt(self.channel, post.idempotency_key) or {}
        container = str(record.get("container") or "")
        if container:
            state = self._state(g.call("GET", container, params={"fields": self.status_fields}))
            if state.upper() in ("ERROR", "EXPIRED"):
                container = ""
            elif state.upper() == "PUBLISHED":
                found = self.find_published(post.idempotency_key)
                if found is not None:
                    return found
        if not container:
            api.remember_attempt(
                self.channel,
                post.idempotency_key,
                text=api.text_hash(post.text),
                began=timezone.now().isoformat(),
                reply_to=post.reply_to or "",
            )
            container = self._build(g, post)
            api.remember_attempt(self.channel, post.idempotency_key, container=container)
        g.wait_until_ready(container, fields=self.status_fields, state_of=self._state)
        data = g.call(
            "POST",
            f"{self.account_id}/{self.publish_edge}",
            data={"creation_id": container},
            write=True,
        )
        media_id = str(data["id"])
        api.remember_attempt(self.channel, post.idempotency_key, published=media_id)
        link = g.call("GET", media_id, params={"fields": "permalink"})
        return PublishedRef(external_id=media_id, url=str(link.get("permalink") or ""))

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """The post this key's attempt published, judged from the recorded attempt (see the
        module docstring); None when there is no record or no matching post."""
        record = api.recall_attempt(self.channel, idempotency_key)
        if not record:
            return None
        g = self.graph()
        if record.get("published"):
            media_id = str(record["published"])
            link = g.call("GET", media_id, params={"fields": "permalink"})
            return PublishedRef(external_id=media_id, url=str(link.get("permalink") or ""))
        # A reply is not among the profile's posts; Threads lists it among the profile's replies.
        edge = "replies" if record.get("reply_to") else self.recent_edge
        recent = g.call(
            "GET",
            f"{self.account_id}/{edge}",
            params={"fields": f"id,{self.text_param},timestamp,permalink", "limit": "25"},
        ).get("data", [])
        post = self._matching_recent(record, recent, text_field=self.text_param)
        if post is None:
            return None
        return PublishedRef(
            external_id=str(post["id"]),
            url=str(post.get("permalink") or ""),
            published_at=api.parse_time(post.get("timestamp")),
        )

    recent_edge: ClassVar[str]


def _instagram_connect() -> api.AppProvider:
    return _facebook_oauth(
        "instagram",
        "Instagram",
        (
            "instagram_basic",
            "instagram_content_publish",
            "instagram_manage_comments",
            "instagram_manage_insights",
            "instagram_manage_messages",
            "pages_show_list",
            "pages_read_engagement",
            "business_management",
        ),
    )


@register("instagram")
class InstagramConnector(ContainerConnector):
    """An Instagram professional account, through the Instagram API with Facebook Login
    (graph.facebook.com): feed images, carousels, Reels and Stories; comments; DMs by webhook."""

    kind: ClassVar[str] = "instagram"
    network_name: ClassVar[str] = "Instagram"
    base_url: ClassVar[str] = graph.facebook_base()
    # Instagram's User Profile API (by Instagram-scoped id): name, and username since v14.
    profile_fields: ClassVar[str] = "name,username"
    oauth: ClassVar[api.AppProvider] = _instagram_connect()
    status_fields: ClassVar[str] = "status_code,status"
    text_param: ClassVar[str] = "caption"
    media_edge: ClassVar[str] = "media"
    publish_edge: ClassVar[str] = "media_publish"
    recent_edge: ClassVar[str] = "media"

    def _media_params(self, item: Any, *, carousel: bool) -> dict[str, str]:
        if api.is_video(item):
            # A single video is a reel; inside a carousel it is a VIDEO item.
            return {
                "media_type": "VIDEO" if carousel else "REELS",
                "video_url": api.media_url(item),
            }
        params = {"image_url": api.media_url(item)}
        if item.alt_text and not carousel:
            params["alt_text"] = item.alt_text
        return params

    def _build(self, g: graph.Graph, post: OutgoingPost) -> str:
        placement = post.placement
        if not post.media:
            raise ConnectorError(
                _("Instagram posts need an image or a video."), permanent=True, code="no_media"
            )
        if placement == "carousel":
            children = self._children(g, post)
            return self._container(
                g, {"media_type": "CAROUSEL", "children": ",".join(children), "caption": post.text}
            )
        item = post.media[0]
        if placement == "stories":
            key = "video_url" if api.is_video(item) else "image_url"
            return self._container(g, {"media_type": "STORIES", key: api.media_url(item)})
        if placement == "reels":
            return self._container(
                g, {"media_type": "REELS", "video_url": api.media_url(item), "caption": post.text}
            )
        params = self._media_params(item, carousel=False)
        params["caption"] = post.text
        return self._container(g, params)

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Comments and replies on the account's recent posts, newer than the cursor (a time).
        Mentions and DMs arrive by webhook (Instagram has no endpoint to list them)."""
        after = self._since(since)
        data = self.graph().call(
            "GET",
            f"{self.account_id}/media",
            params={
                # The comments edge lists top-level comments; the replies under each come
                # with its replies field.
                "fields": (
                    "id,comments.limit(50){id,text,timestamp,username,from,parent_id,"
                    "replies{id,text,timestamp,username,from,parent_id}}"
                ),
                "limit": str(INBOX_POSTS),
            },
        )
        items: list[InboundItem] = []
        for media in data.get("data", []):
            top = (media.get("comments") or {}).get("data", [])
            replies = [
                {"parent_id": str(comment.get("id") or "")} | reply
                for comment in top
                for reply in (comment.get("replies") or {}).get("data", [])
            ]
            for row in [*top, *replies]:
                comment = {k: v for k, v in row.items() if k != "replies"}
                made = api.parse_time(comment.get("timestamp"))
                author = comment.get("from") or {}
                if made is None or (after is not None and made <= after):
                    continue
                if str(author.get("id") or "") == self.account_id:
                    continue  # our own replies
                items.append(
                    InboundItem(
                        external_id=str(comment["id"]),
                        kind=InboundKind.COMMENT,
                        text=str(comment.get("text") or ""),
                        author_handle=str(comment.get("username") or author.get("username") or ""),
                        author_name=str(comment.get("username") or author.get("username") or ""),
                        created_at=made,
                        in_reply_to=str(comment.get("parent_id") or media["id"]),
                        thread_id=str(media["id"]),
                        raw=comment,
                    )
                )
        return self._page(items, since)

    def complete_webhook_items(
        self, items: Sequence[InboundItem], *, deadline: float | None = None
    ) -> Completed:
        """DMs with their senders' names, and @mentions with what was said: the mentions
        webhook carries only the comment's and the media's ids. Nothing is asked after
        `deadline` (time.monotonic()): a mention not read by then, or that Meta could not
        show for now, is in `later` with only its ids."""
        named, later = self._named(items, deadline)
        done = []
        for item in named:
            if item.kind == InboundKind.MENTION and not item.text:
                item, outcome = self._read_mention(item, deadline)
                if outcome != "told":
                    later.add(item.external_id)
            done.append(item)
        return Completed(done, frozenset(later))

    def _read_mention(
        self, item: InboundItem, deadline: float | None = None
    ) -> tuple[InboundItem, str]:
        """A mention read through the mentioned_comment or mentioned_media field of the
        account (GET /{ig-user-id}?fields=mentioned_comment.comment_id(...){...}), and what
        came of asking, as `_profile` says it.

        A comment mention's documented fields (id, text, timestamp, like_count, media) do not
        name who wrote it: its author stays empty rather than guessed. A caption mention is
        the media, whose username is its author. Meta refusing (comments turned off, the
        post gone) keeps the item as the webhook gave it."""
        value = _dict(network_json(item.raw).get("value"))
        comment_id = str(value.get("comment_id") or "")
        media_id = str(value.get("media_id") or "")
        if not is_graph_id(comment_id or media_id) or (media_id and not is_graph_id(media_id)):
            return item, "told"  # not Meta's ids: they would go into the query as they are
        if comment_id:
            field = "mentioned_comment"
            fields = (
                f"mentioned_comment.comment_id({comment_id})"
                "{id,text,timestamp,like_count,media{id,permalink}}"
            )
        else:
            field = "mentioned_media"
            fields = (
                f"mentioned_media.media_id({media_id})"
                "{id,caption,username,timestamp,media_type,media_url,permalink}"
            )
        wait = lookup_timeout(deadline)
        if wait is None:
            logger.info("mention lookup channel=%s outcome=skipped reason=budget", self.channel.pk)
            return item, "failed"
        try:
            found = _dict(
                self.graph()
                .call("GET", self.account_id, params={"fields": fields}, timeout=wait)
                .get(field)
            )
        except ConnectorError as exc:
            logger.info(
                "mention lookup channel=%s outcome=failed code=%s", self.channel.pk, exc.code
            )
            return item, "told" if exc.permanent else "failed"
        if not found:
            return item, "told"
        author = "" if comment_id else str(found.get("username") or "")
        read = dataclasses.replace(
            item,
            text=str(found.get("text" if comment_id else "caption") or ""),
            author_handle=author,
            author_name=author,
            created_at=api.parse_time(found.get("timestamp")) or item.created_at,
            # A comment answers the media it is on; a caption is the media itself.
            in_reply_to=(media_id or None) if comment_id else None,
            thread_id=media_id or None,
            raw={**network_json(item.raw), field: found},
            media=[] if comment_id else typed_media(found),
        )
        return read, "told"

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer a comment publicly (POST /{comment-id}/replies), a DM (Send API) or an
        @mention (POST /{ig-user-id}/mentions), once per item and text: an attempt that never
        heard back is looked for first among the comment's replies (GET
        /{comment-id}/replies) or in the conversation."""
        if item.kind == InboundKind.DM:
            page_id = self.tokens.stored().extra.get("page_id") or "me"
            return self._message_once(item, text, owner=page_id, send_params={})
        if item.kind == InboundKind.MENTION:
            return self._mention_once(item, text)
        return self._comment_once(item, text, f"{item.external_id}/replies")

    def _mention_once(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer an @mention in someone else's comment or caption: POST
        /{ig-user-id}/mentions with the webhook's media_id (and comment_id for a comment),
        once per item and text.

        A try that never heard back is looked for before sending again: an answer to a
        caption is a comment on that media, listed by its mentioned_media comments. An answer
        to a comment sits under another account's comment, which Instagram lets only its
        owner read: that try is not sent again blindly, the person is asked to look on
        Instagram (send_once without `find`)."""
        value = _dict(network_json(item.raw).get("value"))
        media_id = str(value.get("media_id") or item.thread_id or "")
        comment_id = str(value.get("comment_id") or "")
        if not media_id:
            raise ConnectorError(
                _("Instagram did not say where this mention is; answer it in the Instagram app."),
                permanent=True,
                code="mention_without_media",
            )
        body = {"media_id": media_id, "message": text}
        if comment_id:
            body["comment_id"] = comment_id
        g = self.graph()

        def send() -> PublishedRef:
            data = g.call("POST", f"{self.account_id}/mentions", data=body, write=True)
            return PublishedRef(external_id=str(data.get("id") or ""), url="")

        def find(record: Mapping[str, Any]) -> PublishedRef | None:
            fields = (
                f"mentioned_media.media_id({media_id})"
                "{comments{id,text,timestamp,username,from}}"
            )
            found = _dict(g.call("GET", self.account_id, params={"fields": fields}))
            comments = _dict(_dict(found.get("mentioned_media")).get("comments")).get("data")
            for comment in comments if isinstance(comments, list) else []:
                made = api.parse_time(comment.get("timestamp"))
                if self._is_own(
                    _dict(comment.get("from")), str(comment.get("username") or "")
                ) and api.made_by_attempt(record, str(comment.get("text") or ""), made):
                    return PublishedRef(str(comment["id"]), "", made)
            return None

        return api.send_once(
            self.channel,
            api.reply_key(item, text),
            text,
            send=send,
            find=None if comment_id else find,
            network_name=self.network_name,
        )

    def _own_comment(self, edge: str, record: Mapping[str, Any]) -> PublishedRef | None:
        """This account's comment on `edge` that the recorded attempt made (same text, after
        it began)."""
        comments = (
            self.graph()
            .call("GET", edge, params={"fields": "id,text,timestamp,username,from", "limit": "50"})
            .get("data", [])
        )
        for comment in comments:
            made = api.parse_time(comment.get("timestamp"))
            if self._is_own(
                comment.get("from") or {}, str(comment.get("username") or "")
            ) and api.made_by_attempt(record, str(comment.get("text") or ""), made):
                return PublishedRef(str(comment["id"]), "", made)
        return None

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """Comment on the account's own media (POST /{ig-media-id}/comments).

        Instagram takes no idempotency key: the attempt record, and else the media's comments
        by this account with the same text, keep a retry from commenting twice."""
        g = self.graph()
        media_id = ref.external_id

        def send() -> PublishedRef:
            data = g.call("POST", f"{media_id}/comments", data={"message": text}, write=True)
            return PublishedRef(external_id=str(data["id"]), url="")

        return api.comment_once(
            self.channel,
            idempotency_key,
            text,
            send=send,
            find=lambda record: self._own_comment(f"{media_id}/comments", record),
        )

    def hide(self, item: InboundItem) -> None:
        """Hide a comment (POST /{comment-id}?hide=true); DMs cannot be hidden."""
        if item.kind == InboundKind.DM:
            raise ConnectorError(
                _("Instagram cannot hide direct messages."), permanent=True, code="unsupported"
            )
        self.graph().call("POST", item.external_id, data={"hide": "true"}, write=True)

    def delete_comment(self, item: InboundItem) -> None:
        """Delete a comment on one of the account's media (DELETE /{ig-comment-id})."""
        if item.kind == InboundKind.DM:
            raise ConnectorError(
                _("Instagram direct messages cannot be deleted by the account."),
                permanent=True,
                code="not_supported",
            )
        self.graph().call("DELETE", item.external_id, write=True)

    def delete(self, external_id: str) -> None:
        """Instagram's API can delete comments but not posts: say so."""
        raise ConnectorError(
            _("Instagram does not let apps delete posts. Delete it in the Instagram app."),
            permanent=True,
            code="unsupported",
        )

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Likes and comments (fields), and views, reach, saves and shares (insights)."""
        g = self.graph()
        result = []
        for media_id in refs:
            fields = g.call("GET", media_id, params={"fields": "like_count,comments_count"})
            insights = _insight_values(
                g.call(
                    "GET",
                    f"{media_id}/insights",
                    params={"metric": "views,reach,saved,shares"},
                )
            )
            result.append(
                PostMetrics(
                    external_id=media_id,
                    likes=int(fields.get("like_count") or 0),
                    replies=int(fields.get("comments_count") or 0),
                    reposts=insights.get("shares", 0),
                    impressions=insights.get("views"),
                    extra={k: v for k, v in insights.items() if k in ("reach", "saved")},
                )
            )
        return result

    @classmethod
    def verify_webhook(cls, request: HttpRequest) -> list[InboundItem]:
        raise WebhookRejected(_("Use the organisation's Meta webhook address."), status=404)


def _insight_values(data: dict[str, Any]) -> dict[str, int]:
    """{"data": [{"name": "views", "values": [{"value": 12}]} ...]} -> {"views": 12}."""
    values: dict[str, int] = {}
    for row in data.get("data", []):
        if not isinstance(row, dict):
            continue
        if isinstance(row.get("total_value"), dict):
            values[str(row["name"])] = int(row["total_value"].get("value") or 0)
            continue
        points = row.get("values") or []
        if points and isinstance(points[-1], dict):
            values[str(row.get("name"))] = int(points[-1].get("value") or 0)
    return values


# --- Threads -------------------------------------------------------------------------------------


THREADS_SCOPES = (
    "threads_basic",
    "threads_content_publish",
    "threads_manage_replies",
    "threads_read_replies",
    "threads_manage_insights",
    "threads_manage_mentions",
)


def _threads_connect(channel: Channel, tokens: api.StoredTokens, user: User) -> api.StoredTokens:
    """Trade the short-lived token (1 hour) for a long-lived one (60 days), and note the user
    id as the channel's account id."""
    org = channel.organization_id
    data = _graph_get(
        f"{graph.THREADS_BASE.rsplit('/', 1)[0]}/access_token",
        {
            "grant_type": "th_exchange_token",
            "client_secret": api.require_app_value(org, "threads", "client_secret", "Threads"),
            "access_token": tokens.access_token,
        },
        "Threads",
    )
    user_id = tokens.extra.get("user_id", "")
    if user_id and channel.external_id != user_id:
        do_update_channel(channel, external_id=user_id, acting_user=user)
    return api.StoredTokens(
        access_token=str(data["access_token"]),
        expires_at=timezone.now() + timedelta(seconds=int(data.get("expires_in") or 0))
        if data.get("expires_in")
        else None,
        scopes=tokens.scopes,
        extra=dict(tokens.extra),
    )


def _threads_refresh(tokens: api.StoredTokens) -> api.StoredTokens:
    """Threads' long-lived tokens refresh themselves (no refresh token): GET
    /refresh_access_token?grant_type=th_refresh_token while still valid."""
    data = _graph_get(
        f"{graph.THREADS_BASE.rsplit('/', 1)[0]}/refresh_access_token",
        {"grant_type": "th_refresh_token", "access_token": tokens.access_token},
        "Threads",
    )
    return api.StoredTokens(
        access_token=str(data["access_token"]),
        expires_at=timezone.now() + timedelta(seconds=int(data.get("expires_in") or 0)),
    )


@register("threads")
class ThreadsConnector(ContainerConnector):
    """A Threads profile through the Threads API (graph.threads.net): text, image, video and
    carousel posts; replies and mentions; hide and delete; insights."""

    kind: ClassVar[str] = "threads"
    network_name: ClassVar[str] = "Threads"
    base_url: ClassVar[str] = graph.THREADS_BASE
    oauth: ClassVar[api.AppProvider] = api.AppProvider(
        "threads",
        "Threads",
        authorize_url="https://threads.net/oauth/authorize",
        token_url=f"{graph.THREADS_BASE.rsplit('/', 1)[0]}/oauth/access_token",
        scopes=THREADS_SCOPES,
        pkce=False,
        scope_separator=",",
        service_url=graph.THREADS_BASE,
        after_connect=_threads_connect,
    )
    status_fields: ClassVar[str] = "status,error_message"
    text_param: ClassVar[str] = "text"
    media_edge: ClassVar[str] = "threads"
    publish_edge: ClassVar[str] = "threads_publish"
    recent_edge: ClassVar[str] = "threads"

    def _refresher(self) -> Any:
        return _threads_refresh

    def refresh_token(self) -> TokenSet | None:
        # A long-lived Threads token can be refreshed once it is a day old; refresh a week early.
        fresh = self.tokens.stored(reload=True)
        if fresh.near_expiry(timedelta(days=7)):
            renewed = self.tokens.refresh(force=True)
            if renewed is not None:
                return TokenSet(renewed.access_token, None, renewed.expires_at)
        return None

    def _media_params(self, item: Any, *, carousel: bool) -> dict[str, str]:
        if api.is_video(item):
            return {"media_type": "VIDEO", "video_url": api.media_url(item)}
        params = {"media_type": "IMAGE", "image_url": api.media_url(item)}
        if item.alt_text:
            params["alt_text"] = item.alt_text
        return params

    def _build(self, g: graph.Graph, post: OutgoingPost) -> str:
        extra = {"reply_to_id": post.reply_to} if post.reply_to else {}
        if len(post.media) > 1:
            children = self._children(g, post)
            return self._container(
                g,
                {"media_type": "CAROUSEL", "children": ",".join(children), "text": post.text}
                | extra,
            )
        if post.media:
            params = self._media_params(post.media[0], carousel=False)
            return self._container(g, params | {"text": post.text} | extra)
        return self._container(g, {"media_type": "TEXT", "text": post.text} | extra)

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Replies to the profile's recent posts and mentions of it, newer than the cursor."""
        after = self._since(since)
        g = self.graph()
        fields = "id,text,username,timestamp,permalink,replied_to,root_post,media_type,media_url"
        items: list[InboundItem] = []
        posts = g.call(
            "GET", f"{self.account_id}/threads", params={"fields": "id", "limit": str(INBOX_POSTS)}
        ).get("data", [])
        for post in posts:
            # /conversation lists every reply at any depth; /replies only the top-level ones,
            # so answers to a reply never reached the inbox.
            replies = g.call("GET", f"{post['id']}/conversation", params={"fields": fields})
            items += self._items(replies.get("data", []), InboundKind.COMMENT, after)
        mentions = g.call("GET", f"{self.account_id}/mentions", params={"fields": fields})
        items += self._items(mentions.get("data", []), InboundKind.MENTION, after)
        return self._page(items, since)

    def _items(
        self, rows: list[dict[str, Any]], kind: str, after: datetime | None
    ) -> list[InboundItem]:
        return [
            item
            for row in rows
            if (item := threads_item(row, kind)) is not None
            and (after is None or item.created_at > after)
            and row.get("username") != self.channel.handle.lstrip("@")
        ]

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """A reply is a post with reply_to_id: container, then publish; once per item and
        text. An earlier attempt is looked for first (its record, else the profile's replies
        by text); a container it made and Meta did not publish is published, not made again."""
        key = api.reply_key(item, text)
        if api.recall_attempt(self.channel, key):
            found = self.find_published(key)
            if found is not None:
                return found
        return self.publish(OutgoingPost(text=text, idempotency_key=key, reply_to=item.external_id))

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """Threads' comment is a reply to the profile's own post: a container with reply_to_id,
        then threads_publish. An earlier attempt with this key is looked for first (its record,
        else the profile's replies by text), so a retry never replies twice."""
        if api.recall_attempt(self.channel, idempotency_key):
            found = self.find_published(idempotency_key)
            if found is not None:
                return found
        return self.publish(
            OutgoingPost(text=text, idempotency_key=idempotency_key, reply_to=ref.external_id)
        )

    def hide(self, item: InboundItem) -> None:
        """Hide a reply (POST /{reply-id}/manage_reply?hide=true)."""
        self.graph().call(
            "POST", f"{item.external_id}/manage_reply", data={"hide": "true"}, write=True
        )

    def delete_comment(self, item: InboundItem) -> None:
        """Threads lets a profile delete only its own posts, not other people's replies."""
        raise ConnectorError(
            _(
                "Threads does not let apps delete other people's replies. Hide the reply "
                "instead, or delete it in the Threads app."
            ),
            permanent=True,
            code="not_supported",
        )

    def delete(self, external_id: str) -> None:
        self.graph().call("DELETE", external_id, write=True)

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Views, likes, replies, reposts and quotes from /{media-id}/insights."""
        g = self.graph()
        result = []
        for media_id in refs:
            values = _insight_values(
                g.call(
                    "GET",
                    f"{media_id}/insights",
                    params={"metric": "views,likes,replies,reposts,quotes"},
                )
            )
            result.append(
                PostMetrics(
                    external_id=media_id,
                    likes=values.get("likes", 0),
                    replies=values.get("replies", 0),
                    reposts=values.get("reposts", 0),
                    impressions=values.get("views"),
                    extra={"quotes": values.get("quotes", 0)},
                )
            )
        return result

    @classmethod
    def verify_webhook(cls, request: HttpRequest) -> list[InboundItem]:
        raise WebhookRejected(_("Use the organisation's Meta webhook address."), status=404)


def threads_item(row: dict[str, Any], kind: str) -> InboundItem | None:
    made = api.parse_time(row.get("timestamp"))
    external_id = api.id_of(row.get("id"))
    if not external_id or made is None:
        return None
    return InboundItem(
        external_id=external_id,
        kind=kind,
        text=str(row.get("text") or ""),
        author_handle=str(row.get("username") or ""),
        author_name=str(row.get("username") or ""),
        created_at=made,
        in_reply_to=api.id_of(_dict(row.get("replied_to")).get("id")) or None,
        thread_id=api.id_of(_dict(row.get("root_post")).get("id")) or None,
        raw=row,
        media=typed_media(row),
    )


# --- Facebook Pages ------------------------------------------------------------------------------


@register("facebook")
class FacebookConnector(MetaConnector):
    """A Facebook Page: text, photo, multi-photo and video posts, Reels; comments and Messenger
    conversations; reply, hide, delete; reactions, comments and shares."""

    kind: ClassVar[str] = "facebook"
    network_name: ClassVar[str] = "Facebook"
    base_url: ClassVar[str] = graph.facebook_base()
    # Messenger's User Profile API: name is the person's first and last name.
    profile_fields: ClassVar[str] = "name"
    oauth: ClassVar[api.AppProvider] = _facebook_oauth(
        "facebook",
        "Facebook",
        (
            "pages_show_list",
            "pages_read_engagement",
            "pages_manage_posts",
            "pages_manage_engagement",
            "pages_read_user_content",
            "pages_messaging",
            "read_insights",
        ),
    )

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Publish to the Page; Reels through the Reels Publishing API."""
        g = self.graph(post.placement)
        page = self.account_id
        api.remember_attempt(
            self.channel,
            post.idempotency_key,
            text=api.text_hash(post.text),
            began=timezone.now().isoformat(),
        )
        if post.placement == "reels":
            return self._publish_reel(g, post)
        videos = [m for m in post.media if api.is_video(m)]
        if videos:
            data = g.call(
                "POST",
                f"{page}/videos",
                data={"file_url": api.media_url(videos[0]), "description": post.text},
                write=True,
            )
            video_id = str(data["id"])
            return PublishedRef(video_id, f"https://www.facebook.com/{page}/videos/{video_id}")
        if len(post.media) == 1:
            data = g.call(
                "POST",
                f"{page}/photos",
                data={"url": api.media_url(post.media[0]), "message": post.text},
                write=True,
            )
            post_id = str(data.get("post_id") or data["id"])
        else:
            body = {"message": post.text}
            for index, item in enumerate(post.media):
                photo = g.call(
                    "POST",
                    f"{page}/photos",
                    data={"url": api.media_url(item), "published": "false"},
                    write=True,
                )
                body[f"attached_media[{index}]"] = json.dumps({"media_fbid": str(photo["id"])})
            post_id = str(g.call("POST", f"{page}/feed", data=body, write=True)["id"])
        api.remember_attempt(self.channel, post.idempotency_key, published=post_id)
        link = g.call("GET", post_id, params={"fields": "permalink_url"})
        return PublishedRef(post_id, str(link.get("permalink_url") or ""))

    def _publish_reel(self, g: graph.Graph, post: OutgoingPost) -> PublishedRef:
        """Reels Publishing API: start, upload the hosted file, wait for processing, finish."""
        page = self.account_id
        if not post.media or not api.is_video(post.media[0]):
            raise ConnectorError(
                _("A Facebook reel needs one video."), permanent=True, code="no_media"
            )
        start = g.call("POST", f"{page}/video_reels", data={"upload_phase": "start"}, write=True)
        video_id = str(start["video_id"])
        token = self.tokens.access_token()
        with api.client() as http:
            request = http.build_request(
                "POST",
                str(
                    start.get("upload_url")
                    or f"https://rupload.facebook.com/video-upload/"
                    f"{graph.graph_version()}/{video_id}"
                ),
                headers={
                    "Authorization": f"OAuth {token}",
                    "file_url": api.media_url(post.media[0]),
                },
            )
            response = api.send(http, request, write=True, network_name=self.network_name)
        if not response.is_success:
            raise errors.to_connector_error(response, self.network_name, g.spec)
        data = g.call(
            "POST",
            f"{page}/video_reels",
            data={
                "upload_phase": "finish",
                "video_id": video_id,
                "video_state": "PUBLISHED",
                "description": post.text,
            },
            write=True,
        )
        if not data.get("success", True):
            raise ConnectorError(
                _("Facebook did not accept the reel."), permanent=True, code="reel_refused"
            )
        g.wait_until_ready(
            video_id,
            fields="status",
            state_of=lambda d: {
                "ready": "FINISHED",
                "processing": "IN_PROGRESS",
                "error": "ERROR",
                "expired": "EXPIRED",
            }.get(str((d.get("status") or {}).get("video_status") or ""), "IN_PROGRESS"),
        )
        api.remember_attempt(self.channel, post.idempotency_key, published=video_id)
        return PublishedRef(video_id, f"https://www.facebook.com/reel/{video_id}")

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """The Page post this key's attempt made, from the attempt record and the Page's recent
        posts (see the module docstring)."""
        record = api.recall_attempt(self.channel, idempotency_key)
        if not record:
            return None
        g = self.graph()
        if record.get("published"):
            post_id = str(record["published"])
            link = g.call("GET", post_id, params={"fields": "permalink_url"})
            return PublishedRef(post_id, str(link.get("permalink_url") or ""))
        recent = g.call(
            "GET",
            f"{self.account_id}/posts",
            params={"fields": "id,message,created_time,permalink_url", "limit": "25"},
        ).get("data", [])
        post = self._matching_recent(record, recent, text_field="message")
        if post is None:
            return None
        return PublishedRef(
            external_id=str(post["id"]),
            url=str(post.get("permalink_url") or ""),
            published_at=api.parse_time(post.get("created_time")),
        )

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Comments on the Page's recent posts and Messenger messages, newer than the cursor."""
        after = self._since(since)
        g = self.graph()
        page = self.account_id
        items: list[InboundItem] = []
        posts = g.call(
            "GET",
            f"{page}/posts",
            params={
                # filter(stream): every comment with its parent; the default (toplevel)
                # leaves out the replies under a comment.
                # from{id,name}: who wrote it, by name; attachment: the photo, video, GIF or
                # sticker the comment carries.
                "fields": (
                    "id,comments.filter(stream).limit(50)"
                    "{id,message,from{id,name},created_time,parent{id},attachment}"
                ),
                "limit": str(INBOX_POSTS),
            },
        ).get("data", [])
        for post in posts:
            for comment in (post.get("comments") or {}).get("data", []):
                item = facebook_comment(comment, post_id=str(post["id"]))
                mine = item is not None and network_json(item.raw).get("from", {}).get("id") == page
                if item and not mine and (after is None or item.created_at > after):
                    items.append(item)
        conversations = g.call(
            "GET",
            f"{page}/conversations",
            params={
                "fields": (
                    "messages.limit(20){id,message,from,created_time,"
                    "attachments{id,mime_type,name,image_data,video_data,file_url}}"
                )
            },
        ).get("data", [])
        for conversation in conversations:
            for message in (conversation.get("messages") or {}).get("data", []):
                made = api.parse_time(message.get("created_time"))
                sender = message.get("from") or {}
                if made is None or str(sender.get("id")) == page:
                    continue
                if after is not None and made <= after:
                    continue
                items.append(
                    InboundItem(
                        external_id=str(message["id"]),
                        kind=InboundKind.DM,
                        text=str(message.get("message") or ""),
                        author_handle=str(sender.get("id") or ""),
                        author_name=str(sender.get("name") or ""),
                        created_at=made,
                        # A Page's conversation is always with one person: threaded by their
                        # page-scoped id, as webhooks deliver it (they carry no conversation
                        # id), so a message polled and one pushed land in one conversation.
                        thread_id=None,
                        raw={**message, "conversation_id": conversation.get("id")},
                        media=conversation_message_media(message),
                    )
                )
        return self._page(self.name_senders(items), since)

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer a comment (POST /{comment-id}/comments) or a Messenger message (Send API),
        once per item and text: an attempt that never heard back is looked for first among
        the comment's comments by the Page (GET /{comment-id}/comments) or in the
        conversation."""
        if item.kind == InboundKind.DM:
            return self._message_once(
                item, text, owner=self.account_id, send_params={"messaging_type": "RESPONSE"}
            )
        # Comments nest one level: a reply to a reply goes under the comment it answers.
        parent = str((network_json(item.raw).get("parent") or {}).get("id") or item.external_id)
        return self._comment_once(item, text, f"{parent}/comments")

    def _own_comment(self, edge: str, record: Mapping[str, Any]) -> PublishedRef | None:
        """The Page's comment on `edge` that the recorded attempt made (same text, after it
        began)."""
        comments = (
            self.graph()
            .call(
                "GET",
                edge,
                params={
                    "fields": "id,message,from,created_time",
                    "order": "reverse_chronological",
                    "limit": "50",
                },
            )
            .get("data", [])
        )
        for comment in comments:
            author = str((comment.get("from") or {}).get("id") or "")
            made = api.parse_time(comment.get("created_time"))
            text_of = str(comment.get("message") or "")
            if author == self.account_id and api.made_by_attempt(record, text_of, made):
                return PublishedRef(str(comment["id"]), "", made)
        return None

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """Comment on the Page's own post as the Page (POST /{post-id}/comments).

        Facebook takes no idempotency key: the attempt record, and else the post's comments by
        the Page with the same text, keep a retry from commenting twice."""
        g = self.graph()
        post_id = ref.external_id

        def send() -> PublishedRef:
            data = g.call("POST", f"{post_id}/comments", data={"message": text}, write=True)
            return PublishedRef(external_id=str(data["id"]), url="")

        return api.comment_once(
            self.channel,
            idempotency_key,
            text,
            send=send,
            find=lambda record: self._own_comment(f"{post_id}/comments", record),
        )

    def hide(self, item: InboundItem) -> None:
        """Hide a comment from everyone but its author and their friends."""
        if item.kind == InboundKind.DM:
            raise ConnectorError(
                _("Facebook cannot hide Messenger messages."), permanent=True, code="unsupported"
            )
        self.graph().call("POST", item.external_id, data={"is_hidden": "true"}, write=True)

    def delete_comment(self, item: InboundItem) -> None:
        """Delete a comment on one of the Page's posts, as the Page (DELETE /{comment-id})."""
        if item.kind == InboundKind.DM:
            raise ConnectorError(
                _("Facebook cannot delete Messenger messages."),
                permanent=True,
                code="not_supported",
            )
        self.graph().call("DELETE", item.external_id, write=True)

    def delete(self, external_id: str) -> None:
        self.graph().call("DELETE", external_id, write=True)

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Reactions, comments and shares, 50 posts per request (?ids=)."""
        g = self.graph()
        result = []
        ids = list(refs)
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start : start + METRICS_BATCH]
            data = g.call(
                "GET",
                "",
                params={
                    "ids": ",".join(batch),
                    "fields": "reactions.summary(total_count).limit(0),"
                    "comments.summary(total_count).limit(0),shares",
                },
            )
            for post_id in batch:
                row = data.get(post_id) or {}
                result.append(
                    PostMetrics(
                        external_id=post_id,
                        likes=int(
                            ((row.get("reactions") or {}).get("summary") or {}).get("total_count")
                            or 0
                        ),
                        replies=int(
                            ((row.get("comments") or {}).get("summary") or {}).get("total_count")
                            or 0
                        ),
                        reposts=int((row.get("shares") or {}).get("count") or 0),
                    )
                )
        return result

    @classmethod
    def verify_webhook(cls, request: HttpRequest) -> list[InboundItem]:
        raise WebhookRejected(_("Use the organisation's Meta webhook address."), status=404)


def facebook_comment(comment: dict[str, Any], *, post_id: str) -> InboundItem | None:
    made = api.parse_time(comment.get("created_time"))
    external_id = api.id_of(comment.get("id"))
    if not external_id or made is None:
        return None
    author = _dict(comment.get("from"))
    return InboundItem(
        external_id=external_id,
        kind=InboundKind.COMMENT,
        text=str(comment.get("message") or ""),
        author_handle=api.id_of(author.get("id")),
        author_name=str(author.get("name") or ""),
        created_at=made,
        in_reply_to=api.id_of(_dict(comment.get("parent")).get("id")) or post_id,
        thread_id=post_id,
        raw=comment,
        media=facebook_comment_media(comment),
    )


# --- What people send: attachments ----------------------------------------------------------------


def media_entry(kind: str, url: Any, alt: Any = "") -> dict[str, Any] | None:
    """One attachment as the inbox lists it ({"type", "url", "alt"}), or None when its address
    is not http(s): the inbox links only those."""
    link = str(url or "").strip()
    if not link.lower().startswith(("https://", "http://")):
        return None
    return {"type": kind or "file", "url": link, "alt": str(alt or "")}


def _kept(entries: Sequence[dict[str, Any] | None]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry is not None and entry["url"] not in seen:
            seen.add(entry["url"])
            kept.append(entry)
    return kept


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_GRAPH_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")


def is_graph_id(value: str) -> bool:
    """Whether a webhook's id can be one of Meta's (digits, or ids joined by "_"), so safe to
    put into a Graph address or field expansion: a signed delivery is still no reason to ask
    for `../me/accounts`."""
    return _GRAPH_ID.fullmatch(value) is not None


def facebook_comment_media(comment: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A Facebook comment's photo, video, GIF or sticker: the comment's `attachment` (type,
    media{image{src}, source}, url), or the `photo` and `video` addresses a Page feed webhook
    carries. A type Greenroom does not know is kept with its own name."""
    found: list[dict[str, Any] | None] = []
    attachment = _dict(comment.get("attachment"))
    if attachment:
        kind = str(attachment.get("type") or "")
        media = _dict(attachment.get("media"))
        image = _dict(media.get("image"))
        if kind == "photo":
            found.append(media_entry("image", image.get("src")))
        elif "video" in kind:
            # The playable file when Meta gives it, else the video's page on Facebook.
            found.append(media_entry("video", media.get("source") or attachment.get("url")))
        else:
            found.append(
                media_entry(kind, media.get("source") or image.get("src") or attachment.get("url"))
            )
    found.append(media_entry("image", comment.get("photo")))
    found.append(media_entry("video", comment.get("video")))
    return _kept(found)


def message_media(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What a Messenger or Instagram DM delivered by webhook carries: `attachments`, each a
    type (image, video, audio, file; Instagram also share, story_mention, ig_reel ...) and
    `payload.url`."""
    rows = message.get("attachments")
    return _kept(
        [
            media_entry(str(row.get("type") or "file"), _dict(row.get("payload")).get("url"))
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, dict)
        ]
    )


def conversation_message_media(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What a polled conversation message carries: its `attachments` edge, each with
    image_data, video_data (url) or a file_url and its mime_type."""
    rows = _dict(message.get("attachments")).get("data")
    found: list[dict[str, Any] | None] = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        video, image = _dict(row.get("video_data")), _dict(row.get("image_data"))
        if video:
            found.append(media_entry("video", video.get("url")))
        elif image:
            found.append(media_entry("image", image.get("url")))
        else:
            family = str(row.get("mime_type") or "").split("/")[0]
            kind = family if family in ("image", "video", "audio") else "file"
            found.append(media_entry(kind, row.get("file_url")))
    return _kept(found)


_MEDIA_TYPES = {
    "IMAGE": "image",
    "VIDEO": "video",
    "AUDIO": "audio",
    "REELS": "video",
    # A carousel's media_url is its first item's (Threads shows it for carousel replies).
    "CAROUSEL_ALBUM": "carousel",
}
# Media types that carry no file of their own (a text post, a repost).
_NO_FILE = frozenset({"", "TEXT_POST", "TEXT", "REPOST_FACADE"})


def typed_media(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The file of a Threads post or reply or an Instagram media: `media_type` and
    `media_url`."""
    kind = str(row.get("media_type") or "").upper()
    if kind in _NO_FILE:
        return []
    kind_name = _MEDIA_TYPES.get(kind, kind.lower())
    return _kept([media_entry(kind_name, row.get("media_url"), row.get("alt_text"))])
