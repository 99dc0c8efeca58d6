"""``flask --app app audit verify|prune``: check the hash chain of the audit trail, prune old events."""

from __future__ import annotations

import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app

from app.extensions import current_session, db
from app.services import audit
from app.services.errors import ServiceError


def register_audit_cli(app: Flask) -> None:
    @app.cli.group("audit")
    def audit_group() -> None:
        """The audit trail: verify its hash chain, prune events past the retention period."""

    @audit_group.command("verify")
    def verify_cmd() -> None:
        """Walk the chain; exit 1 naming the first broken event, 0 when intact."""
        report = audit.check_chain(current_session())
        if report.intact:
            click.echo(f"chain intact, {report.count} events")
            return
        click.echo(f"chain broken at event {report.broken_id}: {report.reason}", err=True)
        sys.exit(1)

    @audit_group.command("prune")
    @click.option("--before", "before", required=True, help="Delete events before this day (YYYY-MM-DD).")
    def prune_cmd(before: str) -> None:
        """Delete events before a day at least AUDIT_RETENTION_DAYS (180) ago; the chain stays verifiable."""
        try:
            day = date.fromisoformat(before)
        except ValueError:
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--before") from None
        cutoff = datetime.combine(day, datetime.min.time(), ZoneInfo(current_app.config["TIMEZONE"]))
        try:
            count = audit.prune(current_session(), cutoff, retention_days=current_app.config["AUDIT_RETENTION_DAYS"])
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            click.echo(str(exc.message), err=True)
            sys.exit(1)
        click.echo(f"pruned {count} events before {day.isoformat()}")
