"""The columns, messages and report of the people workbook (个人信息导入), shared by import and export.

Messages are English msgids marked with ``N_`` (a default pybabel keyword) and carry their
parameters; the web layer translates them, ``str()`` gives the English text.
"""

from __future__ import annotations

import enum
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from app.models import PersonStatus, Role
from app.services.actor import Actor
from app.services.errors import Forbidden

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
