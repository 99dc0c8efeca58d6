"""The home page: the dashboard of the user's widest role (app/web/dashboard), else who I am and where to go."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home() -> Any:
    from app.web.dashboard import render_home

    return render_home()
