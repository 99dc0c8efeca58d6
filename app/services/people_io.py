"""Excel import and export of people (个人信息导入).

The import is all or nothing: every row is checked first and the database is touched only
when every row passes. A row whose person already matches the file is "unchanged", so
re-importing the same file, or an export, changes nothing (no password is ever reset).
Messages are English msgids marked with ``N_`` (a default pybabel keyword) and carry their
parameters; the web layer translates them, ``str()`` gives the English text.
"""

from __future__ import annotations

import enum
import io
import re
import secrets
import string
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import OrgKind, OrgUnit, Person, PersonStatus, Role, UserAccount
from app.services.accounts import hash_password
from app.services.actor import Actor, managed_unit_ids
from app.services.errors import Conflict, Forbidden

MAX_ROWS = 20_000
DATA_SHEET, HELP_SHEET, ORG_SHEET = "人员信息", "说明", "单位股室"
_CHUNK = 500  # ids per IN (...) query, well below every database's parameter limit


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction; it is translated where it is shown."""
    return msgid


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    max_len: int
    help: str


COLUMNS: tuple[Column, ...] = (
    Column("staff_no", "工号", True, 32, "每人唯一；系统按工号识别同一个人，已存在的工号会更新该人员。"),
    Column("name", "姓名", True, 50, "人员姓名。"),
    Column("unit", "单位", True, 100, "单位全称，须与系统中的名称一致（见“单位股室”表）。"),
    Column("section", "股室", True, 100, "该单位的股室/内设机构名称，须与系统一致（见“单位股室”表）。"),
    Column("post", "岗位", False, 100, "岗位名称。"),
    Column(
        "username",
        "用户名",
        False,
        64,
        "填写则为该人员创建登录账号（字母、数字及 . _ - @，3 至 64 位）。已有账号的人员请填写其现有用户名或留空。",
    ),
    Column(
        "password",
        "初始密码",
        False,
        128,
        "仅在新建账号时使用：至少 8 位，含大写字母、小写字母、数字、符号中的至少三类。"
        "留空则系统生成 12 位随机密码，在导入结果中只显示一次。已有账号的密码不会被修改。",
    ),
    Column("status", "状态", False, 8, "在职 或 离职；新人员留空视为在职。"),
)
EXPORT_COLUMNS = tuple(c for c in COLUMNS if c.key != "password")
_BY_KEY = {c.key: c for c in COLUMNS}
_HEADER_KEYS = {c.header: c.key for c in COLUMNS} | {c.key: c.key for c in COLUMNS} | {"密码": "password"}
_STATUS = {
    "在职": PersonStatus.active,
    "离职": PersonStatus.left,
    "active": PersonStatus.active,
    "left": PersonStatus.left,
}
_STATUS_TEXT = {PersonStatus.active: "在职", PersonStatus.left: "离职"}
_USERNAME = re.compile(r"[A-Za-z0-9._@-]{3,64}")
_CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#$%&*+-=?@^_")
_UNAMBIGUOUS = tuple("".join(ch for ch in cls if ch not in "0O1lI") for cls in _CLASSES)


class Outcome(enum.StrEnum):
    create = "create"
    update = "update"
    unchanged = "unchanged"
    error = "error"


@dataclass(frozen=True)
class Message:
    """A user-facing message: an English msgid with ``%(name)s`` parameters."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.msgid % self.params if self.params else self.msgid


@dataclass
class RowResult:
    """What the import does (or would do) with one spreadsheet row."""

    row: int
    staff_no: str
    name: str
    outcome: Outcome = Outcome.unchanged
    messages: list[Message] = field(default_factory=list)  # errors: what is wrong and how to fix it
    notes: list[Message] = field(default_factory=list)  # information only
    changes: list[str] = field(default_factory=list)  # column keys an update changes


@dataclass(frozen=True)
class GeneratedPassword:
    row: int
    staff_no: str
    name: str
    username: str
    password: str


@dataclass
class ImportReport:
    filename: str
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list[Message] = field(default_factory=list)
    passwords: list[GeneratedPassword] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.file_errors and all(r.outcome is not Outcome.error for r in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(Outcome, 0)
        for r in self.rows:
            out[r.outcome] += 1
        return {k.value: v for k, v in out.items()}


def require_importer(actor: Actor) -> None:
    """Only a unit administrator or the performance office imports and exports people."""
    if not (actor.has(Role.unit_admin) or actor.has(Role.perf_office)):
        raise Forbidden("Only a unit administrator or the performance office can import or export people.")


def generate_password(length: int = 12) -> str:
    """A random password with all four character classes, avoiding look-alike characters."""
    rng = secrets.SystemRandom()
    chars = [rng.choice(cls) for cls in _UNAMBIGUOUS]
    chars += [rng.choice("".join(_UNAMBIGUOUS)) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    return "".join(chars)


def _strong(password: str) -> bool:
    """At least 8 characters from at least three of: upper case, lower case, digits, symbols."""
    classes = [any(ch in cls for ch in password) for cls in _CLASSES[:3]]
    classes.append(any(not ch.isalnum() for ch in password))
    return len(password) >= 8 and sum(classes) >= 3


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
