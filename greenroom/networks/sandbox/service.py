"""What the sandbox network does, independent of HTTP: the views, the traffic generator and the
demo call these functions on the network's side.

Errors are `ApiError(status, code, message)`, turned into JSON by the views. Messages are what a
person reads on the post page when the network refuses something, so they say what to do.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import vault
from greenroom.core.models import Secret
from greenroom.networks.sandbox.models import (
    SandboxAccount,
    SandboxItem,
    SandboxItemKind,
    SandboxPost,
)

ACCESS_PREFIX = "sbx_at_"
REFRESH_PREFIX = "sbx_rt_"
DEFAULT_ACCESS_TTL = timedelta(days=60)
REFRESH_TTL = timedelta(days=365)
MAX_PAGE = 200


class ApiError(Exception):
    """The sandbox refuses a request: HTTP status, a machine code and a plain message."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


# --- Accounts and tokens -------------------------------------------------------------------------


def _fresh_tokens(ttl: timedelta) -> tuple[IssuedTokens, dict[str, Any]]:
    now = timezone.now()
    issued = IssuedTokens(
        access_token=ACCESS_PREFIX + secrets.token_urlsafe(32),
        refresh_token=REFRESH_PREFIX + secrets.token_urlsafe(32),
        expires_at=now + ttl,
    )
    # The log filter redacts anything the vault has seen; these never reach a log in clear.
    vault.remember_plaintext(issued.access_token)
    vault.remember_plaintext(issued.refresh_token)
    fields = {
        "access_token_hash": token_hash(issued.access_token),
        "access_token_expires_at": issued.expires_at,
        "refresh_token_hash": token_hash(issued.refresh_token),
        "refresh_token_expires_at": now + REFRESH_TTL,
    }
    return issued, fields


@transaction.atomic
def create_account(
    *,
    handle: str,
    network: str,
    display_name: str = "",
    webhook_url: str = "",
    webhook_secret: str = "",
    timezone_name: str = "UTC",
    korean_share: float = 0.3,
    topics: Sequence[Any] = (),
    token_ttl: timedelta = DEFAULT_ACCESS_TTL,
) -> tuple[SandboxAccount, IssuedTokens]:
    """Open an account on the sandbox network; returns it and its first tokens (shown once)."""
    from greenroom.networks import rules

    rules.get_network(network)  # an unknown network is a programming error: fail loudly
    issued, fields = _fresh_tokens(token_ttl)
    account = SandboxAccount.objects.create(
        external_id=_new_id("acct_"),
        handle=handle,
        network=network,
        display_name=display_name or handle,
        webhook_url=webhook_url,
        webhook_secret_sealed=vault.seal(webhook_secret) if webhook_secret else b"",
        timezone=timezone_name,
        korean_share=korean_share,
        topics=list(topics),
        **fields,
    )
    return account, issued


def webhook_secret_of(account: SandboxAccount) -> str:
    from django.conf import settings

    sealed = bytes(account.webhook_secret_sealed or b"")
    if not sealed:
        return str(settings.SANDBOX_WEBHOOK_SECRET)
    # An unsaved Secret is only an envelope for vault.reveal(); nothing is written.
    return vault.reveal(Secret(name=f"sandbox:{account.external_id}:webhook", ciphertext=sealed))


def authenticate(authorization: str | None) -> SandboxAccount:
    """The account a `Bearer` token belongs to; 401 with `token_expired` for an expired one."""
    scheme, _sep, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "missing_token", _("Send the account's access token as 'Authorization: Bearer'.")
        )
    account = SandboxAccount.objects.filter(access_token_hash=token_hash(token.strip())).first()
    if account is None:
        raise ApiError(
            401, "invalid_token", _("This access token is not valid. Reconnect the account.")
        )
    if account.access_token_expires_at <= timezone.now():
        raise ApiError(
            401, "token_expired", _("The access token has expired. Refresh it and try again.")
        )
    return account


