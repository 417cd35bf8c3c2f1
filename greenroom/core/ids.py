"""Ids as people and pages send them: in addresses, form fields and query strings.

`"12".isdigit()` is also true of "²" and "١٢", and an id past the database's range makes SQLite
raise instead of finding nothing. These read an id the way a lookup can use it.
"""

from __future__ import annotations

from collections.abc import Iterable

# The largest id a row can have: a signed 64-bit key on SQLite and PostgreSQL.
MAX_ID = 2**63 - 1


def as_id(value: object) -> int | None:
    """The id `value` names, or None when it is not a plain decimal number from 1 to MAX_ID."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def as_ids(values: Iterable[object]) -> list[int]:
    """The ids among `values`, in their order; the rest are left out."""
    return [number for number in map(as_id, values) if number is not None]
