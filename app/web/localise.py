"""Showing service messages (``Text``) in the user's language."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from app.services.errors import Text


def localise(value: Any) -> Any:
    """Translate a ``Text`` (msgid + parameters); anything else passes through unchanged."""
    if isinstance(value, Text):
        translated = gettext(value.msgid)
        if not value.params:
            return translated
        # a parameter may itself be a message ("not started directly. <where to start it>")
        return translated % {k: localise(v) for k, v in value.params.items()}
    return value
