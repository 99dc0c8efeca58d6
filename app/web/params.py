"""Integers from URLs, query strings and forms are bounded to what an ``INTEGER`` column holds.

Without the bound, ``/api/v1/tasks/1180591620717411303424`` or ``?page=1e30``-sized numbers reached the database
and ended in a server error (SQLite: ``OverflowError``; PostgreSQL: integer out of range). Found by the
schemathesis fuzz (tests/test_api_fuzz.py). A path id out of range now matches no route (404); a query or form
value out of range is treated like any other non-integer: ``get(..., type=int)`` returns the default.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

INT_MAX = 2**31 - 1  # PostgreSQL ``integer``; SQLite holds more, the bound is the same on both


def is_id(value: object) -> TypeGuard[int]:
    """True for an id a JSON body may name: a positive ``int`` (not ``bool``) an ``INTEGER`` column holds."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT_MAX


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` with the database's range (ids are never negative: ``signed`` stays False)."""

    def __init__(
        self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=INT_MAX if max is None else max, signed=signed)


class BoundedMultiDict(ImmutableMultiDict):
    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and value is not default and not -INT_MAX <= value <= INT_MAX:
            return default
        return value


class BoundedRequest(Request):
    parameter_storage_class = BoundedMultiDict


def install(app: Any) -> None:
    """Call before any blueprint is registered: rules pick their converters when they are added."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = BoundedRequest
