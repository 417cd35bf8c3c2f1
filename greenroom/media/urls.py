"""The media library, mounted at /publishing/media/ (greenroom/urls.py)."""

from __future__ import annotations

from django.urls import path

from greenroom.media import views

app_name = "media"

urlpatterns = [
    path("", views.library, name="library"),
    path("<int:pk>/", views.asset_detail, name="asset"),
    path("<int:pk>/focal-point/", views.asset_focal_point, name="focal_point"),
    path("<int:pk>/alt-text/", views.asset_alt_text, name="alt_text"),
    path("<int:pk>/renditions/", views.make_renditions, name="make_renditions"),
    path("<int:pk>/original", views.asset_original, name="original"),
    path("<int:pk>/thumbnail.jpg", views.asset_thumbnail, name="thumbnail"),
    path("renditions/<int:pk>/", views.rendition_preview, name="preview"),
    path("renditions/<int:pk>/row/", views.rendition_row, name="rendition_row"),
    path("renditions/<int:pk>/retry/", views.retry_rendition, name="retry"),
    path("renditions/<int:pk>/file", views.rendition_file, name="rendition_file"),
]
