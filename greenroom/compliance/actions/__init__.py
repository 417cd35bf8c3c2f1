"""Every write to compliance state goes through these functions (one transaction each, with its
audit row; e-mails are sent after commit)."""

from __future__ import annotations

from .common import ActionError, ComplianceAction, NotAllowed
from .guidelines import (
    do_acknowledge,
    do_add_requirement,
    do_create_course,
    do_create_guideline,
    do_publish_guideline_version,
    do_record_training,
    do_remove_requirement,
    do_remove_training_record,
    do_set_guideline_active,
)
from .reviews import (
    do_close_review,
    do_decide_review_item,
    do_record_review_export,
    do_remind_reviewers,
    do_save_compliance_settings,
    do_start_access_review,
    may_decide,
)
from .rules import do_save_policy_rule, do_set_policy_rule_active

__all__ = [
    "ActionError",
    "ComplianceAction",
    "NotAllowed",
    "do_acknowledge",
    "do_add_requirement",
    "do_close_review",
    "do_create_course",
    "do_create_guideline",
    "do_decide_review_item",
    "do_publish_guideline_version",
    "do_record_review_export",
    "do_record_training",
    "do_remind_reviewers",
    "do_remove_requirement",
    "do_remove_training_record",
    "do_save_compliance_settings",
    "do_save_policy_rule",
    "do_set_guideline_active",
    "do_set_policy_rule_active",
    "do_start_access_review",
    "may_decide",
]
