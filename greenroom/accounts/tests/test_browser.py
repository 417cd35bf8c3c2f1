"""In headless chromium: the strict CSP breaks nothing on the main pages (htmx, the composer's
JavaScript, Bootstrap), and a person turns on two-factor authentication and signs in with it.

Every Content-Security-Policy violation is collected twice over: the page's
`securitypolicyviolation` events (listened for by a script Playwright injects, which the policy
does not govern) and the console's errors.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from greenroom.accounts import mfa
from greenroom.conftest import PASSWORD, World
from greenroom.core.tests.test_browser import chromium as chromium  # the fixture
from greenroom.core.tests.test_browser import furnish, shot, sign_in
from greenroom.networks.actions import do_connect_sandbox_channel

pytestmark = pytest.mark.browser

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
      ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


def watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    return errors


def violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))


def test_the_main_pages_run_under_the_csp_without_a_violation(
    chromium: Any, live_server: Any, world: World, settings: Any
) -> None:
    settings.SANDBOX_BASE_URL = f"{live_server.url}/sandbox"
    settings.SANDBOX_LATENCY_MS = 0
    furnish(world)
    do_connect_sandbox_channel(world.coffee_x, acting_user=None)
    base = live_server.url
    page = sign_in(chromium, base, "alice")
    page.context.add_init_script(LISTEN)
    errors = watch(page)
    seen: dict[str, list[str]] = {}
    for path in (
        "/",
        "/publishing/",
        "/publishing/compose/",
        "/publishing/calendar/",
        "/inbox/",
        "/settings/tokens/",
        "/settings/security/",
        "/organization/security/",
    ):
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        seen[path] = violations(page)
        if path == "/organization/security/":
            shot(page, "accounts-00-organisation-security")
    assert all(found == [] for found in seen.values()), seen

    # The composer's script and htmx still work: choosing a channel and typing redraw the panel.
    page.goto(f"{base}/publishing/compose/")
    panel = page.locator("#composer-panel")
    before = panel.inner_html()
    page.locator("#id_text").fill("CSP check: 가을 한정 메뉴 ☕")
    page.locator(f"#ch-{world.coffee_x.pk}").check()
    page.wait_for_function(
        "before => document.querySelector('#composer-panel').innerHTML !== before", arg=before
    )
    assert "acmecoffee" in panel.inner_html()
    # Bootstrap's dropdown (vendored JavaScript) opens.
    page.get_by_role("button", name="Alice").click()
    expect(page.get_by_role("link", name="Preferences")).to_be_visible()
    shot(page, "accounts-01-composer-under-csp")
    assert violations(page) == []
    assert [e for e in errors if "Content Security Policy" in e or "page error" in e] == []


def _step_with_time_left(seconds: float = 10) -> int:
    """The current TOTP step, waiting for the next one when less than `seconds` of it are left."""
    left = mfa.STEP_S - time.time() % mfa.STEP_S
    if left < seconds:
        time.sleep(left + 0.1)
    return mfa.current_step()


def test_a_person_turns_on_mfa_and_signs_in_with_a_code(
    chromium: Any, live_server: Any, world: World
) -> None:
    base = live_server.url
    page = sign_in(chromium, base, "carl")
    page.context.add_init_script(LISTEN)
    page.goto(f"{base}/settings/preferences/")
    page.get_by_role(
        "link", name="Two-factor authentication, recovery codes and your sessions"
    ).click()
    page.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page.locator("figure.gr-qr svg")).to_be_visible()
    shot(page, "accounts-02-enrol")
    key = re.sub(r"\s", "", page.locator("#totp-secret").inner_text())
    totp = pyotp.TOTP(key)
    # The previous step's code (the sign-in below needs a newer one), from a step with time
    # left: computed at a step's very end, it would be checked two steps late and refused.
    page.get_by_label("Code from your app").fill(totp.at((_step_with_time_left() - 1) * mfa.STEP_S))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(set(codes)) == 10
    shot(page, "accounts-03-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("10 recovery codes left")).to_be_visible()
    assert violations(page) == []
    page.context.close()

    # Next time: password, then the code.
    context = chromium.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("carl")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/login/verify/")
    shot(page, "accounts-04-code-step")
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Verify and sign in").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/settings/security/")
    expect(page.get_by_text("this browser")).to_be_visible()
    shot(page, "accounts-05-sessions")
    context.close()
