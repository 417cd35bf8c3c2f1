"""Lookups Django does not ship for every database Greenroom runs on."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Lookup


@models.JSONField.register_lookup
class HasElement(Lookup):
    """`tags__has_element="billing"`: a JSON array column holds this string.

    `contains` does the job on PostgreSQL but is not supported on SQLite, the default database,
    where it raised NotSupportedError. PostgreSQL: jsonb's `?` (a top-level string element);
    SQLite: a search of the array with json_each.
    """

    lookup_name = "has_element"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, tuple[str, ...]]:
        # The plain string, not the JSON field's encoding of it.
        return "%s", (str(value),)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[str | int, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        params = (*lhs_params, *rhs_params)
        if connection.vendor == "postgresql":
            return f"({lhs} ? {rhs})", params
        if connection.vendor == "sqlite":
            # lhs is the compiled column, rhs a placeholder: the tag is a parameter.
            search = "EXISTS (SELECT 1 FROM json_each({}) WHERE json_each.type = 'text'"
            return (
                search.format(lhs) + f" AND json_each.value = {rhs})",
                params,
            )
        raise NotImplementedError(f"has_element is not written for {connection.vendor}")
