"""Errors raised by services; the web and API layers map them to status codes."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``message`` is shown to the user as is, so it says what to do."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class Invalid(ServiceError):
    """Input that fails validation; ``fields`` maps a field name to its message."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class Text(str):
    """A user-facing message that can be shown in the user's language.

    It is the English text (so logs, the API and tests read it as a plain string) and keeps
    its msgid and parameters, so the web layer can translate it: ``localise(text)``.
    Create it with ``T_("The weights add up to %(total)s.", total=80)``; ``make messages``
    extracts ``T_`` calls.
    """

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, **params: object) -> Text:
        obj = super().__new__(cls, msgid % params if params else msgid)
        obj.msgid = msgid
        obj.params = params
        return obj


def T_(msgid: str, **params: object) -> Text:
    return Text(msgid, **params)
