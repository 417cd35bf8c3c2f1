"""Retrying a first comment that failed (the sending is greenroom/publishing/first_comments.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.models import User
from greenroom.publishing.models import FirstCommentState, Variant, VariantState

from .common import ActionError, PublishingAction, require_on_channels


@transaction.atomic
def do_retry_first_comment(variant: Variant, *, acting_user: User) -> Variant:
    """Post a failed first comment again now (its tries start over; the same comment to the
    network, so one that was posted after all is found, not posted twice). Needs the publish
    permission on the channel."""
    variant = Variant.objects.select_related("post", "channel", "channel__organization").get(
        pk=variant.pk
    )
    require_on_channels(
        acting_user, "publish", [variant.channel], _("retry the first comment of this post")
    )
    if variant.first_comment_state != FirstCommentState.FAILED:
        raise ActionError(
            _("Only a first comment that failed can be retried; on %(channel)s it is %(state)s.")
            % {
                "channel": variant.channel,
                "state": variant.get_first_comment_state_display().lower(),
            }
        )
    before = {"error": variant.first_comment_error, "code": variant.first_comment_error_code}
    changed = Variant.objects.filter(
        pk=variant.pk,
        state=VariantState.PUBLISHED,
        first_comment_state=FirstCommentState.FAILED,
    ).update(
        first_comment_state=FirstCommentState.PENDING,
        first_comment_attempts=0,
        first_comment_next_attempt_at=timezone.now(),
        first_comment_error="",
        first_comment_error_code="",
    )
    if not changed:
        raise ActionError(_("This channel changed a moment ago; reload the page."))
    audit.record(
        PublishingAction.FIRST_COMMENT_RETRIED,
        actor=acting_user,
        organization=variant.channel.organization,
        target=variant,
        before=before,
        after={"first_comment_state": FirstCommentState.PENDING},
    )
    from greenroom.publishing.first_comments import send_first_comment

    variant_id = variant.pk
    transaction.on_commit(lambda: send_first_comment.delay(variant_id))
    variant.refresh_from_db()
    return variant
