"""What the OAuth-connected network connectors share (X, Meta, LinkedIn, YouTube, TikTok): app
credentials in the vault, a channel's stored tokens (refreshed before expiry, flagged when the
network stops accepting them), one way to send a request and read rate-limit hints, records of
publish attempts for `find_published`, media access, and landing verified webhook items.

The OAuth 2 flow itself (consent screen, code exchange, PKCE) is `greenroom.networks.oauth`;
`AppProvider` plugs a connector into it.

App credentials are entered by an organisation admin and kept in the vault as
`app:<network>:client_id`, `app:<network>:client_secret` (and e.g. `app:x:consumer_secret` for
X's webhook signatures). A channel's tokens are one vault value (JSON: access and refresh token,
expiries, granted scopes and a few non-secret ids), written through do_set_channel_credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from greenroom.core import vault
from greenroom.core.actions import (
    ActionError,
    do_set_channel_credentials,
    do_store_secret,
    do_update_channel,
)
from greenroom.core.models import Channel, ChannelStatus, Organization, Secret, User
from greenroom.core.restrict import Access
from greenroom.networks import oauth
from greenroom.networks.base import ConnectorError, InboundItem, OutcomeUnknown, PublishedRef

if TYPE_CHECKING:
    from greenroom.networks.base import MediaItem

logger = logging.getLogger(__name__)

# Refresh a little before expiry, so a token does not expire between check and use.
REFRESH_MARGIN = timedelta(minutes=10)

# Sent after commit with `channel` and `reason` when a channel's owner must reconnect it; the
# notifications side (owner and backup) listens here.
channel_needs_reconnect = Signal()


# --- App credentials -----------------------------------------------------------------------------


def app_secret_name(network: str, name: str) -> str:
    return f"app:{network}:{name}"


def app_value(org_id: int, network: str, name: str) -> str | None:
    """One of the organisation's app credentials for `network`, or None when none is stored."""
    secret = Secret.objects.filter(
        organization_id=org_id, name=app_secret_name(network, name)
    ).first()
    return None if secret is None else vault.reveal(secret)


def require_app_value(org_id: int, network: str, name: str, network_name: str) -> str:
    value = app_value(org_id, network, name)
    if not value:
        raise ConnectorError(
            _(
                "The %(network)s app's credentials are missing (%(name)s). An admin must enter "
                "them before channels can connect."
            )
            % {"network": network_name, "name": name},
            permanent=True,
            code="app_credentials_missing",
        )
    return value


@transaction.atomic
def do_set_app_credentials(
    org: Organization, network: str, *, acting_user: User | None, **values: str
) -> None:
    """Store (or replace) an organisation's app credentials for a network (client_id,
    client_secret, ...); each is its own audited vault entry. Only owners and admins (who
    manage the vault) may; `acting_user=None` is the system (set-up scripts, tests)."""
    if acting_user is not None and not Access.of(acting_user).has_org_perm(org.pk, "manage_vault"):
        raise ActionError(
            _("Your role in %(org)s does not allow you to change the networks' app credentials.")
            % {"org": org}
        )
    for name, value in values.items():
        if not value:
            raise ActionError(_("%(name)s is empty; nothing was stored.") % {"name": name})
        do_store_secret(
            org, name=app_secret_name(network, name), value=value, acting_user=acting_user
        )


