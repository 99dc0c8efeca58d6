"""The quarterly showcase (成果展示): units post highlights, the office curates, everyone reads.

A unit's admin posts a highlight for a quarter (title, text, up to ``MAX_PICTURES`` pictures).
Pictures go through the evidence store: the type is judged by content and only PNG and JPEG
are accepted here; files live outside the web root and are served through a route that asks
``picture_file`` whether the reader may see the post. A new post is *pending*: its unit and the
office see it; once the office approves or features it, everyone logged in does; a hidden post
is back to the unit and the office only. Featured posts come first, then the office's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from app.models import OrgKind, OrgUnit, Role, ShowcasePicture, ShowcasePost, ShowcaseStatus
from app.models.base import utcnow
from app.services import evidence
from app.services.actor import Actor
from app.services.errors import T_, Forbidden, Invalid, NotFound
from app.services.periods import period_kind

MAX_PICTURES = 6
TITLE_MAX = 200
BODY_MAX = 8000
PUBLIC = (ShowcaseStatus.approved, ShowcaseStatus.featured)
PICTURE_TYPES = (evidence.PNG, evidence.JPEG)


@dataclass(frozen=True)
class NewPost:
    unit_id: int
    quarter: str
    title: str
    body: str


def check_quarter(quarter: object) -> str:
    if not isinstance(quarter, str) or period_kind(quarter.strip()) != "quarter":
        raise Invalid(T_("Give the quarter as e.g. 2026-Q4."), {"quarter": T_("Malformed quarter.")})
    return quarter.strip()


def _check_pictures(uploads: list[evidence.Upload], max_bytes: int) -> list[evidence.EvidenceType]:
    if len(uploads) > MAX_PICTURES:
        raise Invalid(
            T_("At most %(n)d pictures per highlight.", n=MAX_PICTURES),
            {"pictures": T_("At most %(n)d pictures.", n=MAX_PICTURES)},
        )
    kinds = []
    for upload in uploads:
        try:
            kind = evidence.check(upload, max_bytes)
        except Invalid as exc:
            raise Invalid(exc.message, {"pictures": next(iter(exc.fields.values()), "")}) from exc
        if kind not in PICTURE_TYPES:
            raise Invalid(
                T_("%(name)s is not a picture.", name=upload.filename or "?"),
                {"pictures": T_("Attach PNG or JPEG pictures only.")},
            )
        kinds.append(kind)
    return kinds


def create_post(
    session: Session,
    actor: Actor,
    post: NewPost,
    uploads: list[evidence.Upload],
    *,
    store: Path,
    max_bytes: int,
) -> ShowcasePost:
    """Post a unit's highlight; only the unit's admin may. Every picture is checked before any is stored."""
    unit = session.get(OrgUnit, post.unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("Unit %(id)s does not exist.", id=post.unit_id))
    if post.unit_id not in actor.unit_ids_for(Role.unit_admin):
        raise Forbidden(T_("Only the unit's administrator posts the unit's highlights."))
    quarter = check_quarter(post.quarter)
    title, body = (post.title or "").strip(), (post.body or "").strip()
    errors: dict[str, Any] = {}
    if not title or len(title) > TITLE_MAX:
        errors["title"] = T_("A title of 1 to %(n)d characters.", n=TITLE_MAX)
    if not body or len(body) > BODY_MAX:
        errors["body"] = T_("A text of 1 to %(n)d characters.", n=BODY_MAX)
    if errors:
        raise Invalid(T_("Some fields need attention."), errors)
    given = [u for u in uploads if u.data or u.filename]  # an empty file input sends nothing useful
    kinds = _check_pictures(given, max_bytes)
    now = utcnow()
    row = ShowcasePost(
        unit_id=unit.id,
        quarter=quarter,
        title=title,
        body=body,
        status=ShowcaseStatus.pending,
        author_id=actor.person_id,
        created_at=now,
        updated_at=now,
    )
    stored: list[str] = []
    try:
        for position, (upload, kind) in enumerate(zip(given, kinds, strict=True)):
            saved = evidence.save(store, upload, kind)
            stored.append(saved.stored_name)
            row.pictures.append(
                ShowcasePicture(
                    position=position,
                    stored_name=saved.stored_name,
                    display_name=saved.display_name,
                    mimetype=kind.mimetype,
                    size=len(upload.data),
                    uploaded_at=now,
                )
            )
        session.add(row)
        session.flush()
    except Exception:
        for name in stored:
            evidence.discard(store, name)
        raise
    return row


def _may_manage(actor: Actor, post: ShowcasePost) -> bool:
    return actor.is_district_wide or post.unit_id in actor.unit_ids_for(Role.unit_admin)


def may_see(actor: Actor, post: ShowcasePost) -> bool:
    return post.status in PUBLIC or _may_manage(actor, post)


def get_post(session: Session, actor: Actor, post_id: int) -> ShowcasePost:
    post = session.get(ShowcasePost, post_id)
    if post is None or not may_see(actor, post):  # an unpublished post is not even confirmed to exist
        raise NotFound(T_("Highlight %(id)s does not exist.", id=post_id))
    return post


def curate(session: Session, actor: Actor, post_id: int, status: str, position: int | None = None) -> ShowcasePost:
    """The office approves, features or hides a post and sets its place on the page."""
    if not actor.is_district_wide:
        raise Forbidden(T_("Only the performance office curates the showcase."))
    post = session.get(ShowcasePost, post_id)
    if post is None:
        raise NotFound(T_("Highlight %(id)s does not exist.", id=post_id))
    try:
        post.status = ShowcaseStatus(status)
    except ValueError as exc:
        raise Invalid(T_("Some fields need attention."), {"status": T_("Unknown status.")}) from exc
    if position is not None:
        post.position = position
    post.curated_by_id, post.curated_at = actor.person_id, utcnow()
    session.flush()
    return post


def delete_post(session: Session, actor: Actor, post_id: int, store: Path) -> None:
    """The unit's admin withdraws a post (the office may too); its pictures leave the store."""
    post = get_post(session, actor, post_id)
    if not _may_manage(actor, post):
        raise Forbidden(T_("Only the unit's administrator or the performance office removes a highlight."))
    names = [p.stored_name for p in post.pictures]
    session.delete(post)
    session.flush()
    for name in names:
        evidence.discard(store, name)


def posts_for(session: Session, actor: Actor, quarter: str, unit_id: int | None = None) -> list[ShowcasePost]:
    """A quarter's posts the actor may see: the published ones, plus their own unit's (or, for the office, all)."""
    quarter = check_quarter(quarter)
    stmt = select(ShowcasePost).where(ShowcasePost.quarter == quarter)
    if not actor.is_district_wide:
        own = actor.unit_ids_for(Role.unit_admin)
        stmt = stmt.where(ShowcasePost.status.in_(PUBLIC) | ShowcasePost.unit_id.in_(own or {-1}))
    if unit_id is not None:
        stmt = stmt.where(ShowcasePost.unit_id == unit_id)
    featured_first = case((ShowcasePost.status == ShowcaseStatus.featured, 0), else_=1)
    return list(session.scalars(stmt.order_by(featured_first, ShowcasePost.position, ShowcasePost.id)))


def picture_file(session: Session, actor: Actor, picture_id: int, store: Path) -> tuple[Path, str, str]:
    """(path, display name, mimetype) of a picture whose post the actor may see."""
    picture = session.get(ShowcasePicture, picture_id)
    if picture is None or not may_see(actor, picture.post):
        raise NotFound(T_("Picture %(id)s does not exist.", id=picture_id))
    return evidence.path_of(store, picture.stored_name), picture.display_name, picture.mimetype
