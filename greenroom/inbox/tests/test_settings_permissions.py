"""Inbox settings: saved replies, SLA policies, routing rules and business hours apply to the whole
organisation, so changing them needs manage_org (owners and admins) in the page, the API and the
actions alike. Administering a channel (bianca, brand manager of Coffee) is not enough."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from greenroom.api.tests.conftest import bearer, make_token
from greenroom.conftest import World
from greenroom.inbox import actions
from greenroom.inbox.models import RoutingRule, SavedReply, SlaPolicy

FORMS: dict[str, dict[str, str]] = {
    "saved_reply": {"form": "saved_reply", "title": "Thanks", "body": "Thank you, {first_name}!"},
    "policy": {"form": "policy", "name": "Fast", "first_response_minutes": "30"},
    "rule": {"form": "rule", "name": "Refunds", "keywords": "refund, 환불"},
}
MODELS: dict[str, Any] = {"saved_reply": SavedReply, "policy": SlaPolicy, "rule": RoutingRule}


@pytest.mark.parametrize("form", list(FORMS))
def test_a_channel_administrator_cannot_change_organisation_wide_inbox_settings(
    client: Client, world: World, form: str
) -> None:
    client.force_login(world.bianca)  # administers Coffee's channels, but not the organisation
    page = client.get("/inbox/settings/").content.decode()
    assert f'name="form" value="{form}"' not in page
    assert client.post("/inbox/settings/", FORMS[form]).status_code == 404
    assert not MODELS[form].objects.filter(organization=world.acme).exists()


@pytest.mark.parametrize("form", list(FORMS))
def test_an_admin_changes_them_on_the_settings_page(
    client: Client, world: World, form: str
) -> None:
    client.force_login(world.adam)
    assert f'name="form" value="{form}"' in client.get("/inbox/settings/").content.decode()
    assert client.post("/inbox/settings/", FORMS[form]).status_code == 302
    assert MODELS[form].objects.filter(organization=world.acme).count() == 1


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/inbox/saved-replies", {"title": "Thanks", "body": "Thank you!"}),
        ("/api/inbox/sla-policies", {"name": "Fast", "first_response_minutes": 30}),
        ("/api/inbox/rules", {"name": "Refunds", "keywords": "refund"}),
    ],
)
def test_the_api_follows_the_same_rule(world: World, path: str, body: dict[str, Any]) -> None:
    bianca = bearer(make_token(world, "bianca")[1])
    refused = bianca.post(path, body, content_type="application/json")
    assert refused.status_code == 403
    assert "manage_org" in refused.json()["detail"]
    adam = bearer(make_token(world, "adam")[1])
    assert adam.post(path, body, content_type="application/json").status_code == 201


def test_the_actions_refuse_people_without_manage_org(world: World) -> None:
    with pytest.raises(actions.NotAllowed):
        actions.do_save_saved_reply(world.acme, title="T", body="B", acting_user=world.bianca)
    with pytest.raises(actions.NotAllowed):
        actions.do_save_sla_policy(
            world.acme, name="Fast", first_response_minutes=30, acting_user=world.bianca
        )
    with pytest.raises(actions.NotAllowed):
        actions.do_save_routing_rule(world.acme, name="R", acting_user=world.bianca)
    with pytest.raises(actions.NotAllowed):
        actions.do_save_business_hours(
            world.acme, name="Office", weekly=[[]] * 7, holidays=[], acting_user=world.bianca
        )
    saved = actions.do_save_saved_reply(world.acme, title="T", body="B", acting_user=world.alice)
    with pytest.raises(actions.NotAllowed):
        actions.do_delete_saved_reply(saved, acting_user=world.bianca)
    # Globex's owner cannot change Acme's settings either.
    with pytest.raises(actions.NotAllowed):
        actions.do_delete_saved_reply(saved, acting_user=world.gina)
    assert SavedReply.objects.filter(pk=saved.pk).exists()
