"""The composer's audit actions in words (found by CoreConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from greenroom.core.audit import name_actions

name_actions(
    {
        "channel_group.saved": _("Channel group saved"),
        "channel_group.deleted": _("Channel group deleted"),
    }
)
