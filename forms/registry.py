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

# The unit's monthly analysis report (monthly_analysis.bpmn); pages in app/web/analysis.
ANALYSIS_SECTIONS = (
    FieldSpec("overview", "textarea", N_("(1) Overall operation"), required=True, max_length=8000),
    FieldSpec("highlights", "textarea", N_("(2) Good practices and highlights"), required=True, max_length=8000),
    FieldSpec("problems", "textarea", N_("(3) Problems met"), required=True, max_length=8000),
    FieldSpec("plan", "textarea", N_("(4) This month's plan and improvement measures"), required=True, max_length=8000),
)
ANALYSIS_DRAFT = FormSpec(
    key="analysis_draft",
    title=N_("Monthly analysis report"),
    fields=ANALYSIS_SECTIONS,
    shows=("comment",),
    page="analysis.task",
)
ANALYSIS_APPROVE = FormSpec(
    key="analysis_approve",
    title=N_("Approval of the monthly analysis report"),
    fields=(*REVIEW_FIELDS,),
    decision_field="decision",
    comment_field="comment",
    page="analysis.task",
)
ANALYSIS_REVIEW = FormSpec(
    key="analysis_review",
    title=N_("Office review of the monthly analysis report"),
    fields=(
        FieldSpec(
            "decision",
            "choice",
            N_("Decision"),
            required=True,
            choices=(("done", N_("Review done: close the report")), ("return", N_("Return to the unit"))),
        ),
        FieldSpec(
            "comment",
            "textarea",
            N_("Comment"),
            required_if=("decision", ("return",)),
            help=N_("The office's comments are kept with the report; required when you return it."),
        ),
    ),
    decision_field="decision",
    comment_field="comment",
    page="analysis.task",
)

# Quarterly publication (publication.bpmn) and bonus distribution (bonus_distribution.bpmn): the generic task
# page shows the list being approved; handlers in app/services/appraisal/publication_flow.py.
PUBLICATION_SUBMIT = FormSpec(
    key="publication_submit",
    title=N_("Submit the publication"),
    fields=(FieldSpec("note", "textarea", N_("Note to the principal")),),
    comment_field="note",
    shows=("publication_summary", "comment"),
)
PUBLICATION_APPROVE = FormSpec(
    key="publication_approve",
    title=N_("Approval of the publication"),
    fields=(*REVIEW_FIELDS,),
    decision_field="decision",
    comment_field="comment",
    shows=("publication_summary", "note"),
)
DISTRIBUTION_SUBMIT = FormSpec(
    key="distribution_submit",
    title=N_("Submit the bonus distribution"),
    fields=(FieldSpec("note", "textarea", N_("Note to the principal")),),
    comment_field="note",
    shows=("distribution_summary", "comment"),
)
DISTRIBUTION_APPROVE = FormSpec(
    key="distribution_approve",
    title=N_("Confirmation of the bonus distribution"),
    fields=(*REVIEW_FIELDS,),
    decision_field="decision",
    comment_field="comment",
    shows=("distribution_summary", "note"),
)

# Bonus and deduction items (bonus_deduction.bpmn); the item is shown and edited on app/web/bonus's task page.
BONUS_CHECK = FormSpec(
    key="bonus_check",
    title=N_("Section head's check of a bonus proposal"),
    fields=(
        FieldSpec(
            "decision",
            "choice",
            N_("Decision"),
            required=True,
            choices=(
                ("forward", N_("Agree and forward for approval")),
                ("return", N_("Return to the person for changes")),
                ("reject", N_("Do not agree")),
            ),
        ),
        FieldSpec(
            "comment",
            "textarea",
            N_("Comment"),
            required_if=("decision", ("return", "reject")),
            help=N_("Required when you return or refuse it: say what is wrong and what must change."),
        ),
    ),
    decision_field="decision",
    comment_field="comment",
    page="bonus.task",
)
BONUS_REVISE = FormSpec(
    key="bonus_revise",
    title=N_("Revise a bonus proposal"),
    fields=(
        FieldSpec(
            "decision",
            "choice",
            N_("Decision"),
            required=True,
            choices=(("resubmit", N_("Resubmit with the changes")), ("withdraw", N_("Withdraw the proposal"))),
        ),
        FieldSpec("comment", "textarea", N_("Note to the reviewer"), max_length=2000),
    ),
    decision_field="decision",
    comment_field="comment",
    page="bonus.task",
)
BONUS_DECIDE = FormSpec(
    key="bonus_decide",
    title=N_("Approval of a bonus or deduction item"),
    fields=(
        FieldSpec(
            "decision",
            "choice",
            N_("Decision"),
            required=True,
            choices=(("approve", N_("Approve")), ("reject", N_("Do not approve"))),
        ),
        FieldSpec(
            "comment",
            "textarea",
            N_("Comment"),
            required=True,
            help=N_("Your comment is kept with the item and shown to the person."),
        ),
    ),
    decision_field="decision",
    comment_field="comment",
    page="bonus.task",
)

# A rater's whole sheet of the comprehensive evaluation (evaluation_rating.bpmn); page in app/web/evaluation.
EVALUATION_RATING = FormSpec(
    key="evaluation_rating",
    title=N_("Rate colleagues on de, neng, qin, ji, lian"),
    fields=(
        FieldSpec(
            "ratings",
            "evaluation_ratings",
            N_("Ratings"),
            required=True,
            help=N_(
                "A list of {ratee_id, scores: {de, neng, qin, ji, lian}, comments}; every score from 0 to 100, "
                "at most one decimal."
            ),
        ),
    ),
    page="evaluation.task",
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
        ANALYSIS_DRAFT,
        ANALYSIS_APPROVE,
        ANALYSIS_REVIEW,
        BONUS_CHECK,
        BONUS_REVISE,
        BONUS_DECIDE,
        PUBLICATION_SUBMIT,
        PUBLICATION_APPROVE,
        DISTRIBUTION_SUBMIT,
        DISTRIBUTION_APPROVE,
        EVALUATION_RATING,
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
    "publication_summary": N_("What is published"),
    "distribution_summary": N_("The distribution"),
}
