"""/settings/tokens/: list my tokens, create one (its plaintext shown once), revoke one."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from greenroom.core.models import ApiToken, AuditEvent

from .conftest import bearer, make_token


def _signed_in(world, name="paul"):
    client = Client()
    client.force_login(world.people[name])
    return client


def test_it_requires_signing_in(db):
    response = Client().get(reverse("api_tokens"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_lists_only_my_tokens_in_this_organisation(world):
    mine, _ = make_token(world, "paul")
    make_token(world, "alice")
    page = _signed_in(world).get(reverse("api_tokens"))
    assert page.status_code == 200
    html = page.content.decode()
    assert mine.prefix in html
    assert "alice&#x27;s script" not in html and "alice's script" not in html
    assert "no-store" in page["Cache-Control"]


def test_creating_a_token_shows_it_once(world):
    client = _signed_in(world)
    response = client.post(
        reverse("api_tokens"), {"name": "Weekly report", "scopes": ["read"], "expires": "30"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    token = ApiToken.objects.get(user=world.paul, name="Weekly report")
    plaintext = re.search(r'value="(grn_[^"]+)"', html).group(1)
    assert plaintext.startswith(token.prefix)
    assert "only time Greenroom shows it" in html
    assert 'id="copy-token"' in html
    assert "no-store" in response["Cache-Control"]
    assert token.scopes == ["read"] and token.expires_at is not None
    assert AuditEvent.objects.latest("pk").action == "api_token.created"

    # It works, as paul, read-only.
    assert bearer(plaintext).get("/api/organization").json()["your_role"] == "publisher"
    # And it never appears again.
    assert plaintext not in client.get(reverse("api_tokens")).content.decode()


def test_a_token_needs_a_name_and_a_scope(world):
    client = _signed_in(world)
    response = client.post(reverse("api_tokens"), {"name": "", "expires": "never"})
    assert response.status_code == 400
    assert not ApiToken.objects.filter(user=world.paul).exists()
    assert "grn_" not in response.content.decode()


def test_a_token_without_expiry(world):
    _signed_in(world).post(
        reverse("api_tokens"), {"name": "Forever", "scopes": ["read", "write"], "expires": "never"}
    )
    token = ApiToken.objects.get(user=world.paul)
    assert (token.scopes, token.expires_at) == (["read", "write"], None)


def test_revoking_a_token(world):
    token, plaintext = make_token(world, "paul")
    client = _signed_in(world)
    response = client.post(reverse("api_token_revoke", args=[token.pk]), follow=True)
    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.latest("pk").action == "api_token.revoked"
    assert bearer(plaintext).get("/api/brands").status_code == 401


def test_revoking_needs_a_post(world):
    token, _ = make_token(world, "paul")
    assert _signed_in(world).get(reverse("api_token_revoke", args=[token.pk])).status_code == 405


def test_nobody_revokes_someone_elses_token(world):
    token, _ = make_token(world, "alice")
    response = _signed_in(world, "adam").post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_someone_without_an_organisation_is_told_why(world):
    response = _signed_in(world, "charlie").get(reverse("api_tokens"))
    assert response.status_code == 200
    assert "not part of one yet" in response.content.decode()
    response = _signed_in(world, "charlie").post(
        reverse("api_tokens"), {"name": "x", "scopes": ["read"], "expires": "7"}
    )
    assert not ApiToken.objects.exists()


def test_the_page_renders_for_a_korean_speaker(world):
    world.paul.language = "ko"
    world.paul.save()
    response = _signed_in(world).get(reverse("api_tokens"))
    assert response.status_code == 200
    assert 'lang="ko"' in response.content.decode()
