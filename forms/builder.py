"""Build WTForms classes from ``FormSpec`` so the browser and the API validate identically."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, Form, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from forms.registry import FLAT_TYPES, FORMS, FieldSpec, FormSpec


class RequiredIf:
    """Required when another field holds one of the given values (e.g. comment on return)."""

    def __init__(self, other: str, values: tuple[str, ...]) -> None:
        self.other, self.values = other, values
        self.field_flags: dict[str, bool] = {}

    def __call__(self, form: Form, field: Any) -> None:
        if form[self.other].data in self.values and not (field.data or "").strip():
            raise ValidationError(f"This field is required when {self.other} is {form[self.other].data}.")


def _field(spec: FieldSpec, translate: Any) -> Any:
    label = translate(spec.label)
    description = translate(spec.help) if spec.help else ""
    validators: list[Any] = []
    if spec.required_if:
        validators.append(RequiredIf(*spec.required_if))
    if spec.type == "number":
        validators.append(InputRequired() if spec.required else Optional())
        validators.append(NumberRange(min=spec.min, max=spec.max))
        return DecimalField(label, validators=validators, description=description, places=None)
    if spec.required:
        validators.append(DataRequired())
    elif not spec.required_if:
        validators.append(Optional())
    if spec.type == "choice":
        return RadioField(
            label,
            choices=[SelectChoice(v, translate(lbl)) for v, lbl in spec.choices],
            validators=validators,
            description=description,
        )
    validators.append(Length(max=spec.max_length))
    cls = TextAreaField if spec.type == "textarea" else StringField
    return cls(label, validators=validators, description=description)


@cache
def _form_class(key: str, base: type[Form], translate: Any) -> type[Form]:
    spec = FORMS[key]
    attrs = {f.name: _field(f, translate) for f in spec.fields if f.type in FLAT_TYPES}
    return type(f"{key.title().replace('_', '')}Form", (base,), attrs)


def form_class(key: str, base: type[Form] = Form, translate: Any = str) -> type[Form]:
    return _form_class(key, base, translate)  # type: ignore[arg-type]  # classes are hashable


def validate_json(key: str, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate an API payload; return (clean data, {field: message})."""
    spec = FORMS[key]
    unknown = set(payload) - {f.name for f in spec.fields if f.type in FLAT_TYPES}
    formdata = MultiDict({k: ("" if v is None else str(v)) for k, v in payload.items() if k not in unknown})
    form = form_class(key)(formdata=formdata)
    errors: dict[str, str] = {}
    if not form.validate():
        errors = {name: msgs[0] for name, msgs in form.errors.items()}
    for name in sorted(unknown):
        errors[name] = "Unknown field for this form."
    return (clean_data(spec, form) if not errors else {}), errors


def clean_data(spec: FormSpec, form: Form) -> dict[str, Any]:
    """Form values as JSON-friendly task data (numbers as float, text stripped)."""
    out: dict[str, Any] = {}
    for f in spec.fields:
        if f.type not in FLAT_TYPES:
            continue
        value = form[f.name].data
        if f.type == "number":
            out[f.name] = float(value) if value is not None else None
        elif isinstance(value, str):
            out[f.name] = value.strip()
        else:
            out[f.name] = value
    return out
