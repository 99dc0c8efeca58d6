"""``flask --app app cycles open|status``: open a period by hand (or back-fill one unit), see how far it got."""

from __future__ import annotations

import unicodedata
from typing import Any

import click
from flask import Flask

from app.extensions import current_session, db

SKIP_WORDS = {
    "left": "person has left",
    "no_section": "no section (or section outside a unit)",
    "unit_not_enabled": "unit not enabled (open it with --unit to back-fill)",
}


def _pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns (Chinese characters take two)."""
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            break
        out, used = out + ch, used + w
    return out + " " * (width - used)


class _Bar:
    """A click progress bar that appears once the number of people to open is known (long runs only)."""

    def __init__(self, label: str, threshold: int = 50) -> None:
        self.label, self.threshold = label, threshold
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if total < self.threshold:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _echo_unit_subject_status(rows: list[Any]) -> None:
    """One line per unit: opened or not, the instance, where it waits, overdue tasks."""
    click.echo(f"{'unit':24} {'enabled':>7} {'instance':>8} {'state':10} {'overdue':>7}  waiting at")
    for r in rows:
        instance = f"#{r.instance_id}" if r.instance_id else "-"
        click.echo(
            f"{_pad(r.name, 24)} {'yes' if r.enabled else 'no':>7} {instance:>8} {r.state:10} {r.overdue:7d}  "
            + ", ".join(r.waiting)
        )
    opened = sum(r.opened for r in rows)
    not_opened = sum(1 for r in rows if r.enabled and not r.opened)
    click.echo(
        f"total: {opened} opened ({sum(r.running for r in rows)} in progress, {sum(r.completed for r in rows)} "
        f"completed), {not_opened} enabled unit(s) not opened, {sum(r.overdue for r in rows)} overdue task(s)"
    )


def register_cycles_cli(app: Flask) -> None:
    @app.cli.group("cycles")
    def cycles_group() -> None:
        """Appraisal cycles: open a period for the enabled units (or one unit), show status."""

    @cycles_group.command("open")
    @click.option("--process", "process_key", default="periodic_appraisal", show_default=True)
    @click.option("--period", required=True, help="e.g. 2026-11 (month), 2026-Q4, 2026-W47")
    @click.option("--unit", "unit_id", type=int, default=None, help="Only this unit, enabled or not (back-fill).")
    @click.option("--chunk", "chunk_size", type=int, default=None, help="People per commit (default CYCLE_CHUNK_SIZE).")
    def open_cmd(process_key: str, period: str, unit_id: int | None, chunk_size: int | None) -> None:
        """Open PROCESS for PERIOD for every active person of the enabled units; safe to run again.

        A process about units (monthly_analysis) opens once per enabled unit instead.

        Commits every chunk, so an interrupted run keeps what it opened and a rerun completes it.
        """
        from flask import current_app

        from app.services import cycles
        from app.services.actor import SYSTEM
        from app.services.errors import ServiceError

        bar = _Bar(f"Opening {process_key} {period}")
        try:
            summary = cycles.open_cycle(
                current_session(),
                SYSTEM,
                process_key,
                period,
                unit_id,
                progress=bar,
                checkpoint=db.session.commit,
                chunk_size=chunk_size or int(current_app.config["CYCLE_CHUNK_SIZE"]),
            )
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            bar.close()
            raise click.ClickException(exc.message) from exc
        except BaseException:
            db.session.rollback()
            bar.close()
            raise
        bar.close()
        scope = f"unit {unit_id}" if unit_id is not None else "enabled units"
        click.echo(f"{process_key} {period} ({scope}):")
        click.echo(f"  opened:       {summary.opened}")
        click.echo(f"  already open: {summary.already_open}")
        click.echo(f"  skipped:      {sum(summary.skipped.values())}")
        for reason, n in sorted(summary.skipped.items()):
            click.echo(f"    {n:6d}  {SKIP_WORDS.get(reason, reason)}")

    @cycles_group.command("status")
    @click.option("--process", "process_key", default="periodic_appraisal", show_default=True)
    @click.option("--period", required=True, help="e.g. 2026-11")
    def status_cmd(process_key: str, period: str) -> None:
        """Per unit: people, instances opened, in progress, completed %, overdue tasks."""
        from app.services import cycles
        from app.services.cycles_units import UnitSubjectStatus
        from app.services.errors import ServiceError

        try:
            rows = cycles.cycle_status(current_session(), period, process_key)
        except ServiceError as exc:
            raise click.ClickException(exc.message) from exc
        finally:
            db.session.rollback()
        click.echo(f"{process_key} {period}")
        if any(isinstance(r, UnitSubjectStatus) for r in rows):  # a process about units: one instance each
            _echo_unit_subject_status(rows)
            return
        click.echo(f"{'unit':24} {'enabled':>7} {'people':>6} {'opened':>6} {'running':>7} {'done%':>6} {'overdue':>7}")
        for r in rows:
            click.echo(
                f"{_pad(r.name, 24)} {'yes' if r.enabled else 'no':>7} {r.people:6d} {r.opened:6d} {r.running:7d} "
                f"{r.completed_pct:6.1f} {r.overdue:7d}"
            )
        people = sum(r.people for r in rows)
        opened = sum(r.opened for r in rows)
        click.echo(
            f"{'total':24} {'':>7} {people:6d} {opened:6d} {sum(r.running for r in rows):7d} "
            f"{(100.0 * sum(r.completed for r in rows) / opened if opened else 0.0):6.1f} "
            f"{sum(r.overdue for r in rows):7d}"
        )
