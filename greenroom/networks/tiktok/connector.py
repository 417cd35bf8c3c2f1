"""TikTok accounts through the Content Posting API (open.tiktokapis.com/v2), with httpx.

- Connect: TikTok's OAuth 2 (Login Kit): the app is identified as `client_key`, scopes are
  comma-separated, and the PKCE challenge is the hex SHA-256 of the verifier (TikTok's own
  variant). The account's open_id becomes the channel's external id. Access tokens last a day
  and are refreshed before they expire; refresh tokens a year.
- Publish: creator_info/query first (the account's privacy options, its longest allowed video,
  whether comments, duets and stitches are off), then
  - a video (placement "feed"): video/init as a direct post, or inbox/video/init when the post
    asks for the creator's inbox (`extra["tiktok_mode"] = "inbox"`: the creator finishes it in
    the app); the file goes up in chunks with Content-Range (FILE_UPLOAD), or TikTok pulls it
    from PUBLIC_MEDIA_URL when settings.TIKTOK_PULL_FROM_URL says that domain is verified;
  - photos (placement "photo"): content/init, which only pulls from verified URLs;
  then status/fetch until PUBLISH_COMPLETE (or SEND_TO_USER_INBOX). The privacy level is the
  post's `extra["privacy_level"]` (default PUBLIC_TO_EVERYONE) and must be one the account
  offers; TikTok lets apps it has not audited post only privately ("Only me"), and says so with
  an error the connector turns into plain words.
- find_published: the attempt record keeps the publish_id, and status/fetch says what became of
  it. Without the record TikTok cannot tell (no idempotency key, no search): "not found".
- Inbox: TikTok's APIs for developers offer no way to read or answer comments or messages on a
  creator's posts (comments exist only in the Research API and the separate TikTok for Business
  API), so `fetch_inbox` returns nothing and `reply` and `hide` say so.
- Metrics: video/query (views, likes, comments, shares), twenty videos a request.
- Rate limits: rate_limit_exceeded waits out the rule table's window (six posting requests a
  minute per token); the daily post cap waits a day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core.actions import do_update_channel
from greenroom.networks import network_api as api
from greenroom.networks import oauth, rules
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    InboxPage,
    MediaItem,
    OutgoingPost,
    PostMetrics,
    PublishedRef,
    TokenSet,
    WebhookRejected,
)
from greenroom.networks.registry import register
from greenroom.networks.tiktok import errors

if TYPE_CHECKING:
    from django.http import HttpRequest

    from greenroom.core.models import Channel, User

logger = logging.getLogger(__name__)

API = "https://open.tiktokapis.com/v2"
NETWORK_NAME = "TikTok"
# TikTok takes chunks of 5 to 64 MB (a smaller file goes whole); the last chunk takes the rest.
CHUNK_BYTES = 10_000_000
STATUS_POLL_S = 5.0
STATUS_ATTEMPTS = 24
METRICS_BATCH = 20
DEFAULT_PRIVACY = "PUBLIC_TO_EVERYONE"
DONE = frozenset({"PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"})
sleep: Callable[[float], None] = time.sleep


def chunking(size: int) -> list[tuple[int, int]]:
    """(first, last) byte of each chunk: whole when small, else CHUNK_BYTES each with the rest
    added to the last one (TikTok counts floor(size / chunk_size) chunks)."""
    if size <= CHUNK_BYTES:
        return [(0, size - 1)]
    count = size // CHUNK_BYTES
    return [
        (i * CHUNK_BYTES, size - 1 if i == count - 1 else (i + 1) * CHUNK_BYTES - 1)
        for i in range(count)
    ]


def post_url(username: str, post_id: str | None) -> str:
    if not username:
        return ""
    if post_id:
        return f"https://www.tiktok.com/@{username}/video/{post_id}"
    return f"https://www.tiktok.com/@{username}"


class TikTokProvider(api.AppProvider):
    """TikTok calls the client id `client_key` and wants a hex PKCE challenge."""

    def client_for(
        self, channel: Channel, context: Mapping[str, str] | None = None
    ) -> oauth.OAuthClient:
        return replace(
            super().client_for(channel, context), client_id_name="client_key", challenge_hex=True
        )


def _connect(channel: Channel, tokens: api.StoredTokens, user: User) -> api.StoredTokens:
    """The account's open_id (in TikTok's token answer) becomes the channel's external id."""
    open_id = tokens.extra.get("open_id", "")
    if not open_id:
        raise ConnectorError(
            _("TikTok did not say which account signed in. Connect again."),
            permanent=True,
            code="no_open_id",
        )
    if channel.external_id and channel.external_id != open_id:
        raise ConnectorError(
            _(
                "TikTok: a different account signed in than the one this channel was connected "
                "to. Sign in to TikTok as %(handle)s and connect again."
            )
            % {"handle": channel.handle},
            permanent=True,
            code="other_account",
        )
    if channel.external_id != open_id:
        do_update_channel(channel, external_id=open_id, acting_user=user)
    return tokens


