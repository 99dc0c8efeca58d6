"""Logging in and finding one's way, in a real browser: the form, the role-dependent navigation,
the People page of a unit administrator, logging out, a wrong password, the language switch.

Assertions use ids, data attributes and ``<html lang>``, never UI wording (translated separately).
Demo accounts (app/services/demo.py): in 龙景街道 (``ljjd``) member 1 of each section heads it,
member 2 of section 1 is the unit administrator, the others are plain staff.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

STAFF = "ljjd103"  # plain staff of 龙景街道 / 党政综合办公室
UNIT_ADMIN = "ljjd102"  # unit_admin of 龙景街道
LANGUAGE_USER = "ljjd104"  # plain staff, used only by the language test (it stores a locale choice)
BOOTSTRAP_PRIMARY = "rgb(13, 110, 253)"


def _path(page: Any) -> str:
    return urlsplit(page.url).path


def test_staff_logs_in_and_sees_home_with_staff_navigation(page, live_server, browser_login) -> None:
    browser_login(page, live_server, STAFF)

    assert _path(page) == "/"
    nav = page.locator("#nav-items")
    expect(nav.locator('[data-nav="home"]')).to_have_count(1)
    expect(nav.locator('[data-nav="people"]')).to_have_count(0)
    expect(nav.locator('[data-nav="org"]')).to_have_count(0)
    roles = page.locator("#my-roles")
    expect(roles.locator('[data-role="staff"]')).to_have_count(1)
    expect(roles.locator('[data-role="unit_admin"]')).to_have_count(0)
    expect(page.locator("#whoami")).to_be_visible()


def test_unit_admin_opens_people_page(page, live_server, browser_login) -> None:
    browser_login(page, live_server, UNIT_ADMIN)

    nav = page.locator("#nav-items")
    expect(nav.locator('[data-nav="org"]')).to_have_count(1)
    expect(nav.locator('[data-nav="people"]')).to_have_count(1)
    expect(page.locator('#my-roles [data-role="unit_admin"]')).to_have_count(1)

    nav.locator('[data-nav-group="admin"]').click()  # the drop-down holding the administration pages
    with page.expect_navigation():
        nav.locator('[data-nav="people"]').click()
    assert _path(page) == "/org/people"
    expect(nav.locator('[data-nav="people"]')).to_have_class("dropdown-item active")
    expect(nav.locator('[data-nav-group="admin"]')).to_have_class(re.compile(r"\bactive\b"))

    rows = page.locator("#people-table tbody tr")
    # 龙景街道: 3 in the leadership team + 4 sections of 6; one page of 50.
    expect(rows).to_have_count(27)
    usernames = page.locator("#people-table tbody tr td:nth-child(6)").all_inner_texts()
    assert {STAFF, UNIT_ADMIN, "ljjd_principal"} <= set(usernames)
    assert not [u for u in usernames if not u.startswith("ljjd")], "a unit admin sees only their own unit"

    # Styled by the local Bootstrap: its stylesheet parsed, and its primary colour on the navbar.
    bootstrap_rules = page.evaluate(
        """() => [...document.styleSheets]
                 .filter(s => (s.href || '').includes('/static/vendor/bootstrap/'))
                 .reduce((n, s) => n + s.cssRules.length, 0)"""
    )
    assert bootstrap_rules > 1000
    navbar_colour = page.locator("nav.navbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert navbar_colour == BOOTSTRAP_PRIMARY

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "people_page.png"), full_page=True)


def test_logout_returns_to_login_and_home_needs_login_again(page, live_server, browser_login) -> None:
    browser_login(page, live_server, STAFF)
    assert _path(page) == "/"

    with page.expect_navigation():
        page.click("#logout")
    assert _path(page) == "/login"
    expect(page.locator("#username")).to_be_visible()
    expect(page.locator("#logout")).to_have_count(0)

    page.goto(f"{live_server}/")
    assert _path(page) == "/login"
    expect(page.locator("#login-submit")).to_be_visible()


def test_wrong_password_shows_error_on_login(page, live_server, browser_login, page_problems) -> None:
    # The refused login answers 401, which Chromium reports on the console; that one is expected.
    page_problems.allow_console_error(r"status of 401 .*/login\b")
    browser_login(page, live_server, STAFF, password="not-the-password")

    assert _path(page) == "/login"
    expect(page.locator(".alert-danger")).to_be_visible()
    expect(page.locator("#username")).to_have_value(STAFF)
    expect(page.locator("#nav-items [data-nav]")).to_have_count(0)
    expect(page.locator("#logout")).to_have_count(0)

    page.goto(f"{live_server}/")
    assert _path(page) == "/login"


def test_language_switch_changes_html_lang(page, live_server, browser_login) -> None:
    html = page.locator("html")
    page.goto(f"{live_server}/login")
    expect(html).to_have_attribute("lang", "zh-CN")

    with page.expect_navigation():
        page.click("#lang-switch")
    assert _path(page) == "/login"
    expect(html).to_have_attribute("lang", "en")

    # The choice made before logging in survives the login.
    browser_login(page, live_server, LANGUAGE_USER)
    assert _path(page) == "/"
    expect(html).to_have_attribute("lang", "en")

    with page.expect_navigation():
        page.click("#lang-switch")
    assert _path(page) == "/"
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(page.locator('#nav-items [data-nav="home"]')).to_have_count(1)
