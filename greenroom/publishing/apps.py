from __future__ import annotations

from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "greenroom.publishing"
    label = "publishing"
    verbose_name = "Publishing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Tasks outside tasks.py (beat's, and the notices' delivery) register with the worker
        # here; first_comments also listens to the engine's variant_published signal.
        from greenroom.publishing import deadlines, first_comments, notices  # noqa: F401
