"""Every write to publishing state goes through these functions (the engine's own transitions
live in greenroom/publishing/engine.py and follow the same rules: one transaction, an audit row,
side effects on commit)."""

from __future__ import annotations

from .approvals import do_approve, do_request_changes, do_submit_for_approval, do_withdraw
from .common import (
    UNSET,
    ActionError,
    ContentProblems,
    NotAllowed,
    PublishingAction,
    Unset,
    refresh_post_state,
)
from .first_comments import do_retry_first_comment
from .pauses import do_lift_pause, do_pause_publishing, may_pause
from .posts import VariantInput, do_create_post, do_edit_post, do_edit_variant
from .scheduling import do_cancel, do_publish_now, do_retry_variant, do_schedule
from .setup import (
    StepInput,
    do_create_approval_policy,
    do_create_campaign,
    do_deactivate_approval_policy,
    do_mark_notifications_read,
    do_update_campaign,
)

__all__ = [
    "UNSET",
    "ActionError",
    "ContentProblems",
    "NotAllowed",
    "PublishingAction",
    "StepInput",
    "Unset",
    "VariantInput",
    "do_approve",
    "do_cancel",
    "do_create_approval_policy",
    "do_create_campaign",
    "do_create_post",
    "do_deactivate_approval_policy",
    "do_edit_post",
    "do_edit_variant",
    "do_lift_pause",
    "do_mark_notifications_read",
    "do_pause_publishing",
    "do_publish_now",
    "do_request_changes",
    "do_retry_first_comment",
    "do_retry_variant",
    "do_schedule",
    "do_submit_for_approval",
    "do_update_campaign",
    "do_withdraw",
    "may_pause",
    "refresh_post_state",
]
