"""LinkedIn organisation pages through LinkedIn's versioned REST API (api.linkedin.com/rest), with
httpx. Every request carries `LinkedIn-Version` (settings.LINKEDIN_API_VERSION) and
`X-Restli-Protocol-Version: 2.0.0`; URNs in paths and List(...) parameters are percent-encoded.

- Connect: OAuth 2 authorization code (LinkedIn offers no PKCE to web apps), scopes of the
  Community Management API. The member who signs in must hold a page role that may post
  (organizationAcls); the page becomes the channel's external id (urn:li:organization:<id>).
  Access tokens live 60 days; refresh tokens exist only for apps LinkedIn approved for them, so
  without one the channel asks its owner to reconnect when the token expires.
- Publish (Posts API): text, one image or 2-20 images (Images API: initializeUpload, PUT), or one
  video (Videos API: initializeUpload, PUT each part, collect the ETags, finalizeUpload, wait
  until AVAILABLE). Text goes out in LinkedIn's little text format (`commentary.py`).
- find_published: LinkedIn takes no idempotency key. The attempt record (text, start time,
  uploaded media) is matched against the page's newest posts; a DUPLICATE_POST refusal of a
  retry names the post the earlier attempt made, which is then taken as published. Without the
  record LinkedIn cannot tell whose post it is, and the answer is "not found".
- Inbox: comments on the page's recent posts (socialActions) after a time cursor, and webhooks
  (organization social action notifications: comments and mentions), see `webhooks.py`.
  A comment's images (its `content` entries' URLs) travel as the item's media. Commenters that
  are organisations get their names from one Organization Lookup batch per poll; members keep
  their URN (LinkedIn gives a page's app no way to read other members' names).
  Comments on comments are read for each comment whose commentsSummary counts any (one
  request per such comment); webhooks deliver them too.
- Reply to comments as the page, once per comment and text (`network_api.send_once`): a resend
  after an unknown outcome reads the comment's nested comments for the page's answer first.
  The Community Management API offers pages no messages, so there are no DMs to answer.
  LinkedIn has no way to hide a comment (`hide` says so) but the page may delete comments on
  its own posts (`delete_comment`). First comments: the page comments
  on its own post (`comment_on_own_post`, once per key through the attempt record).
- Metrics: organizationalEntityShareStatistics (impressions, clicks, likes, comments, shares).
- Rate limits: 429 without Retry-After; LinkedIn's daily limits reset at midnight UTC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings
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
    MediaItem,
    OutgoingPost,
    PostMetrics,
    PublishedRef,
    TokenSet,
    WebhookRejected,
)
from greenroom.networks.connections.payloads import network_json
from greenroom.networks.linkedin import errors
from greenroom.networks.linkedin.commentary import from_little_text, to_little_text
from greenroom.networks.registry import register

if TYPE_CHECKING:
    from django.http import HttpRequest

    from greenroom.core.models import Channel, User

logger = logging.getLogger(__name__)

API = "https://api.linkedin.com/rest"
OAUTH_BASE = "https://www.linkedin.com/oauth/v2"
NETWORK_NAME = "LinkedIn"
# Page roles that may publish as the page (Organization Access Control).
POSTING_ROLES = frozenset(
    {"ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "DIRECT_SPONSORED_CONTENT_POSTER"}
)
INBOX_POSTS = 10
# Organisations per Organization Lookup batch request (commenters' names).
NAME_BATCH = 20
ORGANIZATION = "urn:li:organization:"
RECENT_POSTS = 20
METRICS_BATCH = 20
# How long to wait for LinkedIn to process a video (about five minutes).
VIDEO_POLL_S = 5.0
VIDEO_POLL_ATTEMPTS = 60
_CLOCK_SKEW = timedelta(minutes=2)
sleep: Callable[[float], None] = time.sleep


def api_version() -> str:
    return str(getattr(settings, "LINKEDIN_API_VERSION", "202610"))


def encoded(urn: str) -> str:
    return quote(urn, safe="")


def restli_list(urns: Sequence[str]) -> str:
    """A Rest.li 2.0 List(...) parameter: each URN encoded, the brackets and commas not."""
    return "List(" + ",".join(encoded(u) for u in urns) + ")"


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": api_version(),
        "X-Restli-Protocol-Version": "2.0.0",
    }


def _millis(value: Any) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def _connect_get(token: str, url: str) -> dict[str, Any]:
    """A call made while connecting, before the channel has tokens."""
    with api.client() as http:
        request = http.build_request("GET", url, headers=headers(token))
        response = api.send(http, request, write=False, network_name=NETWORK_NAME)
    if not response.is_success:
        raise errors.to_connector_error(response, None)
    return api.json_of(response)


def _connect(channel: Channel, tokens: api.StoredTokens, user: User) -> api.StoredTokens:
    """Find the page this channel is among those the member may post for, and note its URN."""
    acls = _connect_get(
        tokens.access_token, f"{API}/organizationAcls?q=roleAssignee&state=APPROVED"
    ).get("elements", [])
    pages = sorted(
        {
            str(acl["organization"])
            for acl in acls
            if isinstance(acl, dict)
            and acl.get("organization")
            and acl.get("role") in POSTING_ROLES
        }
    )
    if not pages:
        raise ConnectorError(
            _(
                "LinkedIn: the member who signed in cannot post for any page. Sign in with an "
                "administrator or content administrator of %(handle)s."
            )
            % {"handle": channel.handle},
            permanent=True,
            code="no_page_role",
        )
    ids = [urn.rsplit(":", 1)[-1] for urn in pages]
    found = _connect_get(tokens.access_token, f"{API}/organizations?ids=List({','.join(ids)})")
    details = found.get("results") or {}
    wanted = channel.handle.lstrip("@").lower()

    def matches(urn: str) -> bool:
        page = details.get(urn.rsplit(":", 1)[-1]) or {}
        names = {str(page.get("vanityName") or "").lower(), str(page.get("localizedName") or "")}
        return urn == channel.external_id or wanted in {n.lower() for n in names if n}

    chosen = next((urn for urn in pages if matches(urn)), pages[0] if len(pages) == 1 else None)
    if chosen is None:
        raise ConnectorError(
            _(
                "LinkedIn: the member who signed in does not manage a page called %(handle)s "
                "(they manage %(count)s others). Set the channel's handle to the page's LinkedIn "
                "name, or sign in as one of its administrators."
            )
            % {"handle": channel.handle, "count": len(pages)},
            permanent=True,
            code="page_not_found",
        )
    if channel.external_id != chosen:
        do_update_channel(channel, external_id=chosen, acting_user=user)
    return tokens


OAUTH = api.AppProvider(
    "linkedin",
    NETWORK_NAME,
    authorize_url=f"{OAUTH_BASE}/authorization",
    token_url=f"{OAUTH_BASE}/accessToken",
    scopes=(
        "r_organization_social",
        "w_organization_social",
        "rw_organization_admin",
        "r_organization_social_feed",
        "w_organization_social_feed",
    ),
    pkce=False,
    service_url=API,
    after_connect=_connect,
)


@register("linkedin")
class LinkedInConnector:
    """A LinkedIn page: text, image, multi-image and video posts; comments (poll and webhook);
    reply to and delete comments; delete posts; share statistics."""

    kind: ClassVar[str] = "linkedin"
    oauth: ClassVar[api.AppProvider] = OAUTH
    polls_inbox: ClassVar[bool] = True

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.tokens = api.ChannelTokens(channel, NETWORK_NAME, OAUTH.refresher(channel))

    # --- plumbing --------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        write: bool = False,
        finder: bool = False,
        spec: rules.PlacementSpec | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One call to the REST API; `path` may carry a query string built by hand (Rest.li's
        List(...) must keep its brackets and commas)."""
        for attempt in range(2):
            token = self.tokens.access_token()
            extra = {"X-RestLi-Method": "FINDER"} if finder else {}
            with api.client() as http:
                request = http.build_request(
                    method, f"{API}/{path}", json=json_body, headers={**headers(token), **extra}
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

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return api.json_of(self._send(method, path, **kwargs))

    @property
    def page(self) -> str:
        """The page's URN (urn:li:organization:<id>)."""
        if not self.channel.external_id.startswith("urn:li:organization:"):
            raise self.tokens.reconnect_error(_("Greenroom does not know which page it is"))
        return self.channel.external_id

    def _put_part(self, url: str, content: bytes) -> httpx.Response:
        """Upload bytes to a URL LinkedIn handed out. The token goes only to LinkedIn's hosts."""
        host = urlsplit(url).hostname or ""
        send_token = host == "linkedin.com" or host.endswith(".linkedin.com")
        request_headers = {"Content-Type": "application/octet-stream"}
        if send_token:
            request_headers["Authorization"] = f"Bearer {self.tokens.access_token()}"
        with api.client() as http:
            request = http.build_request("PUT", url, content=content, headers=request_headers)
            response = api.send(http, request, write=True, network_name=NETWORK_NAME)
        if not response.is_success:
            raise errors.to_connector_error(response, None)
        return response

    # --- publishing ------------------------------------------------------------------------------

    def upload_image(self, item: MediaItem) -> str:
        """Images API: initializeUpload, then PUT the file to the URL it gives."""
        content = api.media_bytes(item)
        value = self._json(
            "POST",
            "images?action=initializeUpload",
            json_body={"initializeUploadRequest": {"owner": self.page}},
            write=True,
        )["value"]
        self._put_part(str(value["uploadUrl"]), content)
        return str(value["image"])

    def upload_video(self, item: MediaItem) -> str:
        """Videos API: initializeUpload, PUT each byte range it asks for (keeping the ETags),
        finalizeUpload, then wait until LinkedIn has processed the video."""
        content = api.media_bytes(item)
        value = self._json(
            "POST",
            "videos?action=initializeUpload",
            json_body={
                "initializeUploadRequest": {
                    "owner": self.page,
                    "fileSizeBytes": len(content),
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
            write=True,
        )["value"]
        video = str(value["video"])
        part_ids = []
        for part in value.get("uploadInstructions") or []:
            first, last = int(part["firstByte"]), int(part["lastByte"])
            response = self._put_part(str(part["uploadUrl"]), content[first : last + 1])
            etag = response.headers.get("ETag", "")
            if not etag:
                raise ConnectorError(
                    _("LinkedIn did not confirm a part of the video upload. Greenroom will retry."),
                    code="no_etag",
                )
            part_ids.append(etag)
        self._send(
            "POST",
            "videos?action=finalizeUpload",
            json_body={
                "finalizeUploadRequest": {
                    "video": video,
                    "uploadToken": str(value.get("uploadToken") or ""),
                    "uploadedPartIds": part_ids,
                }
            },
            write=True,
        )
        self._wait_for_video(video, item)
        return video

    def _wait_for_video(self, video: str, item: MediaItem) -> None:
        for _attempt in range(VIDEO_POLL_ATTEMPTS):
            data = self._json("GET", f"videos/{encoded(video)}")
            status = str(data.get("status") or "")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise ConnectorError(
                    _(
                        "LinkedIn could not process the video %(name)s (%(reason)s). Check it "
                        "against the rule table (MP4, 3 seconds to 30 minutes) and publish again."
                    )
                    % {
                        "name": item.path.rsplit("/", 1)[-1],
                        "reason": data.get("processingFailureReason") or _("no reason given"),
                    },
                    permanent=True,
                    code="video_processing_failed",
                )
            sleep(VIDEO_POLL_S)
        raise ConnectorError(
            _("LinkedIn is still processing the video. Greenroom will check again later."),
            retry_after=60.0,
            code="still_processing",
        )

    def _content(self, post: OutgoingPost, record: dict[str, Any]) -> dict[str, Any] | None:
        """The post's media, uploaded once per attempt (a retry reuses what was uploaded)."""
        if not post.media:
            return None
        videos = [m for m in post.media if api.is_video(m)]
        if videos and len(post.media) > 1:
            raise ConnectorError(
                _("A LinkedIn post carries either images or one video, not both. Split it."),
                permanent=True,
                code="mixed_media",
            )
        uploaded = [str(u) for u in record.get("media") or []]
        if len(uploaded) != len(post.media):
            if videos:
                uploaded = [self.upload_video(videos[0])]
            else:
                uploaded = [self.upload_image(item) for item in post.media]
            api.remember_attempt(self.channel, post.idempotency_key, media=uploaded)
        if videos:
            media: dict[str, Any] = {"id": uploaded[0]}
            if post.extra.get("title"):
                media["title"] = str(post.extra["title"])
            return {"media": media}
        images = [
            {"id": urn, **({"altText": item.alt_text} if item.alt_text else {})}
            for urn, item in zip(uploaded, post.media, strict=True)
        ]
        if len(images) == 1:
            return {"media": images[0]}
        return {"multiImage": {"images": images}}

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Upload the media, then create the post as the page."""
        spec = rules.get_spec("linkedin", post.placement)
        commentary = to_little_text(post.text)
        earlier = api.recall_attempt(self.channel, post.idempotency_key) or {}
        if earlier.get("published"):
            return PublishedRef(str(earlier["published"]), post_url(str(earlier["published"])))
        tried_before = earlier.get("text") == api.text_hash(post.text)
        record = api.remember_attempt(
            self.channel,
            post.idempotency_key,
            text=api.text_hash(post.text),
            began=earlier.get("began") or timezone.now().isoformat(),
        )
        body: dict[str, Any] = {
            "author": self.page,
            "commentary": commentary,
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        content = self._content(post, record)
        if content is not None:
            body["content"] = content
        response = self._send(
            "POST", "posts", json_body=body, write=True, spec=spec, ok_statuses=(422,)
        )
        if response.status_code == 422:
            duplicate = errors.duplicate_of(response)
            if not (tried_before and duplicate):
                raise errors.to_connector_error(response, spec)
            # Our own earlier attempt went through and LinkedIn refuses it a second time.
            urn = duplicate
        else:
            urn = str(response.headers.get("x-restli-id") or api.json_of(response).get("id") or "")
        if not urn:
            raise ConnectorError(
                _("LinkedIn accepted the post but did not say its id. Greenroom will check."),
                code="no_id",
            )
        api.remember_attempt(self.channel, post.idempotency_key, published=urn)
        return PublishedRef(external_id=urn, url=post_url(urn))

    def recent_posts(self, count: int) -> list[dict[str, Any]]:
        data = self._json(
            "GET",
            f"posts?author={encoded(self.page)}&q=author&count={count}&sortBy=CREATED",
            finder=True,
        )
        return [p for p in data.get("elements") or [] if isinstance(p, dict) and p.get("id")]

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """The post this key's attempt made: from the attempt record, else the page's newest
        post with the same text made after the attempt began (see the module docstring)."""
        record = api.recall_attempt(self.channel, idempotency_key)
        if not record:
            return None
        if record.get("published"):
            return PublishedRef(str(record["published"]), post_url(str(record["published"])))
        began = api.parse_time(record.get("began"))
        for post in self.recent_posts(RECENT_POSTS):
            made = _millis(post.get("createdAt")) or _millis(post.get("publishedAt"))
            text = from_little_text(str(post.get("commentary") or ""))
            late_enough = began is None or made is None or made >= began - _CLOCK_SKEW
            if api.text_hash(text) == record.get("text") and late_enough:
                urn = str(post["id"])
                return PublishedRef(urn, post_url(urn), made)
        return None

    def delete(self, external_id: str) -> None:
        """Delete one of the page's posts."""
        self._send("DELETE", f"posts/{encoded(external_id)}", write=True)

    # --- inbox -----------------------------------------------------------------------------------

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Comments on the page's recent posts newer than the cursor (an ISO time)."""
        after = api.parse_time(since) if since else None
        items: list[InboundItem] = []
        for post in self.recent_posts(INBOX_POSTS):
            data = self._json("GET", f"socialActions/{encoded(str(post['id']))}/comments?count=50")
            comments = list(data.get("elements") or [])
            # The post's comments are the top-level ones; the replies under a comment are
            # its own comments (socialActions/{commentUrn}/comments).
            for parent in list(comments):
                summary = parent.get("commentsSummary") or {}
                urn = str(parent.get("commentUrn") or parent.get("$URN") or "")
                if urn and (
                    summary.get("totalFirstLevelComments") or summary.get("aggregatedTotalComments")
                ):
                    nested = self._json("GET", f"socialActions/{encoded(urn)}/comments?count=50")
                    comments += nested.get("elements") or []
            for comment in comments:
                item = comment_item(comment, post_urn=str(post["id"]))
                if item is None or item.author_handle == self.page:
                    continue  # the page's own answers
                if after is None or item.created_at > after:
                    items.append(item)
        # The new comments' organisations, each looked up once in this poll.
        names = self._organization_names(i.author_handle for i in items)
        items = [replace(i, author_name=names.get(i.author_handle, i.author_name)) for i in items]
        items.sort(key=lambda i: i.created_at)
        cursor = items[-1].created_at.isoformat() if items else since
        return InboxPage(items=items, cursor=cursor)

    def _organization_names(self, urns: Iterable[str]) -> dict[str, str]:
        """The names of the organisations among the commenters, by URN: Organization Lookup's
        batch get (GET organizations?ids=List(...)), which answers `localizedName` for pages
        the member does not administer too, under rw_organization_admin (a scope the
        connection asks for). Members (urn:li:person) have no such lookup for a page's app:
        LinkedIn's Profile API is for approved developers only and its data may not be stored
        for anyone but the member who signed in, so a member keeps their URN. A lookup that
        fails leaves its organisations with their URNs and loses nothing else."""
        ids = sorted(
            {
                urn.removeprefix(ORGANIZATION)
                for urn in urns
                if urn.startswith(ORGANIZATION)
                and urn != self.channel.external_id
                and urn.removeprefix(ORGANIZATION).isdigit()
            }
        )
        names: dict[str, str] = {}
        for start in range(0, len(ids), NAME_BATCH):
            batch = ids[start : start + NAME_BATCH]
            try:
                data = self._json("GET", f"organizations?ids=List({','.join(batch)})")
            except ConnectorError as error:
                logger.info(
                    "linkedin channel=%s organisation names unread code=%s",
                    self.channel.pk,
                    error.code,
                )
                continue
            results = data.get("results")
            for key, organization in (results if isinstance(results, dict) else {}).items():
                name = (
                    str(organization.get("localizedName") or "")
                    if isinstance(organization, dict)
                    else ""
                )
                if name.strip() and str(key) in batch:
                    names[f"{ORGANIZATION}{key}"] = name.strip()[:200]
        return names

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer a comment as the page (LinkedIn nests one level deep: an answer to a reply
        goes under the same top-level comment)."""
        if not item.external_id.startswith("urn:li:comment:"):
            # A mention is a post: the answer is a comment on it.
            return self.comment_on_own_post(
                PublishedRef(item.external_id, ""), text, api.reply_key(item, text)
            )
        parent = str(network_json(item.raw).get("parentComment") or item.external_id)
        activity = str(network_json(item.raw).get("object") or "") or _activity_of(parent)
        if not activity:
            raise ConnectorError(
                _("LinkedIn: Greenroom cannot tell which post this comment belongs to."),
                permanent=True,
                code="unknown_post",
            )
        path = f"socialActions/{encoded(parent)}/comments"

        def send() -> PublishedRef:
            data = self._json(
                "POST",
                path,
                json_body={
                    "actor": self.page,
                    "object": activity,
                    "message": {"text": text},
                    "parentComment": parent,
                },
                write=True,
            )
            return PublishedRef(
                external_id=str(data.get("commentUrn") or data.get("$URN") or data.get("id") or ""),
                url="",
            )

        # Once per item and text: a resend after an unknown outcome reads the comment's own
        # comments (the nested replies) for the page's answer before sending again.
        return api.send_once(
            self.channel,
            api.reply_key(item, text),
            text,
            send=send,
            find=lambda record: self._own_comment(path, activity, record),
            network_name="LinkedIn",
        )

    def _own_comment(
        self, path: str, post_urn: str, record: Mapping[str, Any]
    ) -> PublishedRef | None:
        """The page's comment at `path` that the recorded attempt made (same text, after it
        began)."""
        for comment in self._json("GET", f"{path}?count=50").get("elements") or []:
            item = comment_item(comment, post_urn=post_urn)
            if (
                item is not None
                and item.author_handle == self.page
                and api.made_by_attempt(record, item.text, item.created_at)
            ):
                return PublishedRef(item.external_id, "", item.created_at)
        return None

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """Comment on the page's own post as the page (POST socialActions/{post}/comments with
        the post as `object`).

        LinkedIn takes no idempotency key: the attempt record, and else the post's comments by
        the page with the same text, keep a retry from commenting twice."""
        urn = ref.external_id
        path = f"socialActions/{encoded(urn)}/comments"

        def send() -> PublishedRef:
            response = self._send(
                "POST",
                path,
                json_body={"actor": self.page, "object": urn, "message": {"text": text}},
                write=True,
            )
            data = api.json_of(response)
            comment = str(
                data.get("commentUrn")
                or data.get("$URN")
                or response.headers.get("x-restli-id")
                or ""
            )
            if not comment:
                raise ConnectorError(
                    _("LinkedIn accepted the comment but did not say its id. Greenroom checks."),
                    code="no_id",
                )
            return PublishedRef(external_id=comment, url="")

        return api.comment_once(
            self.channel,
            idempotency_key,
            text,
            send=send,
            find=lambda record: self._own_comment(path, urn, record),
        )

    def hide(self, item: InboundItem) -> None:
        """LinkedIn has no way to hide a comment; say so (delete it with delete_comment)."""
        raise ConnectorError(
            _(
                "LinkedIn does not let pages hide comments. Delete the comment instead, or answer "
                "it."
            ),
            permanent=True,
            code="unsupported",
        )

    def delete_comment(self, item: InboundItem) -> None:
        """Delete a comment on one of the page's posts, as the page."""
        target = str(network_json(item.raw).get("object") or "") or _activity_of(item.external_id)
        comment_id = str(network_json(item.raw).get("id") or _comment_id_of(item.external_id))
        self._send(
            "DELETE",
            f"socialActions/{encoded(target)}/comments/{comment_id}?actor={encoded(self.page)}",
            write=True,
        )

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Lifetime share statistics of the page's posts, 20 per request."""
        result = []
        ids = list(refs)
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start : start + METRICS_BATCH]
            query = f"q=organizationalEntity&organizationalEntity={encoded(self.page)}"
            shares = [u for u in batch if u.startswith("urn:li:share:")]
            posts = [u for u in batch if u.startswith("urn:li:ugcPost:")]
            if shares:
                query += f"&shares={restli_list(shares)}"
            if posts:
                query += f"&ugcPosts={restli_list(posts)}"
            if not shares and not posts:
                continue
            data = self._json("GET", f"organizationalEntityShareStatistics?{query}")
            for row in data.get("elements") or []:
                stats = row.get("totalShareStatistics") or {}
                result.append(
                    PostMetrics(
                        external_id=str(row.get("share") or row.get("ugcPost") or ""),
                        likes=int(stats.get("likeCount") or 0),
                        reposts=int(stats.get("shareCount") or 0),
                        replies=int(stats.get("commentCount") or 0),
                        impressions=stats.get("impressionCount"),
                        extra={
                            "clicks": int(stats.get("clickCount") or 0),
                            "unique_impressions": int(stats.get("uniqueImpressionsCount") or 0),
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
        raise WebhookRejected(_("Use the organisation's LinkedIn webhook address."), status=404)


def _activity_of(comment_urn: str) -> str:
    """urn:li:comment:(urn:li:activity:1,2) -> urn:li:activity:1"""
    inside = comment_urn.partition("(")[2].rstrip(")")
    return inside.rsplit(",", 1)[0] if "," in inside else ""


def _comment_id_of(comment_urn: str) -> str:
    return comment_urn.rstrip(")").rsplit(",", 1)[-1]


def comment_media(comment: dict[str, Any]) -> list[dict[str, Any]]:
    """A comment's images: its `content` entries (Comments API: each a `type` such as IMAGE,
    the media's `entity` URN and its `url`). Only http(s) addresses are kept: a payload is
    hostile. The entries stay whole in the comment's JSON."""
    content = comment.get("content")
    shown = []
    for entry in content if isinstance(content, list) else []:
        url = str(entry.get("url") or "") if isinstance(entry, dict) else ""
        if url.startswith(("https://", "http://")):
            shown.append({"type": str(entry.get("type") or "image").lower(), "url": url, "alt": ""})
    return shown


def comment_item(comment: dict[str, Any], *, post_urn: str) -> InboundItem | None:
    """A comment from socialActions/{urn}/comments as an inbox item (the author's name, where
    LinkedIn has one for a page's app, is filled in by `fetch_inbox`)."""
    urn = str(comment.get("commentUrn") or comment.get("$URN") or "")
    made = _millis((comment.get("created") or {}).get("time"))
    if not urn or made is None:
        return None
    actor = str(comment.get("actor") or (comment.get("created") or {}).get("actor") or "")
    return InboundItem(
        external_id=urn,
        kind=InboundKind.COMMENT,
        text=str((comment.get("message") or {}).get("text") or ""),
        author_handle=actor,
        author_name="",
        created_at=made,
        in_reply_to=str(comment.get("parentComment") or post_urn),
        thread_id=post_urn,
        raw=comment,
        media=comment_media(comment),
    )
