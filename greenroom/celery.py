"""The Celery app. Embedded: broker in a SQLite file; distributed: CELERY_BROKER_URL (Redis)."""

from __future__ import annotations

import logging
import os
import time
from contextlib import ExitStack

import httpx
from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenroom.settings")

app = Celery("greenroom")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _poll_the_sqlite_broker_often() -> None:
    """kombu's SQLAlchemy transport looks for messages once a second when it cannot take one
    (each worker process holds one unacknowledged task at a time: acks late, prefetch 1), so the
    embedded worker ran about one task a second per process however short the tasks: a demo's
    queue of inbox escalations kept a "publish now" waiting for a minute. Its transport options
    all go to SQLAlchemy's create_engine(), so the interval is set on the transport class."""
    from django.conf import settings

    if str(settings.CELERY_BROKER_URL).startswith("sqla+"):
        from kombu.transport import sqlalchemy

        sqlalchemy.Transport.polling_interval = float(settings.BROKER_POLL_S)


_poll_the_sqlite_broker_often()
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "worker-heartbeat": {"task": "greenroom.core.tasks.heartbeat", "schedule": 10.0},
    "media-requeue-stalled": {"task": "greenroom.media.tasks.requeue_stalled", "schedule": 60.0},
    # Inbound events no task processed (lost task, killed worker); SLA warnings and breaches.
    "inbox-sweep-inbound": {"task": "greenroom.inbox.sweep_inbound", "schedule": 30.0},
    "inbox-check-sla": {"task": "greenroom.inbox.check_sla", "schedule": 60.0},
    # Replies stuck in "sending" (lost task, worker killed before marking them sent).
    "inbox-resend-stuck-replies": {
        "task": "greenroom.inbox.resend_stuck_replies",
        "schedule": 60.0,
    },
    # Waiting conversations handed to agents on shift with room (inbox/handout.py).
    "inbox-hand-out-waiting": {"task": "greenroom.inbox.hand_out_waiting", "schedule": 60.0},
    # Webhook items held for a second lookup (greenroom/networks/held.py).
    "networks-complete-held": {"task": "greenroom.networks.complete_held", "schedule": 30.0},
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


class SharedConnections(httpx.BaseTransport):
    """One keep-alive connection pool for every request a worker process sends to the sandbox.

    A client of its own per request built a TLS context (loading the CA bundle: 15 to 100 ms of
    CPU) and a TCP connection, which was most of a publishing worker's CPU
    (docs/architecture/publishing.md, "Throughput"). The connector now keeps one client per
    process and transport; this transport sets its pool's limits and stays open for the life of
    the process, whatever closes a client.
    """

    def __init__(self) -> None:
        # Connections idle longer than common servers keep them (uvicorn: 5 s) are not reused,
        # so a request rarely meets a connection the server has just closed.
        self._pool = httpx.HTTPTransport(
            limits=httpx.Limits(
                max_connections=None, max_keepalive_connections=64, keepalive_expiry=4.0
            )
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._pool.handle_request(request)

    def close(self) -> None:
        """Shared by every client of the process: a client closing must not close it."""


# Settings held for the life of the worker process.
_process = ExitStack()


@worker_init.connect
@worker_process_init.connect
def _keep_publishing_leases(sender: object = None, **kwargs: object) -> None:
    """The process that publishes renews the leases it holds (publishing.engine.LeaseKeeper)."""
    from greenroom.publishing.engine import lease_keeper

    lease_keeper.start()


@worker_init.connect
@worker_process_init.connect
def _share_network_connections(sender: object = None, **kwargs: object) -> None:
    """Workers (and each child of a prefork pool) send sandbox requests over one pool."""
    from greenroom.networks.sandbox import connector

    _process.enter_context(connector.use_transport(SharedConnections()))
