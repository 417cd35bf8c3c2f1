"""Greenroom's Mastodon connector (any instance), with Mastodon.py.

- Login: OAuth 2 (authorization code, PKCE) through greenroom.networks.oauth; the vault holds the
  instance URL and the access token (see actions.py).
- Limits: the server's own (instance.py), preferred to the rule table's defaults.
- Publish: statuses with media (uploaded first, alt text as the description), content warnings
  (`post.extra["spoiler_text"]`), visibility (`post.extra["visibility"]`), replies. The
  idempotency key goes in Mastodon's Idempotency-Key header, which the server honours for an
  hour; for later checks Greenroom remembers a fingerprint of what it sent (PublishAttempt) and
  `find_published` compares it with the source text of the account's recent statuses.
- Inbox: mention notifications (replies to the account's posts are comments, direct ones are
  DMs) and direct conversations, after a cursor (min_id); polled, Mastodon has no webhooks for
  ordinary accounts.
- Hide: Mastodon cannot hide replies to a post; Greenroom says so.
- First comments: a reply status to the account's own status, published like a post.
- Answers (comments, mentions, direct messages): a reply status with a key from the item and the
  text; an earlier attempt is looked for with `find_published` before sending, so a resend
  after the server forgot the key (an hour) still answers once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.utils import timezone
from django.utils.translation import gettext as _
from mastodon import Mastodon

from greenroom.core import vault
from greenroom.networks import text as network_text
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
from greenroom.networks.connections.actions import record_publish_attempt
from greenroom.networks.connections.payloads import standard_payload
from greenroom.networks.mastodon import instance as mastodon_instance
from greenroom.networks.mastodon.errors import connector_error
from greenroom.networks.registry import register

if TYPE_CHECKING:
    from django.http import HttpRequest

    from greenroom.core.models import Channel

logger = logging.getLogger(__name__)

VISIBILITIES = ("public", "unlisted", "private", "direct")
PAGE = 40  # Mastodon's largest page for notifications and statuses
# find_published reads this many of the account's newest statuses at most.
FIND_PUBLISHED_SCAN = 80
# ...made no earlier than this before the first attempt (clocks differ a little).
CLOCK_SKEW = timedelta(minutes=5)

T = TypeVar("T")


@dataclass(frozen=True)
class MastodonLogin:
    instance: str
    access_token: str
    account_id: str = ""
    acct: str = ""
    refresh_token: str = ""
    expires_at: str = ""

    def encode(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def decode(cls, value: str) -> MastodonLogin:
        try:
            data = json.loads(value)
            login = cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError) as exc:
            raise ConnectorError(
                _("The stored Mastodon login cannot be read. Connect the channel again."),
                permanent=True,
                code="bad_credentials",
            ) from exc
        vault.remember_plaintext(login.access_token)
        if login.refresh_token:
            vault.remember_plaintext(login.refresh_token)
        return login


def fingerprint(text: str, spoiler_text: str = "") -> str:
    return hashlib.sha256(f"{spoiler_text}\n\n{text}".encode()).hexdigest()


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return None


def _plain(value: Any) -> Any:
    """A Mastodon.py result (AttribAccessDict, datetimes) as plain JSON for InboundItem.raw."""
    return json.loads(json.dumps(value, default=str))


@register("mastodon")
class MastodonConnector:
    """One Mastodon account (a channel) on its own server."""

    kind: ClassVar[str] = "mastodon"
    polls_inbox: ClassVar[bool] = True

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._api: Mastodon | None = None
        self._login: MastodonLogin | None = None

    # --- plumbing --------------------------------------------------------------------------------

    @property
    def login(self) -> MastodonLogin:
        if self._login is None:
            if self.channel.credentials is None:
                raise ConnectorError(
                    _("%(channel)s is not connected to Mastodon. Connect the channel.")
                    % {"channel": self.channel},
                    permanent=True,
                    code="no_credentials",
                )
            self._login = MastodonLogin.decode(vault.reveal(self.channel.credentials))
        return self._login

    @property
    def api(self) -> Mastodon:
        if self._api is None:
            self._api = mastodon_instance.api(self.login.instance, self.login.access_token)
        return self._api

    def _call(
        self, during: str, fn: Callable[..., T], *args: Any, write: bool = False, **kwargs: Any
    ) -> T:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise connector_error(exc, during=during, write=write, api=self._api) from exc

    def _account_id(self) -> str:
        if not self.login.account_id:
            me = self._call(_("reading the account"), self.api.account_verify_credentials)
            self._login = MastodonLogin(
                **{**self.login.__dict__, "account_id": str(me["id"]), "acct": str(me["acct"])}
            )
        return self.login.account_id

    @staticmethod
    def _ref(status: Any) -> PublishedRef:
        return PublishedRef(
            external_id=str(status["id"]),
            url=str(status.get("url") or status.get("uri") or ""),
            published_at=_time(status.get("created_at")),
        )

    # --- publishing ------------------------------------------------------------------------------

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Publish a status once (Idempotency-Key); media first, each with its alt text.

        Raises OutcomeUnknown when the server may have stored it; ask `find_published` then.
        """
        spoiler = str(post.extra.get("spoiler_text") or "")
        visibility = str(post.extra.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            raise ConnectorError(
                _("Mastodon has no visibility %(v)r (it has %(all)s).")
                % {"v": visibility, "all": ", ".join(VISIBILITIES)},
                permanent=True,
                code="bad_visibility",
            )
        self._check_limits(post, spoiler)
        media_ids = [self._upload(item.path, item.mime_type, item.alt_text) for item in post.media]
        record_publish_attempt(
            self.channel,
            idempotency_key=post.idempotency_key,
            fingerprint=fingerprint(post.text, spoiler),
        )
        status = self._call(
            _("publishing the post"),
            self.api.status_post,
            post.text,
            in_reply_to_id=post.reply_to or None,
            media_ids=media_ids or None,
            sensitive=bool(post.extra.get("sensitive", bool(spoiler))),
            visibility=visibility,
            spoiler_text=spoiler or None,
            language=post.extra.get("language") or None,
            idempotency_key=post.idempotency_key,
            write=True,
        )
        logger.info("mastodon status published channel=%s id=%s", self.channel.pk, status["id"])
        return self._ref(status)

    def _check_limits(self, post: OutgoingPost, spoiler: str) -> None:
        """Refuse what this server would refuse, by its own limits, in plain words."""
        limits = mastodon_instance.limits_for(self.channel)
        length = network_text.count(post.text, "mastodon", post.placement or "feed").length
        if spoiler:
            length += network_text.count(spoiler, "mastodon", post.placement or "feed").length
        if length > limits.max_characters:
            raise ConnectorError(
                _(
                    "This Mastodon server takes %(limit)s characters and the post (with its "
                    "content warning) has %(length)s. Shorten it by %(over)s."
                )
                % {
                    "limit": limits.max_characters,
                    "length": length,
                    "over": length - limits.max_characters,
                },
                permanent=True,
                code="too_long",
            )
        if len(post.media) > limits.max_media_attachments:
            raise ConnectorError(
                _("This Mastodon server takes %(limit)s attachments; the post has %(count)s.")
                % {"limit": limits.max_media_attachments, "count": len(post.media)},
                permanent=True,
                code="too_many_media",
            )

    def _upload(self, path: str, mime_type: str, alt_text: str) -> str:
        # An unused upload is harmless (the server drops it), so uploads are not "writes".
        media = self._call(
            _("uploading media"),
            self.api.media_post,
            path,
            mime_type=mime_type or None,
            description=alt_text or None,
            synchronous=True,
        )
        return str(media["id"])

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """The status Greenroom sent with this key, if the server has it.

        Compares the fingerprint of what was sent with the source text of the account's statuses
        made since the first attempt; None when Greenroom never sent this key from here.
        """
        from greenroom.networks.connections.models import PublishAttempt

        attempt = PublishAttempt.objects.filter(
            channel=self.channel, idempotency_key=idempotency_key
        ).first()
        if attempt is None:
            return None
        since = attempt.started_at - CLOCK_SKEW
        account_id = self._account_id()
        statuses = self._call(
            _("looking for a post sent earlier"),
            self.api.account_statuses,
            account_id,
            limit=PAGE,
        )
        seen = 0
        while statuses:
            for status in statuses:
                created = _time(status.get("created_at"))
                if created is not None and created < since:
                    return None
                source = self._call(
                    _("looking for a post sent earlier"), self.api.status_source, status["id"]
                )
                if (
                    fingerprint(
                        str(source.get("text") or ""), str(source.get("spoiler_text") or "")
                    )
                    == attempt.fingerprint
                ):
                    return self._ref(status)
            seen += len(statuses)
            if seen >= FIND_PUBLISHED_SCAN:
                return None
            statuses = self._call(
                _("looking for a post sent earlier"), self.api.fetch_next, statuses
            )
        return None

    def delete(self, external_id: str) -> None:
        """Delete one of the account's statuses."""
        self._call(_("deleting the post"), self.api.status_delete, external_id, write=True)

    # --- inbox -----------------------------------------------------------------------------------

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Mentions, replies and direct messages after the cursor, oldest first.

        The cursor holds two Mastodon ids: the last mention notification, and the newest direct
        status seen in conversations ("n:<id>|c:<id>"). A DM usually arrives both ways; ingest
        keeps it once (both use the status id).
        """
        notes_after, dms_after = _parse_cursor(since)
        me = self._account_id()
        items: dict[str, InboundItem] = {}
        notes = self._call(
            _("reading notifications"),
            self.api.notifications,
            types=["mention"],
            min_id=notes_after or None,
            limit=PAGE,
        )
        newest_note = notes_after
        for note in notes:
            newest_note = _max_id(newest_note, str(note["id"]))
            status = note.get("status")
            if status is None or str(status["account"]["id"]) == me:
                continue
            items.setdefault(str(status["id"]), self._item(status, me))
        conversations = self._call(_("reading direct messages"), self.api.conversations, limit=PAGE)
        newest_dm = dms_after
        for conversation in conversations:
            status = conversation.get("last_status")
            if status is None or str(status["account"]["id"]) == me:
                continue
            if dms_after and not _id_after(str(status["id"]), dms_after):
                continue
            newest_dm = _max_id(newest_dm, str(status["id"]))
            item = self._item(status, me, thread_id=str(conversation["id"]))
            items[str(status["id"])] = item
        ordered = sorted(items.values(), key=lambda i: (i.created_at, int(_num(i.external_id))))
        return InboxPage(items=ordered, cursor=f"n:{newest_note}|c:{newest_dm}")

    def _item(self, status: Any, me: str, *, thread_id: str | None = None) -> InboundItem:
        account = status["account"]
        if status.get("visibility") == "direct":
            kind = InboundKind.DM
        elif str(status.get("in_reply_to_account_id") or "") == me:
            kind = InboundKind.COMMENT
        else:
            kind = InboundKind.MENTION
        in_reply_to = str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None
        fields: dict[str, Any] = {
            "external_id": str(status["id"]),
            "kind": kind,
            "text": _text_of(status),
            "author_handle": str(account["acct"]),
            "author_name": str(account.get("display_name") or ""),
            "created_at": _time(status.get("created_at")) or timezone.now(),
            "in_reply_to": in_reply_to,
            "thread_id": thread_id or in_reply_to or str(status["id"]),
        }
        media = [
            {
                "type": str(m.get("type") or ""),
                "url": str(m.get("url") or ""),
                "alt_text": str(m.get("description") or ""),
            }
            for m in status.get("media_attachments") or []
        ]
        raw = standard_payload(**fields, media=media, network=_plain(status))
        return InboundItem(**fields, raw=raw)

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer a mention, reply or direct message, at the same visibility, mentioning its
        author (as Mastodon's own apps do). The same text to the same item answers once: the
        key travels as Idempotency-Key, which the server honours for an hour only, so an
        earlier attempt is first looked for among the account's statuses (`find_published`;
        direct answers included, an account sees its own direct statuses)."""
        handle = f"@{item.author_handle}"
        body = text if handle.lower() in text.lower() else f"{handle} {text}"
        visibility = str(item.raw.get("network", {}).get("visibility") or "public")
        if visibility not in VISIBILITIES:
            visibility = "public"
        key = "reply-" + hashlib.sha256(f"{item.external_id}\n{text}".encode()).hexdigest()[:40]
        existing = self.find_published(key)
        if existing is not None:
            return existing
        return self.publish(
            OutgoingPost(
                text=body,
                idempotency_key=key,
                reply_to=item.external_id,
                extra={"visibility": visibility},
            )
        )

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """Mastodon's comment is a reply status to the account's own status (in_reply_to_id),
        sent with the key as Idempotency-Key. The server honours the key for an hour only, so
        a later retry first looks for the reply Greenroom already sent (`find_published`)."""
        existing = self.find_published(idempotency_key)
        if existing is not None:
            return existing
        return self.publish(
            OutgoingPost(text=text, idempotency_key=idempotency_key, reply_to=ref.external_id)
        )

    def delete_comment(self, item: InboundItem) -> None:
        """Mastodon does not let an account delete other people's replies: say so."""
        raise ConnectorError(
            _(
                "Mastodon does not let an account delete other people's replies. "
                "Report it to its server's moderators, or mute or block the account."
            ),
            permanent=True,
            code="not_supported",
        )

    def hide(self, item: InboundItem) -> None:
        """Mastodon has no way to hide someone's reply; say what people can do instead."""
        raise ConnectorError(
            _(
                "Mastodon cannot hide replies. Mute or block the account, or report the post to "
                "its server's moderators, from Mastodon."
            ),
            permanent=True,
            code="cannot_hide",
        )

    # --- metrics and tokens ----------------------------------------------------------------------

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Favourites (likes), boosts (reposts) and replies of published statuses."""
        result: list[PostMetrics] = []
        ids = list(refs)
        for start in range(0, len(ids), PAGE):
            batch = ids[start : start + PAGE]
            try:
                statuses = self.api.statuses(batch)
            except Exception:
                # Servers before Mastodon 4.3 have no GET /api/v1/statuses?id[]=: one by one.
                statuses = [
                    self._call(_("reading post metrics"), self.api.status, status_id)
                    for status_id in batch
                ]
            for status in statuses:
                result.append(
                    PostMetrics(
                        external_id=str(status["id"]),
                        likes=int(status.get("favourites_count") or 0),
                        reposts=int(status.get("reblogs_count") or 0),
                        replies=int(status.get("replies_count") or 0),
                    )
                )
        return result

    def refresh_token(self) -> TokenSet | None:
        """Mastodon access tokens do not expire until revoked: nothing to refresh."""
        return None

    @classmethod
    def verify_webhook(cls, request: HttpRequest) -> list[InboundItem]:
        """Mastodon's webhooks are for server admins only; Greenroom polls instead."""
        raise WebhookRejected(_("Mastodon accounts do not send webhooks."), status=404)


def _num(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _id_after(candidate: str, cursor: str) -> bool:
    """Mastodon ids are numbers in strings that grow with time; compare them as numbers."""
    if candidate.isdigit() and cursor.isdigit():
        return int(candidate) > int(cursor)
    return candidate > cursor


def _max_id(current: str, candidate: str) -> str:
    return candidate if not current or _id_after(candidate, current) else current


def _parse_cursor(cursor: str | None) -> tuple[str, str]:
    notes = dms = ""
    for part in (cursor or "").split("|"):
        name, _sep, value = part.partition(":")
        if name == "n":
            notes = value
        elif name == "c":
            dms = value
    return notes, dms


def _text_of(status: Any) -> str:
    """The status's words without its HTML (links and mentions keep their visible text)."""
    from django.utils.html import strip_tags

    html = str(status.get("content") or "")
    html = html.replace("<br>", "\n").replace("<br/>", "\n").replace("<br />", "\n")
    html = html.replace("</p><p>", "\n\n")
    import html as html_lib

    return html_lib.unescape(strip_tags(html)).strip()
