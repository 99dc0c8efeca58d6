"""Excel import and export of people (个人信息导入).

The import is all or nothing: every row is checked first and the database is touched only
when every row passes. A row whose person already matches the file is "unchanged", so
re-importing the same file, or an export, changes nothing (no password is ever reset).
Messages are English msgids marked with ``N_`` (a default pybabel keyword) and carry their
parameters; the web layer translates them, ``str()`` gives the English text.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import OrgKind, OrgUnit, Person, PersonStatus, UserAccount
from app.services.accounts import hash_password
from app.services.actor import Actor, managed_unit_ids
from app.services.errors import Conflict
from app.services.people_columns import (  # noqa: F401  (re-exported: people_xlsx and tests use them from here)
    _BY_KEY,
    _CHUNK,
    _HEADER_KEYS,
    _STATUS,
    _STATUS_TEXT,
    _USERNAME,
    COLUMNS,
    DATA_SHEET,
    EXPORT_COLUMNS,
    HELP_SHEET,
    MAX_ROWS,
    N_,
    ORG_SHEET,
    Column,
    GeneratedPassword,
    ImportReport,
    Message,
    Outcome,
    RowResult,
    _strong,
    generate_password,
    require_importer,
)

_NOT_XLSX = Message(
    N_(
        "The file is not an Excel workbook (.xlsx). Save it in Excel as "
        "“Excel Workbook (*.xlsx)”, or start from the template, and upload it again."
    )
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\u3000", " ").strip()


def _header_key(value: Any) -> str | None:
    text = re.sub(r"[\s*＊]|[（(].*?[)）]", "", _cell(value))
    return _HEADER_KEYS.get(text) or _HEADER_KEYS.get(text.lower())


def _read(data: bytes, filename: str, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    """Rows as ``(row number, {column key: text})``; problems with the file go to ``report``."""
    if filename and not filename.lower().endswith(".xlsx"):
        report.file_errors.append(_NOT_XLSX)
        return []
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # zipfile.BadZipFile, InvalidFileException, KeyError...: any unreadable upload
        report.file_errors.append(_NOT_XLSX)
        return []
    try:
        ws = wb[DATA_SHEET] if DATA_SHEET in wb.sheetnames else wb.worksheets[0]
        return _read_sheet(ws.iter_rows(values_only=True), report)
    except Exception:  # a damaged part found while streaming the sheet
        report.file_errors.append(_NOT_XLSX)
        return []
    finally:
        wb.close()


def _read_sheet(rows: Iterator[tuple[Any, ...]], report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    keys: list[str | None] = []
    number = 0
    for number, cells in enumerate(rows, start=1):
        keys = [_header_key(c) for c in cells]
        if "staff_no" in keys or number >= 10:
            break
    found = [k for k in keys if k]
    for key in sorted({k for k in found if found.count(k) > 1}):
        report.file_errors.append(
            Message(
                N_("The column %(column)s appears more than once in the header row: keep one."),
                {"column": _BY_KEY[key].header},
            )
        )
    missing = [c.header for c in COLUMNS if c.required and c.key not in found]
    if missing:
        report.file_errors.append(
            Message(
                N_(
                    "The header row lacks the required column(s) %(columns)s: "
                    "download the template and keep its first row."
                ),
                {"columns": "、".join(missing)},
            )
        )
    if report.file_errors:
        return []
    out: list[tuple[int, dict[str, str]]] = []
    for row_no, cells in enumerate(rows, start=number + 1):
        values = {k: _cell(v) for k, v in zip(keys, cells, strict=False) if k}
        if not any(values.values()):
            continue
        if len(out) >= MAX_ROWS:
            report.file_errors.append(
                Message(
                    N_("The file has more than %(max)d people rows: split it into smaller files."), {"max": MAX_ROWS}
                )
            )
            return []
        out.append((row_no, values))
    if not out:
        report.file_errors.append(
            Message(N_("The file has no people rows below the header: fill in one row per person."))
        )
    return out


# ---------------------------------------------------------------- checking and applying


def _chunked(session: Session, stmt_for: Any, keys: list[str]) -> Iterator[Any]:
    for i in range(0, len(keys), _CHUNK):
        yield from session.scalars(stmt_for(keys[i : i + _CHUNK]))


@dataclass
class _Plan:
    result: RowResult
    values: dict[str, str]
    person: Person | None
    section: OrgUnit | None = None
    status: PersonStatus | None = None
    new_account: bool = False


class _Checker:
    """Looks up everything the rows refer to once, then checks rows one by one."""

    def __init__(self, session: Session, actor: Actor, rows: list[tuple[int, dict[str, str]]]) -> None:
        self.allowed = managed_unit_ids(actor)
        units = list(
            session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).options(selectinload(OrgUnit.children)))
        )
        self.units = {u.code: u for u in units if u.code} | {u.name: u for u in units}
        staff_nos = sorted({v.get("staff_no", "") for _, v in rows} - {""})
        usernames = sorted({v.get("username", "") for _, v in rows} - {""})
        people = _chunked(
            session,
            lambda ks: (
                select(Person)
                .where(Person.staff_no.in_(ks))
                .options(joinedload(Person.section), joinedload(Person.account))
            ),
            staff_nos,
        )
        self.people: dict[str, Person] = {p.staff_no: p for p in people}
        self.accounts: dict[str, UserAccount] = {
            a.username: a
            for a in _chunked(session, lambda ks: select(UserAccount).where(UserAccount.username.in_(ks)), usernames)
        }

    def check(self, number: int, v: dict[str, str]) -> _Plan:
        res = RowResult(row=number, staff_no=v.get("staff_no", ""), name=v.get("name", ""))
        plan = _Plan(res, v, self.people.get(res.staff_no))
        err = res.messages.append
        for col in COLUMNS:
            text = v.get(col.key, "")
            if col.required and not text:
                err(Message(N_("%(column)s is empty: fill it in."), {"column": col.header}))
            elif len(text) > col.max_len:
                err(
                    Message(
                        N_("%(column)s is longer than %(max)d characters: shorten it."),
                        {"column": col.header, "max": col.max_len},
                    )
                )
        unit = self.units.get(v.get("unit", ""))
        if v.get("unit") and unit is None:
            err(
                Message(
                    N_(
                        "There is no unit “%(unit)s”: write the unit's full name as listed in the "
                        "template's 单位股室 sheet."
                    ),
                    {"unit": v["unit"]},
                )
            )
        elif unit is not None and self.allowed is not None and unit.id not in self.allowed:
            err(
                Message(
                    N_("You do not administer the unit “%(unit)s”: import only people of your own unit."),
                    {"unit": unit.name},
                )
            )
        elif unit is not None and v.get("section"):
            plan.section = next((s for s in unit.children if s.name == v["section"]), None)
            if plan.section is None:
                err(
                    Message(
                        N_(
                            "The unit “%(unit)s” has no section “%(section)s”: use a section name "
                            "listed in the template's 单位股室 sheet."
                        ),
                        {"unit": unit.name, "section": v["section"]},
                    )
                )
        if v.get("status"):
            plan.status = _STATUS.get(v["status"].lower())
            if plan.status is None:
                err(
                    Message(
                        N_("Unknown status “%(status)s”: write 在职 (active) or 离职 (left)."), {"status": v["status"]}
                    )
                )
        person = plan.person
        if (
            person is not None
            and self.allowed is not None
            and (person.section is None or person.section.parent_id not in self.allowed)
        ):
            err(
                Message(
                    N_(
                        "Staff number %(staff_no)s belongs to a person outside your unit: check the "
                        "number, or ask the performance office to move the person."
                    ),
                    {"staff_no": res.staff_no},
                )
            )
        self._check_account(plan, err)
        if person is not None:
            res.changes = [
                key
                for key, changed in (
                    ("name", person.name != v.get("name")),
                    ("section", plan.section is not None and person.section_id != plan.section.id),
                    ("post", bool(v.get("post")) and person.post != v.get("post")),
                    ("status", plan.status is not None and person.status != plan.status),
                    ("username", plan.new_account),
                )
                if changed
            ]
        res.outcome = Outcome.update if res.changes else Outcome.unchanged
        if person is None:
            res.outcome = Outcome.create
        return plan

    def _check_account(self, plan: _Plan, err: Any) -> None:
        v, person, notes = plan.values, plan.person, plan.result.notes
        username, password = v.get("username", ""), v.get("password", "")
        current = person.account if person is not None else None
        if username:
            owner = self.accounts.get(username)
            if not _USERNAME.fullmatch(username):
                err(
                    Message(
                        N_("The username “%(username)s” is not allowed: use 3 to 64 letters, digits or . _ - @."),
                        {"username": username},
                    )
                )
            elif owner is not None and (person is None or owner.person_id != person.id):
                err(
                    Message(
                        N_("The username %(username)s is already used by someone else: choose another one."),
                        {"username": username},
                    )
                )
            elif current is not None and current.username != username:
                err(
                    Message(
                        N_(
                            "This person already logs in as %(current)s: write %(current)s as the "
                            "username or leave it blank (an import does not rename accounts)."
                        ),
                        {"current": current.username},
                    )
                )
            plan.new_account = current is None
        if password and plan.new_account and not _strong(password):
            err(
                Message(
                    N_(
                        "The initial password is too weak: use at least 8 characters with at least three "
                        "of upper-case letters, lower-case letters, digits and symbols."
                    )
                )
            )
        elif password and not plan.new_account:
            notes.append(
                Message(N_("The initial password was not used: it only applies when a new account is created."))
            )


def _flag_duplicates(plans: list[_Plan], key: str) -> None:
    seen: dict[str, list[_Plan]] = defaultdict(list)
    for plan in plans:
        if plan.values.get(key):
            seen[plan.values[key]].append(plan)
    for value, group in seen.items():
        if len(group) > 1:
            rows = "、".join(str(p.result.row) for p in group)
            msgid = (
                N_("The staff number %(value)s appears on rows %(rows)s: keep one row per person.")
                if key == "staff_no"
                else N_("The username %(value)s appears on rows %(rows)s: give each person a different username.")
            )
            for plan in group:
                plan.result.messages.append(Message(msgid, {"value": value, "rows": rows}))


def import_people(session: Session, actor: Actor, data: bytes, filename: str = "") -> ImportReport:
    """Check every row; if all pass, create or update the people and their accounts (``flush`` only)."""
    require_importer(actor)
    report = ImportReport(filename=filename)
    rows = _read(data, filename, report)
    if not rows:
        return report
    checker = _Checker(session, actor, rows)
    plans = [checker.check(number, values) for number, values in rows]
    _flag_duplicates(plans, "staff_no")
    _flag_duplicates(plans, "username")
    for plan in plans:
        if plan.result.messages:
            plan.result.outcome = Outcome.error
    report.rows = [p.result for p in plans]
    if not report.ok:
        return report
    for plan in plans:
        _apply(session, plan, report)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "Someone else changed these people while the file was being imported: import the file again."
        ) from exc
    report.applied = True
    return report


def _apply(session: Session, plan: _Plan, report: ImportReport) -> None:
    res, v = plan.result, plan.values
    assert plan.section is not None  # every valid row names a known section
    person = plan.person
    if person is None:
        person = Person(
            staff_no=v["staff_no"],
            name=v["name"],
            post=v.get("post") or None,
            section_id=plan.section.id,
            status=plan.status or PersonStatus.active,
        )
        session.add(person)
    elif res.outcome is Outcome.update:
        person.name, person.section_id = v["name"], plan.section.id
        person.post = v.get("post") or person.post
        person.status = plan.status or person.status
    if plan.new_account:
        password = v.get("password", "")
        if not password:
            password = generate_password()
            report.passwords.append(GeneratedPassword(res.row, res.staff_no, res.name, v["username"], password))
        session.add(
            UserAccount(
                username=v["username"],
                password_hash=hash_password(password),
                person=person,
                active=person.status is PersonStatus.active,
                must_change_password=True,  # an administrator knew this password: the person sets their own
            )
        )
