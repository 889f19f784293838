"""Signing in and out through the login form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from safecity.web.security import SESSION_COOKIE
from tests.browser.support import LiveServer, sign_in

pytestmark = pytest.mark.browser


def _session_cookies(context: BrowserContext) -> list[str]:
    return [c.get("value", "") for c in context.cookies() if c.get("name") == SESSION_COOKIE]


def test_wrong_password_shows_the_error_and_opens_no_session(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    sign_in(page, "admin", "not-the-password")

    expect(page.locator("#login-error")).to_have_text("wrong username, password or code")
    assert page.url.endswith("/login")
    assert _session_cookies(context) == []
    # The form keeps the username, so only the password has to be typed again.
    expect(page.get_by_label("Username")).to_have_value("admin")
    # No session means the map still sends the person to the sign-in page.
    page.goto("/map")
    expect(page).to_have_url(re.compile(r"/login\?next=/map$"))


def test_right_password_lands_on_the_map_with_the_stated_purpose(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    sign_in(page, "admin", live_server.admin_password, purpose="Traffic enforcement")

    expect(page).to_have_url(f"{live_server.base_url}/map")
    expect(page.locator(".topbar .who")).to_contain_text("admin")
    # The purpose is on screen all session long: the person sees what their views are logged as.
    expect(page.locator(".topbar .purpose")).to_have_text("Traffic enforcement")
    assert len(_session_cookies(context)) == 1


def test_sign_out_ends_the_session(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    sign_in(page, "admin", live_server.admin_password)
    expect(page).to_have_url(f"{live_server.base_url}/map")
    [token] = _session_cookies(context)

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server.base_url}/login")
    assert _session_cookies(context) == []
    page.goto("/map")
    expect(page).to_have_url(re.compile(r"/login\?next=/map$"))
    # Deleting the cookie is not enough: the server must have ended the session, so a
    # copy of the old cookie (say, kept by malware) no longer opens anything.
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server.base_url}])
    page.goto("/map")
    # (The sign-in page may add a note that the session ended: match the start only.)
    expect(page).to_have_url(re.compile(r"/login\?next=/map\b"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_repeated_wrong_passwords_pause_sign_in_and_are_audited(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    # A name of its own: the pause holds (name, address) for a minute, and the other
    # tests sign in as admin from this same address.
    intruder = "guessing-intruder"
    for _ in range(5):
        sign_in(page, intruder, "guess")
        expect(page.locator("#login-error")).to_have_text("wrong username, password or code")
    sign_in(page, intruder, "guess")
    expect(page.locator("#login-error")).to_contain_text("too many failed sign-ins")
    assert _session_cookies(context) == []

    # An auditor finds every failed attempt, and the pause, in the audit log.
    sign_in(page, "admin", live_server.admin_password, purpose="Audit and oversight")
    page.goto(f"/audit?actor={intruder}&limit=100")
    actions = page.locator("#audit-table tbody tr td:nth-child(4)")
    expect(actions).to_have_text(["login_throttled"] + ["login_failed"] * 5)