# --- A channel's stored tokens -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredTokens:
    """A channel's tokens as kept in the vault."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    # Non-secret ids the network gave with the token (user id, open_id ...).
    extra: Mapping[str, str] = field(default_factory=dict)

    def near_expiry(self, margin: timedelta = REFRESH_MARGIN) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now() + margin

    @classmethod
    def from_grant(cls, grant: oauth.Grant) -> StoredTokens:
        """From the OAuth flow's answer (RFC 6749 5.1 plus the networks' own fields)."""
        now = timezone.now()

        def after(*keys: str) -> datetime | None:
            for key in keys:
                raw = grant.extra.get(key)
                if isinstance(raw, int | float | str) and str(raw).isdigit() and int(raw) > 0:
                    return now + timedelta(seconds=int(raw))
            return None

        return cls(
            access_token=grant.tokens.access_token,
            refresh_token=grant.tokens.refresh_token,
            expires_at=grant.tokens.expires_at,
            # LinkedIn says refresh_token_expires_in, TikTok refresh_expires_in.
            refresh_expires_at=after("refresh_token_expires_in", "refresh_expires_in"),
            scopes=grant.scopes,
            extra={k: str(grant.extra[k]) for k in ("open_id", "user_id") if grant.extra.get(k)},
        )


def encode_tokens(tokens: StoredTokens) -> str:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return json.dumps(
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": iso(tokens.expires_at),
            "refresh_expires_at": iso(tokens.refresh_expires_at),
            "scopes": list(tokens.scopes),
            "extra": dict(tokens.extra),
        }
    )


def decode_tokens(value: str) -> StoredTokens:
    """Read a vault value; a bare string is an access token without anything else."""
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        return StoredTokens(access_token=value)

    def when(key: str) -> datetime | None:
        raw = data.get(key)
        return parse_datetime(raw) if isinstance(raw, str) else None

    refresh = data.get("refresh_token")
    tokens = StoredTokens(
        access_token=data["access_token"],
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=when("expires_at"),
        refresh_expires_at=when("refresh_expires_at"),
        scopes=tuple(str(s) for s in data.get("scopes") or ()),
        extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
    )
    # The vault registered the JSON; the log filter must know each token on its own too.
    vault.remember_plaintext(tokens.access_token)
    if tokens.refresh_token:
        vault.remember_plaintext(tokens.refresh_token)
    return tokens


@transaction.atomic
def do_store_tokens(channel: Channel, tokens: StoredTokens, *, acting_user: User | None) -> Channel:
    """Keep a channel's tokens in the vault (audited) and mark it healthy again."""
    vault.remember_plaintext(tokens.access_token)
    if tokens.refresh_token:
        vault.remember_plaintext(tokens.refresh_token)
    do_set_channel_credentials(
        channel,
        token=encode_tokens(tokens),
        expires_at=tokens.expires_at,
        hint=vault.hint_for(tokens.access_token),
        acting_user=acting_user,
    )
    if channel.status == ChannelStatus.NEEDS_RECONNECT:
        do_update_channel(channel, status=ChannelStatus.ACTIVE, acting_user=acting_user)
    return channel


def record_connection(
    channel: Channel, tokens: StoredTokens, *, service_url: str, acting_user: User | None
) -> None:
    """Show the granted scopes and the account on the channel page (the connections app, when
    installed, keeps them with the inbox cursor)."""
    from django.apps import apps

    if not apps.is_installed("greenroom.networks.connections"):
        return
    from greenroom.networks.connections.actions import do_record_connection

    do_record_connection(
        channel,
        service_url=service_url,
        account_id=channel.external_id,
        scopes=tokens.scopes,
        acting_user=acting_user,
    )


def do_flag_reconnect(channel: Channel, *, reason: str) -> None:
    """Mark a channel as needing its owner to reconnect it (audited), and say so after commit."""
    with transaction.atomic():
        fresh = Channel.objects.select_for_update().get(pk=channel.pk)
        if fresh.status == ChannelStatus.NEEDS_RECONNECT:
            return
        do_update_channel(fresh, status=ChannelStatus.NEEDS_RECONNECT, acting_user=None)
        channel.status = ChannelStatus.NEEDS_RECONNECT
        logger.warning("channel needs reconnecting channel=%s kind=%s", channel.pk, channel.kind)
        transaction.on_commit(
            lambda: channel_needs_reconnect.send(sender=Channel, channel=fresh, reason=reason)
        )


def granted_scopes(channel: Channel) -> tuple[str, ...]:
    """The scopes the network granted when the channel was connected (for the channel page)."""
    if channel.credentials is None:
        return ()
    return decode_tokens(vault.reveal(channel.credentials)).scopes


