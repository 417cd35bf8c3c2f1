from __future__ import annotations

from django.urls import path

from greenroom.networks import views

app_name = "networks"
urlpatterns = [
    path("rules/", views.rule_table, name="rules"),
]
