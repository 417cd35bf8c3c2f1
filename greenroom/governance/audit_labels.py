"""Governance's audit actions in words (found by CoreConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from greenroom.core.audit import name_actions

name_actions(
    {
        "governance.native_admin_recorded": _("Native admin recorded"),
        "governance.native_admin_removed": _("Native admin removed"),
        "governance.recovery_saved": _("Recovery details changed"),
        "governance.settings_saved": _("Governance settings changed"),
        "governance.offboarded": _("Person offboarded"),
        "governance.sessions_revoked": _("Sessions signed out"),
        "governance.account_deactivated": _("Account deactivated"),
        "governance.checklist_done": _("Offboarding task done"),
        "scim.token_created": _("SCIM token created"),
        "scim.token_revoked": _("SCIM token revoked"),
        "scim.user_created": _("Person created by SCIM"),
        "scim.user_updated": _("Person updated by SCIM"),
        "scim.user_deleted": _("Person deleted by SCIM"),
        "scim.user_reactivated": _("Person reactivated by SCIM"),
        "scim.group_created": _("Group created by SCIM"),
        "scim.group_updated": _("Group updated by SCIM"),
        "scim.group_deleted": _("Group deleted by SCIM"),
        "scim.group_role_set": _("Group role set"),
        # Written by the publishing handover that offboarding runs.
        "approval_step.approver_replaced": _("Approver replaced"),
        "post.approval_reassigned": _("Approval reassigned"),
    }
)