@transaction.atomic
def refresh(refresh_token: str, *, ttl: timedelta = DEFAULT_ACCESS_TTL) -> IssuedTokens:
    """Trade a refresh token for a new access and refresh token (the old ones stop working)."""
    account = (
        SandboxAccount.objects.select_for_update()
        .filter(refresh_token_hash=token_hash(refresh_token))
        .first()
    )
    if account is None or account.refresh_token_expires_at <= timezone.now():
        raise ApiError(
            400,
            "invalid_grant",
            _("The refresh token is not valid or has expired. Reconnect the account."),
        )
    issued, fields = _fresh_tokens(ttl)
    for key, value in fields.items():
        setattr(account, key, value)
    account.save(update_fields=list(fields))
    return issued


@transaction.atomic
def reissue_tokens(account: SandboxAccount, *, ttl: timedelta = DEFAULT_ACCESS_TTL) -> IssuedTokens:
    """New tokens for an account (what "reconnect" does on a real network)."""
    issued, fields = _fresh_tokens(ttl)
    SandboxAccount.objects.filter(pk=account.pk).update(**fields)
    for key, value in fields.items():
        setattr(account, key, value)
    return issued


def expire_access_token(account: SandboxAccount) -> None:
    """Make the current access token expired now (tests and the demo use this)."""
    account.access_token_expires_at = timezone.now() - timedelta(seconds=1)
    SandboxAccount.objects.filter(pk=account.pk).update(
        access_token_expires_at=account.access_token_expires_at
    )


# --- Text checks ---------------------------------------------------------------------------------


def check_content(
    account: SandboxAccount, text: str, placement: str, media: Sequence[dict[str, Any]] = ()
) -> None:
    """Refuse what the emulated network would refuse, with the rule table's plain message."""
    from greenroom.networks import rules
    from greenroom.networks import text as text_rules

    try:
        spec = rules.get_spec(account.network, placement)
    except rules.UnknownNetwork as exc:
        raise ApiError(400, "unknown_placement", str(exc)) from None
    problems = text_rules.validate_text(text, account.network, placement)
    if problems:
        try:
            over = text_rules.count(text, account.network, placement).over
        except ValueError:  # the placement carries no text at all
            over = False
        raise ApiError(400, "text_too_long" if over else "invalid_text", " ".join(problems))
    if len(media) > spec.media.max_items:
        raise ApiError(
            400,
            "too_many_media",
            _(
                "%(network)s accepts at most %(max)s attachments in a %(placement)s; this post has "
                "%(count)s. Remove some."
            )
            % {
                "network": spec.network_name,
                "max": spec.media.max_items,
                "placement": spec.label,
                "count": len(media),
            },
        )
    for item in media:
        mime = item["mime_type"]
        if not (spec.media.accepts_image(mime) or spec.media.accepts_video(mime)):
            raise ApiError(
                400,
                "unsupported_media",
                _("%(network)s does not accept %(type)s files in a %(placement)s.")
                % {"network": spec.network_name, "type": mime, "placement": spec.label},
            )


# --- Posts ---------------------------------------------------------------------------------------


def _clean_media(media: Any) -> list[dict[str, Any]]:
    if media is None:
        return []
    if not isinstance(media, list) or not all(isinstance(m, dict) for m in media):
        raise ApiError(400, "invalid_media", _("'media' must be a list of objects."))
    cleaned = []
    for item in media:
        mime = item.get("mime_type")
        if not isinstance(mime, str) or "/" not in mime:
            raise ApiError(
                400, "invalid_media", _("Each media item needs a 'mime_type' such as image/jpeg.")
            )
        cleaned.append(
            {
                "mime_type": mime,
                "alt_text": str(item.get("alt_text", ""))[:1000],
                "name": str(item.get("name", ""))[:300],
                "width": item.get("width"),
                "height": item.get("height"),
                "bytes": item.get("bytes"),
            }
        )
    return cleaned


