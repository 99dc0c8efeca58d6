"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from app.models.base import Base
from app.models.org import OrgKind, OrgUnit, UnitType
from app.models.people import (
    ROLE_SCOPE_KIND,
    ApiToken,
    AuthSession,
    Person,
    PersonStatus,
    Role,
    RoleAssignment,
    UserAccount,
)

__all__ = [
    "ROLE_SCOPE_KIND",
    "ApiToken",
    "AuthSession",
    "Base",
    "OrgKind",
    "OrgUnit",
    "Person",
    "PersonStatus",
    "Role",
    "RoleAssignment",
    "UnitType",
    "UserAccount",
]
