"""Flask extension singletons, bound to the app in ``create_app``."""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from app.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def current_session() -> Session:
    """The session of the current unit of work, typed as the ``Session`` services expect.

    Flask-SQLAlchemy's ``db.session`` is a scoped proxy that forwards every call to the real
    session; it is looked up at call time, so tests that swap ``db.session`` still work.
    """
    return db.session  # type: ignore[return-value]