def create_post(
    account: SandboxAccount,
    *,
    text: str,
    placement: str = "feed",
    media: Any = None,
    idempotency_key: str | None = None,
    in_reply_to: str = "",
) -> tuple[SandboxPost, bool]:
    """Publish a post. With an idempotency key, the same key always yields the same post.

    Returns the post and whether it was created by this call.
    """
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not idempotency_key or len(idempotency_key) > 200:
            raise ApiError(
                400, "invalid_idempotency_key", _("Idempotency-Key must be 1 to 200 characters.")
            )
        existing = account.posts.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    cleaned_media = _clean_media(media)
    if not text.strip() and not cleaned_media:
        raise ApiError(400, "empty_post", _("A post needs text or media."))
    check_content(account, text, placement, cleaned_media)
    try:
        with transaction.atomic():
            post = SandboxPost.objects.create(
                account=account,
                external_id=_new_id("sp_"),
                idempotency_key=idempotency_key or "",
                text=text,
                placement=placement,
                media=cleaned_media,
                in_reply_to=in_reply_to,
            )
    except IntegrityError:
        # Two requests with the same key raced; the other one won, and its post is the answer.
        existing = (
            account.posts.filter(idempotency_key=idempotency_key).first()
            if idempotency_key
            else None
        )
        if existing is None:
            raise
        return existing, False
    return post, True


def get_post(account: SandboxAccount, external_id: str) -> SandboxPost:
    post = account.posts.filter(external_id=external_id).first()
    if post is None:
        raise ApiError(404, "not_found", _("There is no such post on this account."))
    return post


def delete_post(account: SandboxAccount, external_id: str) -> SandboxPost:
    post = get_post(account, external_id)
    if post.deleted_at is None:
        post.deleted_at = timezone.now()
        post.save(update_fields=["deleted_at"])
    return post


def comment_on_post(
    account: SandboxAccount,
    external_id: str,
    *,
    text: str,
    idempotency_key: str | None = None,
) -> tuple[SandboxPost, bool]:
    """The account comments under its own post (a first comment: hashtags, a link).

    With an idempotency key, the same key always yields the same comment, even after the post
    was deleted. Returns the comment and whether this call created it.
    """
    from greenroom.networks import rules

    if idempotency_key is not None and idempotency_key.strip():
        existing = account.posts.filter(idempotency_key=idempotency_key.strip()).first()
        if existing is not None:
            return existing, False
    post = get_post(account, external_id)
    if post.deleted_at is not None:
        raise ApiError(
            404, "post_deleted", _("The post was deleted, so there is nothing to comment under.")
        )
    if not text.strip():
        raise ApiError(400, "empty_comment", _("A comment needs text."))
    try:
        spec = rules.get_spec(account.network, post.placement)
    except rules.UnknownNetwork as exc:
        raise ApiError(400, "unknown_placement", str(exc)) from None
    if spec.text_rule("text") is None:
        raise ApiError(
            400,
            "comments_not_supported",
            _("%(network)s does not allow comments on a %(placement)s.")
            % {"network": spec.network_name, "placement": spec.label},
        )
    comment, created = create_post(
        account,
        text=text,
        placement=post.placement,
        idempotency_key=idempotency_key,
        in_reply_to=post.external_id,
    )
    if created:
        SandboxPost.objects.filter(pk=post.pk).update(replies=F("replies") + 1)
    return comment, created


def bump_metrics(
    post: SandboxPost, *, likes: int = 0, reposts: int = 0, impressions: int = 0
) -> None:
    SandboxPost.objects.filter(pk=post.pk).update(
        likes=F("likes") + likes,
        reposts=F("reposts") + reposts,
        impressions=F("impressions") + impressions,
    )


# --- Inbound items -------------------------------------------------------------------------------


def create_item(
    account: SandboxAccount,
    *,
    kind: str,
    text: str,
    author_handle: str,
    author_name: str = "",
    language: str = "",
    in_reply_to: str = "",
    thread_id: str = "",
    created_at: datetime | None = None,
    deliver: bool = True,
) -> SandboxItem:
    """Someone on the network comments, mentions the account or sends it a DM.

    The item is delivered to the account's webhook after the transaction commits (unless
    `deliver` is False: the caller then delivers with webhooks.deliver()).
    """
    from greenroom.networks.sandbox import webhooks

    if kind not in SandboxItemKind.values:
        raise ApiError(400, "invalid_kind", _("'kind' must be comment, mention or dm."))
    if not text.strip() or not author_handle.strip():
        raise ApiError(400, "invalid_item", _("An item needs text and an author handle."))
    with transaction.atomic():
        # Locking the account serialises its inserts, so ids (the inbox cursor) follow commits.
        SandboxAccount.objects.select_for_update().filter(pk=account.pk).first()
        item = SandboxItem.objects.create(
            account=account,
            external_id=_new_id("si_"),
            kind=kind,
            text=text,
            author_handle=author_handle,
            author_name=author_name,
            language=language,
            in_reply_to=in_reply_to,
            thread_id=thread_id or in_reply_to,
            created_at=created_at or timezone.now(),
        )
        if kind == SandboxItemKind.COMMENT and in_reply_to:
            account.posts.filter(external_id=in_reply_to).update(replies=F("replies") + 1)
        if deliver and account.webhook_url:
            webhooks.schedule_delivery(item)
    return item