class ChannelTokens:
    """A channel's tokens as a connector uses them: read, refreshed before expiry, saved back.

    `refresher` trades the stored tokens for fresh ones (the network's own refresh call); None
    means the network's tokens cannot be refreshed (the owner reconnects when they expire).
    """

    def __init__(
        self,
        channel: Channel,
        network_name: str,
        refresher: Callable[[StoredTokens], StoredTokens] | None = None,
    ) -> None:
        self.channel = channel
        self.network_name = network_name
        self.refresher = refresher

    def stored(self, *, reload: bool = False) -> StoredTokens:
        if reload:
            self.channel.refresh_from_db(fields=["credentials", "status"])
        secret = self.channel.credentials
        if secret is None:
            raise self.reconnect_error(_("it was never connected"), flag=False)
        return decode_tokens(vault.reveal(secret))

    def access_token(self) -> str:
        tokens = self.stored()
        if tokens.near_expiry():
            tokens = self.refresh(force=True) or tokens
        return tokens.access_token

    def refresh(self, *, force: bool = False) -> StoredTokens | None:
        """Fresh tokens when the current ones are (nearly) expired; None when nothing was due."""
        tokens = self.stored(reload=True)
        if not force and not tokens.near_expiry():
            return None
        if self.refresher is None:
            if tokens.expires_at is not None and tokens.expires_at <= timezone.now():
                raise self.reconnect_error(_("its access token has expired"))
            return None
        try:
            fresh = self.refresher(tokens)
        except ConnectorError as exc:
            if not exc.permanent:
                raise
            latest = self.stored(reload=True)
            if latest.access_token != tokens.access_token:
                return latest  # another worker refreshed first; its tokens are in the vault
            raise self.reconnect_error(_("it refused to refresh the token")) from exc
        # Keep what a refresh answer leaves out (scopes, ids, a refresh token not rotated).
        fresh = replace(
            fresh,
            refresh_token=fresh.refresh_token or tokens.refresh_token,
            refresh_expires_at=fresh.refresh_expires_at or tokens.refresh_expires_at,
            scopes=fresh.scopes or tokens.scopes,
            extra={**tokens.extra, **fresh.extra},
        )
        do_store_tokens(self.channel, fresh, acting_user=None)
        logger.info("token refreshed channel=%s kind=%s", self.channel.pk, self.channel.kind)
        return fresh

    def reconnect_error(self, reason: str, *, flag: bool = True) -> ConnectorError:
        """The error for a connection the network no longer accepts; flags the channel."""
        if flag:
            do_flag_reconnect(self.channel, reason=reason)
        return ConnectorError(
            _(
                "%(network)s no longer accepts the connection of %(channel)s (%(reason)s). Its "
                "owner must reconnect the channel."
            )
            % {"network": self.network_name, "channel": self.channel, "reason": reason},
            permanent=True,
            code="reconnect_needed",
        )


class AppProvider:
    """An `oauth.Provider` for a network whose app credentials are in the vault.

    `after_connect` turns the consent screen's grant into what the channel keeps (a long-lived
    token, the account's id as the channel's external id ...)."""

    def __init__(
        self,
        network: str,
        network_name: str,
        *,
        authorize_url: str,
        token_url: str,
        scopes: Sequence[str],
        pkce: bool,
        client_auth: str = "body",
        scope_separator: str = " ",
        extra_authorize_params: Mapping[str, str] | None = None,
        after_connect: Callable[[Channel, StoredTokens, User], StoredTokens] | None = None,
        service_url: str = "",
    ) -> None:
        self.service_url = service_url
        self.network = network
        self.network_name = network_name
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.scopes = tuple(scopes)
        self.pkce = pkce
        self.client_auth = client_auth
        self.scope_separator = scope_separator
        self.extra_authorize_params = dict(extra_authorize_params or {})
        self.after_connect = after_connect

    def client_for(
        self, channel: Channel, context: Mapping[str, str] | None = None
    ) -> oauth.OAuthClient:
        org_id = channel.organization_id
        return oauth.OAuthClient(
            network=self.network,
            authorize_url=self.authorize_url,
            token_url=self.token_url,
            client_id=require_app_value(org_id, self.network, "client_id", self.network_name),
            client_secret=require_app_value(
                org_id, self.network, "client_secret", self.network_name
            ),
            scopes=self.scopes,
            pkce=self.pkce,
            scope_separator=self.scope_separator,
            client_auth=self.client_auth,
            extra_authorize_params=self.extra_authorize_params,
        )

    def connected(
        self,
        channel: Channel,
        grant: oauth.Grant,
        *,
        context: Mapping[str, str] | None = None,
        acting_user: User,
    ) -> None:
        tokens = StoredTokens.from_grant(grant)
        if self.after_connect is not None:
            tokens = self.after_connect(channel, tokens, acting_user)
        with transaction.atomic():
            do_store_tokens(channel, tokens, acting_user=acting_user)
            record_connection(
                channel, tokens, service_url=self.service_url, acting_user=acting_user
            )

    def refresher(self, channel: Channel) -> Callable[[StoredTokens], StoredTokens]:
        """The standard refresh_token grant against this provider's token endpoint."""

        def refresh(tokens: StoredTokens) -> StoredTokens:
            if not tokens.refresh_token:
                raise ConnectorError(
                    _("%(network)s gave no refresh token.") % {"network": self.network_name},
                    permanent=True,
                    code="no_refresh_token",
                )
            return StoredTokens.from_grant(
                oauth.refresh(self.client_for(channel), tokens.refresh_token)
            )

        return refresh


