from __future__ import annotations

import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "greenroom.media"
    label = "media"
    verbose_name = _("Media library")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # pyvips logs every libvips step (loader chosen, shrink factors) at INFO: one line per
        # step of every thumbnail would drown the JSON logs.
        logging.getLogger("pyvips").setLevel(logging.WARNING)
