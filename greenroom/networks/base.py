"""The interface every network speaks, and the errors it raises.

A connector is one small class per network (compare healthchecks' transports): the publishing
engine, the inbox and the crisis room use networks only through this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

if TYPE_CHECKING:
    from django.http import HttpRequest

    from greenroom.core.models import Channel


class ConnectorError(Exception):
    """A network call failed.

    `permanent` means retrying the same request cannot succeed (rejected content, revoked token);
    `retry_after` (seconds) is the network's own hint, honoured by the retry logic; `code` is the
    network's error code, kept for the post page. `words`, for a message Greenroom writes
    itself (not the network's), writes `message` again in the active language, so a notice reads
    in its recipient's language rather than the worker's.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        code: str = "",
        words: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.code = code
        self.words = words

    def __repr__(self) -> str:
        return (
            f"ConnectorError({self.message!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after}, code={self.code!r})"
        )


class OutcomeUnknown(ConnectorError):
    """The request may or may not have reached the network (timeout, dropped connection).

    The engine must ask `find_published` before sending again.
    """


class WebhookRejected(Exception):
    """A webhook failed verification or could not be read; nothing was stored."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class MediaItem:
    path: str
    mime_type: str
    alt_text: str = ""


@dataclass(frozen=True)
class OutgoingPost:
    """What a connector publishes: one variant's final text and media for one channel."""

    text: str
    idempotency_key: str
    placement: str = "feed"
    media: Sequence[MediaItem] = ()
    reply_to: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedRef:
    external_id: str
    url: str
    published_at: datetime | None = None


class InboundKind:
    COMMENT = "comment"
    MENTION = "mention"
    DM = "dm"


@dataclass(frozen=True)
class InboundItem:
    """A comment, mention or DM as the network delivered it (text is untrusted user content)."""

    external_id: str
    kind: str
    text: str
    author_handle: str
    author_name: str
    created_at: datetime
    in_reply_to: str | None = None  # external id of the post or message this answers
    thread_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # Photos and videos it carries: {"type", "url", "alt"} each (addresses on the network).
    media: list[dict[str, Any]] = field(default_factory=list)


class Completed(NamedTuple):
    """Inbound items completed with what their delivery left out (a DM sender's name, the text
    of a mention), and the external ids of those a lookup could not complete for now: out of
    time, the network unreachable, throttling or failing. Asking again later may complete
    them; an item the network refused to tell about is complete as it is."""

    items: list[InboundItem]
    later: frozenset[str] = frozenset()


@dataclass(frozen=True)
class InboxPage:
    items: list[InboundItem]
    cursor: str | None


@dataclass(frozen=True)
class PostMetrics:
    external_id: str
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    impressions: int | None = None
    extra: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None


class Connector(Protocol):
    """What every network implements. Methods that a network cannot do raise ConnectorError
    with permanent=True and a message that says so."""

    kind: ClassVar[str]

    def __init__(self, channel: Channel) -> None: ...

    def publish(self, post: OutgoingPost) -> PublishedRef:
        """Publish once. Raise OutcomeUnknown when the network may have received it."""

    def find_published(self, idempotency_key: str) -> PublishedRef | None:
        """Whether a post sent with this key exists on the network (for unknown outcomes)."""

    def fetch_inbox(self, since: str | None) -> InboxPage:
        """Comments, mentions and DMs after the cursor `since` (None: the beginning)."""

    def reply(self, item: InboundItem, text: str) -> PublishedRef: ...

    def comment_on_own_post(
        self, ref: PublishedRef, text: str, idempotency_key: str
    ) -> PublishedRef:
        """Comment under the channel's own post `ref` (a first comment: hashtags, a link), or
        the network's nearest equivalent (a reply in the post's thread).

        Once per key: a retry with the same key after any outcome returns the comment already
        made instead of posting a second one. Raise OutcomeUnknown when the network may have
        received it; a network without comments raises a permanent ConnectorError saying so.
        """

    def hide(self, item: InboundItem) -> None: ...

    def delete_comment(self, item: InboundItem) -> None:
        """Delete someone's comment on the channel's own post, as the channel. Networks whose
        API does not let an account delete other people's replies raise a permanent
        ConnectorError with code "not_supported" saying what to do instead."""

    def fetch_metrics(self, refs: Sequence[str]) -> list[PostMetrics]: ...

    def refresh_token(self) -> TokenSet | None:
        """A fresh token when the current one is near expiry (None: nothing to refresh)."""

    @classmethod
    def verify_webhook(cls, request: HttpRequest) -> list[InboundItem]:
        """Check a webhook's signature and read its items; raise WebhookRejected otherwise."""