# --- HTTP ----------------------------------------------------------------------------------------


def client() -> httpx.Client:
    return httpx.Client(
        timeout=float(getattr(settings, "NETWORKS_HTTP_TIMEOUT_S", 30.0)),
        headers={"User-Agent": "Greenroom/1.0"},
    )


def send(
    http: httpx.Client, request: httpx.Request, *, write: bool, network_name: str
) -> httpx.Response:
    """Send one request; transport failures become ConnectorError (nothing reached the network)
    or OutcomeUnknown (a write that may have reached it)."""
    try:
        return http.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ConnectorError(
            _("Could not reach %(network)s (%(error)s). Greenroom will retry.")
            % {"network": network_name, "error": type(exc).__name__},
            code="unreachable",
        ) from exc
    except httpx.HTTPError as exc:
        if write:
            raise OutcomeUnknown(
                _(
                    "%(network)s did not answer in time; it may or may not have done what was "
                    "asked. Greenroom checks before trying again."
                )
                % {"network": network_name},
                code="outcome_unknown",
            ) from exc
        raise ConnectorError(
            _("%(network)s did not answer (%(error)s). Greenroom will retry.")
            % {"network": network_name, "error": type(exc).__name__},
            code="no_answer",
        ) from exc


def retry_after(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def seconds_until(epoch: str | None) -> float | None:
    """Seconds from now until a Unix time given as text (X's x-rate-limit-reset)."""
    if not epoch:
        return None
    try:
        return max(0.0, float(epoch) - time.time())
    except ValueError:
        return None


def json_of(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# --- Publish attempts (for find_published) -------------------------------------------------------

# Kept in the shared cache (Redis in distributed mode, a file cache embedded, shared by web and
# workers) long enough for the engine to ask about an unknown outcome. Networks without
# idempotency keys are checked against what the attempt recorded (text hash, start time,
# container ids).
ATTEMPT_TTL_S = 3 * 24 * 3600


def _attempt_key(channel: Channel, idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"greenroom:networks:attempt:{channel.pk}:{digest}"


def remember_attempt(channel: Channel, idempotency_key: str, **data: Any) -> dict[str, Any]:
    """Record (merge) what a publish attempt has done so far."""
    record = {**(recall_attempt(channel, idempotency_key) or {}), **data}
    cache.set(_attempt_key(channel, idempotency_key), record, ATTEMPT_TTL_S)
    return record


def recall_attempt(channel: Channel, idempotency_key: str) -> dict[str, Any] | None:
    record = cache.get(_attempt_key(channel, idempotency_key))
    return record if isinstance(record, dict) else None


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 in the networks' spellings (Meta writes +0000 without a colon)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return None  # well formed but no such time (month 13, +25:00)
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def parse_epoch(value: Any, *, millis: bool = False) -> datetime | None:
    """A Unix time in seconds (or milliseconds) given as a number or a string of one, or None
    when it is not one or names no time a datetime can hold."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
        return datetime.fromtimestamp(number / 1000 if millis else number, UTC)
    except (ValueError, OverflowError, OSError):
        return None  # not a number, NaN, infinite or past year 9999


def id_of(value: Any) -> str:
    """An id a network wrote as a string or a number, or "" for anything else (an object, a
    list, true): such a value is no id to store an item under."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return ""
    return str(value)


# How far a network's clock may be behind ours when matching what an attempt made.
CLOCK_SKEW = timedelta(minutes=2)


def made_by_attempt(record: Mapping[str, Any], text: str, made: datetime | None) -> bool:
    """Whether something the account wrote (its text and time) is what the recorded attempt
    sent: the same text, written after the attempt began."""
    return text_hash(text) == record.get("text") and made_after_began(record, made)


def made_after_began(record: Mapping[str, Any], made: datetime | None) -> bool:
    """Whether something made at `made` may come from the recorded attempt (allowing for the
    network's clock; an unknown time may)."""
    began = parse_time(record.get("began"))
    return began is None or made is None or made >= began - CLOCK_SKEW


def comment_once(
    channel: Channel,
    idempotency_key: str,
    text: str,
    *,
    send: Callable[[], PublishedRef],
    find: Callable[[Mapping[str, Any]], PublishedRef | None],
) -> PublishedRef:
    """Comment once per key on a network that takes no idempotency key.

    The attempt record keeps the comment's id once the network has answered. An attempt that
    began but never heard back (a timeout, a crash) is looked for on the network first:
    `find(record)` reads the channel's own comments under the post and matches them with
    `made_by_attempt`. Only when it is not there is the comment sent again.
    """
    return send_once(channel, idempotency_key, text, send=send, find=find)


def reply_key(item: InboundItem, text: str) -> str:
    """The idempotency key of an answer: the item answered and the text. `send_reply` may run
    again for the same reply (acks_late, retries, the stuck-reply sweep); the same key makes
    it answer once."""
    return f"reply:{item.external_id}:{text_hash(text)[:16]}"


def send_once(
    channel: Channel,
    idempotency_key: str,
    text: str,
    *,
    send: Callable[[], PublishedRef],
    find: Callable[[Mapping[str, Any]], PublishedRef | None] | None,
    network_name: str = "",
) -> PublishedRef:
    """Send a comment, reply or message once per key, on a network that takes no key.

    - Answered before (the record holds its id): that answer, nothing sent.
    - Began and never heard back (a timeout, a worker killed mid-send): `find(record)` looks on
      the network for what the attempt made (the channel's own reply under the same parent, or
      its message in the conversation, with the same text, made after the attempt began:
      `made_by_attempt`). Found: returned, nothing sent. Not there: sent again.
    - `find=None` (the network cannot list what was sent): such a re-send is refused with a
      permanent ConnectorError telling the person to look on the network; never a silent
      second copy. A first attempt sends normally.

    A refusal (rejected text, revoked access: a permanent ConnectorError; a rate limit with its
    wait) made nothing, so it clears the attempt and the retry sends normally. Any other
    failure (a 5xx, a dropped connection) may have come after the network made the answer, so
    the attempt stays open and the retry looks for it first, as after a timeout; on a network
    that cannot look, the retry sends (refusing it would strand every answer after one 502).
    """
    record = recall_attempt(channel, idempotency_key) or {}
    if record.get("published"):
        return PublishedRef(str(record["published"]), str(record.get("url") or ""))
    if record.get("began"):
        if find is None:
            raise ConnectorError(
                _(
                    "%(network)s may already have this answer: an earlier try did not hear "
                    "back, and %(network)s offers no way to check. Look on %(network)s before "
                    "sending it again."
                )
                % {"network": network_name or channel.kind.capitalize()},
                permanent=True,
                code="outcome_unknown_unverifiable",
            )
        found = find(record)
        if found is not None:
            remember_attempt(channel, idempotency_key, published=found.external_id, url=found.url)
            return found
    remember_attempt(
        channel,
        idempotency_key,
        text=text_hash(text),
        began=record.get("began") or timezone.now().isoformat(),
    )
    try:
        ref = send()
    except OutcomeUnknown:
        raise
    except ConnectorError as exc:
        if exc.permanent or exc.retry_after is not None or find is None:
            # A refusal: nothing was made, the next try sends normally.
            remember_attempt(channel, idempotency_key, began="")
        raise
    remember_attempt(channel, idempotency_key, published=ref.external_id, url=ref.url)
    return ref


# --- Media ---------------------------------------------------------------------------------------


def media_bytes(item: MediaItem) -> bytes:
    """The file of a media item (a path in Greenroom's media storage)."""
    from django.core.files.storage import default_storage

    try:
        with default_storage.open(item.path, "rb") as handle:
            data: bytes = handle.read()
    except OSError as exc:
        raise ConnectorError(
            _("The media file %(name)s is missing from Greenroom's storage.")
            % {"name": item.path.rsplit("/", 1)[-1]},
            permanent=True,
            code="media_missing",
        ) from exc
    return data


def media_url(item: MediaItem) -> str:
    """A public URL the network can fetch the media item from (Meta and TikTok pull media)."""
    if item.path.startswith(("https://", "http://")):
        return item.path
    base = getattr(settings, "PUBLIC_MEDIA_URL", "") or f"{settings.BASE_URL}/media/"
    return f"{base.rstrip('/')}/{item.path.lstrip('/')}"


def is_video(item: MediaItem) -> bool:
    return item.mime_type.startswith("video/")


# --- Webhooks ------------------------------------------------------------------------------------


def webhook_channels(org_id: int, kind: str, account_id: str) -> list[Channel]:
    """The organisation's channels of `kind` connected to the account a webhook names; none
    for an id no channel can have (a NUL, a lone surrogate: the database refuses to look it up)."""
    from greenroom.networks.connections.payloads import storable_text

    if storable_text(account_id) != account_id:
        return []
    return list(
        Channel.objects.filter(
            organization_id=org_id, kind=kind, sandboxed=False, external_id=account_id
        )
    )


class Landing(NamedTuple):
    created: int
    duplicates: int
    # Items kept for a second lookup before they land (`networks/held.py`).
    held: int = 0


def land_webhook_items(
    org_id: int,
    kind: str,
    items_by_account: Mapping[str, Sequence[InboundItem]],
    *,
    delivery_id: str,
    later: Mapping[str, frozenset[str]] | None = None,
) -> Landing:
    """Store verified webhook items on the channels of `kind` whose account id they name, each
    once (a replayed delivery stores nothing new). The external ids in `later` (per account)
    are held for a worker to complete (a lookup the webhook had no time for) and land then.

    Items for accounts Greenroom has no channel for are dropped (one app may serve accounts
    outside Greenroom)."""
    from greenroom.networks.actions import do_hold_inbound, do_ingest_inbound
    from greenroom.networks.connections.payloads import storable_item, storable_text
    from greenroom.networks.models import InboundSource

    created = duplicates = held = 0
    for account_id, items in items_by_account.items():
        if not items:
            continue
        wait = (later or {}).get(account_id, frozenset())
        # What the network sent, as the database takes it (no NUL, no lone surrogate ...).
        now = [storable_item(item) for item in items if item.external_id not in wait]
        hold = [storable_item(item) for item in items if item.external_id in wait]
        for channel in webhook_channels(org_id, kind, account_id):
            result = do_ingest_inbound(
                channel,
                now,
                source=InboundSource.WEBHOOK,
                delivery_id=storable_text(delivery_id),
            )
            created += result.created
            duplicates += result.duplicates
            if hold:
                kept = do_hold_inbound(
                    channel,
                    hold,
                    source=InboundSource.WEBHOOK,
                    delivery_id=storable_text(delivery_id),
                )
                held += kept
                duplicates += len(hold) - kept
    logger.info(
        "webhook network=%s org=%s outcome=%s created=%s duplicates=%s held=%s",
        kind,
        org_id,
        "stored" if created or held else "duplicate",
        created,
        duplicates,
        held,
    )
    return Landing(created, duplicates, held)


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
