"""The task-form registry: a BPMN user task names a form key; this maps it to a form.

Forms are declared as data (``FormSpec``) so that the office can add steps using the
generic forms without code, the API can describe a form's fields as JSON, and the browser
and the API validate through the same WTForms class (``forms.builder``).
"""

from forms.registry import FORMS, FieldSpec, FormSpec

__all__ = ["FORMS", "FieldSpec", "FormSpec"]
