"""Limit/offset pages with a total, for every list endpoint."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

from .schemas import PageQuery

M = TypeVar("M", bound=models.Model)


def paginate(queryset: models.QuerySet[M], query: PageQuery) -> dict[str, Any]:
    """One page of an ordered queryset, as a `Page` body."""
    return {
        "items": list(queryset[query.offset : query.offset + query.limit]),
        "total": queryset.count(),
        "limit": query.limit,
        "offset": query.offset,
    }
