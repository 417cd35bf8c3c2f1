"""Greenroom's side of the sandbox network: the Connector, spoken over HTTP like a real network.

Tokens live in the vault as JSON (access token, refresh token, expiry); a bare string is read as
an access token without a refresh token. The httpx transport is a module-level hook so tests and
the demo seed can serve the sandbox in-process (httpx.WSGITransport) inside their transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from greenroom.core import vault
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    InboxPage,
    OutcomeUnknown,
    OutgoingPost,
    PostMetrics,
    PublishedRef,
    TokenSet,
    WebhookRejected,
)
from greenroom.networks.registry import register
from greenroom.networks.sandbox import signing

if TYPE_CHECKING:
    from django.http import HttpRequest

    from greenroom.core.models import Channel

logger = logging.getLogger(__name__)

# Tests and the demo seed put an in-process transport here; None means real sockets.
_transport: httpx.BaseTransport | None = None

# Refresh a little before expiry, so a token does not expire between check and use.
# More than the beat's minute between token checks (greenroom/networks/health.py).
REFRESH_MARGIN = timedelta(minutes=2)
METRICS_BATCH = 100


@contextmanager
def use_transport(transport: httpx.BaseTransport | None) -> Iterator[None]:
    global _transport
    previous, _transport = _transport, transport
    try:
        yield
    finally:
        _transport = previous


# One client for every connector of the process with the same transport and settings: building a
# client per request (headers, URL, pool) was a fifth of a publishing worker's CPU. httpx clients
# may be shared by threads. Keyed by process too: a forked child builds its own.
_client_slot: tuple[tuple[object, ...], httpx.Client] | None = None
_client_lock = threading.Lock()


def _shared_client() -> httpx.Client:
    global _client_slot
    key = (
        os.getpid(),
        _transport,
        settings.SANDBOX_BASE_URL,
        settings.SANDBOX_CLIENT_TIMEOUT_S,
    )
    slot = _client_slot
    if slot is not None and slot[0] == key:
        return slot[1]
    with _client_lock:
        if _client_slot is None or _client_slot[0] != key:
            client = httpx.Client(
                base_url=f"{settings.SANDBOX_BASE_URL.rstrip('/')}/api/v1/",
                transport=_transport,
                timeout=settings.SANDBOX_CLIENT_TIMEOUT_S,
                headers={"User-Agent": "Greenroom/1.0 (+sandbox connector)"},
            )
            _client_slot = (key, client)
        return _client_slot[1]


def encode_tokens(tokens: TokenSet) -> str:
    """The vault value of a channel's sandbox tokens."""
    return json.dumps(
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
        }
    )


def decode_tokens(value: str) -> TokenSet:
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        return TokenSet(access_token=value)
    expires = data.get("expires_at")
    refresh = data.get("refresh_token")
    tokens = TokenSet(
        access_token=data["access_token"],
        refresh_token=refresh if isinstance(refresh, str) else None,
        expires_at=parse_datetime(expires) if isinstance(expires, str) else None,
    )
    # The vault registered the JSON; the log filter must also know each token on its own.
    vault.remember_plaintext(tokens.access_token)
    if tokens.refresh_token:
        vault.remember_plaintext(tokens.refresh_token)
    return tokens


def _item_from_json(raw: Any) -> InboundItem:
    """One item of the sandbox's JSON; KeyError/TypeError/ValueError when it is malformed."""
    if not isinstance(raw, dict):
        raise TypeError("an item must be an object")
    author = raw["author"]
    if not isinstance(author, dict):
        raise TypeError("'author' must be an object")
    external_id, kind, text = raw["id"], raw["kind"], raw["text"]
    handle = author["handle"]
    if not all(isinstance(v, str) and v for v in (external_id, kind, handle)):
        raise TypeError("'id', 'kind' and 'author.handle' must be non-empty strings")
    if not isinstance(text, str):
        raise TypeError("'text' must be a string")
    if kind not in ("comment", "mention", "dm"):
        raise ValueError(f"unknown kind {kind!r}")
    created = parse_datetime(str(raw["created_at"]))
    if created is None:
        raise ValueError("'created_at' is not an ISO 8601 time")
    in_reply_to, thread_id = raw.get("in_reply_to"), raw.get("thread_id")
    return InboundItem(
        external_id=external_id[:200],
        kind=kind,
        text=text,
        author_handle=handle[:200],
        author_name=str(author.get("name") or "")[:200],
        created_at=created,
        in_reply_to=str(in_reply_to) if in_reply_to else None,
        thread_id=str(thread_id) if thread_id else None,
        raw=raw,
    )


