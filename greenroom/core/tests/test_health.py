from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.test import Client, override_settings
from django.utils import timezone

from greenroom.core import context
from greenroom.core.logging import JsonFormatter, RequestContextFilter
from greenroom.core.models import WorkerHeartbeat


def test_healthz_is_unhealthy_until_a_worker_reports(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["worker"] == {"ok": False, "error": "no worker has reported yet"}


def test_healthz_is_healthy_with_a_fresh_heartbeat(db: None) -> None:
    from greenroom.core.tasks import heartbeat

    heartbeat()
    response = Client().get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["broker"]["ok"] is True


def test_healthz_notices_a_worker_that_stopped(db: None) -> None:
    WorkerHeartbeat.objects.create(name="w1", seen_at=timezone.now() - timedelta(minutes=5))
    body = Client().get("/healthz").json()
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["worker"]["age_s"] >= 300


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_reports_an_unreachable_broker(db: None) -> None:
    from greenroom.core.tasks import heartbeat

    heartbeat()
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_every_response_carries_a_request_id(db: None) -> None:
    first = Client().get("/healthz")["X-Request-ID"]
    second = Client().get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and first != second
    kept = Client(headers={"X-Request-ID": "abc123"}).get("/healthz")["X-Request-ID"]
    assert kept == "abc123"
    refused = Client(headers={"X-Request-ID": "<script>"}).get("/healthz")["X-Request-ID"]
    assert refused != "<script>"


def test_log_lines_are_json_with_the_request_id() -> None:
    record = logging.LogRecord(
        "greenroom.x", logging.INFO, __file__, 1, "hello %s", ("소셜",), None
    )
    with context.bind(request_id="r-77"):
        RequestContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello 소셜"
    assert line["request_id"] == "r-77"
    assert line["level"] == "INFO" and line["logger"] == "greenroom.x"
