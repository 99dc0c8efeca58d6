"""Declared task forms. Labels are English msgids; the UI translates them (zh_CN default)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def N_(text: str) -> str:
    """The gettext no-op marker: extracted by pybabel, translated where the text is shown."""
    return text


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
    # A browser page (endpoint) that renders this form instead of the generic task page; such
    # forms carry structured data and are validated by the domain's task handler.
    page: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


REVIEW_DECISIONS = (("approve", N_("Approve")), ("return", N_("Return for changes")))
# Approve or return with a comment: the generic review and every domain review share these fields.
REVIEW_FIELDS = (
    FieldSpec("decision", "choice", N_("Decision"), required=True, choices=REVIEW_DECISIONS),
    FieldSpec(
        "comment",
        "textarea",
        N_("Comment"),
        required_if=("decision", ("return",)),
        help=N_("Required when you return it: say what must change."),
    ),
)

REVIEW = FormSpec(
    key="review",
    title=N_("Review"),
    generic=True,
    fields=(*REVIEW_FIELDS,),
    decision_field="decision",
    comment_field="comment",
    shows=("summary", "indicators_text", "score", "score_comment", "appeal_reason"),
)

ACKNOWLEDGE = FormSpec(
    key="feedback_ack",
    title=N_("Feedback"),
    generic=True,
    fields=(
        FieldSpec(
            "decision",
            "choice",
            "Your response",
            required=True,
            choices=(("acknowledge", N_("Acknowledge the result")), ("appeal", N_("Appeal"))),
        ),
        FieldSpec(
            "appeal_reason",
            "textarea",
            "Reasons for the appeal",
            required_if=("decision", ("appeal",)),
            help=N_("Required for an appeal: what you disagree with and why."),
        ),
    ),
    decision_field="decision",
    comment_field="appeal_reason",
    shows=("summary", "score", "score_comment", "comment"),
)

INDICATOR_DRAFT = FormSpec(
    key="indicator_draft",
    title=N_("Annual indicators"),
    fields=(
        FieldSpec(
            "indicators",
            "indicators",
            N_("Indicators"),
            required=True,
            help=N_("A list of {category, name, standard, weight, method, unit_task_id}; weights add up to 100."),
        ),
        FieldSpec("note", "textarea", N_("Note to the reviewer")),
    ),
    comment_field="note",
    shows=("comment",),
    page="indicators.task",
)

INDICATOR_REVIEW = FormSpec(
    key="indicator_review",
    title=N_("Review of the indicators"),
    fields=(
        *REVIEW_FIELDS,
        FieldSpec(
            "item_comments",
            "item_comments",
            N_("Comments on single indicators"),
            help=N_("An object mapping an indicator's id to your comment on it."),
        ),
    ),
    decision_field="decision",
    comment_field="comment",
    shows=("note",),
    page="indicators.task",
)

PERIOD_SUMMARY = FormSpec(
    key="period_summary",
    title=N_("Period summary"),
    fields=(
        FieldSpec(
            "summary",
            "textarea",
            N_("Summary of the period's work"),
            required=True,
            max_length=20000,
            help=N_("Prefilled from your weekly logs, grouped by indicator: what was done, evidence, gaps."),
        ),
        FieldSpec("plan", "textarea", N_("Plan for the next period")),
    ),
    shows=("comment",),
    page="appraisal.task",
)

APPRAISAL_SCORE = FormSpec(
    key="appraisal_score",
    title=N_("Score"),
    fields=(
        FieldSpec(
            "item_scores",
            "item_scores",
            N_("Scores of the indicators"),
            help=N_(
                "When the person has an effective indicator set: a list of {item_id, score, comment}, one per "
                "indicator, each score from 0 to the indicator's weight. The total is their sum."
            ),
        ),
        FieldSpec(
            "score",
            "number",
            N_("Score"),
            min=0,
            max=100,
            help=N_(
                "The overall score from 0 to 100 when the person has no effective indicator set; "
                "otherwise leave it out (or send the sum of the item scores)."
            ),
        ),
        FieldSpec(
            "score_comment",
            "textarea",
            "Evaluation",
            required=True,
            help=N_("Say what the score rests on: results, evidence, gaps."),
        ),
        FieldSpec(
            "justification",
            "textarea",
            N_("Justification"),
            help=N_(
                "Required when every indicator gets full marks, or any indicator gets less than 60 per cent of its "
                "weight (overall: 100, or below 60)."
            ),
        ),
    ),
    comment_field="score_comment",
    shows=("summary", "plan", "appeal_reason", "comment"),
    page="appraisal.task",
)

APPRAISAL_REVIEW = FormSpec(
    key="appraisal_review",
    title=N_("Review of the score"),
    fields=(
        *REVIEW_FIELDS,
        FieldSpec(
            "adjusted_score",
            "number",
            N_("Adjusted score"),
            min=0,
            max=100,
            help=N_("Only when you approve and change the total; the section head's score is kept beside it."),
        ),
        FieldSpec(
            "adjust_reason",
            "textarea",
            N_("Reason for the adjustment"),
            help=N_("Required together with an adjusted score."),
        ),
    ),
    decision_field="decision",
    comment_field="comment",
    shows=("summary", "score", "score_formula", "score_comment", "justification", "appeal_reason"),
    page="appraisal.task",
)

FORMS: dict[str, FormSpec] = {
    f.key: f
    for f in (
        REVIEW,
        ACKNOWLEDGE,
        INDICATOR_DRAFT,
        INDICATOR_REVIEW,
        PERIOD_SUMMARY,
        APPRAISAL_SCORE,
        APPRAISAL_REVIEW,
    )
}
FLAT_TYPES = frozenset({"text", "textarea", "choice", "number"})

# Labels for instance data shown read-only on task pages.
DATA_LABELS: dict[str, str] = {
    "summary": N_("Summary of the period's work"),
    "plan": N_("Plan for the next period"),
    "indicators_text": N_("Indicators"),
    "note": N_("Note to the reviewer"),
    "score": N_("Score"),
    "score_comment": N_("Evaluation"),
    "comment": N_("Reviewer's comment"),
    "appeal_reason": N_("Reasons for the appeal"),
    "decision": N_("Decision"),
    "justification": N_("Justification"),
    "score_formula": N_("How the total was reached"),
    "adjusted_score": N_("Adjusted score"),
    "adjust_reason": N_("Reason for the adjustment"),
    "original_score": N_("Section head's score"),
}
