"""Every write to governance state goes through these functions.

See docs/architecture/governance.md.
"""

from __future__ import annotations

from .common import GovernanceAction, NotAllowed
from .custody import (
    do_record_native_admin,
    do_remove_native_admin,
    do_save_recovery,
    do_save_settings,
    settings_of,
)
from .offboarding import do_complete_checklist_item, do_offboard, revoke_sessions
from .scim import (
    ScimConflict,
    ScimUser,
    do_create_scim_token,
    do_revoke_scim_token,
    do_scim_create_group,
    do_scim_create_user,
    do_scim_delete_group,
    do_scim_delete_user,
    do_scim_update_group,
    do_scim_update_user,
    do_set_group_role,
)

__all__ = [
    "GovernanceAction",
    "NotAllowed",
    "ScimConflict",
    "ScimUser",
    "do_complete_checklist_item",
    "do_create_scim_token",
    "do_offboard",
    "do_record_native_admin",
    "do_remove_native_admin",
    "do_revoke_scim_token",
    "do_save_recovery",
    "do_save_settings",
    "do_scim_create_group",
    "do_scim_create_user",
    "do_scim_delete_group",
    "do_scim_delete_user",
    "do_scim_update_group",
    "do_scim_update_user",
    "do_set_group_role",
    "revoke_sessions",
    "settings_of",
]
