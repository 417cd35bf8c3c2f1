"""Network connections' audit actions in words (found by CoreConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from greenroom.core.audit import name_actions

name_actions({"channel.connected": _("Channel connected to its network")})
