"""The home page: who I am, my roles, and where my work is."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from app.extensions import current_session
from app.services import accounts

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home() -> Any:
    roles = accounts.describe_roles(current_session(), current_user.account)
    return render_template("main/home.html", roles=roles)
