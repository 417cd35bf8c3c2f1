"""Security headers on every page, and no template the CSP would break."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from greenroom.accounts.headers import CONTENT_SECURITY_POLICY
from greenroom.conftest import World
from greenroom.core.tests.test_no_secret_leaks import concrete_paths

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)

# Backend-independent: run once, in CI's SQLite pass (see the "once" marker).
pytestmark = pytest.mark.once


def test_the_policy_is_strict() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in directives["script-src"] and "unsafe" not in directives["default-src"]
    assert directives["style-src-elem"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["form-action"] == "'self'"


def test_every_page_carries_the_security_headers(world: World) -> None:
    client = Client()
    client.force_login(world.alice)
    paths = concrete_paths(world)
    paths += ["/login/", "/login/sso/", "/settings/security/", "/organization/security/"]
    assert len(paths) > 20
    statuses = set()
    for path in paths:
        response = client.get(path)
        statuses.add(response.status_code)
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", path
        assert "camera=()" in response["Permissions-Policy"], path
        assert response["X-Frame-Options"] == "DENY", path
    assert 200 in statuses
    anonymous = Client().get("/login/")
    assert anonymous["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_hsts_is_sent_over_https(world: World, settings) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    secure = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in Client().get("/login/")


def test_no_template_has_an_inline_script_handler_or_style_element() -> None:
    offenders = []
    templates = [p for p in ROOT.rglob("templates/**/*.html") if ".venv" not in p.parts]
    assert len(templates) > 30
    for path in templates:
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, STYLE_ELEMENT):
            for match in pattern.finditer(text):
                offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)[:60]}")
    assert offenders == []


def test_no_static_script_uses_eval() -> None:
    ours = [
        p
        for p in ROOT.rglob("static/**/*.js")
        if "vendor" not in p.parts and ".venv" not in p.parts
    ]
    assert ours
    for path in ours:
        text = path.read_text()
        assert "eval(" not in text and "new Function(" not in text, path
