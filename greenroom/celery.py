"""The Celery app. Embedded: broker in a SQLite file; distributed: CELERY_BROKER_URL (Redis)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenroom.settings")

app = Celery("greenroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "worker-heartbeat": {"task": "greenroom.core.tasks.heartbeat", "schedule": 10.0},
}
