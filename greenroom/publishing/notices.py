"""Publishing notices sent on through apprise (greenroom.core.notify), besides the in-app row.

Every `actions.common.notify()` (approval requested, changes requested, a post that needs a new
time, a channel that failed for good, a partially published post, a failed first comment,
approval reminders) queues `deliver_notice` after its transaction commits. The task sends the
notice to the recipient's own apprise URL (their agent profile's, kept in the vault: the same
one the inbox's escalations use), titled in the recipient's language, with a link to the post.
People without one see the notice in Greenroom only. A delivery that fails is logged by target
label and never touches the post: the engine has long committed when it runs.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from greenroom.celery import app
from greenroom.core import notify
from greenroom.publishing.models import Notification

logger = logging.getLogger(__name__)

TITLES = {
    "approval_requested": gettext_lazy("A post waits for your approval"),
    "changes_requested": gettext_lazy("Changes requested on your post"),
    "needs_new_time": gettext_lazy("Your post needs a new time"),
    "failed": gettext_lazy("A post was not published"),
    "partially_published": gettext_lazy("A post is only partially published"),
    "first_comment_failed": gettext_lazy("A first comment was not posted"),
    "approval_due_soon": gettext_lazy("An approval is due soon"),
    "approval_overdue": gettext_lazy("An approval is overdue"),
}


def deliver_later(notification_id: int) -> None:
    """Queue the apprise delivery of a notice (called after the commit that made it)."""
    deliver_notice.delay(notification_id)


@app.task(name="greenroom.publishing.deliver_notice", ignore_result=True)
def deliver_notice(notification_id: int) -> list[str]:
    """Send one notice to its recipient's apprise targets; returns the labels that took it."""
    row = (
        Notification.objects.select_related("recipient", "post").filter(pk=notification_id).first()
    )
    if row is None or not row.recipient.is_active:
        return []
    targets = notify.person_targets(row.recipient, row.organization_id)
    if not targets:
        return []
    with override(row.recipient.language or settings.LANGUAGE_CODE):
        title = "Greenroom: " + str(TITLES.get(row.kind, _("About one of your posts")))
        body = row.message
        if row.post_id is not None:
            link = settings.BASE_URL + reverse("publishing_post", args=[row.post_id])
            body += "\n\n" + _("Open the post: %(link)s") % {"link": link}
    delivered = notify.send(title, body, targets)
    if len(delivered) < len(targets):
        logger.warning(
            "publishing notice %s (%s) reached %s of %s targets",
            row.pk,
            row.kind,
            len(delivered),
            len(targets),
        )
    return delivered
