"""Declared task forms. Labels are English msgids; the UI translates them (zh_CN default)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # text, textarea, choice, number
    label: str
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int = 4000
    # Required only when another field has one of these values, e.g. a comment on "return".
    required_if: tuple[str, tuple[str, ...]] | None = None
    help: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "label": self.label, "required": self.required}
        if self.choices:
            out["choices"] = [{"value": v, "label": lbl} for v, lbl in self.choices]
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.type in {"text", "textarea"}:
            out["max_length"] = self.max_length
        if self.required_if:
            out["required_if"] = {"field": self.required_if[0], "values": list(self.required_if[1])}
        if self.help:
            out["help"] = self.help
        return out


@dataclass(frozen=True)
class FormSpec:
    key: str
    title: str
    fields: tuple[FieldSpec, ...]
    # Instance data keys shown read-only above the form (what the reviewer needs to see).
    shows: tuple[str, ...] = ()
    # Field whose value is recorded as the history's decision, and the comment field.
    decision_field: str | None = None
    comment_field: str | None = None
    generic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


REVIEW_DECISIONS = (("approve", "Approve"), ("return", "Return for changes"))

REVIEW = FormSpec(
    key="review",
    title="Review",
    generic=True,
    fields=(
        FieldSpec("decision", "choice", "Decision", required=True, choices=REVIEW_DECISIONS),
        FieldSpec(
            "comment",
            "textarea",
            "Comment",
            required_if=("decision", ("return",)),
            help="Required when you return it: say what must change.",
        ),
    ),
    decision_field="decision",
    comment_field="comment",
    shows=("summary", "indicators_text", "score", "score_comment", "appeal_reason"),
)

ACKNOWLEDGE = FormSpec(
    key="feedback_ack",
    title="Feedback",
    generic=True,
    fields=(
        FieldSpec(
            "decision",
            "choice",
            "Your response",
            required=True,
            choices=(("acknowledge", "Acknowledge the result"), ("appeal", "Appeal")),
        ),
        FieldSpec(
            "appeal_reason",
            "textarea",
            "Reasons for the appeal",
            required_if=("decision", ("appeal",)),
            help="Required for an appeal: what you disagree with and why.",
        ),
    ),
    decision_field="decision",
    comment_field="appeal_reason",
    shows=("summary", "score", "score_comment", "comment"),
)

INDICATOR_DRAFT = FormSpec(
    key="indicator_draft",
    title="Annual indicators",
    fields=(
        FieldSpec(
            "indicators_text",
            "textarea",
            "Indicators",
            required=True,
            max_length=20000,
            help="One indicator per line: category, name, standard, weight.",
        ),
        FieldSpec("note", "textarea", "Note to the reviewer"),
    ),
    comment_field="note",
    shows=("comment",),
)

PERIOD_SUMMARY = FormSpec(
    key="period_summary",
    title="Period summary",
    fields=(
        FieldSpec("summary", "textarea", "Summary of the period's work", required=True, max_length=20000),
        FieldSpec("plan", "textarea", "Plan for the next period"),
    ),
    shows=("comment",),
)

APPRAISAL_SCORE = FormSpec(
    key="appraisal_score",
    title="Score",
    fields=(
        FieldSpec("score", "number", "Score", required=True, min=0, max=100),
        FieldSpec(
            "score_comment",
            "textarea",
            "Evaluation",
            required=True,
            help="Say what the score rests on: results, evidence, gaps.",
        ),
    ),
    comment_field="score_comment",
    shows=("summary", "plan", "appeal_reason", "comment"),
)

FORMS: dict[str, FormSpec] = {f.key: f for f in (REVIEW, ACKNOWLEDGE, INDICATOR_DRAFT, PERIOD_SUMMARY, APPRAISAL_SCORE)}