@register("sandbox")
class SandboxConnector:
    """Talks to Greenroom's sandbox network (settings.SANDBOX_BASE_URL) for one channel."""

    kind: ClassVar[str] = "sandbox"

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    # --- plumbing --------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        return _shared_client()

    def _tokens(self, *, reload: bool = False) -> TokenSet:
        if reload:
            # Also drops the cached Secret, so the vault value is read again.
            self.channel.refresh_from_db(fields=["credentials"])
        secret = self.channel.credentials
        if secret is None:
            raise ConnectorError(
                _("%(channel)s has no access token. Reconnect the channel.")
                % {"channel": self.channel},
                permanent=True,
                code="no_credentials",
            )
        return decode_tokens(vault.reveal(secret))

    @staticmethod
    def _near_expiry(tokens: TokenSet) -> bool:
        return tokens.expires_at is not None and tokens.expires_at <= timezone.now() + (
            REFRESH_MARGIN
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        write: bool = False,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        allow_404: bool = False,
    ) -> dict[str, Any] | None:
        """One API call with token handling and error mapping; None for an allowed 404."""
        tokens = self._tokens()
        if self._near_expiry(tokens) and tokens.refresh_token:
            tokens = self.refresh_token(force=True) or tokens
        for attempt in range(2):
            response = self._http(
                method,
                path,
                tokens,
                write=write,
                json_body=json_body,
                params=params,
                headers=headers,
            )
            if response.status_code == 401 and attempt == 0:
                # Another worker may have refreshed the token already; else refresh it ourselves.
                # Either way the request was refused before it did anything: resending is safe.
                latest = self._tokens(reload=True)
                if latest.access_token != tokens.access_token:
                    tokens = latest
                    continue
                if _error_code(response) == "token_expired" and tokens.refresh_token:
                    tokens = self.refresh_token(force=True) or tokens
                    continue
            if allow_404 and response.status_code == 404:
                return None
            return self._result(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _http(
        self,
        method: str,
        path: str,
        tokens: TokenSet,
        *,
        write: bool,
        json_body: dict[str, Any] | None,
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {tokens.access_token}", **(headers or {})}
        try:
            return self._client().request(
                method, path, json=json_body, params=params, headers=all_headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the network: safe to retry later.
            raise ConnectorError(
                _("Could not reach the sandbox network (%(error)s). Greenroom will retry.")
                % {"error": type(exc).__name__},
                code="unreachable",
            ) from exc
        except httpx.HTTPError as exc:
            if write:
                raise OutcomeUnknown(
                    _(
                        "The sandbox network did not answer in time; the request may or may not "
                        "have been carried out."
                    ),
                    code="outcome_unknown",
                ) from exc
            raise ConnectorError(
                _("The sandbox network did not answer (%(error)s). Greenroom will retry.")
                % {"error": type(exc).__name__},
                code="no_answer",
            ) from exc

    def _result(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if 200 <= status < 300:
            try:
                data = response.json()
            except ValueError as exc:
                raise ConnectorError(
                    _("The sandbox network sent an answer Greenroom cannot read."), code="bad_json"
                ) from exc
            if not isinstance(data, dict):
                raise ConnectorError(
                    _("The sandbox network sent an answer Greenroom cannot read."), code="bad_json"
                )
            return data
        code, message = _error_code(response), _error_message(response)
        if status == 429:
            retry_after = _retry_after(response)
            raise ConnectorError(
                message or _("The sandbox network is rate limiting this account."),
                retry_after=retry_after,
                code=code or "rate_limited",
            )
        if status >= 500 or status == 408:
            raise ConnectorError(
                message or _("The sandbox network had a temporary problem."),
                code=code or f"http_{status}",
                retry_after=_retry_after(response),
            )
        if status == 401:
            message = _(
                "The sandbox network no longer accepts this channel's token (%(reason)s). "
                "Reconnect the channel."
            ) % {"reason": message or code}
        raise ConnectorError(
            message
            or _("The sandbox network refused the request (HTTP %(status)s).") % {"status": status},
            permanent=True,
            code=code or f"http_{status}",
        )

    @staticmethod
    def _ref(data: dict[str, Any]) -> PublishedRef:
        created = data.get("created_at")
        return PublishedRef(
            external_id=str(data["id"]),
            url=str(data.get("url", "")),
            published_at=parse_datetime(created) if isinstance(created, str) else None,
        )

    # --- the Connector interface -----------------------------------------------------------------

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Publish once: the idempotency key makes a resend return the first post.

        Raises OutcomeUnknown when the request may have reached the network (timeout or dropped
        connection after sending); ask `find_published` before sending again.
        """
        body: dict[str, Any] = {"text": post.text, "placement": post.placement}
        if post.media:
            body["media"] = [
                {
                    "mime_type": m.mime_type,
                    "alt_text": m.alt_text,
                    "name": m.path.rsplit("/", 1)[-1],
                }
                for m in post.media
            ]
        if post.reply_to:
            data = self._send(
                "POST",
                f"items/{post.reply_to}/replies",
                write=True,
                json_body={"text": post.text},
                headers={"Idempotency-Key": post.idempotency_key},
            )
        else:
            data = self._send(
                "POST",
                "posts",
                write=True,
                json_body=body,
                headers={"Idempotency-Key": post.idempotency_key},
            )
        assert data is not None
        return self._ref(data)

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """The post created with this idempotency key, if the network has it (even if deleted)."""
        data = self._send(
            "GET", "posts", params={"idempotency_key": idempotency_key}, allow_404=True
        )
        return None if data is None else self._ref(data)

    def delete(self, external_id: str) -> None:
        """Delete a published post (the sandbox keeps its idempotency key: no second post)."""
        self._send("DELETE", f"posts/{external_id}", write=True)

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Comments, mentions and DMs after the cursor, oldest first, up to 100 per page."""
        params = {"limit": "100"}
        if since:
            params["since"] = since
        data = self._send("GET", "inbox", params=params)
        assert data is not None
        try:
            items = [_item_from_json(raw) for raw in data.get("items", [])]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(
                _("The sandbox network sent an inbox page Greenroom cannot read."),
                code="bad_inbox",
            ) from exc
        cursor = data.get("cursor")
        return InboxPage(items=items, cursor=str(cursor) if cursor else since)

    def reply(self, item: InboundItem, text: str) -> PublishedRef:
        """Answer a comment, mention or DM.

        The same text to the same item is treated as the same reply (a double click, or a retry
        after an unknown outcome, answers once).
        """
        key = hashlib.sha256(f"{item.external_id}\n{text}".encode()).hexdigest()[:40]
        data = self._send(
            "POST",
            f"items/{item.external_id}/replies",
            write=True,
            json_body={"text": text},
            headers={"Idempotency-Key": f"reply-{key}"},
        )
        assert data is not None
        return self._ref(data)

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """Comment under one of the account's own posts (POST posts/<id>/comments).

        The idempotency key makes a resend return the first comment, never a second one.
        """
        data = self._send(
            "POST",
            f"posts/{ref.external_id}/comments",
            write=True,
            json_body={"text": text},
            headers={"Idempotency-Key": idempotency_key},
        )
        assert data is not None
        return self._ref(data)

    def hide(self, item: InboundItem) -> None:
        """Hide a comment or mention from the public (DMs cannot be hidden)."""
        self._send("POST", f"items/{item.external_id}/hide", write=True)

    def delete_comment(self, item: InboundItem) -> None:
        """Delete a comment under one of the account's posts (DELETE items/<id>)."""
        self._send("DELETE", f"items/{item.external_id}", write=True)

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]:
        """Likes, reposts, replies and impressions of published posts."""
        result: list[PostMetrics] = []
        ids = list(refs)
        for start in range(0, len(ids), METRICS_BATCH):
            batch = ids[start : start + METRICS_BATCH]
            data = self._send("GET", "metrics", params={"ids": ",".join(batch)})
            assert data is not None
            for row in data.get("metrics", []):
                result.append(
                    PostMetrics(
                        external_id=str(row["id"]),
                        likes=int(row.get("likes", 0)),
                        reposts=int(row.get("reposts", 0)),
                        replies=int(row.get("replies", 0)),
                        impressions=int(row["impressions"]) if "impressions" in row else None,
                    )
                )
        return result

    def refresh_token(self, *, force: bool = False) -> TokenSet | None:
        """Trade the refresh token for new tokens when the access token is (nearly) expired.

        The new tokens go into the vault through do_set_channel_credentials (audited). Returns
        None when nothing needed refreshing.
        """
        from greenroom.core.actions import do_set_channel_credentials

        tokens = self._tokens(reload=True)
        if not force and not self._near_expiry(tokens):
            return None
        if not tokens.refresh_token:
            raise ConnectorError(
                _(
                    "The access token of %(channel)s has expired and cannot be refreshed. "
                    "Reconnect the channel."
                )
                % {"channel": self.channel},
                permanent=True,
                code="reconnect_needed",
            )
        try:
            response = self._client().post(
                "oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
            )
        except httpx.HTTPError as exc:
            raise ConnectorError(
                _("Could not refresh the token with the sandbox network (%(error)s).")
                % {"error": type(exc).__name__},
                code="refresh_failed",
            ) from exc
        if response.status_code != 200:
            latest = self._tokens(reload=True)
            if latest.access_token != tokens.access_token:
                return latest  # another worker refreshed first; its tokens are in the vault
            if response.status_code >= 500 or response.status_code == 429:
                self._result(response)  # raises a temporary error
            raise ConnectorError(
                _(
                    "The sandbox network refused to refresh the token of %(channel)s. "
                    "Reconnect the channel."
                )
                % {"channel": self.channel},
                permanent=True,
                code=_error_code(response) or "reconnect_needed",
            )
        data = self._result(response)
        expires_at: datetime | None = parse_datetime(str(data.get("expires_at", "")))
        fresh = TokenSet(
            access_token=str(data["access_token"]),
            refresh_token=str(data.get("refresh_token") or tokens.refresh_token),
            expires_at=expires_at,
        )
        vault.remember_plaintext(fresh.access_token)
        if fresh.refresh_token:
            vault.remember_plaintext(fresh.refresh_token)
        do_set_channel_credentials(
            self.channel,
            token=encode_tokens(fresh),
            expires_at=expires_at,
            hint=vault.hint_for(fresh.access_token),
            acting_user=None,
        )
        logger.info("sandbox token refreshed channel=%s", self.channel.pk)
        return fresh

    @classmethod
    def verify_webhook(
        cls, request: HttpRequest, *, channel: Channel | None = None
    ) -> list[InboundItem]:
        """Check a sandbox webhook's signature and read its items; raise WebhookRejected.

        With `channel`, its own webhook secret (vault: channel:<id>:webhook_secret) is accepted
        too, and every item must belong to the sandbox account the channel is connected to.
        """
        body = request.body
        try:
            signing.verify(
                request.headers.get(signing.SIGNATURE_HEADER), body, _webhook_secrets(channel)
            )
        except signing.SignatureError as exc:
            raise WebhookRejected(str(exc), status=401) from None
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # nested past Python's stack
            raise WebhookRejected(_("The body is not valid JSON."), status=400) from None
        if not isinstance(payload, dict):
            raise WebhookRejected(_("The body must be a JSON object."), status=400)
        account = payload.get("account")
        raw_items = payload.get("items")
        if not isinstance(account, dict) or not isinstance(account.get("id"), str):
            raise WebhookRejected(_("The body has no 'account.id'."), status=400)
        if not isinstance(raw_items, list) or not raw_items:
            raise WebhookRejected(_("The body has no 'items' list."), status=400)
        items = []
        for index, raw in enumerate(raw_items):
            try:
                items.append(_item_from_json(raw))
            except KeyError as exc:
                raise WebhookRejected(
                    _("Item %(n)s has no %(field)s.") % {"n": index, "field": exc}, status=400
                ) from None
            except (TypeError, ValueError) as exc:
                raise WebhookRejected(
                    _("Item %(n)s is malformed: %(error)s.") % {"n": index, "error": exc},
                    status=400,
                ) from None
            if raw.get("account", account["id"]) != account["id"]:
                raise WebhookRejected(
                    _("Item %(n)s belongs to another account.") % {"n": index}, status=400
                )
        if channel is not None and (
            not channel.external_id or account["id"] != channel.external_id
        ):
            raise WebhookRejected(
                _("This delivery is for another account than the channel this URL belongs to."),
                status=403,
            )
        return items


def _webhook_secrets(channel: Channel | None) -> list[str]:
    secrets = [str(settings.SANDBOX_WEBHOOK_SECRET)]
    if channel is not None:
        from greenroom.core.models import Secret

        own = Secret.objects.filter(
            organization_id=channel.organization_id, name=webhook_secret_name(channel)
        ).first()
        if own is not None:
            secrets.insert(0, vault.reveal(own))
    return secrets


def webhook_secret_name(channel: Channel) -> str:
    return f"channel:{channel.pk}:webhook_secret"


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _error_code(response: httpx.Response) -> str:
    return str(_error_body(response).get("code") or "")


def _error_message(response: httpx.Response) -> str:
    return str(_error_body(response).get("message") or "")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
