"""``flask --app app …`` commands. Each command is one unit of work: it commits at the end."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from app.extensions import current_session, db

F = TypeVar("F", bound=Callable[..., Any])


def unit_of_work(fn: F) -> F:
    """Commit when the command returns, roll back when it raises."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise

    return wrapper  # type: ignore[return-value]


def register_cli(app: Flask) -> None:
    from app.cli_audit import register_audit_cli
    from app.cli_backup import register_backup_cli
    from app.cli_cycles import register_cycles_cli

    register_cycles_cli(app)
    register_audit_cli(app)
    register_backup_cli(app)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed when the database has no people yet.")
    @click.option(
        "--with-work",
        is_flag=True,
        help="Also open this year's indicator setting (龙景街道) and last month's appraisal.",
    )
    @click.option(
        "--with-quarter",
        is_flag=True,
        help="Also simulate the last three months of logs and appraisals (app/services/demo_activity/).",
    )
    @unit_of_work
    def seed_demo_cmd(if_empty: bool, with_work: bool, with_quarter: bool) -> None:
        """Load the demo district (the six pilot units); safe to run again."""
        from app.models import Person
        from app.services.demo import seed_demo

        if if_empty and not current_app.config["LOAD_DEMO"]:
            click.echo("JIXIAO_LOAD_DEMO is off; demo not loaded.")
            return
        if if_empty and (db.session.scalar(select(func.count(Person.id))) or 0) > 0:
            click.echo("Database already has people; demo not loaded.")
            return
        counts = seed_demo(current_session())
        click.echo(
            f"Demo district ready: {counts['units']} units, {counts['people']} people, {counts['accounts']} accounts."
        )
        if with_work:
            from datetime import datetime
            from zoneinfo import ZoneInfo

            from app.services.demo import open_demo_work

            opened = open_demo_work(current_session(), datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date())
            click.echo(
                f"Demo work opened: {opened['indicator_setting']} indicator settings, "
                f"{opened['periodic_appraisal']} monthly appraisals."
            )
        if with_quarter:
            from datetime import datetime
            from pathlib import Path
            from zoneinfo import ZoneInfo

            from app.services.demo_activity import simulate_quarter

            done = simulate_quarter(
                current_session(),
                datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date(),
                evidence_store=Path(current_app.instance_path) / "evidence",
            )
            click.echo(
                f"Simulated {', '.join(done.months)}: {done.logs_on_time + done.logs_late} weekly logs "
                f"({done.logs_late} late, {done.logs_missing} missing), {done.appraisals} appraisals, "
                f"{done.steps} steps, {done.appeals} appeals, {done.bonus_items} bonus/deduction items."
            )

    @app.cli.command("demo-accounts")
    @click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
    def demo_accounts_cmd(as_json: bool) -> None:
        """Print every demo login with its roles."""
        from app.services.demo import demo_accounts

        rows = demo_accounts(current_session())
        if as_json:
            click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        _print_accounts(rows)

    @app.cli.command("settings")
    @click.option("--markdown", is_flag=True, help="As the README's configuration table.")
    def settings_cmd(markdown: bool) -> None:
        """List every setting, its environment variable, default and current value."""
        from config.settings import SETTINGS

        if markdown:
            click.echo("| Environment variable | Default | Meaning |\n|---|---|---|")
        for s in SETTINGS:
            default = "(required outside development)" if s.name == "SECRET_KEY" else s.default
            if s.name == "DATABASE_URL":
                default = "sqlite:///<checkout>/instance/jixiao.db"
            if markdown:
                click.echo(f"| `{s.env_var}` | `{default}` | {s.description} |")
            else:
                value = current_app.config.get(s.name)
                shown = "***" if s.name in {"SECRET_KEY", "SMTP_PASSWORD"} and value else value
                click.echo(f"{s.env_var:28} = {shown!s:40} {s.description}")

    @app.cli.command("scheduler")
    def scheduler_cmd() -> None:
        """Run only the scheduler (for deployments where gunicorn serves the web app)."""
        _run_scheduler_forever()

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    def serve_cmd(host: str, port: int) -> None:
        """Serve the app with its scheduler (development server; use gunicorn in production)."""
        from werkzeug.serving import run_simple

        from app.services.demo import demo_accounts

        rows = demo_accounts(current_session())
        db.session.remove()
        if rows:
            click.echo(f"Demo logins (password for all: {rows[0]['password']}):")
            _print_accounts(rows, limit=40)
        if current_app.config["SCHEDULER_ENABLED"]:
            from app.scheduler import start_scheduler

            start_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
        click.echo(f"Jixiao is serving on http://{host}:{port}/")
        run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)  # type: ignore[attr-defined]


def _run_scheduler_forever() -> None:
    import time

    from app.scheduler import start_scheduler

    start_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo("Scheduler running; Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("Scheduler stopped.")


def _print_accounts(rows: list[dict[str, Any]], limit: int | None = None) -> None:
    shown = rows if limit is None else _interesting(rows, limit)
    for row in shown:
        roles = ", ".join(
            r["role"] + (f"@{r['section'] or r['unit']}" if (r.get("section") or r.get("unit")) else "")
            for r in row["roles"]
        )
        click.echo(f"  {row['username']:18} {row['name']:6}  {roles}")
    if len(shown) < len(rows):
        click.echo(f"  … and {len(rows) - len(shown)} more: flask --app app demo-accounts")


def _interesting(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Role holders first, then plain staff, so the start-up banner shows one of each kind."""
    ranked = sorted(rows, key=lambda r: (len(r["roles"]) <= 1, rows.index(r)))
    return ranked[:limit]
