"""Greenroom's Bluesky connector, on the AT Protocol with the `atproto` SDK.

- Login: an app password (never the account password), kept in the vault with the session
  tokens (see session.py).
- Publish: an app.bsky.feed.post record with facets for links, mentions and hashtags (UTF-8 byte
  offsets, as the lexicon wants), images with alt text or one video as uploaded blobs, replies
  and threads. The idempotency key travels inside the record as the extra field
  `greenroomIdempotencyKey`: AT Protocol records may carry fields their lexicon does not name
  (readers ignore them), so the key is kept on the network itself and `find_published` reads it
  back from the account's repository, with no index and no post text to compare.
- First comments: a reply to the account's own post in its thread, with the key in the record.
- Inbox: replies, mentions and quotes from app.bsky.notification.listNotifications, polled
  (Bluesky does not call webhooks); likes and reposts are metrics, not inbox items.
- Hide: Bluesky lets the author of a thread hide replies in it (the threadgate's hiddenReplies);
  replies in other people's threads cannot be hidden.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from atproto import AtUri, Client, models
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from greenroom.core import vault
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
from greenroom.networks.bluesky import session as bsky_session
from greenroom.networks.bluesky.errors import connector_error, is_auth_error
from greenroom.networks.connections.payloads import standard_payload
from greenroom.networks.registry import register

if TYPE_CHECKING:
    from django.http import HttpRequest

    from greenroom.core.models import Channel

logger = logging.getLogger(__name__)

POST = "app.bsky.feed.post"
THREADGATE = "app.bsky.feed.threadgate"
KEY_FIELD = "greenroomIdempotencyKey"
# find_published looks this far back in the account's own posts (newest first).
FIND_PUBLISHED_SCAN = 300
NOTIFICATION_PAGE = 100
# At most this many notification pages in one fetch (the poller calls again for more).
NOTIFICATION_PAGES = 5
METRICS_BATCH = 25  # app.bsky.feed.getPosts takes at most 25 URIs
INBOX_REASONS = {
    "reply": InboundKind.COMMENT,
    "mention": InboundKind.MENTION,
    "quote": InboundKind.MENTION,
}

T = TypeVar("T")


def post_url(handle_or_did: str, uri: str) -> str:
    rkey = AtUri.from_str(uri).rkey
    return f"{settings.BLUESKY_WEB_URL.rstrip('/')}/profile/{handle_or_did}/post/{rkey}"


def _time(value: str | None) -> datetime | None:
    parsed = parse_datetime(value) if value else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


@register("bluesky")
class BlueskyConnector:
    """One Bluesky account (a channel), spoken to through its PDS."""

    kind: ClassVar[str] = "bluesky"
    polls_inbox: ClassVar[bool] = True

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._client: Client | None = None
        self._login: bsky_session.BlueskyLogin | None = None

    # --- plumbing --------------------------------------------------------------------------------

    def _session(self) -> tuple[Client, bsky_session.BlueskyLogin]:
        if self._client is None or self._login is None:
            self._client, self._login = bsky_session.client_for(self.channel)
        return self._client, self._login

    @property
    def did(self) -> str:
        return self._session()[1].did

    def _call(self, during: str, fn: Callable[..., T], *args: Any, write: bool = False) -> T:
        """Run one SDK call; a dead session is renewed from the app password and tried once more
        (an auth error means the PDS did nothing, so the retry is safe)."""
        client, _login = self._session()
        try:
            return fn(client, *args)
        except Exception as exc:
            if not is_auth_error(exc):
                raise connector_error(exc, during=during, write=write) from exc
        self.channel.refresh_from_db(fields=["credentials"])
        self._client, self._login = bsky_session.client_for(self.channel, resume=False)
        try:
            return fn(self._client, *args)
        except Exception as exc:
            raise connector_error(exc, during=during, write=write) from exc

    def _ref(self, uri: str, created_at: str | None = None) -> PublishedRef:
        login = self._session()[1]
        return PublishedRef(
            external_id=uri,
            url=post_url(login.handle or login.did, uri),
            published_at=_time(created_at),
        )

    # --- publishing ------------------------------------------------------------------------------

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Publish a post (or a thread: `post.extra["thread"]` lists the texts after the first).

        Raises OutcomeUnknown when the PDS may have stored it; ask `find_published` then.
        """
        reply_to = post.reply_to
        first = self._publish_one(post.text, post.idempotency_key, post, reply_to=reply_to)
        parent = first.external_id
        for index, text in enumerate(post.extra.get("thread", []), start=1):
            key = f"{post.idempotency_key}#{index}"
            # A retried thread continues where it stopped instead of posting a part twice.
            existing = self.find_published(key)
            ref = existing or self._publish_one(str(text), key, None, reply_to=parent)
            parent = ref.external_id
        return first

    def _publish_one(
        self, text: str, key: str, post: OutgoingPost | None, *, reply_to: str | None
    ) -> PublishedRef:
        facets = self._call(
            _("finding links, mentions and hashtags"), lambda c: c.detect_facets(text)
        )
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": timezone.now().isoformat().replace("+00:00", "Z"),
            KEY_FIELD: key,
        }
        if facets:
            record["facets"] = [
                f.model_dump(mode="json", by_alias=True, exclude_none=True) for f in facets
            ]
        if post is not None:
            langs = post.extra.get("langs")
            if langs:
                record["langs"] = [str(lang) for lang in langs][:3]
            if post.media:
                record["embed"] = self._embed(post)
        if reply_to:
            record["reply"] = self._reply_ref(reply_to)
        did = self.did
        result = self._call(
            _("publishing the post"),
            lambda c: c.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(repo=did, collection=POST, record=record)
            ),
            write=True,
        )
        logger.info("bluesky post published channel=%s uri=%s", self.channel.pk, result.uri)
        return self._ref(result.uri, record["createdAt"])

    def _embed(self, post: OutgoingPost) -> dict[str, Any]:
        spec = rules.get_spec("bluesky", post.placement if post.placement else "feed")
        images = [m for m in post.media if m.mime_type.startswith("image/")]
        videos = [m for m in post.media if m.mime_type.startswith("video/")]
        if videos and (images or len(videos) > 1):
            raise ConnectorError(
                _("A Bluesky post takes one video, or up to %(n)s images, not both.")
                % {"n": spec.media.max_items if spec.media else 4},
                permanent=True,
                code="media_mix",
            )
        if videos:
            item = videos[0]
            data = self._read(item.path, limit=spec.video.max_bytes if spec.video else None)
            blob = self._upload(data, item.mime_type)
            embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": blob}
            if item.alt_text:
                embed["alt"] = item.alt_text
            ratio = _aspect_ratio(item.path)
            if ratio:
                embed["aspectRatio"] = ratio
            return embed
        most = spec.media.max_items if spec.media and spec.media.max_items else 4
        if len(images) > most:
            raise ConnectorError(
                _("Bluesky takes at most %(n)s images in a post; this one has %(count)s.")
                % {"n": most, "count": len(images)},
                permanent=True,
                code="too_many_images",
            )
        entries = []
        for item in images:
            data = self._read(item.path, limit=spec.media.max_image_bytes if spec.media else None)
            image: dict[str, Any] = {
                "image": self._upload(data, item.mime_type),
                "alt": item.alt_text,
            }
            ratio = _aspect_ratio(item.path)
            if ratio:
                image["aspectRatio"] = ratio
            entries.append(image)
        return {"$type": "app.bsky.embed.images", "images": entries}

    @staticmethod
    def _read(path: str, *, limit: int | None) -> bytes:
        file = Path(path)
        try:
            size = file.stat().st_size
        except OSError as exc:
            raise ConnectorError(
                _("The media file %(name)s is missing. Upload it again.") % {"name": file.name},
                permanent=True,
                code="media_missing",
            ) from exc
        if limit is not None and size > limit:
            raise ConnectorError(
                _(
                    "%(name)s is %(size)s bytes; Bluesky accepts at most %(limit)s. Use a "
                    "smaller rendition."
                )
                % {"name": file.name, "size": f"{size:,}", "limit": f"{limit:,}"},
                permanent=True,
                code="BlobTooLarge",
            )
        return file.read_bytes()

    def _upload(self, data: bytes, mime_type: str) -> dict[str, Any]:
        def upload(c: Client) -> Any:
            return c.com.atproto.repo.upload_blob(data, headers={"Content-Type": mime_type})

        # Uploading twice is harmless (an unused blob is discarded by the PDS): not a write.
        result = self._call(_("uploading media"), upload)
        blob = result.blob.model_dump(mode="json", by_alias=True, exclude_none=True)
        return blob if isinstance(blob, dict) else {}

    def _reply_ref(self, parent_uri: str) -> dict[str, Any]:
        """The reply refs (parent and thread root, each uri + cid) for answering `parent_uri`."""
        try:
            uri = AtUri.from_str(parent_uri)
        except Exception as exc:
            raise ConnectorError(
                _("%(id)s is not a Bluesky post address.") % {"id": parent_uri},
                permanent=True,
                code="bad_reply_to",
            ) from exc
        if uri.host == self.did:
            # Our own post (a thread just written): the PDS has it even before the AppView.
            record = self._call(
                _("reading the post to answer"),
                lambda c: c.com.atproto.repo.get_record(
                    models.ComAtprotoRepoGetRecord.Params(
                        repo=uri.host, collection=uri.collection, rkey=uri.rkey
                    )
                ),
            )
            cid, value = record.cid, record.value
        else:
            found = self._call(
                _("reading the post to answer"), lambda c: c.get_posts([parent_uri]).posts
            )
            if not found:
                raise ConnectorError(
                    _("The Bluesky post to answer no longer exists."),
                    permanent=True,
                    code="RecordNotFound",
                )
            cid, value = found[0].cid, found[0].record
        parent = {"uri": parent_uri, "cid": cid}
        reply = getattr(value, "reply", None)
        root = {"uri": reply.root.uri, "cid": reply.root.cid} if reply is not None else parent
        return {"root": root, "parent": parent}

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """The account's post carrying this idempotency key, from its own repository (the PDS
        is the source of truth: the AppView may not have indexed a post written a moment ago)."""
        did = self.did
        cursor: str | None = None
        seen = 0

        def page_of(c: Client, cursor: str | None) -> Any:
            return c.com.atproto.repo.list_records(
                models.ComAtprotoRepoListRecords.Params(
                    repo=did, collection=POST, limit=100, cursor=cursor
                )
            )

        while seen < FIND_PUBLISHED_SCAN:
            page = self._call(_("looking for a post sent earlier"), page_of, cursor)
            for record in page.records:
                if getattr(record.value, KEY_FIELD, None) == idempotency_key:
                    return self._ref(record.uri, getattr(record.value, "created_at", None))
            seen += len(page.records)
            cursor = page.cursor
            if not cursor or not page.records:
                break
        return None

    def delete(self, external_id: str) -> None:
        """Delete one of the account's posts (deleting one already gone is not an error)."""
        uri = AtUri.from_str(external_id)
        self._call(
            _("deleting the post"),
            lambda c: c.com.atproto.repo.delete_record(
                models.ComAtprotoRepoDeleteRecord.Data(
                    repo=self.did, collection=uri.collection, rkey=uri.rkey
                )
            ),
            write=True,
        )

    # --- inbox -----------------------------------------------------------------------------------

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Replies, mentions and quotes indexed at or after `since` (an ISO time), oldest first.

        Bluesky's notification cursor pages backwards in time, so Greenroom's cursor is the
        newest `indexedAt` seen; items at exactly that time come again and ingest drops them.
        """
        items: list[InboundItem] = []
        newest = since
        cursor: str | None = None

        def page_of(c: Client, cursor: str | None) -> Any:
            return c.app.bsky.notification.list_notifications(
                models.AppBskyNotificationListNotifications.Params(
                    limit=NOTIFICATION_PAGE, cursor=cursor
                )
            )

        for _page in range(NOTIFICATION_PAGES):
            page = self._call(_("reading notifications"), page_of, cursor)
            older = False
            for note in page.notifications:
                if since and note.indexed_at < since:
                    older = True
                    continue
                if newest is None or note.indexed_at > newest:
                    newest = note.indexed_at
                item = self._item(note)
                if item is not None:
                    items.append(item)
            cursor = page.cursor
            if older or not cursor or not page.notifications:
                break
        items.sort(key=lambda i: (i.created_at, i.external_id))
        return InboxPage(items=items, cursor=newest)

    def _item(self, note: Any) -> InboundItem | None:
        kind = INBOX_REASONS.get(note.reason)
        if kind is None:
            return None  # likes, reposts and follows are counted by fetch_metrics
        record = note.record
        reply = getattr(record, "reply", None)
        created = _time(getattr(record, "created_at", None)) or _time(note.indexed_at)
        fields: dict[str, Any] = {
            "external_id": note.uri,
            "kind": kind,
            "text": str(getattr(record, "text", "") or ""),
            "author_handle": note.author.handle,
            "author_name": note.author.display_name or "",
            "created_at": created or timezone.now(),
            "in_reply_to": reply.parent.uri if reply is not None else note.reason_subject,
            "thread_id": reply.root.uri if reply is not None else note.uri,
        }
        raw = standard_payload(**fields, network=bsky_session.raw(note))
        return InboundItem(**fields, raw=raw)

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer a reply, mention or quote in its thread.

        The same text to the same item is one reply: a retry finds the first one.
        """
        import hashlib

        key = "reply-" + hashlib.sha256(f"{item.external_id}\n{text}".encode()).hexdigest()[:40]
        existing = self.find_published(key)
        if existing is not None:
            return existing
        return self._publish_one(text, key, None, reply_to=item.external_id)

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """Bluesky's comment is a reply in the post's thread (root and parent: the post's uri
        and cid, read from the PDS). The key travels in the record, so an earlier attempt is
        found in the account's repository and never posted twice."""
        existing = self.find_published(idempotency_key)
        if existing is not None:
            return existing
        return self._publish_one(text, idempotency_key, None, reply_to=ref.external_id)

    def delete_comment(self, item: InboundItem) -> None:
        """Bluesky does not let an account delete other people's replies: say so."""
        raise ConnectorError(
            _(
                "Bluesky does not let an account delete other people's replies. "
                "Hide the reply instead."
            ),
            permanent=True,
            code="not_supported",
        )

    def hide(self, item: InboundItem) -> None:
        """Hide a reply in one of the account's own threads (threadgate hiddenReplies)."""
        if item.kind == InboundKind.DM:
            raise ConnectorError(
                _("Bluesky messages cannot be hidden."), permanent=True, code="cannot_hide"
            )
        root_uri = item.thread_id or ""
        try:
            root = AtUri.from_str(root_uri)
        except Exception:
            root = None
        if root is None or root.host != self.did or root_uri == item.external_id:
            raise ConnectorError(
                _(
                    "Bluesky lets only a thread's author hide replies, and this is in someone "
                    "else's thread. Mute or block the account in Bluesky instead."
                ),
                permanent=True,
                code="not_thread_author",
            )
        did = self.did

        def current(c: Client) -> Any:
            return c.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=did, collection=THREADGATE, rkey=root.rkey
                )
            )

        try:
            gate: dict[str, Any] = bsky_session.raw(
                self._call(_("reading the thread's settings"), current).value
            )
        except ConnectorError as exc:
            if exc.code not in ("RecordNotFound", "NotFound", "InvalidRequest"):
                raise
            gate = {"$type": THREADGATE, "post": root_uri, "createdAt": timezone.now().isoformat()}
        hidden = list(gate.get("hiddenReplies") or [])
        if item.external_id in hidden:
            return
        gate["hiddenReplies"] = [*hidden, item.external_id]
        gate["$type"] = THREADGATE
        self._call(
            _("hiding the reply"),
            lambda c: c.com.atproto.repo.put_record(
                models.ComAtprotoRepoPutRecord.Data(
                    repo=did, collection=THREADGATE, rkey=root.rkey, record=gate
                )
            ),
            write=True,
        )

    # --- metrics and tokens ----------------------------------------------------------------------

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Likes, reposts, replies and quotes (extra["quotes"]) of published posts."""
        result: list[PostMetrics] = []
        ids = list(refs)
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start : start + METRICS_BATCH]
            posts = self._call(_("reading post metrics"), lambda c, b: c.get_posts(b).posts, batch)
            for post in posts:
                result.append(
                    PostMetrics(
                        external_id=post.uri,
                        likes=post.like_count or 0,
                        reposts=post.repost_count or 0,
                        replies=post.reply_count or 0,
                        extra={"quotes": post.quote_count or 0},
                    )
                )
        return result

    def refresh_token(self) -> TokenSet | None:
        """Renew the session when its access token is near expiry (the SDK refreshes it and the
        new session goes to the vault). None when nothing needed renewing."""
        stored = self._stored_login()
        if stored is not None and stored.is_oauth:
            if not stored.oauth_access_expired:
                return None
            fresh = bsky_session.refresh_oauth(self.channel, stored)
            self._client, self._login = bsky_session.oauth_client(fresh), fresh
            return TokenSet(
                access_token=fresh.access_jwt,
                refresh_token=fresh.refresh_jwt,
                expires_at=datetime.fromtimestamp(float(fresh.access_expires_at), UTC),
            )
        client, login = self._session()
        before = login.access_jwt
        self._call(_("renewing the session"), lambda c: c.com.atproto.server.get_session())
        session = client._session
        if session is None or session.access_jwt == before:
            return None
        return TokenSet(
            access_token=session.access_jwt,
            refresh_token=session.refresh_jwt,
            expires_at=bsky_session.jwt_expiry(session.access_jwt),
        )

    def _stored_login(self) -> bsky_session.BlueskyLogin | None:
        if self.channel.credentials is None:
            return None
        return bsky_session.BlueskyLogin.decode(vault.reveal(self.channel.credentials))

    @classmethod
    def verify_webhook(cls, request: HttpRequest) -> list[InboundItem]:
        """Bluesky does not send webhooks; Greenroom polls notifications instead."""
        raise WebhookRejected(_("Bluesky does not send webhooks."), status=404)


def _aspect_ratio(path: str) -> dict[str, int] | None:
    """Width and height for the embed (clients reserve the space before the media loads)."""
    try:
        import pyvips

        image = pyvips.Image.new_from_file(path, access="sequential")
        return {"width": int(image.width), "height": int(image.height)}
    except Exception:
        return None


def guess_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"
