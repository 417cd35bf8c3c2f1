"""Structured logs: one JSON object per line, with the request id, and secrets redacted."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from greenroom.core import context

REDACTED = "[redacted]"


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current().request_id or "-"
        return True


class RedactSecretsFilter(logging.Filter):
    """Replace any vault plaintext this process has seen with [redacted], whatever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        from greenroom.core.vault import known_plaintexts

        secrets = known_plaintexts()
        if not secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        exc_text = record.exc_text or ""
        changed = False
        for value in secrets:
            if value in message:
                message = message.replace(value, REDACTED)
                changed = True
            if value in exc_text:
                exc_text = exc_text.replace(value, REDACTED)
                changed = True
        if changed:
            record.msg, record.args = message, None
            record.exc_text = exc_text or None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info or record.exc_text:
            data["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(data, ensure_ascii=False)
