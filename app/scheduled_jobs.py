"""The jobs the scheduler runs: each a thin adapter from a fire time to one service call.

The period a job works on is derived from its fire time in the district's time zone, so a rerun
or a catch-up of the same fire time works on the same period:

- ``weekly_logs`` — the ISO week of the fire time: remind everyone of the enabled units to write
  that week's log (the log itself arrives with the appraisal issue);
- ``monthly_cycles`` — the month before the fire time: open ``periodic_appraisal`` for it;
- ``monthly_analysis`` — the month before the fire time: open each enabled unit's monthly
  analysis report (月分析报告) for it, once per unit and month;
- ``quarterly_publish`` — the quarter before the fire time: open the comprehensive evaluation round
  of every enabled unit that evaluates per quarter (per year: the year's round after Q4), once per
  unit and period, and remind unit administrators to publish the quarter;
- ``overdue_digest`` — the day of the fire time;
- ``workflow_timers`` — due BPMN timers (and, hourly, pruning of old per-minute runs);
- ``email_outbox`` — notification e-mails, only when ``SMTP_HOST`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from app.models.base import utcnow
from app.scheduler import FREQUENT, Job, JobContext
from app.services import cycles, job_runs, mailer, reminders
from app.services.actor import SYSTEM
from app.services.analysis import reports as analysis_reports
from app.services.appraisal import evaluation_flow
from app.services.mailer import SmtpConfig
from app.services.periods import iso_week, month_before, quarter_before
from app.web.notifications.texts import email_for
from app.workflow.runtime import fire_due_timers

PROCESS = "periodic_appraisal"


def _weekly(ctx: JobContext) -> dict[str, Any]:
    today = ctx.local.date()
    week, last_week = iso_week(today), iso_week(today - timedelta(days=7))
    return {
        "week": week,
        **reminders.weekly_log_reminders(ctx.session, week),
        **reminders.missing_log_reminders(ctx.session, last_week),
    }


def _monthly(ctx: JobContext) -> dict[str, Any]:
    summary = cycles.open_cycle(
        ctx.session,
        SYSTEM,
        PROCESS,
        month_before(ctx.local.date()),
        progress=ctx.progress,
        checkpoint=ctx.checkpoint,
        chunk_size=int(ctx.config["CYCLE_CHUNK_SIZE"]),
    )
    return summary.as_counts()


def _monthly_analysis(ctx: JobContext) -> dict[str, Any]:
    return analysis_reports.open_month(ctx.session, SYSTEM, month_before(ctx.local.date())).as_counts()


def _quarterly(ctx: JobContext) -> dict[str, Any]:
    today = ctx.local.date()
    quarter = quarter_before(today)
    rounds = evaluation_flow.open_due_rounds(
        ctx.session,
        quarter,
        closes_on=today + timedelta(days=int(ctx.config["EVALUATION_DAYS"])),
        max_peers=int(ctx.config["EVALUATION_MAX_PEERS"]),
        checkpoint=ctx.checkpoint,
    )
    return {"quarter": quarter, **rounds, **reminders.quarterly_publish_reminders(ctx.session, quarter)}


def _daily(ctx: JobContext) -> dict[str, Any]:
    digests = reminders.overdue_digests(ctx.session, ctx.local.date().isoformat(), utcnow())
    return {**digests, **_differentiation(ctx)}


def _differentiation(ctx: JobContext) -> dict[str, Any]:
    """Scoring flags of the month before (打满分赋均分), told once per reviewer and month; see differentiation."""
    from app.services.appraisal import differentiation

    limits = differentiation.Thresholds.from_config(ctx.config)
    return differentiation.notify_flags(ctx.session, month_before(ctx.local.date()), limits)


def _timers(ctx: JobContext) -> dict[str, Any]:
    counts = {"fired": fire_due_timers(ctx.session)}
    if ctx.local.minute == 0:  # hourly: drop old runs of the per-minute jobs
        counts["pruned_runs"] = job_runs.prune(ctx.session, list(FREQUENT), utcnow() - timedelta(days=2))
    return counts


def smtp_config(config: Mapping[str, Any]) -> SmtpConfig:
    return SmtpConfig(
        host=config["SMTP_HOST"],
        port=int(config["SMTP_PORT"]),
        user=config["SMTP_USER"],
        password=config["SMTP_PASSWORD"],
        sender=config["SMTP_FROM"],
        starttls=bool(config["SMTP_STARTTLS"]),
    )


def _email(ctx: JobContext) -> dict[str, Any]:
    return mailer.send_pending(ctx.session, smtp_config(ctx.config), email_for)


DEFAULT_JOBS: tuple[Job, ...] = (
    Job("weekly_logs", _weekly, "CRON_WEEKLY", _l("Remind everyone of the enabled units to write the week's log")),
    Job(
        "monthly_cycles",
        _monthly,
        "CRON_MONTHLY",
        _l("Open the periodic appraisal of the month just ended for every active person of the enabled units"),
        catch_up="all",
    ),
    Job(
        "monthly_analysis",
        _monthly_analysis,
        "CRON_MONTHLY",
        _l("Open the monthly analysis report of the month just ended for every enabled unit"),
        catch_up="all",
    ),
    Job(
        "quarterly_publish",
        _quarterly,
        "CRON_QUARTERLY",
        _l(
            "Open the evaluation rounds due and remind the unit administrators of the enabled units to publish "
            "the quarter just ended"
        ),
        catch_up="all",
    ),
    Job(
        "overdue_digest",
        _daily,
        "CRON_DAILY",
        _l("Overdue digest for each person and each unit administrator; flag last month's undifferentiated scoring"),
    ),
    Job(
        "workflow_timers",
        _timers,
        "CRON_TIMERS",
        _l("Fire due BPMN timers (reminders, escalations)"),
        catch_up="none",
    ),
    Job(
        "email_outbox",
        _email,
        "CRON_EMAIL",
        _l("Send notification e-mails (needs SMTP_HOST)"),
        catch_up="none",
        enabled=lambda config: bool(config.get("SMTP_HOST")),
    ),
)
