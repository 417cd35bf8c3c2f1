"""Compliance pages, under /governance/compliance/ (namespace `compliance`)."""

from __future__ import annotations

from django.urls import path

from greenroom.compliance import views

app_name = "compliance"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/settings/", views.review_settings, name="review_settings"),
    path("reviews/<int:pk>/", views.review, name="review"),
    path("reviews/<int:pk>/remind/", views.remind, name="remind"),
    path("reviews/<int:pk>/report/", views.review_report, name="review_report"),
    path("reviews/<int:pk>/report.csv", views.review_export, name="review_export"),
    path("reviews/items/<int:pk>/decide/", views.decide, name="decide"),
    path("policies/", views.policies, name="policies"),
    path("policies/<int:pk>/", views.policy_edit, name="policy_edit"),
    path("policies/<int:pk>/active/", views.policy_active, name="policy_active"),
    path("guidelines/", views.guidelines, name="guidelines"),
    path("guidelines/<int:pk>/", views.guideline, name="guideline"),
    path("guidelines/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("guidelines/<int:pk>/version/", views.guideline_version, name="guideline_version"),
    path("guidelines/<int:pk>/active/", views.guideline_active, name="guideline_active"),
    path("training/", views.training, name="training"),
    path("training/records/<int:pk>/remove/", views.training_remove, name="training_remove"),
    path("requirements/", views.requirements, name="requirements"),
    path("requirements/<int:pk>/remove/", views.requirement_remove, name="requirement_remove"),
    path("missing/", views.missing, name="missing"),
]
