"""The embedded broker (a SQLite file through kombu's SQLAlchemy transport) is polled often."""

from __future__ import annotations

from django.conf import settings
from kombu.connection import Connection

import greenroom.celery  # noqa: F401 - configures the transport


def test_an_embedded_worker_looks_for_its_next_task_often() -> None:
    assert str(settings.CELERY_BROKER_URL).startswith("sqla+sqlite:///")
    with Connection(settings.CELERY_BROKER_URL) as connection:
        # Once a second (kombu's default) ran about one task a second per worker process.
        assert connection.transport.polling_interval == settings.BROKER_POLL_S
        assert connection.transport.polling_interval <= 0.1
