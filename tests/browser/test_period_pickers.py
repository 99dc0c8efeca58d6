"""The period pickers in page headers (quarter, month, year + 显示) stay on one line at 1280 px in Chinese.

An end-to-end run found the 显示 button beside the quarter field wrapped one character per line:
in a flex row the full-width field squeezed the button. Each page here has such a picker.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import browser_login

PAGES = {
    "ljjd102": ("/results/", "/"),  # the unit's quarter results; the unit dashboard
    "office1": ("/results/flags", "/scheme/", "/dashboard/office", "/office/scheduler"),
    "ljjd301": ("/appraisal/sections", "/dashboard/section"),
}

# Lines of text each visible submit button of a GET form occupies, with the button's label.
LINES_OF_SUBMIT_BUTTONS = """() => [...document.querySelectorAll('form[method=get] button[type=submit]')]
  .filter((b) => b.offsetParent !== null)
  .map((b) => {
    const range = document.createRange();
    range.selectNodeContents(b);
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    return [b.textContent.trim(), tops.size];
  })"""


@pytest.mark.parametrize("username", sorted(PAGES))
def test_the_show_button_of_a_period_picker_stays_on_one_line(page: Any, live_server: str, username: str) -> None:
    browser_login(page, live_server, username)
    for path in PAGES[username]:
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, path
        buttons = page.evaluate(LINES_OF_SUBMIT_BUTTONS)
        assert buttons, f"{path}: no period picker found"
        wrapped = [(label, lines) for label, lines in buttons if lines != 1]
        assert wrapped == [], f"{path}: buttons wrapped over several lines: {wrapped}"
