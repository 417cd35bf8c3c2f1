"""JSON for the hot paths (webhook landing, the inbox's batches): orjson's C encoder and parser,
several times faster than the standard library's on network payloads.

The text is UTF-8 as it is (Korean stays Korean instead of six-byte escapes) and compact; any
JSON reader reads it. A value orjson refuses (a dict with non-string keys, an integer over 64
bits) is encoded by the standard library instead, so nothing that encoded before fails now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
