"""Excel import and export of people (个人信息导入): real .xlsx files built with openpyxl.

The import is all or nothing and idempotent: a file with any bad row writes nothing, and
importing the same file (or an export) a second time changes nothing.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.models import Person, PersonStatus, UserAccount
from app.services import people_io
from tests.conftest import login

HEADER = ["工号", "姓名", "单位", "股室", "岗位", "用户名", "初始密码", "状态"]
UNIT, SECTION, OTHER_SECTION = "龙景街道", "党政综合办公室", "经济发展办公室"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    wb = Workbook()
    ws: Any = wb.active
    ws.title = "人员信息"
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(client: Any, data: bytes, filename: str = "people.xlsx") -> Any:
    return client.post(
        "/org/people/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def counts(session: Any) -> tuple[int, int]:
    return (session.scalar(select(func.count(Person.id))), session.scalar(select(func.count(UserAccount.id))))


def summary(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', page)}


def report_row(page: str, row: int) -> str:
    """The text of the report's table row for spreadsheet row ``row`` (its class attribute included)."""
    match = re.search(rf'<tr data-row="{row}"[^>]*>.*?</tr>', page, re.S)
    assert match, f"row {row} missing from the report"
    return html.unescape(match.group(0))


def english(client: Any) -> None:
    client.post("/lang/en", data={"next": "/"})


VALID_ROWS: list[list[Any]] = [
    ["N0001", "新人甲", UNIT, SECTION, "科员", "newbie1", "Welcome#2026", "在职"],
    ["N0002", "新人乙", UNIT, OTHER_SECTION, None, "newbie2", None, None],
    ["N0003", "新人丙", UNIT, SECTION, "办事员", None, None, "离职"],
]


def test_template_download_is_an_xlsx_with_the_headers_instructions_and_own_units(client, login_as) -> None:
    login_as("unit_admin")
    r = client.get("/org/people/import/template")
    assert r.status_code == 200 and r.mimetype == XLSX
    wb = load_workbook(io.BytesIO(r.data))
    assert [c.value for c in wb["人员信息"][1]] == HEADER
    explained = [row[0] for row in wb["说明"].iter_rows(min_row=2, values_only=True)]
    assert set(HEADER) <= set(explained)
    units = {row[0] for row in wb["单位股室"].iter_rows(min_row=2, values_only=True)}
    assert units == {UNIT}  # a unit admin is shown only the unit they may import into


def test_import_page_links_to_the_template(client, login_as) -> None:
    login_as("unit_admin")
    page = client.get("/org/people/import").get_data(as_text=True)
    assert 'id="download-template"' in page and 'type="file"' in page


def test_valid_file_creates_people_and_accounts_that_can_log_in(app, client, session, login_as) -> None:
    login_as("unit_admin")
    people, accounts = counts(session)
    r = upload(client, xlsx(VALID_ROWS))
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page
    assert summary(page) == {"rows": 3, "create": 3, "update": 0, "unchanged": 0, "error": 0}
    assert counts(session) == (people + 3, accounts + 2)
    left = session.scalar(select(Person).where(Person.staff_no == "N0003"))
    assert left.status is PersonStatus.left and left.account is None and left.section.name == SECTION
    assert session.scalar(select(Person).where(Person.staff_no == "N0002")).post is None
    # The password for newbie2 was generated: shown once, with three or more character classes.
    generated = re.findall(r'class="generated-password">([^<]+)<', page)
    assert len(generated) == 1
    password = html.unescape(generated[0])
    assert len(password) == 12 and people_io._strong(password)
    assert "Welcome#2026" not in page
    fresh = app.test_client()
    login(fresh, "newbie1", "Welcome#2026")
    login(app.test_client(), "newbie2", password)


def test_reimporting_the_same_file_changes_nothing(client, session, login_as) -> None:
    login_as("unit_admin")
    data = xlsx(VALID_ROWS)
    assert upload(client, data).status_code == 200
    before = counts(session)
    hashes = dict(session.execute(select(UserAccount.username, UserAccount.password_hash)).all())
    r = upload(client, data)
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert summary(page) == {"rows": 3, "create": 0, "update": 0, "unchanged": 3, "error": 0}
    assert 'id="generated-passwords"' not in page  # no password is reset or regenerated
    assert counts(session) == before
    assert dict(session.execute(select(UserAccount.username, UserAccount.password_hash)).all()) == hashes


