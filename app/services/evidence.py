"""The evidence store: files people attach to weekly log entries and to unit-task progress.

Files live outside the web root (``<instance>/evidence/``) under a generated name; the
original name is kept only for display. The type is decided by the file's content (magic
bytes), never by its name or the browser's declared type, so a renamed executable is
refused. Downloads go through a route that checks who may see them.
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from app.services.errors import T_, Invalid


@dataclass(frozen=True)
class EvidenceType:
    key: str
    extension: str
    mimetype: str


PDF = EvidenceType("pdf", ".pdf", "application/pdf")
PNG = EvidenceType("png", ".png", "image/png")
JPEG = EvidenceType("jpeg", ".jpg", "image/jpeg")
DOCX = EvidenceType("docx", ".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
XLSX = EvidenceType("xlsx", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
TEXT = EvidenceType("text", ".txt", "text/plain; charset=utf-8")
TYPES: tuple[EvidenceType, ...] = (PDF, PNG, JPEG, DOCX, XLSX, TEXT)
_BY_EXTENSION = {t.extension: t for t in TYPES}
# Other names a type is commonly saved under; the download keeps them.
_ALIASES = {".jpeg": JPEG, ".jpe": JPEG, ".text": TEXT, ".log": TEXT, ".csv": TEXT, ".md": TEXT}

_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|png|jpg|docx|xlsx|txt)$")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
MAX_NAME = 200


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the user's computer gave it and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class StoredEvidence:
    stored_name: str  # the generated name inside the store (``UnitTaskProgress.evidence_path``)
    display_name: str  # the cleaned original name (``UnitTaskProgress.evidence_name``)
    type: EvidenceType


def _office_type(data: bytes) -> EvidenceType | None:
    """A .docx or .xlsx is a zip with a content-types part and a word/ or xl/ folder."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return None


def _is_text(data: bytes) -> bool:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return not _TEXT_CONTROL.search(text)
    return False


def detect_type(data: bytes) -> EvidenceType | None:
    """The evidence type of ``data`` judged by its content, or ``None`` if it is not accepted."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    if _is_text(data):
        return TEXT
    return None


def clean_name(filename: str, kind: EvidenceType) -> str:
    """The original name without folders or control characters, ending in the detected type's extension."""
    base = PureWindowsPath(PurePosixPath(filename or "").name).name
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C").strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    known = _BY_EXTENSION.get(f".{ext.lower()}") or _ALIASES.get(f".{ext.lower()}")
    if known is not kind:
        stem, ext = (base or "evidence"), kind.extension[1:]
    stem = stem[: MAX_NAME - len(ext) - 1] or "evidence"
    return f"{stem}.{ext}"


def check(upload: Upload, max_bytes: int) -> EvidenceType:
    """The upload's type, or ``Invalid`` naming the ``evidence`` field (empty, too large, not accepted)."""
    if not upload.data:
        raise Invalid(T_("The evidence file is empty."), {"evidence": T_("Choose a file that is not empty.")})
    if len(upload.data) > max_bytes:
        mib = max(1, max_bytes // (1024 * 1024))
        raise Invalid(
            T_("The evidence file is larger than %(mib)d MiB.", mib=mib),
            {"evidence": T_("At most %(mib)d MiB.", mib=mib)},
        )
    kind = detect_type(upload.data)
    if kind is None:
        raise Invalid(
            T_("This kind of file is not accepted as evidence."),
            {"evidence": T_("Attach a PDF, PNG, JPEG, Word (.docx), Excel (.xlsx) or plain text file.")},
        )
    return kind


def save(root: Path, upload: Upload, kind: EvidenceType) -> StoredEvidence:
    """Write a checked upload into the store under a new random name."""
    root.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}{kind.extension}"
    path = root / name
    with path.open("xb") as fh:  # never overwrite
        fh.write(upload.data)
    return StoredEvidence(name, clean_name(upload.filename, kind), kind)


def path_of(root: Path, stored_name: str) -> Path:
    """Where a stored file lives; only names the store generated are accepted."""
    if not _STORED_NAME.match(stored_name or ""):
        raise Invalid(T_("This evidence reference is not valid."))
    return root / stored_name


def type_of(stored_name: str) -> EvidenceType:
    return _BY_EXTENSION[Path(stored_name).suffix]


def discard(root: Path, stored_name: str) -> None:
    """Remove a stored file (when the update that referred to it did not happen)."""
    with contextlib.suppress(Invalid, OSError):
        path_of(root, stored_name).unlink(missing_ok=True)
