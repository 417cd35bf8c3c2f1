"""LinkedIn webhooks and the connect flow, with payloads from LinkedIn's documentation:

- Webhook validation (challengeCode / challengeResponse, X-LI-Signature over "hmacsha256=" + body):
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation
- Organization social action notifications (notificationId, organizationalEntity, action COMMENT,
  decoratedGeneratedActivity.comment):
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-social-action-notifications
- 3-legged OAuth (authorization, accessToken with expires_in / refresh_token_expires_in):
  https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
- Organization access control (organizationAcls?q=roleAssignee) and organization lookup
  (organizations?ids=List(...)):
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role,
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-lookup-api
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import respx
from django.test import Client

from greenroom.api.tests.conftest import bearer, make_token
from greenroom.conftest import PASSWORD, World
from greenroom.core import actions, vault
from greenroom.core.models import Channel, ChannelStatus
from greenroom.inbox import actions as inbox_actions
from greenroom.inbox.models import Message
from greenroom.networks import network_api as api
from greenroom.networks.linkedin.tests.conftest import CLIENT_SECRET, PAGE, A
from greenroom.networks.models import InboundEvent

COMMENT = "urn:li:comment:(urn:li:activity:6771116102128271360,6771117224138924032)"
COMMENT_NOTIFICATION = {
    "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
    "notifications": [
        {
            "lastModifiedAt": 1614291276000,
            "subscriber": "urn:li:person:Az8sUlNWHx",
            "decoratedSourcePost": {
                "owner": PAGE,
                "entity": "urn:li:share:6771116101658103808",
                "text": "Our new roast",
            },
            "sourcePost": "urn:li:share:6771116101658103808",
            "decoratedGeneratedActivity": {
                "comment": {
                    "owner": "urn:li:person:5aMN8z7d7P",
                    "text": "Where can I buy it?",
                    "entity": COMMENT,
                    "object": "urn:li:activity:6771116102128271360",
                }
            },
            "organizationalEntity": PAGE,
            "action": "COMMENT",
            "notificationId": 1232421,
            "generatedActivity": COMMENT,
        },
        {
            "lastModifiedAt": 1614291277000,
            "sourcePost": "urn:li:share:6771116101658103808",
            "organizationalEntity": PAGE,
            "action": "LIKE",
            "notificationId": 1232422,
        },
    ],
}


def signed(body: bytes, secret: str = CLIENT_SECRET) -> str:
    return hmac.new(secret.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()


def test_the_validation_challenge_is_answered(page: Channel, world: World) -> None:
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    response = Client().get(f"/hooks/linkedin/{world.acme.pk}/", {"challengeCode": code})
    assert response.status_code == 200
    assert response.json() == {
        "challengeCode": code,
        "challengeResponse": hmac.new(
            CLIENT_SECRET.encode(), code.encode(), hashlib.sha256
        ).hexdigest(),
    }
    assert CLIENT_SECRET not in response.content.decode()


def test_a_signed_comment_notification_is_stored_once(page: Channel, world: World) -> None:
    body = json.dumps(COMMENT_NOTIFICATION).encode()
    url = f"/hooks/linkedin/{world.acme.pk}/"
    client = Client()
    first = client.post(
        url, body, content_type="application/json", HTTP_X_LI_SIGNATURE=signed(body)
    )
    again = client.post(
        url, body, content_type="application/json", HTTP_X_LI_SIGNATURE=signed(body)
    )
    assert (first.status_code, first.json()["stored"]) == (200, 1)
    assert again.json()["stored"] == 0
    event = InboundEvent.objects.get(channel=page)
    assert event.kind == "comment"
    assert event.external_id == (COMMENT)
    # And the inbox reads it: LinkedIn's own JSON is kept under "network".
    assert inbox_actions.do_process_inbound().unreadable == 0
    message = Message.objects.get(channel=page, external_id=COMMENT)
    assert (message.text, message.conversation.kind) == ("Where can I buy it?", "comment")
    assert message.raw["network"]["object"] == "urn:li:activity:6771116102128271360"


def test_a_bad_signature_is_refused_and_nothing_is_stored(page: Channel, world: World) -> None:
    body = json.dumps(COMMENT_NOTIFICATION).encode()
    client = Client()
    url = f"/hooks/linkedin/{world.acme.pk}/"
    wrong = client.post(
        url, body, content_type="application/json", HTTP_X_LI_SIGNATURE=signed(body, "guess")
    )
    missing = client.post(url, body, content_type="application/json")
    other_org = client.post(
        f"/hooks/linkedin/{world.globex.pk}/",
        body,
        content_type="application/json",
        HTTP_X_LI_SIGNATURE=signed(body),
    )
    assert (wrong.status_code, missing.status_code, other_org.status_code) == (401, 401, 401)
    assert not InboundEvent.objects.exists()


def test_connecting_finds_the_page_and_keeps_the_tokens_out_of_sight(
    world: World, settings: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="linkedin",
        handle="acme-coffee",
        owner=world.alice,
        acting_user=world.alice,
    )
    api.do_set_app_credentials(
        world.acme,
        "linkedin",
        acting_user=world.alice,
        client_id="78abcdefgh12",
        client_secret=CLIENT_SECRET,
    )
    client = Client()
    client.login(username="alice", password=PASSWORD)
    start = client.get(f"/hooks/linkedin/connect/{channel.pk}/")
    assert start.status_code == 302
    consent = urlsplit(start["Location"])
    query = {k: v[0] for k, v in parse_qs(consent.query).items()}
    assert f"{consent.netloc}{consent.path}" == "www.linkedin.com/oauth/v2/authorization"
    assert query["client_id"] == "78abcdefgh12"
    assert "w_organization_social" in query["scope"].split(" ")
    assert "code_challenge" not in query  # LinkedIn offers web apps no PKCE
    access = "AQUvlL_DYEzvT2wz1QJiEPeLioeA-access-token-value"
    with respx.mock(assert_all_called=True) as router:
        token = router.post("https://www.linkedin.com/oauth/v2/accessToken").mock(
            return_value=httpx.Response(
                200,
                json={
                    "access_token": access,
                    "expires_in": 5184000,
                    "refresh_token": "AQWAft_WjYZKwuWXLC5hQlghgTam-refresh-value",
                    "refresh_token_expires_in": 525600,
                    "scope": "r_organization_social,rw_organization_admin,w_organization_social",
                },
            )
        )
        acls = router.get(f"{A}/organizationAcls").mock(
            return_value=httpx.Response(
                200,
                json={
                    "paging": {"count": 10, "start": 0, "links": []},
                    "elements": [
                        {
                            "roleAssignee": "urn:li:person:SzGkcnVuJx",
                            "state": "APPROVED",
                            "role": "ANALYST",
                            "organization": "urn:li:organization:1337",
                        },
                        {
                            "roleAssignee": "urn:li:person:SzGkcnVuJx",
                            "state": "APPROVED",
                            "role": "ADMINISTRATOR",
                            "organization": PAGE,
                        },
                        {
                            "roleAssignee": "urn:li:person:SzGkcnVuJx",
                            "state": "APPROVED",
                            "role": "ADMINISTRATOR",
                            "organization": "urn:li:organization:5590506",
                        },
                    ],
                },
            )
        )
        lookup = router.get(f"{A}/organizations").mock(
            return_value=httpx.Response(
                200,
                json={
                    "results": {
                        "2414183": {
                            "vanityName": "acme-coffee",
                            "localizedName": "Acme Coffee",
                            "id": 2414183,
                        },
                        "5590506": {"vanityName": "acme-tea", "localizedName": "Acme Tea"},
                    },
                    "statuses": {},
                    "errors": {},
                },
            )
        )
        done = client.get(
            "/hooks/linkedin/oauth/callback/", {"code": "AQTcode", "state": query["state"]}
        )
    assert done.status_code == 302
    form = parse_qs(token.calls[0].request.content.decode())
    assert form["code"] == ["AQTcode"] and "code_verifier" not in form
    assert acls.calls[0].request.url.params["q"] == "roleAssignee"
    assert lookup.calls[0].request.url.raw_path.decode() == (
        "/rest/organizations?ids=List(2414183,5590506)"
    )
    channel.refresh_from_db()
    assert channel.external_id == PAGE
    assert channel.status == ChannelStatus.ACTIVE
    assert channel.credentials is not None and channel.credentials.expires_at is not None
    stored = api.decode_tokens(vault.reveal(channel.credentials))
    assert stored.access_token == access
    assert "w_organization_social" in stored.scopes
    assert stored.refresh_expires_at is not None
    page_html = client.get(f"/governance/channels/{channel.pk}/").content.decode()
    _, api_token = make_token(world, "alice")
    api_json = bearer(api_token).get(f"/api/channels/{channel.pk}").content.decode()
    assert '"has_credentials": true' in api_json
    for secret in (access, "AQWAft_WjYZKwuWXLC5hQlghgTam-refresh-value", CLIENT_SECRET):
        assert secret not in page_html
        assert secret not in api_json
        assert secret not in caplog.text
        assert secret not in done.content.decode()