def test_an_update_changes_only_what_the_file_states(client, session, login_as, make_person) -> None:
    login_as("unit_admin")
    person = make_person("ljjd-1", name="旧名字")
    person.post = "科员"
    session.commit()
    rows = [[person.staff_no, "新名字", UNIT, OTHER_SECTION, None, None, None, "离职"]]
    r = upload(client, xlsx(rows))
    assert r.status_code == 200 and summary(r.get_data(as_text=True))["update"] == 1
    session.refresh(person)
    assert (person.name, person.section.name, person.post, person.status) == (
        "新名字",
        OTHER_SECTION,
        "科员",
        PersonStatus.left,
    )  # a blank post keeps the old one


def test_english_column_keys_in_any_order_are_accepted(client, session, login_as) -> None:
    login_as("perf_office")
    header = ["name", "section", "unit", "staff_no"]
    r = upload(client, xlsx([["英文表头", "预算股", "右江区财政局", 90001]], header=header))
    assert r.status_code == 200, r.get_data(as_text=True)
    person = session.scalar(select(Person).where(Person.staff_no == "90001"))  # a numeric cell becomes text
    assert person is not None and person.unit.name == "右江区财政局"


BAD_FILES: dict[str, tuple[list[list[Any]], int, list[str]]] = {
    "missing field": (
        [VALID_ROWS[0], ["N0009", None, UNIT, SECTION, None, None, None, None]],
        3,
        ["姓名", "is empty"],
    ),
    "unknown section": (
        [VALID_ROWS[0], ["N0009", "某人", UNIT, "不存在的股室", None, None, None, None]],
        3,
        ["不存在的股室", "has no section"],
    ),
    "unknown unit": (
        [VALID_ROWS[0], ["N0009", "某人", "不存在的单位", SECTION, None, None, None, None]],
        3,
        ["不存在的单位", "There is no unit"],
    ),
    "duplicate staff number in the file": (
        [VALID_ROWS[0], ["N0001", "重复工号", UNIT, SECTION, None, None, None, None]],
        3,
        ["N0001", "appears on rows 2、3"],
    ),
    "duplicate username in the file": (
        [VALID_ROWS[0], ["N0009", "重复用户名", UNIT, SECTION, None, "newbie1", None, None]],
        3,
        ["newbie1", "appears on rows 2、3"],
    ),
    "username taken by another person": (
        [VALID_ROWS[0], ["N0009", "抢用户名", UNIT, SECTION, None, "ljjd101", None, None]],
        3,
        ["ljjd101", "already used by someone else"],
    ),
    "invalid status": (
        [VALID_ROWS[0], ["N0009", "某人", UNIT, SECTION, None, None, None, "退休"]],
        3,
        ["退休", "Unknown status"],
    ),
    "weak initial password": (
        [VALID_ROWS[0], ["N0009", "某人", UNIT, SECTION, None, "weakling", "123456", None]],
        3,
        ["too weak"],
    ),
    "overlong value": (
        [VALID_ROWS[0], ["N" * 40, "某人", UNIT, SECTION, None, None, None, None]],
        3,
        ["工号", "longer than 32"],
    ),
    "unit admin importing into another unit": (
        [VALID_ROWS[0], ["N0009", "外单位", "龙川镇", "党政办公室", None, None, None, None]],
        3,
        ["龙川镇", "do not administer"],
    ),
    "unit admin taking over a person of another unit": (
        [VALID_ROWS[0], ["lcz101", "挖人", UNIT, SECTION, None, None, None, None]],
        3,
        ["lcz101", "outside your unit"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_with_any_bad_row_writes_nothing_and_names_the_row_and_problem(
    client, session, login_as, case: str
) -> None:
    rows, bad_row, expected = BAD_FILES[case]
    login_as("unit_admin")
    english(client)
    before = counts(session)
    r = upload(client, xlsx(rows))
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert counts(session) == before
    assert session.scalar(select(Person).where(Person.staff_no == "N0001")) is None  # not even the good row
    row = report_row(page, bad_row)
    assert "report-row-error" in row
    for text in expected:
        assert text in row
    assert summary(page)["error"] >= 1
    assert "Nothing was saved" in page


def test_a_file_that_is_not_excel_is_refused_with_a_clear_message(client, session, login_as) -> None:
    login_as("unit_admin")
    english(client)
    before = counts(session)
    for data, name in ((b"staff_no,name\n1,a\n", "people.xlsx"), (b"PK\x03\x04 broken zip", "people.xlsx")):
        r = upload(client, data, name)
        assert r.status_code == 422
        assert "not an Excel workbook" in r.get_data(as_text=True)
    r = upload(client, xlsx(VALID_ROWS), "people.csv")  # the form refuses other extensions
    assert r.status_code == 422 and 'id="import-report"' not in r.get_data(as_text=True)
    assert counts(session) == before


def test_a_sheet_without_the_required_columns_is_refused(client, session, login_as) -> None:
    login_as("unit_admin")
    english(client)
    r = upload(client, xlsx([["N0001", "某人"]], header=["工号", "姓名"]))
    assert r.status_code == 422
    assert "单位、股室" in r.get_data(as_text=True)


def test_too_many_rows_are_refused(session, login_as, monkeypatch) -> None:
    from app.services.actor import actor_for_user
    from tests.conftest import demo_account

    monkeypatch.setattr(people_io, "MAX_ROWS", 2)
    actor = actor_for_user(session, demo_account(session, "unit_admin"))
    report = people_io.import_people(session, actor, xlsx(VALID_ROWS), "people.xlsx")
    assert not report.ok and not report.rows
    assert "more than 2" in str(report.file_errors[0])


def test_export_then_reimport_changes_nothing(client, session, login_as) -> None:
    login_as("unit_admin")
    r = client.get("/org/people/export?include_left=1")
    assert r.status_code == 200 and r.mimetype == XLSX
    ws = load_workbook(io.BytesIO(r.data))["人员信息"]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == [h for h in HEADER if h != "初始密码"]
    assert {row[2] for row in rows[1:]} == {UNIT}
    before = counts(session)
    r = upload(client, r.data, "export.xlsx")
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page
    assert summary(page) == {"rows": len(rows) - 1, "create": 0, "update": 0, "unchanged": len(rows) - 1, "error": 0}
    assert counts(session) == before


def test_export_honours_the_people_list_filters(client, login_as) -> None:
    login_as("perf_office")
    r = client.get("/org/people/export?q=ljjd10")
    ws: Any = load_workbook(io.BytesIO(r.data)).active
    staff_nos = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert staff_nos and all(s.startswith("ljjd10") for s in staff_nos)


def test_export_never_turns_a_cell_into_a_formula(client, session, login_as, make_person) -> None:
    make_person("ljjd-1", name='=HYPERLINK("x")')
    login_as("unit_admin")
    ws: Any = load_workbook(io.BytesIO(client.get("/org/people/export").data)).active
    cells = [row[1] for row in ws.iter_rows(min_row=2) if str(row[1].value).startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/org/people/import"),
        ("post", "/org/people/import"),
        ("get", "/org/people/import/template"),
        ("get", "/org/people/export"),
    ],
)
def test_staff_cannot_import_or_export_people(client, session, login_as, method: str, url: str) -> None:
    login_as("staff")
    before = counts(session)
    r = upload(client, xlsx(VALID_ROWS)) if method == "post" else client.get(url)
    assert r.status_code == 403
    assert counts(session) == before


def test_an_upload_without_a_csrf_token_is_refused(database_url, session) -> None:
    from app import create_app

    app = create_app({"ENV": "testing", "DATABASE_URL": database_url, "WTF_CSRF_ENABLED": True})
    r = upload(app.test_client(), xlsx(VALID_ROWS))
    assert r.status_code == 400
