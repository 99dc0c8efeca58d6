"""The navigation bar: every page is reachable from it once, grouped so that it fits on a line."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.web import nav


def test_every_navigation_item_is_placed_exactly_once() -> None:
    assert sorted(nav.placed_keys()) == sorted(i.key for i in nav.ITEMS)


@pytest.mark.parametrize(
    ("role", "groups", "items"),
    [
        ("staff", {"work", "manage"}, {"home", "tasks", "logs", "appraisals", "notifications"}),
        ("perf_office", {"work", "manage", "office", "admin"}, {"cycles", "processes", "people", "results"}),
        ("audit_admin", {"work"}, {"home", "tasks", "audit", "notifications"}),
    ],
)
def test_the_bar_groups_what_a_role_may_open(
    client: Any, login_as: Any, role: str, groups: set[str], items: set[str]
) -> None:
    login_as(role)
    html = client.get("/").get_data(as_text=True)
    shown_groups = set(re.findall(r'data-nav-group="([a-z_]+)"', html))
    shown_items = set(re.findall(r'data-nav="([a-z_]+)"', html))
    assert groups <= shown_groups and items <= shown_items
    if role == "audit_admin":  # appraised like everyone, but no administration drop-down: the trail is a direct link
        assert not shown_groups & {"office", "admin"} and 'data-nav="audit" href="/audit"' in html
    if role == "staff":
        assert not shown_groups & {"office", "admin"} and "people" not in shown_items


def test_a_group_with_several_visible_items_is_a_drop_down(client: Any, login_as: Any) -> None:
    login_as("sec_admin")  # people, accounts and the security policy
    html = client.get("/").get_data(as_text=True)
    menu = html[html.index('data-nav-group="admin"') :]
    menu = menu[: menu.index("</ul>")]
    assert set(re.findall(r'data-nav="([a-z_]+)"', menu)) == {"people", "accounts", "security_policy"}
