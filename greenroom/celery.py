"""The Celery app. Embedded: broker in a SQLite file; distributed: CELERY_BROKER_URL (Redis)."""

from __future__ import annotations

import logging
import os
import time

from celery import Celery
from celery.signals import worker_ready

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
    # Waiting conversations handed to agents on shift with room (inbox/handout.py).
    "inbox-hand-out-waiting": {"task": "greenroom.inbox.hand_out_waiting", "schedule": 60.0},
    # Channel tokens renewed before they expire (greenroom/networks/health.py).
    "refresh-expiring-tokens": {
        "task": "greenroom.networks.refresh_expiring_tokens",
        "schedule": 60.0,
    },
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
    # Approvers reminded before an approval is due, and told once it is late.
    "publishing-remind-approvals": {
        "task": "greenroom.publishing.remind_approvals",
        "schedule": 300.0,
    },
    "publishing-reclaim-expired": {
        "task": "greenroom.publishing.tasks.reclaim_expired",
        "schedule": float(os.environ.get("PUBLISHING_RECLAIM_EVERY_S", "10")),
    },
    # First comments whose task was lost or whose worker died (publishing/first_comments.py).
    "publishing-sweep-first-comments": {
        "task": "greenroom.publishing.sweep_first_comments",
        "schedule": 60.0,
    },
    # Access reviews: quarterly starts, reminders before the deadline, revocation at it.
    "compliance-tick": {"task": "greenroom.compliance.tick", "schedule": 300.0},
}


@worker_ready.connect
def _start_heartbeat(sender: object = None, **kwargs: object) -> None:
    """Report the worker alive from its main process, every WORKER_HEARTBEAT_S seconds.

    The beat-scheduled heartbeat task proves tasks run, but it waits in the queue behind a
    backlog (a demo seed queues hundreds of inbox tasks); /healthz must not call a busy worker dead.
    """
    import threading

    from django.conf import settings

    def beat() -> None:
        from django.db import close_old_connections

        from greenroom.core.tasks import heartbeat

        while True:
            try:
                heartbeat()
            except Exception:  # a database hiccup must not kill the thread
                logging.getLogger(__name__).warning("worker heartbeat failed", exc_info=True)
            finally:
                close_old_connections()
            time.sleep(settings.WORKER_HEARTBEAT_S)

    threading.Thread(target=beat, name="greenroom-heartbeat", daemon=True).start()
