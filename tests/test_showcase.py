"""The quarterly showcase: only pictures go in, within the size limit; curation decides who sees a post."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.models import OrgUnit, ShowcasePost
from app.services.actor import actor_for_user
from app.services.analysis import showcase
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.evidence import Upload
from tests.conftest import demo_account

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
QUARTER = "2031-Q1"


def _actor(session: Any, role: str, unit_code: str = "ljjd") -> Any:
    return actor_for_user(session, demo_account(session, role, unit_code=unit_code))


def _post(session: Any, tmp_path: Path, uploads: list[Upload], **kw: Any) -> ShowcasePost:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd"))
    return showcase.create_post(
        session,
        kw.get("actor") or _actor(session, "unit_admin"),
        showcase.NewPost(unit.id, QUARTER, kw.get("title", "网格化服务"), "做法与成效"),
        uploads,
        store=tmp_path,
        max_bytes=kw.get("max_bytes", 1024),
    )


def test_upload_keeps_pictures_outside_the_web_root(session: Any, tmp_path: Path) -> None:
    post = _post(session, tmp_path, [Upload("a.png", PNG), Upload("照片.jpeg", JPEG)])
    assert [p.mimetype for p in post.pictures] == ["image/png", "image/jpeg"]
    assert all((tmp_path / p.stored_name).read_bytes() in (PNG, JPEG) for p in post.pictures)
    path, name, _ = showcase.picture_file(session, _actor(session, "unit_admin"), post.pictures[1].id, tmp_path)
    assert path.parent == tmp_path and name == "照片.jpeg"


@pytest.mark.parametrize(
    ("upload", "max_bytes"),
    [
        (Upload("report.pdf", b"%PDF-1.4 not a picture"), 1024),
        (Upload("disguised.png", b"MZ\x90\x00 an executable"), 1024),
        (Upload("notes.png", "纯文本".encode()), 1024),
        (Upload("big.png", PNG + b"\x00" * 2048), 1024),
    ],
)
def test_upload_rejects_non_images_and_oversize_files(
    session: Any, tmp_path: Path, upload: Upload, max_bytes: int
) -> None:
    with pytest.raises(Invalid) as refused:
        _post(session, tmp_path, [Upload("ok.png", PNG), upload], max_bytes=max_bytes)
    assert "pictures" in refused.value.fields
    assert list(tmp_path.iterdir()) == []  # nothing is stored when any picture is refused


def test_too_many_pictures_and_other_units_are_refused(session: Any, tmp_path: Path) -> None:
    with pytest.raises(Invalid):
        _post(session, tmp_path, [Upload(f"{i}.png", PNG) for i in range(showcase.MAX_PICTURES + 1)])
    with pytest.raises(Forbidden):
        _post(session, tmp_path, [], actor=_actor(session, "unit_admin", "lcz"))
    with pytest.raises(Forbidden):
        _post(session, tmp_path, [], actor=_actor(session, "staff"))


def test_curation_decides_who_sees_a_post_and_in_which_order(session: Any, tmp_path: Path) -> None:
    admin, office = _actor(session, "unit_admin"), _actor(session, "perf_office")
    staff, other = _actor(session, "staff", "lcz"), _actor(session, "unit_admin", "lcz")
    first = _post(session, tmp_path, [Upload("a.png", PNG)], title="一")
    second = _post(session, tmp_path, [], title="二")
    assert [p.id for p in showcase.posts_for(session, staff, QUARTER)] == []
    assert {p.id for p in showcase.posts_for(session, admin, QUARTER)} == {first.id, second.id}
    with pytest.raises(NotFound):
        showcase.picture_file(session, staff, first.pictures[0].id, tmp_path)
    with pytest.raises(Forbidden):
        showcase.curate(session, admin, first.id, "approved")
    showcase.curate(session, office, first.id, "approved", position=2)
    showcase.curate(session, office, second.id, "featured", position=5)
    assert [p.id for p in showcase.posts_for(session, staff, QUARTER)] == [second.id, first.id]
    assert showcase.picture_file(session, staff, first.pictures[0].id, tmp_path)[0].exists()
    showcase.curate(session, office, second.id, "hidden")
    assert [p.id for p in showcase.posts_for(session, other, QUARTER)] == [first.id]
    assert second.id in {p.id for p in showcase.posts_for(session, admin, QUARTER)}
    with pytest.raises(Invalid):
        showcase.curate(session, office, first.id, "published")


def test_showcase_page_and_picture_route(session: Any, client: Any, login_as: Any, app: Any) -> None:
    store = Path(app.instance_path) / "evidence"
    post = _post(session, store, [Upload("a.png", PNG)])
    showcase.curate(session, _actor(session, "perf_office"), post.id, "featured")
    session.commit()
    login_as("staff", unit_code="lcz")
    page = client.get(f"/analysis/showcase?quarter={QUARTER}")
    assert page.status_code == 200 and f'data-post="{post.id}"' in page.text
    picture = client.get(f"/analysis/showcase/pictures/{post.pictures[0].id}")
    assert picture.status_code == 200 and picture.data == PNG and picture.mimetype == "image/png"
    refused = client.post("/analysis/showcase", data={"unit_id": post.unit_id, "quarter": QUARTER, "title": "x"})
    assert refused.status_code == 403
