"""Saved channel groups: a named set of channels to post to together ("Korea launch", "All X").

The only model of the composer; posts, variants and campaigns belong to the publishing app.
A group is shared by its organisation; picking it selects the channels of it the person may
draft on (the rest stay out of reach, as everywhere).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.restrict import RestrictedManager


class ChannelGroup(models.Model):
    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="channel_groups"
    )
    name = models.CharField(_("name"), max_length=200)
    channels = models.ManyToManyField("core.Channel", related_name="groups")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["ChannelGroup"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="channel_group_unique_name"
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