def list_items(
    account: SandboxAccount, since: str | None, limit: int = 100
) -> tuple[list[SandboxItem], str | None, bool]:
    """Items after the cursor, oldest first; returns (items, next cursor, more waiting)."""
    after = 0
    if since:
        try:
            after = int(since)
        except ValueError:
            raise ApiError(
                400, "invalid_cursor", _("'since' must be a cursor this API returned.")
            ) from None
    limit = max(1, min(limit, MAX_PAGE))
    rows = list(account.items.filter(pk__gt=after).order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = str(rows[-1].pk) if rows else (since or None)
    return rows, cursor, more


def get_item(account: SandboxAccount, external_id: str) -> SandboxItem:
    item = account.items.filter(external_id=external_id).first()
    if item is None:
        raise ApiError(404, "not_found", _("There is no such comment, mention or message."))
    return item


def reply_to_item(
    account: SandboxAccount, external_id: str, *, text: str, idempotency_key: str | None = None
) -> tuple[SandboxPost, bool]:
    """The account answers a comment, mention or DM."""
    item = get_item(account, external_id)
    return create_post(
        account,
        text=text,
        placement="feed",
        idempotency_key=idempotency_key,
        in_reply_to=item.external_id,
    )


def hide_item(account: SandboxAccount, external_id: str) -> SandboxItem:
    item = get_item(account, external_id)
    if item.kind == SandboxItemKind.DM:
        raise ApiError(
            400, "not_hideable", _("Direct messages cannot be hidden; only comments and mentions.")
        )
    if item.hidden_at is None:
        item.hidden_at = timezone.now()
        item.save(update_fields=["hidden_at"])
    return item


def delete_item(account: SandboxAccount, external_id: str) -> SandboxItem:
    """The account deletes a comment under one of its posts (again: nothing more happens)."""
    item = get_item(account, external_id)
    if item.kind != SandboxItemKind.COMMENT:
        raise ApiError(
            400,
            "not_deletable",
            _("Only comments on the account's own posts can be deleted; not mentions or messages."),
        )
    if item.deleted_at is None:
        item.deleted_at = timezone.now()
        item.save(update_fields=["deleted_at"])
    return item


# --- JSON shapes ---------------------------------------------------------------------------------


def post_json(post: SandboxPost, url: str) -> dict[str, Any]:
    return {
        "id": post.external_id,
        "url": url,
        "text": post.text,
        "placement": post.placement,
        "media": post.media,
        "in_reply_to": post.in_reply_to or None,
        "idempotency_key": post.idempotency_key or None,
        "created_at": post.created_at.isoformat(),
        "deleted": post.deleted_at is not None,
    }


def item_json(item: SandboxItem, account: SandboxAccount | None = None) -> dict[str, Any]:
    acct = account or item.account
    return {
        "id": item.external_id,
        "account": acct.external_id,
        "kind": item.kind,
        "text": item.text,
        "author": {"handle": item.author_handle, "name": item.author_name},
        "language": item.language or None,
        "in_reply_to": item.in_reply_to or None,
        "thread_id": item.thread_id or None,
        "created_at": item.created_at.isoformat(),
        "hidden": item.hidden_at is not None,
        "deleted": item.deleted_at is not None,
    }


def metrics_json(post: SandboxPost) -> dict[str, Any]:
    return {
        "id": post.external_id,
        "likes": post.likes,
        "reposts": post.reposts,
        "replies": post.replies,
        "impressions": post.impressions,
    }
