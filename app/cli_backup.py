"""``flask --app app backup`` and ``flask --app app restore``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app

from app.extensions import db
from app.services.backup import backup, restore
from app.services.errors import Invalid


def _known_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    migrations = Path(__file__).resolve().parent.parent / "migrations"
    cfg = Config(str(migrations / "alembic.ini"))
    cfg.set_main_option("script_location", str(migrations))
    return {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}


def register_backup_cli(app: Flask) -> None:
    @app.cli.command("backup")
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Where to write the backup (default: instance/backups/jixiao-<time>.<ext>).",
    )
    def backup_cmd(output: Path | None) -> None:
        """Write a consistent backup of the database (SQLite online backup, or pg_dump)."""
        ext = "db" if db.engine.dialect.name == "sqlite" else "dump"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = output or Path(current_app.instance_path) / "backups" / f"jixiao-{stamp}.{ext}"
        try:
            result = backup(db.engine, path)
        except Invalid as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"backup written: {result.path} ({result.size} bytes, schema {result.schema_revision})")

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def restore_cmd(source: Path, yes: bool) -> None:
        """Replace the database's content by a backup. Stop the app servers first."""
        if not yes:
            click.confirm(f"Replace everything in the database by {source}?", abort=True)
        db.session.remove()
        try:
            revision = restore(db.engine, source, _known_revisions())
        except Invalid as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"restored {source} (schema {revision}); run `flask --app app db upgrade` if it is older")
