from __future__ import annotations

from django.urls import path

from greenroom.inbox import report_views, settings_views, views

# Mounted at /inbox/ by greenroom/core/urls.py; "inbox" names the queue page (the nav's link).
urlpatterns = [
    path("", views.queue, name="inbox"),
    path("events/", views.queue_events, name="inbox_events"),
    path("c/<int:pk>/", views.conversation_view, name="inbox_conversation"),
    path("c/<int:pk>/events/", views.conversation_events, name="inbox_conversation_events"),
    path("c/<int:pk>/thread/", views.thread_part, name="inbox_thread"),
    path("c/<int:pk>/presence/", views.presence, name="inbox_presence"),
    path("c/<int:pk>/count/", views.count, name="inbox_count"),
    path("c/<int:pk>/reply/", views.reply, name="inbox_reply"),
    path("c/<int:pk>/note/", views.note, name="inbox_note"),
    path("c/<int:pk>/act/", views.act, name="inbox_act"),
    path("m/<int:pk>/hide/", views.hide, name="inbox_hide"),
    path("m/<int:pk>/delete/", views.delete_message, name="inbox_delete_message"),
    path("bulk/", views.bulk, name="inbox_bulk"),
    path("approvals/", views.approvals, name="inbox_approvals"),
    path("numbers/", report_views.numbers, name="inbox_numbers"),
    path("numbers/export.csv", report_views.numbers_csv, name="inbox_numbers_csv"),
    path("approvals/<int:pk>/", views.decide, name="inbox_decide"),
    path("settings/", settings_views.inbox_settings, name="inbox_settings"),
    path("settings/agents/<int:pk>/", settings_views.agent, name="inbox_agent"),
    path("contacts/<int:pk>/", views.contact_update, name="inbox_contact"),
]

# Saved replies, SLA policies and routing rules: a page to change one, and forms to save,
# delete and (policies and rules) switch it off or on.
_SETTINGS = {"saved_reply": "replies", "policy": "policies", "rule": "rules"}
for _key, _part in _SETTINGS.items():
    _args = {"key": _key}
    urlpatterns += [
        path(f"settings/{_part}/<int:pk>/", settings_views.edit, _args, name=f"inbox_{_key}"),
        path(
            f"settings/{_part}/<int:pk>/save/",
            settings_views.save,
            _args,
            name=f"inbox_{_key}_save",
        ),
        path(
            f"settings/{_part}/<int:pk>/delete/",
            settings_views.delete,
            _args,
            name=f"inbox_{_key}_delete",
        ),
    ]
    urlpatterns.append(
        path(
            f"settings/{_part}/<int:pk>/active/",
            settings_views.set_active,
            _args,
            name=f"inbox_{_key}_active",
        )
    )
