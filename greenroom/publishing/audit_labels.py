"""Publishing's audit actions in words (found by CoreConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from greenroom.core.audit import name_actions

name_actions(
    {
        "post.created": _("Post drafted"),
        "post.edited": _("Post edited"),
        "variant.added": _("Channel added to a post"),
        "variant.edited": _("Channel version edited"),
        "variant.removed": _("Channel removed from a post"),
        "post.submitted": _("Post sent for approval"),
        "post.withdrawn": _("Post withdrawn from approval"),
        "post.approval_given": _("Approval given"),
        "post.changes_requested": _("Changes requested"),
        "post.approved": _("Post approved"),
        "variant.scheduled": _("Post scheduled"),
        "variant.rescheduled": _("Post rescheduled"),
        "variant.publish_now": _("Publish now requested"),
        "variant.cancelled": _("Scheduled post cancelled"),
        "variant.retried": _("Publishing retried"),
        "variant.needs_new_time": _("Post needs a new time"),
        "variant.published": _("Post published"),
        "variant.failed": _("Publishing failed"),
        "variant.first_comment_sent": _("First comment posted"),
        "variant.first_comment_failed": _("First comment failed"),
        "variant.first_comment_retried": _("First comment retried"),
        "publishing.paused": _("Publishing paused"),
        "publishing.pause_lifted": _("Publishing pause lifted"),
        "campaign.created": _("Campaign created"),
        "campaign.updated": _("Campaign changed"),
        "approval_policy.created": _("Approval policy created"),
        "approval_policy.deactivated": _("Approval policy switched off"),
    }
)
