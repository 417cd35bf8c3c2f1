"""YouTube channels through the YouTube Data API v3, with httpx.

- Connect: Google's OAuth 2 authorization code with PKCE, `access_type=offline` and
  `prompt=consent` so Google hands out a refresh token; scopes youtube.upload and
  youtube.force-ssl (comments and their moderation). The channel id (UC...) becomes the channel's
  external id; its uploads playlist is kept with the tokens. Access tokens last an hour and are
  refreshed before they expire; a refresh Google refuses (revoked access, or an app still in
  Google's "testing" mode, whose refresh tokens die after seven days) flags the channel.
- Publish: videos.insert as a resumable upload: POST the metadata (X-Upload-Content-Length,
  X-Upload-Content-Type) for a session address (Location), PUT the file in chunks with
  Content-Range; YouTube answers 308 Resume Incomplete with the Range it holds until the last
  chunk returns the video. The session address is kept in the attempt record, so a retry
  continues the same upload instead of making a second video.
- find_published: every upload carries a tag derived from the idempotency key (tags are not
  shown to viewers). The engine's question is answered from the attempt record, the upload
  session's state, or else by looking for that tag among the channel's newest uploads: YouTube
  can tell even when the attempt record is gone.
- Shorts: the API has no separate call; a vertical video of up to three minutes is a Short.
  The "shorts" placement uploads the same way and links to /shorts/<id>.
- Inbox: commentThreads.list for every video of the channel (allThreadsRelatedToChannelId), newest
  first, after a time cursor, with the replies each thread carries; a thread that carries fewer
  replies than its totalReplyCount has them all read with comments.list (parentId). YouTube has
  no webhooks for comments (its PubSubHubbub feed announces new videos only).
- Reply (comments.insert with parentId; once per comment and text through
  `network_api.send_once`: a resend after an unknown outcome first reads the thread's replies,
  comments.list with parentId; YouTube has no private messages), hide
  (comments.setModerationStatus rejected), delete videos, statistics per video (views, likes,
  comments). First comments: a top-level comment by the channel on its own video
  (commentThreads.insert), once per key through the attempt record.
- Quota: quotaExceeded waits until midnight Pacific Time, when Google resets the daily quota.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core.actions import do_update_channel
from greenroom.networks import network_api as api
from greenroom.networks import rules
from greenroom.networks.base import (
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
from greenroom.networks.registry import register
from greenroom.networks.youtube import errors

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest

    from greenroom.core.models import Channel, User

logger = logging.getLogger(__name__)

API = "https://www.googleapis.com/youtube/v3"
UPLOAD = "https://www.googleapis.com/upload/youtube/v3/videos"
NETWORK_NAME = "YouTube"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.force-ssl",
)
# Resumable chunks must be multiples of 256 KiB (except the last one).
CHUNK_BYTES = 32 * 256 * 1024
RECENT_UPLOADS = 50
INBOX_PAGES = 5
# Pages of 100 replies read for one thread whose replies commentThreads did not all carry.
REPLY_PAGES = 5
# How long the replies read for a thread are remembered (shared cache), to read them again
# only when the thread has changed.
REPLIES_READ_TTL_S = 7 * 24 * 3600
METRICS_BATCH = 50
_RANGE = re.compile(r"bytes=0-(\d+)")


def key_tag(idempotency_key: str) -> str:
    """The tag that marks the video an attempt uploaded (short, and meaningless to viewers)."""
    return "gr" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:14]


def video_url(video_id: str, placement: str = "feed") -> str:
    if placement == "shorts":
        return f"https://www.youtube.com/shorts/{video_id}"
    return f"https://www.youtube.com/watch?v={video_id}"


def comment_url(video_id: str, comment_id: str) -> str:
    """The video's page opened at one comment (YouTube's `lc` parameter)."""
    return f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}"


def _spec(placement: str) -> rules.PlacementSpec:
    try:
        return rules.get_spec("youtube", placement)
    except rules.UnknownNetwork:
        # A rule table older than version 3 has no Shorts entry: they are videos.
        return rules.get_spec("youtube", "feed")


def _connect(channel: Channel, tokens: api.StoredTokens, user: User) -> api.StoredTokens:
    """Note the YouTube channel the Google account chose and its uploads playlist."""
    if not tokens.refresh_token:
        raise ConnectorError(
            _(
                "Google did not give Greenroom lasting access to this YouTube channel. Remove "
                "Greenroom under 'Third-party access' in the Google account, then connect again."
            ),
            permanent=True,
            code="no_refresh_token",
        )
    with api.client() as http:
        request = http.build_request(
            "GET",
            f"{API}/channels",
            params={"part": "id,snippet,contentDetails", "mine": "true"},
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        response = api.send(http, request, write=False, network_name=NETWORK_NAME)
    if not response.is_success:
        raise errors.to_connector_error(response, None)
    items = api.json_of(response).get("items") or []
    if not items:
        raise ConnectorError(
            _(
                "YouTube: the Google account that connected has no YouTube channel. Create the "
                "channel on YouTube, then connect again."
            ),
            permanent=True,
            code="no_channel",
        )
    found = items[0]
    channel_id = str(found["id"])
    if channel.external_id and channel.external_id != channel_id:
        raise ConnectorError(
            _(
                "YouTube: this channel was connected to another YouTube channel before. Sign in "
                "and choose %(handle)s on Google's screen."
            )
            % {"handle": channel.handle},
            permanent=True,
            code="other_channel",
        )
    if channel.external_id != channel_id:
        do_update_channel(channel, external_id=channel_id, acting_user=user)
    uploads = ((found.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
    return replace(
        tokens,
        extra={
            **tokens.extra,
            "uploads": str(uploads or ""),
            "custom_url": str((found.get("snippet") or {}).get("customUrl") or ""),
        },
    )


OAUTH = api.AppProvider(
    "youtube",
    NETWORK_NAME,
    authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
    token_url="https://oauth2.googleapis.com/token",  # noqa: S106 (an address, not a secret)
    scopes=SCOPES,
    pkce=True,
    extra_authorize_params={
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    },
    service_url=API,
    after_connect=_connect,
)


@register("youtube")
class YouTubeConnector:
    """A YouTube channel: videos and Shorts by resumable upload; comments on all its videos;
    reply and hide comments; delete videos; statistics."""

    kind: ClassVar[str] = "youtube"
    oauth: ClassVar[api.AppProvider] = OAUTH
    polls_inbox: ClassVar[bool] = True

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.tokens = api.ChannelTokens(channel, NETWORK_NAME, OAUTH.refresher(channel))

    # --- plumbing --------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        write: bool = False,
        spec: rules.PlacementSpec | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        for attempt in range(2):
            token = self.tokens.access_token()
            with api.client() as http:
                request = http.build_request(
                    method,
                    url if url.startswith("https://") else f"{API}/{url}",
                    params=params,
                    json=json_body,
                    content=content,
                    headers={"Authorization": f"Bearer {token}", **(headers or {})},
                )
                response = api.send(http, request, write=write, network_name=NETWORK_NAME)
            if response.is_success or response.status_code in ok_statuses:
                return response
            error = errors.to_connector_error(response, spec)
            if error.code != "reconnect_needed":
                raise error
            # Refused before it did anything: refresh once (another worker may have already).
            if attempt == 0 and self.tokens.refresh(force=True) is not None:
                continue
            raise self.tokens.reconnect_error(error.message or _("the token was refused"))
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return api.json_of(self._send(method, url, **kwargs))

    @property
    def channel_id(self) -> str:
        if not self.channel.external_id:
            raise self.tokens.reconnect_error(_("Greenroom does not know its channel id"))
        return self.channel.external_id

    def uploads_playlist(self) -> str:
        stored = str(self.tokens.stored().extra.get("uploads") or "")
        # A channel's uploads playlist is its id with UU in place of UC.
        return stored or "UU" + self.channel_id[2:]

    # --- publishing ------------------------------------------------------------------------------

    def _metadata(self, post: OutgoingPost, spec: rules.PlacementSpec) -> dict[str, Any]:
        title = str(post.extra.get("title") or "").strip()
        if not title:
            title = (post.text.strip().splitlines() or [""])[0].strip() or _("Video")
            if spec.title is not None:
                title = title[: spec.title.limit]
        tags = [str(t) for t in post.extra.get("tags") or []]
        return {
            "snippet": {
                "title": title,
                "description": post.text,
                "tags": [*tags, key_tag(post.idempotency_key)],
                "categoryId": str(post.extra.get("category_id") or "22"),
            },
            "status": {
                "privacyStatus": str(post.extra.get("privacy_status") or "public"),
                "selfDeclaredMadeForKids": bool(post.extra.get("made_for_kids", False)),
            },
        }

    def _start_upload(
        self, metadata: dict[str, Any], size: int, mime: str, spec: rules.PlacementSpec
    ) -> str:
        response = self._send(
            "POST",
            UPLOAD,
            params={"uploadType": "resumable", "part": "snippet,status"},
            json_body=metadata,
            headers={
                "X-Upload-Content-Length": str(size),
                "X-Upload-Content-Type": mime,
            },
            write=True,
            spec=spec,
        )
        session = str(response.headers.get("Location", ""))
        if not session.startswith("https://"):
            raise ConnectorError(
                _("YouTube did not open an upload. Greenroom will retry."), code="no_session"
            )
        return session

    def _upload_state(self, session: str, size: int) -> tuple[int, dict[str, Any] | None]:
        """(bytes YouTube holds, the video when the upload is complete) for a session."""
        response = self._send(
            "PUT",
            session,
            content=b"",
            headers={"Content-Range": f"bytes */{size}"},
            ok_statuses=(308, 404),
        )
        if response.status_code == 404:
            return -1, None  # the session expired: start again
        if response.status_code == 308:
            return _received(response), None
        return size, api.json_of(response)

    def _upload(self, session: str, content: bytes, mime: str, start: int) -> dict[str, Any]:
        """PUT the rest of the file from `start`, chunk by chunk, following YouTube's Range."""
        size = len(content)
        while True:
            end = min(start + CHUNK_BYTES, size) - 1
            response = self._send(
                "PUT",
                session,
                content=content[start : end + 1],
                headers={"Content-Type": mime, "Content-Range": f"bytes {start}-{end}/{size}"},
                write=True,
                ok_statuses=(308,),
            )
            if response.status_code != 308:
                return api.json_of(response)
            start = _received(response)
            if start >= size:
                raise ConnectorError(
                    _("YouTube holds the whole file but did not finish the upload. Retrying."),
                    code="upload_incomplete",
                )

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Upload the video (resuming this attempt's upload if one was started)."""
        spec = _spec(post.placement)
        videos = [m for m in post.media if api.is_video(m)]
        if len(videos) != 1 or len(post.media) != 1:
            raise ConnectorError(
                _("A YouTube post is exactly one video. Attach one video file."),
                permanent=True,
                code="no_video",
            )
        item = videos[0]
        record = api.recall_attempt(self.channel, post.idempotency_key) or {}
        if record.get("published"):
            return PublishedRef(
                str(record["published"]), video_url(str(record["published"]), post.placement)
            )
        content = api.media_bytes(item)
        session = str(record.get("session") or "")
        start = 0
        video: dict[str, Any] | None = None
        if session:
            start, video = self._upload_state(session, len(content))
            if start < 0:
                session, start = "", 0
        if not session:
            session = self._start_upload(
                self._metadata(post, spec), len(content), item.mime_type, spec
            )
            api.remember_attempt(
                self.channel,
                post.idempotency_key,
                session=session,
                size=len(content),
                began=timezone.now().isoformat(),
            )
        if video is None:
            video = self._upload(session, content, item.mime_type, start)
        video_id = str(video.get("id") or "")
        if not video_id:
            raise ConnectorError(
                _(
                    "YouTube finished the upload but did not say the video's id. Greenroom will "
                    "check."
                ),
                code="no_id",
            )
        api.remember_attempt(self.channel, post.idempotency_key, published=video_id)
        published = api.parse_time((video.get("snippet") or {}).get("publishedAt"))
        return PublishedRef(video_id, video_url(video_id, post.placement), published)

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """The video this key's attempt uploaded: from the attempt record, the upload session,
        or the key's tag among the channel's newest uploads."""
        record = api.recall_attempt(self.channel, idempotency_key) or {}
        if record.get("published"):
            return PublishedRef(str(record["published"]), video_url(str(record["published"])))
        session = str(record.get("session") or "")
        if session and record.get("size"):
            # The upload session knows whether the last chunk arrived.
            held, video = self._upload_state(session, int(record["size"]))
            if video is not None and video.get("id"):
                video_id = str(video["id"])
                api.remember_attempt(self.channel, idempotency_key, published=video_id)
                return PublishedRef(video_id, video_url(video_id))
            if held >= 0:
                return None  # part of the file is still missing: there is no video yet
        tag = key_tag(idempotency_key)
        items = self._json(
            "GET",
            "playlistItems",
            params={
                "part": "contentDetails",
                "playlistId": self.uploads_playlist(),
                "maxResults": str(RECENT_UPLOADS),
            },
        ).get("items", [])
        ids = [str((i.get("contentDetails") or {}).get("videoId") or "") for i in items]
        ids = [i for i in ids if i]
        if not ids:
            return None
        videos = self._json("GET", "videos", params={"part": "snippet", "id": ",".join(ids)})
        for video in videos.get("items") or []:
            snippet = video.get("snippet") or {}
            if tag in (snippet.get("tags") or []):
                video_id = str(video["id"])
                return PublishedRef(
                    video_id, video_url(video_id), api.parse_time(snippet.get("publishedAt"))
                )
        return None

    def delete(self, external_id: str) -> None:
        """Delete one of the channel's videos."""
        self._send("DELETE", "videos", params={"id": external_id}, write=True)

    # --- inbox -----------------------------------------------------------------------------------

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Comments and replies on the channel's videos after the cursor (an ISO time)."""
        after = api.parse_time(since) if since else None
        items: list[InboundItem] = []
        # Threads whose replies were all read in this fetch: remembered once it is over.
        read: dict[str, list[str]] = {}
        page_token = ""
        for _page in range(INBOX_PAGES):
            params = {
                "part": "snippet,replies",
                "allThreadsRelatedToChannelId": self.channel_id,
                "maxResults": "100",
                "order": "time",
                "textFormat": "plainText",
            }
            if page_token:
                params["pageToken"] = page_token
            data = self._json("GET", "commentThreads", params=params)
            threads = data.get("items") or []
            older = False
            for thread in threads:
                for item in thread_items(self._with_every_reply(thread, after, read)):
                    if (
                        network_json(item.raw).get("authorChannelId", {}).get("value")
                        == self.channel_id
                    ):
                        continue  # the channel's own comments and answers
                    if after is None or item.created_at > after:
                        items.append(item)
                top = ((thread.get("snippet") or {}).get("topLevelComment") or {}).get("snippet")
                made = api.parse_time((top or {}).get("publishedAt"))
                older = older or (after is not None and made is not None and made <= after)
            page_token = str(data.get("nextPageToken") or "")
            if older or not page_token:
                break
        items.sort(key=lambda i: i.created_at)
        cursor = items[-1].created_at.isoformat() if items else since
        for memo, ids in read.items():
            cache.set(memo, {"ids": ids, "cursor": cursor}, REPLIES_READ_TTL_S)
        return InboxPage(items=items, cursor=cursor)

    def _with_every_reply(
        self, thread: dict[str, Any], after: datetime | None, read: dict[str, list[str]]
    ) -> dict[str, Any]:
        """The thread with all its replies. commentThreads carries only some of a thread's
        replies (YouTube: it "does not necessarily contain all replies"; comments.list with
        parentId lists them all), so a thread whose totalReplyCount is more than it carries
        has its replies read, 100 a page. A failed read fails the poll, which runs again
        from the same cursor: no reply is skipped.

        Each read costs quota, so a read is remembered (in `read`, kept by `fetch_inbox` with
        the cursor it returned): a thread whose reply count and carried replies are what that
        read saw is not read again once the poll's cursor has reached that cursor, that is
        once the items of that fetch were landed."""
        snippet = thread.get("snippet") or {}
        carried = [
            c for c in (thread.get("replies") or {}).get("comments") or [] if isinstance(c, dict)
        ]
        top = str((snippet.get("topLevelComment") or {}).get("id") or thread.get("id") or "")
        total = int(snippet.get("totalReplyCount") or 0)
        if total <= len(carried) or not top:
            return thread
        memo = f"youtube:replies-read:{self.channel.pk}:{hashlib.sha256(top.encode()).hexdigest()}"
        seen = cache.get(memo)
        ids = seen.get("ids") if isinstance(seen, dict) else None
        landed = api.parse_time(seen.get("cursor")) if isinstance(seen, dict) else None
        if (
            isinstance(ids, list)
            and len(ids) == total
            and {str(c.get("id")) for c in carried} <= set(ids)
            and landed is not None
            and after is not None
            and after >= landed
        ):
            return thread
        replies: list[dict[str, Any]] = []
        page_token = ""
        for _page in range(REPLY_PAGES):
            params = {
                "part": "snippet",
                "parentId": top,
                "maxResults": "100",
                "textFormat": "plainText",
            }
            if page_token:
                params["pageToken"] = page_token
            data = self._json("GET", "comments", params=params)
            replies += [c for c in data.get("items") or [] if isinstance(c, dict)]
            page_token = str(data.get("nextPageToken") or "")
            if not page_token:
                break
        # What the thread carried stays, should the list have left one out.
        listed = {c.get("id") for c in replies}
        replies += [c for c in carried if c.get("id") not in listed]
        read[memo] = sorted(str(c.get("id")) for c in replies)
        return {**thread, "replies": {"comments": replies}}

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer a comment (a reply to a reply goes to the same thread, as on YouTube)."""
        parent = str(network_json(item.raw).get("parentId") or item.external_id)

        def send() -> PublishedRef:
            data = self._json(
                "POST",
                "comments",
                params={"part": "snippet"},
                json_body={"snippet": {"parentId": parent, "textOriginal": text}},
                write=True,
            )
            return PublishedRef(external_id=str(data.get("id") or ""), url="")

        def find(record: Mapping[str, Any]) -> PublishedRef | None:
            # comments.list with parentId: the replies under the thread's top-level comment.
            data = self._json(
                "GET",
                "comments",
                params={
                    "part": "snippet",
                    "parentId": parent,
                    "maxResults": "100",
                    "textFormat": "plainText",
                },
            )
            for comment in data.get("items") or []:
                snippet = comment.get("snippet") or {}
                author = (snippet.get("authorChannelId") or {}).get("value")
                made = api.parse_time(snippet.get("publishedAt"))
                text_of = str(snippet.get("textOriginal") or snippet.get("textDisplay") or "")
                if author == self.channel_id and api.made_by_attempt(record, text_of, made):
                    return PublishedRef(str(comment.get("id") or ""), "", made)
            return None

        # Once per item and text: YouTube takes no idempotency key, so a resend after an
        # unknown outcome looks for the channel's reply in the thread before sending again.
        return api.send_once(
            self.channel,
            api.reply_key(item, text),
            text,
            send=send,
            find=find,
            network_name="YouTube",
        )

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """A top-level comment by the channel on its own video (commentThreads.insert).

        YouTube takes no idempotency key: the attempt record, and else the video's newest
        comment threads started by the channel with the same text, keep a retry from
        commenting twice."""
        video_id = ref.external_id

        def send() -> PublishedRef:
            data = self._json(
                "POST",
                "commentThreads",
                params={"part": "snippet"},
                json_body={
                    "snippet": {
                        "channelId": self.channel_id,
                        "videoId": video_id,
                        "topLevelComment": {"snippet": {"textOriginal": text}},
                    }
                },
                write=True,
            )
            top = (data.get("snippet") or {}).get("topLevelComment") or {}
            comment_id = str(top.get("id") or data.get("id") or "")
            made = api.parse_time((top.get("snippet") or {}).get("publishedAt"))
            return PublishedRef(comment_id, comment_url(video_id, comment_id), made)

        def find(record: Mapping[str, Any]) -> PublishedRef | None:
            data = self._json(
                "GET",
                "commentThreads",
                params={
                    "part": "snippet",
                    "videoId": video_id,
                    "maxResults": "100",
                    "order": "time",
                    "textFormat": "plainText",
                },
            )
            for thread in data.get("items") or []:
                top = (thread.get("snippet") or {}).get("topLevelComment") or {}
                snippet = top.get("snippet") or {}
                author = (snippet.get("authorChannelId") or {}).get("value")
                made = api.parse_time(snippet.get("publishedAt"))
                text_of = str(snippet.get("textOriginal") or snippet.get("textDisplay") or "")
                if author == self.channel_id and api.made_by_attempt(record, text_of, made):
                    comment_id = str(top.get("id") or "")
                    return PublishedRef(comment_id, comment_url(video_id, comment_id), made)
            return None

        return api.comment_once(self.channel, idempotency_key, text, send=send, find=find)

    def hide(self, item: InboundItem) -> None:
        """Reject a comment: YouTube hides it from the video's page."""
        self._send(
            "POST",
            "comments/setModerationStatus",
            params={"id": item.external_id, "moderationStatus": "rejected"},
            write=True,
        )

    def delete_comment(self, item: InboundItem) -> None:
        """The channel's own comment is deleted (comments.delete); someone else's cannot be,
        so it is rejected (comments.setModerationStatus), which removes it from the video for
        good, the nearest YouTube allows."""
        author = (network_json(item.raw).get("authorChannelId") or {}).get("value")
        if author == self.channel_id:
            self._send("DELETE", "comments", params={"id": item.external_id}, write=True)
            return
        self._send(
            "POST",
            "comments/setModerationStatus",
            params={"id": item.external_id, "moderationStatus": "rejected"},
            write=True,
        )

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Views, likes and comments, 50 videos per request."""
        result = []
        ids = list(refs)
        for start in range(0, len(ids), METRICS_BATCH):
            data = self._json(
                "GET",
                "videos",
                params={"part": "statistics", "id": ",".join(ids[start : start + METRICS_BATCH])},
            )
            for video in data.get("items") or []:
                stats = video.get("statistics") or {}
                views = int(stats.get("viewCount") or 0)
                result.append(
                    PostMetrics(
                        external_id=str(video["id"]),
                        likes=int(stats.get("likeCount") or 0),
                        replies=int(stats.get("commentCount") or 0),
                        impressions=views,
                        extra={
                            "views": views,
                            "favorites": int(stats.get("favoriteCount") or 0),
                        },
                    )
                )
        return result

    def refresh_token(self) -> TokenSet | None:
        fresh = self.tokens.refresh()
        if fresh is None:
            return None
        return TokenSet(fresh.access_token, fresh.refresh_token, fresh.expires_at)

    @classmethod
    def verify_webhook(cls, request: HttpRequest) -> list[InboundItem]:
        raise WebhookRejected(
            _("YouTube sends no webhooks for comments; Greenroom polls them."), status=404
        )


def _received(response: httpx.Response) -> int:
    """The next byte to send after a 308: YouTube's Range says what it holds (none: zero)."""
    found = _RANGE.search(response.headers.get("Range", ""))
    return int(found[1]) + 1 if found else 0


def _comment_item(comment: dict[str, Any], *, video_id: str, thread_id: str) -> InboundItem | None:
    snippet = comment.get("snippet") or {}
    made = api.parse_time(snippet.get("publishedAt"))
    if not comment.get("id") or made is None:
        return None
    parent = str(snippet.get("parentId") or "")
    return InboundItem(
        external_id=str(comment["id"]),
        kind=InboundKind.COMMENT,
        text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
        author_handle=str(
            (snippet.get("authorChannelId") or {}).get("value")
            or snippet.get("authorDisplayName")
            or ""
        ),
        author_name=str(snippet.get("authorDisplayName") or ""),
        created_at=made,
        in_reply_to=parent or video_id or None,
        thread_id=thread_id or None,
        raw={"videoId": video_id, **snippet},
    )


def thread_items(thread: dict[str, Any]) -> list[InboundItem]:
    """A commentThread's top-level comment and the replies it carries."""
    snippet = thread.get("snippet") or {}
    video_id = str(snippet.get("videoId") or "")
    thread_id = str(thread.get("id") or "")
    comments = [snippet.get("topLevelComment") or {}]
    comments += (thread.get("replies") or {}).get("comments") or []
    return [
        item
        for comment in comments
        if (item := _comment_item(comment, video_id=video_id, thread_id=thread_id)) is not None
    ]
