"""Showing service messages (``Text``) in the user's language."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from app.services.errors import Text


def localise(value: Any) -> Any:
    """Translate a ``Text`` (msgid + parameters); anything else passes through unchanged."""
    if isinstance(value, Text):
        translated = gettext(value.msgid)
        return translated % value.params if value.params else translated
    return value
