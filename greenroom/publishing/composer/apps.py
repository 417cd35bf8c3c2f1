from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComposerConfig(AppConfig):
    """The composer, the calendar and bulk import: pages over the publishing app's actions."""

    name = "greenroom.publishing.composer"
    label = "composer"
    verbose_name = _("Composer and calendar")
    default_auto_field = "django.db.models.BigAutoField"
