"""The webhook handshakes with hostile query strings: never a 500, and only the right secret
gets an answer a network would accept.

- Meta (Facebook, Instagram, Threads) echoes `hub.challenge` when `hub.mode=subscribe` and
  `hub.verify_token` is the organisation's verify token; anything else is a 403.
- X answers `crc_token` with `sha256=` + base64(HMAC-SHA256(consumer secret, token)).
- LinkedIn answers `challengeCode` with hex(HMAC-SHA256(client secret, code)).

The echoed challenge is text the caller chose, so it must go back as plain text that a browser
will not sniff into a page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from greenroom.conftest import World, fuzz_examples
from greenroom.networks import network_api as api

VERIFY = "verify-token-for-the-handshake-fuzzer"
META_SECRET = "meta-secret-for-the-handshake-fuzzer"
X_SECRET = "x-secret-for-the-handshake-fuzzer"
LI_SECRET = "linkedin-secret-for-the-handshake-fuzzer"

ODD = [
    "",
    " ",
    "\x00",
    "subscribe\x00",
    VERIFY + "\x00",
    VERIFY.upper(),
    "<script>alert(1)</script>",
    "한국어 ☕",
    "a" * 5_000,
    "²",
    "%00",
    "../../etc/passwd",
]
# URLs carry UTF-8; a lone surrogate cannot be sent at all.
text = st.one_of(
    st.sampled_from(ODD),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
)
KEYS = ["hub.mode", "hub.verify_token", "hub.challenge", "crc_token", "challengeCode", "x"]
HOOKS = ["facebook", "instagram", "threads", "x", "linkedin"]

FUZZ = settings(
    max_examples=fuzz_examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def org(world: World, settings: Any) -> World:
    settings.GREENROOM_NETWORKS = ["facebook", "instagram", "threads", "x", "linkedin"]
    cache.clear()
    for net in ("facebook", "instagram", "threads"):
        api.do_set_app_credentials(
            world.acme,
            net,
            acting_user=None,
            client_secret=META_SECRET,
            webhook_verify_token=VERIFY,
        )
    api.do_set_app_credentials(world.acme, "x", acting_user=None, consumer_secret=X_SECRET)
    api.do_set_app_credentials(world.acme, "linkedin", acting_user=None, client_secret=LI_SECRET)
    return world


def _hmac(secret: str, message: str) -> bytes:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def _check(hook: str, params: dict[str, str], response: Any) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code != 200:
        return
    if hook in ("facebook", "instagram", "threads"):
        # Answered only for the exact verify token, with the challenge as sniff-proof text.
        assert params.get("hub.mode") == "subscribe"
        assert params.get("hub.verify_token") == VERIFY
        assert response.content.decode() == params.get("hub.challenge", "")
        assert response["Content-Type"].startswith("text/plain")
        assert response["X-Content-Type-Options"] == "nosniff"
    elif hook == "x":
        token = params["crc_token"]
        expected = "sha256=" + base64.b64encode(_hmac(X_SECRET, token)).decode()
        assert response.json() == {"response_token": expected}
    else:
        code = params["challengeCode"]
        assert response.json() == {
            "challengeCode": code,
            "challengeResponse": _hmac(LI_SECRET, code).hex(),
        }


@FUZZ
@given(
    hook=st.sampled_from(HOOKS),
    params=st.dictionaries(st.sampled_from(KEYS), text, max_size=4),
)
@example(hook="facebook", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY + "\x00"})
@example(hook="x", params={"crc_token": "\x00"})
@example(hook="linkedin", params={"challengeCode": "한국어"})
def test_handshakes_with_hostile_queries(org: World, hook: str, params: dict[str, str]) -> None:
    response = Client().get(f"/hooks/{hook}/{org.acme.pk}/", params)
    _check(hook, params, response)


@pytest.mark.parametrize("hook", ["facebook", "instagram", "threads"])
def test_meta_answers_the_right_token_and_refuses_a_near_miss(org: World, hook: str) -> None:
    path = f"/hooks/{hook}/{org.acme.pk}/"
    challenge = "<b>1158201444</b>"
    right = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": challenge}
    response = Client().get(path, right)
    assert response.status_code == 200
    _check(hook, right, response)
    for wrong in (VERIFY[:-1], VERIFY + " ", VERIFY.upper(), ""):
        near = {**right, "hub.verify_token": wrong}
        assert Client().get(path, near).status_code == 403
    assert Client().get(path, {**right, "hub.mode": "unsubscribe"}).status_code == 403


def test_another_organisation_gets_no_answer(org: World) -> None:
    """Globex has no secrets: its handshakes are refused, never answered with Acme's."""
    gx = org.globex.pk
    meta = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"}
    assert Client().get(f"/hooks/facebook/{gx}/", meta).status_code == 403
    assert Client().get(f"/hooks/x/{gx}/", {"crc_token": "abc"}).status_code == 400
    assert Client().get(f"/hooks/linkedin/{gx}/", {"challengeCode": "abc"}).status_code == 400
