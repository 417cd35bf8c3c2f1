"""The inbox's audit actions in words (found by CoreConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from greenroom.core.audit import name_actions

name_actions(
    {
        "inbox.ingested": _("Messages received"),
        "inbox.event_set_aside": _("Received message set aside: it could not be processed"),
        "inbox.reply_queued": _("Reply sent to the network"),
        "inbox.reply_awaits_approval": _("Reply waiting for approval"),
        "inbox.reply_approved": _("Reply approved"),
        "inbox.reply_rejected": _("Reply rejected"),
        "inbox.reply_sent": _("Reply delivered"),
        "inbox.reply_failed": _("Reply failed"),
        "inbox.auto_reply": _("Automatic reply"),
        "inbox.note_added": _("Internal note added"),
        "inbox.assigned": _("Conversation assigned"),
        "inbox.team_set": _("Conversation team set"),
        "inbox.tagged": _("Conversation tagged"),
        "inbox.priority_set": _("Conversation priority set"),
        "inbox.closed": _("Conversation closed"),
        "inbox.reopened": _("Conversation reopened"),
        "inbox.snoozed": _("Conversation snoozed"),
        "inbox.woken": _("Snoozed conversation woke up"),
        "inbox.message_hidden": _("Comment hidden"),
        "inbox.message_hide_failed": _("Comment could not be hidden"),
        "inbox.message_deleted": _("Comment deleted"),
        "inbox.message_delete_failed": _("Comment could not be deleted"),
        "inbox.sla_warning": _("Response time warning"),
        "inbox.sla_breach": _("Response time missed"),
        "inbox.contact_updated": _("Contact changed"),
        "inbox.sla_policy_saved": _("Response-time policy saved"),
        "inbox.sla_policy_deleted": _("Response-time policy deleted"),
        "inbox.business_hours_saved": _("Business hours saved"),
        "inbox.business_hours_deleted": _("Business hours deleted"),
        "inbox.rule_saved": _("Routing rule saved"),
        "inbox.rule_deleted": _("Routing rule deleted"),
        "inbox.saved_reply_saved": _("Saved reply saved"),
        "inbox.saved_reply_deleted": _("Saved reply deleted"),
        "inbox.agent_updated": _("Agent availability changed"),
    }
)
