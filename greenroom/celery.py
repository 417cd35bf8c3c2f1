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
    "media-requeue-stalled": {"task": "greenroom.media.tasks.requeue_stalled", "schedule": 60.0},
    # Inbound events no task processed (lost task, killed worker); SLA warnings and breaches.
    "inbox-sweep-inbound": {"task": "greenroom.inbox.sweep_inbound", "schedule": 30.0},
    "inbox-check-sla": {"task": "greenroom.inbox.check_sla", "schedule": 60.0},
    # Bluesky and Mastodon inboxes are polled (settings.GREENROOM_INBOX_POLL_SECONDS).
    "poll-inboxes": {
        "task": "greenroom.networks.connections.tasks.poll_inboxes",
        "schedule": float(os.environ.get("GREENROOM_INBOX_POLL_SECONDS", "60")),
    },
    # The publishing engine: claim due posts every few seconds; take over those whose worker
    # died (docs/architecture/publishing.md).
    "publishing-dispatch-due": {
        "task": "greenroom.publishing.tasks.dispatch_due",
        "schedule": float(os.environ.get("PUBLISHING_DISPATCH_EVERY_S", "2")),
    },
    "publishing-reclaim-expired": {
        "task": "greenroom.publishing.tasks.reclaim_expired",
        "schedule": float(os.environ.get("PUBLISHING_RECLAIM_EVERY_S", "10")),
    },
}
