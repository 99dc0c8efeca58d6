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
from app.models.workflow import (
    DefinitionStatus,
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    Notification,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    TaskStatus,
)

__all__ = [
    "ROLE_SCOPE_KIND",
    "ApiToken",
    "AuthSession",
    "Base",
    "DefinitionStatus",
    "HumanTask",
    "InstanceEvent",
    "InstanceStatus",
    "Notification",
    "OrgKind",
    "OrgUnit",
    "Person",
    "PersonStatus",
    "ProcessDefinition",
    "ProcessInstance",
    "Role",
    "RoleAssignment",
    "TaskCandidate",
    "TaskStatus",
    "UnitType",
    "UserAccount",
]
