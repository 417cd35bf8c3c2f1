from __future__ import annotations

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "greenroom.compliance"
    label = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Core and publishing never import compliance: it plugs its checks into their hooks.
        from greenroom.compliance import gating, policies, tasks  # noqa: F401
        from greenroom.core.restrict import register_withholder
        from greenroom.publishing.content import register_policy_check

        register_withholder(gating.withheld_permissions)
        register_policy_check(policies.check_variant, batch=policies.rules_read_once)
