"""URLs of the composer, the calendar and bulk import, mounted by greenroom/urls.py under
/publishing/compose/, /publishing/calendar/ and /publishing/import/ (each its own namespace)."""

from __future__ import annotations

from django.urls import path

from . import calendar_views, import_views, views

compose_patterns = (
    [
        path("", views.compose_post, name="new"),
        path("<int:pk>/", views.edit_post, name="edit"),
        path("panel/", views.panel, name="panel"),
        path("count/", views.count, name="count"),
        path("groups/", views.save_group, name="save_group"),
        path("groups/<int:pk>/delete/", views.delete_group, name="delete_group"),
    ],
    "composer",
)

calendar_patterns = (
    [
        path("", calendar_views.month, name="month"),
        path("week/", calendar_views.week, name="week"),
        path("reschedule/", calendar_views.reschedule, name="reschedule"),
    ],
    "calendar",
)

import_patterns = (
    [
        path("", import_views.import_page, name="page"),
        path("template.csv", import_views.template_csv, name="template"),
    ],
    "bulk_import",
)
