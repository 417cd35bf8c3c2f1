"""Which published post a comment thread answers.

Conversations keep the network's id of the post (`post_external_id`, the first comment's
`in_reply_to`), so the link survives whatever the publishing app does. The post itself is looked
up at read time in the publishing app's variants (channel + external id), through the app
registry: the inbox works, and shows the bare id, when publishing is not installed or its models
change shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldError

from greenroom.core.models import User


@dataclass(frozen=True)
class PostLink:
    external_id: str
    text: str
    url: str
    post_id: int | None
    variant_id: int | None
    published_at: Any


def find_post(user: User, channel_id: int, external_id: str) -> PostLink | None:
    """The variant published on `channel_id` as `external_id`, if the user may see it."""
    if not external_id:
        return None
    try:
        variant_model = apps.get_model("publishing", "Variant")
    except LookupError:
        return None
    manager: Any = variant_model._default_manager
    try:
        rows = manager.restrict(user, "view") if hasattr(manager, "restrict") else manager.all()
        variant = (
            rows.filter(channel_id=channel_id, external_id=external_id)
            .select_related("post")
            .first()
        )
    except (FieldError, ValueError):
        return None
    if variant is None:
        return None
    return PostLink(
        external_id=external_id,
        text=getattr(variant, "text", "") or getattr(variant.post, "text", ""),
        url=getattr(variant, "external_url", ""),
        post_id=getattr(variant, "post_id", None),
        variant_id=variant.pk,
        published_at=getattr(variant, "published_at", None),
    )
