"""The logged-in principal as Flask-Login sees it, wrapping the account and its actor."""

from __future__ import annotations

from functools import cached_property

from flask_login import UserMixin

from app.extensions import current_session
from app.models import Role, UserAccount
from app.services.actor import Actor, actor_for_user


class CurrentUser(UserMixin):
    """Built once per request; ``actor`` is what services receive."""

    def __init__(self, account: UserAccount, auth_session_id: str | None = None) -> None:
        self.account = account
        self.auth_session_id = auth_session_id

    def get_id(self) -> str:
        return str(self.account.id)

    @property
    def is_active(self) -> bool:
        return bool(self.account.active)

    @cached_property
    def actor(self) -> Actor:
        return actor_for_user(current_session(), self.account)

    def has(self, *roles: Role | str) -> bool:
        return any(self.actor.has(Role(r)) for r in roles)

    @property
    def display_name(self) -> str:
        return self.actor.name
