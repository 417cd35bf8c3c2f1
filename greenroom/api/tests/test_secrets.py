"""No API response ever contains a token's plaintext, its hash, or a channel's credentials."""

from __future__ import annotations

import json

from greenroom.core import actions
from greenroom.core.models import ApiToken, Secret

from .conftest import bearer, call, make_token

NETWORK_TOKEN = "EAAB-network-access-token-9f8e7d6c5b4a"


def _everything(client, world) -> str:
    """The bodies of every read a script could make after the fact, concatenated."""
    bodies = []
    for path in ["/api/organization", "/api/tokens", "/api/channels", "/api/people", "/api/teams"]:
        bodies.append(client.get(path, {"limit": 200}).content.decode())
    offset = 0
    while True:
        page = client.get("/api/audit-events", {"limit": 200, "offset": offset}).json()
        bodies.append(json.dumps(page))
        for event in page["items"]:
            bodies.append(client.get(f"/api/audit-events/{event['id']}").content.decode())
        offset += 200
        if offset >= page["total"]:
            break
    for token in ApiToken.objects.filter(user=world.alice, organization=world.acme):
        bodies.append(client.get(f"/api/tokens/{token.pk}").content.decode())
    for channel_id in (world.coffee_x.pk, world.tea_bluesky.pk):
        bodies.append(client.get(f"/api/channels/{channel_id}").content.decode())
    return "\n".join(bodies)


def test_a_new_tokens_plaintext_is_shown_once_only(world):
    _, own = make_token(world, "alice")
    client = bearer(own)
    response = call(client, "POST", "/api/tokens", {"name": "deploy bot", "scopes": ["read"]})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    created = response.json()
    plaintext = created["token"]
    assert plaintext.startswith("grn_") and created["prefix"] == plaintext[:10]
    assert "token_hash" not in created

    row = ApiToken.objects.get(pk=created["id"])
    later = _everything(client, world)
    for secret in (plaintext, own, row.token_hash, plaintext[10:]):
        assert secret not in later
    assert "token_hash" not in later
    # The new token works, and is listed with its prefix only.
    listed = {t["id"]: t for t in client.get("/api/tokens").json()["items"]}
    assert listed[row.pk]["prefix"] == row.prefix
    assert set(listed[row.pk]) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "is_usable",
    }
    assert bearer(plaintext).get("/api/brands").status_code == 200


def test_a_channels_credentials_are_never_shown(world):
    actions.do_set_channel_credentials(world.coffee_x, token=NETWORK_TOKEN, acting_user=world.alice)
    _, own = make_token(world, "alice")
    client = bearer(own)
    channel = client.get(f"/api/channels/{world.coffee_x.pk}").json()
    assert channel["has_credentials"] is True
    assert channel["credentials"] == {"hint": "…" + NETWORK_TOKEN[-4:], "expires_at": None}
    assert client.get(f"/api/channels/{world.tea_bluesky.pk}").json()["has_credentials"] is False

    ciphertext = bytes(Secret.objects.get(organization=world.acme).ciphertext).decode()
    later = _everything(client, world)
    assert NETWORK_TOKEN not in later
    assert ciphertext not in later
    assert "ciphertext" not in later
