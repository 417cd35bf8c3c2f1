from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone

from greenroom.core.models import WorkerHeartbeat


@shared_task(name="greenroom.core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Proves to /healthz that beat schedules and a worker runs tasks."""
    WorkerHeartbeat.objects.update_or_create(
        name=socket.gethostname(), defaults={"seen_at": timezone.now()}
    )
