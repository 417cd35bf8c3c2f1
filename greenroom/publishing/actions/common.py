"""Shared pieces of the publishing actions: audit action names, permission checks, post state,
conditional variant transitions and notifications."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.actions import ActionError
from greenroom.core.models import Channel, Organization, User
from greenroom.publishing.models import (
    Notification,
    Post,
    PostState,
    Variant,
    derive_post_state,
)

__all__ = ["UNSET", "ActionError", "ContentProblems", "NotAllowed", "PublishingAction", "Unset"]


class PublishingAction(models.TextChoices):
    POST_CREATED = "post.created"
    POST_EDITED = "post.edited"
    VARIANT_ADDED = "variant.added"
    VARIANT_EDITED = "variant.edited"
    VARIANT_REMOVED = "variant.removed"
    POST_SUBMITTED = "post.submitted"
    POST_WITHDRAWN = "post.withdrawn"
    POST_APPROVAL_GIVEN = "post.approval_given"
    POST_CHANGES_REQUESTED = "post.changes_requested"
    POST_APPROVED = "post.approved"
    VARIANT_SCHEDULED = "variant.scheduled"
    VARIANT_RESCHEDULED = "variant.rescheduled"
    VARIANT_PUBLISH_NOW = "variant.publish_now"
    VARIANT_CANCELLED = "variant.cancelled"
    VARIANT_RETRIED = "variant.retried"
    VARIANT_NEEDS_NEW_TIME = "variant.needs_new_time"
    VARIANT_PUBLISHED = "variant.published"
    VARIANT_FAILED = "variant.failed"
    FIRST_COMMENT_SENT = "variant.first_comment_sent"
    FIRST_COMMENT_FAILED = "variant.first_comment_failed"
    FIRST_COMMENT_RETRIED = "variant.first_comment_retried"
    PAUSE_CREATED = "publishing.paused"
    PAUSE_LIFTED = "publishing.pause_lifted"
    CAMPAIGN_CREATED = "campaign.created"
    CAMPAIGN_UPDATED = "campaign.updated"
    POLICY_CREATED = "approval_policy.created"
    POLICY_DEACTIVATED = "approval_policy.deactivated"


VARIANT_FIELDS = (
    "channel",
    "placement",
    "text",
    "text_overridden",
    "first_comment",
    "link",
    "utm",
    "alt_texts",
    "media",
    "options",
    "state",
    "publish_at",
)


# --- Permissions ---------------------------------------------------------------------------------


def channels_with(user: User | None, perm: str, channels: Iterable[Channel]) -> set[int]:
    """Ids of those channels on which `user` holds `perm` (the system, None, holds everything)."""
    ids = {c.pk for c in channels}
    if user is None:
        return ids
    return set(Channel.objects.restrict(user, perm).filter(pk__in=ids).values_list("pk", flat=True))


def require_on_channels(
    user: User | None, perm: str, channels: Sequence[Channel], doing: str
) -> None:
    """Refuse unless `user` holds `perm` on every channel, naming those where they do not."""
    allowed = channels_with(user, perm, channels)
    missing = [c for c in channels if c.pk not in allowed]
    if missing:
        raise NotAllowed(
            _("You may not %(doing)s on %(channels)s: that needs the %(perm)s permission there.")
            % {
                "doing": doing,
                "channels": ", ".join(str(c) for c in missing),
                "perm": perm,
            }
        )


def is_author(user: User | None, post: Post) -> bool:
    return user is not None and post.author_id == user.pk


# --- State ---------------------------------------------------------------------------------------


def refresh_post_state(post_id: int) -> PostState:
    """Recompute and store a post's state from its variants.

    The post row is locked first so two workers finishing two channels of the same post at the
    same time cannot both write a stale state (the second waits and reads the first's result).
    """
    post = Post.objects.select_for_update().only("pk", "state", "changes_requested").get(pk=post_id)
    states = list(Variant.objects.filter(post_id=post_id).values_list("state", flat=True))
    state = derive_post_state(states, changes_requested=post.changes_requested)
    if state != post.state:
        Post.objects.filter(pk=post_id).update(state=state, updated_at=timezone.now())
        if state == PostState.PARTIALLY_PUBLISHED:
            _tell_partially_published(post_id, states)
    return state


def _tell_partially_published(post_id: int, states: Sequence[str]) -> None:
    post = Post.objects.select_related("author").get(pk=post_id)
    live = [s for s in states if s != "cancelled"]
    published = sum(1 for s in live if s == "published")
    notify(
        post,
        post.author,
        "partially_published",
        lambda: (
            _(
                "“%(post)s” is published on %(published)s of %(total)s channels. Open the post to "
                "see what stopped the others and retry them."
            )
            % {"post": post, "published": published, "total": len(live)}
        ),
    )


def transition(variant: Variant, from_states: Iterable[str], **changes: Any) -> bool:
    """Change a variant only if it is still in one of `from_states` (a conditional UPDATE).

    The engine may claim a scheduled variant at any moment; a person's action must not overwrite
    what the engine just did. Returns whether the row changed; the object is updated if so.
    """
    changes.setdefault("updated_at", timezone.now())
    changed = Variant.objects.filter(pk=variant.pk, state__in=list(from_states)).update(**changes)
    if changed:
        for key, value in changes.items():
            setattr(variant, key, value)
    return bool(changed)


def variant_snapshot(variant: Variant) -> dict[str, Any]:
    return audit.snapshot(variant, VARIANT_FIELDS)


# --- Notifications -------------------------------------------------------------------------------


# Words for a notice: the network's own (a plain string, quoted as it came) or a function that
# writes Greenroom's sentence in the active language (`notify` calls it in the recipient's).
Words = str | Callable[[], str]


def in_active_language(words: Words) -> str:
    return words() if callable(words) else words


def as_stored(words: Words) -> str:
    """The words to keep in a row that pages show later: Greenroom's own sentence in English,
    its msgid, which the page says again in its reader's language with gettext (the worker's
    language would stick); the network's own words as they came."""
    if not callable(words):
        return words
    with translation.override("en"):
        return words()


def notify(post: Post, recipient: User | None, kind: str, message: Words) -> Notification | None:
    """Tell a person about a post: a notification row, shown on the publishing pages until read,
    and sent on through apprise after the commit where the person has set a notification URL
    (greenroom.publishing.notices). Never blocks or fails the caller's work.

    `message` is best a function that builds the text: it is called in the recipient's
    language (a plain string stays in the language it was written in).
    """
    if recipient is None:
        return None
    if callable(message):
        with translation.override(recipient.language or settings.LANGUAGE_CODE):
            message = message()
    row = Notification.objects.create(
        organization_id=post.organization_id,
        recipient=recipient,
        post=post,
        kind=kind,
        message=message,
    )
    from greenroom.publishing import notices

    # robust: a broker that cannot take the task is logged, never an error after the commit.
    transaction.on_commit(lambda: notices.deliver_later(row.pk), robust=True)
    return row


def org_of(post: Post) -> Organization:
    return post.organization


class NotAllowed(ActionError):
    """The person may not do this (their role, the channel's permissions, or a rule such as
    "the author never approves their own post"). The API answers 403, pages show the message."""


class Unset(enum.Enum):
    """A keyword left out: the field keeps its value (None may be a meaningful value)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


class ContentProblems(ActionError):
    """The post cannot be saved as it is: each problem in plain words, with the fix."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = list(problems)
