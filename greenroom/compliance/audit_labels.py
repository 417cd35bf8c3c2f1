"""Compliance's audit actions in words (found by CoreConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from greenroom.core.audit import name_actions

name_actions(
    {
        "compliance.settings_saved": _("Access review settings changed"),
        "access_review.started": _("Access review started"),
        "access_review.certified": _("Access certified in a review"),
        "access_review.revoked": _("Access revoked in a review"),
        "access_review.revoked_at_deadline": _("Access revoked at a review's deadline"),
        "access_review.not_revoked": _("Access could not be revoked at a review's deadline"),
        "access_review.reminded": _("Reviewers reminded"),
        "access_review.closed": _("Access review closed"),
        "access_review.exported": _("Access review report exported"),
        "policy_rule.created": _("Publishing policy rule created"),
        "policy_rule.updated": _("Publishing policy rule changed"),
        "policy_rule.switched_off": _("Publishing policy rule switched off"),
        "policy_rule.switched_on": _("Publishing policy rule switched on"),
        "guideline.created": _("Guideline created"),
        "guideline.version_published": _("New guideline version published"),
        "guideline.switched_off": _("Guideline switched off"),
        "guideline.switched_on": _("Guideline switched on"),
        "guideline.acknowledged": _("Guideline acknowledged"),
        "training.course_created": _("Training course created"),
        "training.recorded": _("Training recorded"),
        "training.record_removed": _("Training record removed"),
        "channel_requirement.added": _("Channel requirement added"),
        "channel_requirement.removed": _("Channel requirement removed"),
    }
)