OAUTH = TikTokProvider(
    "tiktok",
    NETWORK_NAME,
    authorize_url="https://www.tiktok.com/v2/auth/authorize/",
    token_url=f"{API}/oauth/token/",
    scopes=("user.info.basic", "video.publish", "video.upload", "video.list"),
    pkce=True,
    scope_separator=",",
    service_url=API,
    after_connect=_connect,
)


@register("tiktok")
class TikTokConnector:
    """A TikTok account: videos (direct post or to the creator's inbox) and photo posts, with
    status polling; per-video metrics. TikTok offers no comment or message API to apps."""

    kind: ClassVar[str] = "tiktok"
    oauth: ClassVar[api.AppProvider] = OAUTH
    polls_inbox: ClassVar[bool] = False

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.tokens = api.ChannelTokens(channel, NETWORK_NAME, OAUTH.refresher(channel))

    # --- plumbing --------------------------------------------------------------------------------

    def _call(
        self,
        path: str,
        body: dict[str, Any],
        *,
        params: dict[str, str] | None = None,
        write: bool = False,
        spec: rules.PlacementSpec | None = None,
    ) -> dict[str, Any]:
        """POST a JSON body to the API; TikTok's answers carry {"data", "error"}."""
        for attempt in range(2):
            token = self.tokens.access_token()
            with api.client() as http:
                request = http.build_request(
                    "POST",
                    f"{API}/{path}",
                    params=params,
                    json=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json; charset=UTF-8",
                    },
                )
                response = api.send(http, request, write=write, network_name=NETWORK_NAME)
            answer = api.json_of(response)
            code, _message = errors.error_of(answer)
            if response.is_success and code in ("", "ok"):
                data = answer.get("data")
                return data if isinstance(data, dict) else {}
            error = errors.to_connector_error(response, spec)
            if error.code != "reconnect_needed":
                raise error
            # Refused before it did anything: refresh once (another worker may have already).
            if attempt == 0 and self.tokens.refresh(force=True) is not None:
                continue
            raise self.tokens.reconnect_error(error.message or _("the token was refused"))
        raise AssertionError("unreachable")  # pragma: no cover

    def creator_info(self) -> dict[str, Any]:
        """The account's posting options (privacy levels, longest video, disabled features)."""
        return self._call("post/publish/creator_info/query/", {})

    # --- publishing ------------------------------------------------------------------------------

    def _privacy(self, post: OutgoingPost, creator: dict[str, Any]) -> str:
        wanted = str(post.extra.get("privacy_level") or DEFAULT_PRIVACY)
        offered = [str(o) for o in creator.get("privacy_level_options") or []]
        if offered and wanted not in offered:
            raise ConnectorError(
                _(
                    "TikTok: @%(user)s does not offer the privacy level %(wanted)s; it offers "
                    "%(offered)s. Choose one of those."
                )
                % {
                    "user": creator.get("creator_username") or self.channel.handle,
                    "wanted": wanted,
                    "offered": ", ".join(offered),
                },
                permanent=True,
                code="privacy_level_option_mismatch",
            )
        return wanted

    def _title(self, post: OutgoingPost, spec: rules.PlacementSpec) -> str:
        title = str(post.extra.get("title") or "").strip()
        if not title:
            title = (post.text.strip().splitlines() or [""])[0].strip()
        if spec.title is not None:
            # The title rule counts UTF-16 units; cut on code points below that limit.
            while len(title.encode("utf-16-le")) // 2 > spec.title.limit:
                title = title[:-1]
        return title

    def _upload(self, upload_url: str, content: bytes, mime: str) -> None:
        """PUT the file in the chunks announced at init, each with its Content-Range."""
        size = len(content)
        for first, last in chunking(size):
            with api.client() as http:
                request = http.build_request(
                    "PUT",
                    upload_url,
                    content=content[first : last + 1],
                    headers={"Content-Type": mime, "Content-Range": f"bytes {first}-{last}/{size}"},
                )
                response = api.send(http, request, write=True, network_name=NETWORK_NAME)
            if response.status_code not in (200, 201, 206):
                raise errors.to_connector_error(response, None)

    def _init_video(
        self,
        post: OutgoingPost,
        item: MediaItem,
        creator: dict[str, Any],
        spec: rules.PlacementSpec,
    ) -> tuple[str, bytes | None, str]:
        """Start a video post; (publish_id, bytes to upload or None, upload URL)."""
        inbox = post.extra.get("tiktok_mode") == "inbox"
        pull = bool(getattr(settings, "TIKTOK_PULL_FROM_URL", False))
        content = None if pull else api.media_bytes(item)
        if content is None:
            source: dict[str, Any] = {"source": "PULL_FROM_URL", "video_url": api.media_url(item)}
        else:
            chunks = chunking(len(content))
            source = {
                "source": "FILE_UPLOAD",
                "video_size": len(content),
                "chunk_size": chunks[0][1] + 1,
                "total_chunk_count": len(chunks),
            }
        if inbox:
            data = self._call(
                "post/publish/inbox/video/init/", {"source_info": source}, write=True, spec=spec
            )
        else:
            post_info = {
                "title": post.text,
                "privacy_level": self._privacy(post, creator),
                "disable_duet": bool(
                    post.extra.get("disable_duet") or creator.get("duet_disabled")
                ),
                "disable_comment": bool(
                    post.extra.get("disable_comment") or creator.get("comment_disabled")
                ),
                "disable_stitch": bool(
                    post.extra.get("disable_stitch") or creator.get("stitch_disabled")
                ),
            }
            data = self._call(
                "post/publish/video/init/",
                {"post_info": post_info, "source_info": source},
                write=True,
                spec=spec,
            )
        return str(data.get("publish_id") or ""), content, str(data.get("upload_url") or "")

    def _init_photos(
        self, post: OutgoingPost, creator: dict[str, Any], spec: rules.PlacementSpec
    ) -> str:
        inbox = post.extra.get("tiktok_mode") == "inbox"
        post_info: dict[str, Any] = {
            "title": self._title(post, spec),
            "description": post.text,
            "disable_comment": bool(
                post.extra.get("disable_comment") or creator.get("comment_disabled")
            ),
            "auto_add_music": bool(post.extra.get("auto_add_music", True)),
        }
        if not inbox:
            post_info["privacy_level"] = self._privacy(post, creator)
        data = self._call(
            "post/publish/content/init/",
            {
                "post_info": post_info,
                "source_info": {
                    "source": "PULL_FROM_URL",
                    "photo_cover_index": 0,
                    "photo_images": [api.media_url(m) for m in post.media],
                },
                "post_mode": "MEDIA_UPLOAD" if inbox else "DIRECT_POST",
                "media_type": "PHOTO",
            },
            write=True,
            spec=spec,
        )
        return str(data.get("publish_id") or "")

    def status(self, publish_id: str) -> dict[str, Any]:
        return self._call("post/publish/status/fetch/", {"publish_id": publish_id})

    def _abandoned(self, state: dict[str, Any], record: dict[str, Any]) -> bool:
        """An upload that stopped part-way: TikTok will never publish it."""
        size = int(record.get("size") or 0)
        uploaded = int(state.get("uploaded_bytes") or 0)
        return state.get("status") == "PROCESSING_UPLOAD" and bool(size) and uploaded < size

    def _ref(self, publish_id: str, state: dict[str, Any], username: str) -> PublishedRef:
        ids = [str(i) for i in state.get("publicaly_available_post_id") or []]
        # A private post, or one still in review, has no public id yet: keep the publish_id.
        return PublishedRef(
            external_id=ids[0] if ids else publish_id,
            url=post_url(username, ids[0] if ids else None),
        )

    def _wait(
        self, key: str, publish_id: str, record: dict[str, Any], spec: rules.PlacementSpec
    ) -> PublishedRef:
        """status/fetch until TikTok has published the post (or handed it to the inbox)."""
        username = str(record.get("username") or "")
        for attempt in range(STATUS_ATTEMPTS):
            state = self.status(publish_id)
            phase = str(state.get("status") or "")
            if phase in DONE:
                ref = self._ref(publish_id, state, username)
                api.remember_attempt(self.channel, key, published=ref.external_id, url=ref.url)
                return ref
            if phase == "FAILED":
                api.remember_attempt(self.channel, key, publish_id="")
                raise errors.failure_error(
                    str(state.get("fail_reason") or ""),
                    max_duration=record.get("max_duration"),
                    spec=spec,
                )
            if attempt < STATUS_ATTEMPTS - 1:
                sleep(STATUS_POLL_S)
        raise ConnectorError(
            _("TikTok is still processing the post. Greenroom will check again shortly."),
            retry_after=60.0,
            code="still_processing",
        )

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Publish a video or photos (see the module docstring); a retry continues the
        recorded publish_id instead of posting again."""
        spec = rules.get_spec("tiktok", post.placement)
        record = api.recall_attempt(self.channel, post.idempotency_key) or {}
        if record.get("published"):
            return PublishedRef(str(record["published"]), str(record.get("url") or ""))
        publish_id = str(record.get("publish_id") or "")
        if publish_id:
            state = self.status(publish_id)
            if state.get("status") == "FAILED" or self._abandoned(state, record):
                publish_id = ""
            else:
                return self._wait(post.idempotency_key, publish_id, record, spec)
        if not post.media:
            raise ConnectorError(
                _("A TikTok post needs a video or photos."), permanent=True, code="no_media"
            )
        creator = self.creator_info()
        record = api.remember_attempt(
            self.channel,
            post.idempotency_key,
            began=timezone.now().isoformat(),
            username=str(creator.get("creator_username") or ""),
            max_duration=creator.get("max_video_post_duration_sec"),
        )
        if post.placement == "photo":
            publish_id = self._init_photos(post, creator, spec)
            record = api.remember_attempt(self.channel, post.idempotency_key, publish_id=publish_id)
            return self._wait(post.idempotency_key, publish_id, record, spec)
        videos = [m for m in post.media if api.is_video(m)]
        if len(videos) != 1 or len(post.media) != 1:
            raise ConnectorError(
                _("A TikTok video post is exactly one video; photos go in a photo post."),
                permanent=True,
                code="no_video",
            )
        publish_id, content, upload_url = self._init_video(post, videos[0], creator, spec)
        record = api.remember_attempt(
            self.channel,
            post.idempotency_key,
            publish_id=publish_id,
            size=len(content) if content is not None else 0,
        )
        if content is not None:
            self._upload(upload_url, content, videos[0].mime_type)
        return self._wait(post.idempotency_key, publish_id, record, spec)

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """What became of this key's publish_id (see the module docstring)."""
        record = api.recall_attempt(self.channel, idempotency_key)
        if not record:
            return None
        if record.get("published"):
            return PublishedRef(str(record["published"]), str(record.get("url") or ""))
        publish_id = str(record.get("publish_id") or "")
        if not publish_id:
            return None
        state = self.status(publish_id)
        if state.get("status") not in DONE:
            # Failed, abandoned, or still on its way: publish() picks the last one up again.
            return None
        ref = self._ref(publish_id, state, str(record.get("username") or ""))
        api.remember_attempt(self.channel, idempotency_key, published=ref.external_id, url=ref.url)
        return ref

    # --- inbox -----------------------------------------------------------------------------------

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Nothing: TikTok offers apps no way to read comments or messages (module docstring)."""
        return InboxPage(items=[], cursor=since)

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        raise ConnectorError(
            _("TikTok does not let apps answer comments or messages. Answer in the TikTok app."),
            permanent=True,
            code="unsupported",
        )

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """TikTok offers apps no way to comment; say so (nothing is sent)."""
        raise ConnectorError(
            _(
                "TikTok does not let apps post comments, so the first comment was not posted. "
                "Post it from the TikTok app."
            ),
            permanent=True,
            code="not_supported",
        )

    def delete_comment(self, item: InboundItem) -> None:
        """TikTok does not let an account delete other people's replies: say so."""
        raise ConnectorError(
            _(
                "TikTok does not let an account delete other people's replies. "
                "Delete it in the TikTok app."
            ),
            permanent=True,
            code="not_supported",
        )

    def hide(self, item: InboundItem) -> None:
        raise ConnectorError(
            _("TikTok does not let apps hide comments. Hide it in the TikTok app."),
            permanent=True,
            code="unsupported",
        )

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Views, likes, comments and shares of public videos, twenty per request (publish ids
        of private or unreviewed posts have no statistics and are skipped)."""
        ids = [r for r in refs if r.isdigit()]
        result = []
        for start in range(0, len(ids), METRICS_BATCH):
            data = self._call(
                "video/query/",
                {"filters": {"video_ids": ids[start : start + METRICS_BATCH]}},
                params={"fields": "id,like_count,comment_count,share_count,view_count"},
            )
            for video in data.get("videos") or []:
                views = int(video.get("view_count") or 0)
                result.append(
                    PostMetrics(
                        external_id=str(video.get("id") or ""),
                        likes=int(video.get("like_count") or 0),
                        reposts=int(video.get("share_count") or 0),
                        replies=int(video.get("comment_count") or 0),
                        impressions=views,
                        extra={"views": views},
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
            _("TikTok's webhooks report post status only; Greenroom polls the status instead."),
            status=404,
        )
