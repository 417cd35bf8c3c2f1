"""Sign-in security's audit actions in words (found by CoreConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from greenroom.core.audit import name_actions

name_actions(
    {
        "mfa.enrolment_started": _("Two-factor set-up started"),
        "mfa.enrolled": _("Two-factor authentication turned on"),
        "mfa.disabled": _("Two-factor authentication turned off"),
        "mfa.reset_by_admin": _("Two-factor authentication reset by an admin"),
        "mfa.code_rejected": _("Wrong two-factor code"),
        "mfa.recovery_code_used": _("Recovery code used"),
        "mfa.recovery_codes_regenerated": _("New recovery codes made"),
        "session.revoked": _("Session signed out"),
        "session.revoked_all": _("Sessions revoked"),
        "session.idle_timeout": _("Signed out after being idle"),
        "security.policy_changed": _("Sign-in rules changed"),
        "sso.provider_saved": _("Single sign-on settings changed"),
        "sso.mapping_added": _("Single sign-on group mapped"),
        "sso.mapping_removed": _("Single sign-on group mapping removed"),
        "sso.sign_in": _("Signed in through single sign-on"),
        "sso.sign_in_refused": _("Single sign-on refused"),
        "sso.user_provisioned": _("Account created through single sign-on"),
    }
)
