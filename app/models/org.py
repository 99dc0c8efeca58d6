"""The organisation tree: district → unit (单位) → section (股室/内设机构)."""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin


class OrgKind(enum.StrEnum):
    district = "district"
    unit = "unit"
    section = "section"


class UnitType(enum.StrEnum):
    township = "township"  # 乡镇/街道
    department = "department"  # 区直单位


class OrgUnit(TimestampMixin, Base):
    """One node of the tree. ``unit_type``, ``pilot`` and ``enabled`` matter on units only."""

    __tablename__ = "org_unit"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(Enum(OrgKind, native_enum=False, length=16), index=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    unit_type: Mapped[UnitType | None] = mapped_column(Enum(UnitType, native_enum=False, length=16))
    pilot: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent", order_by="(OrgUnit.sort_order, OrgUnit.id)")

    @property
    def unit(self) -> OrgUnit | None:
        """The unit this node belongs to (itself for a unit, the parent for a section)."""
        if self.kind is OrgKind.unit:
            return self
        if self.kind is OrgKind.section:
            return self.parent
        return None

    def __repr__(self) -> str:
        return f"<OrgUnit {self.id} {self.kind} {self.name}>"
