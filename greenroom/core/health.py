"""/healthz: database, broker and worker heartbeat, as JSON for load balancers and monitors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from greenroom.core.models import WorkerHeartbeat


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure is the answer here
        return {"ok": False, "error": type(exc).__name__}


def _check_broker() -> dict[str, Any]:
    from kombu.connection import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _check_worker() -> dict[str, Any]:
    limit = timedelta(seconds=settings.WORKER_HEARTBEAT_S * 4)
    latest = WorkerHeartbeat.objects.order_by("-seen_at").first()
    if latest is None:
        return {"ok": False, "error": "no worker has reported yet"}
    age = (timezone.now() - latest.seen_at).total_seconds()
    return {"ok": age <= limit.total_seconds(), "age_s": round(age, 1)}


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "broker": _check_broker(), "worker": _check_worker()}
    ok = all(c["ok"] for c in checks.values())
    return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)
