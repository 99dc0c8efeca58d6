"""Prepare the database of the HTTP load test: a synthetic district with the month opened.

python -m tests.bench.prepare_load --staff 10000   # uses JIXIAO_DATABASE_URL
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.services.actor import SYSTEM
from app.services.cycles import open_cycle
from tests.bench import synthetic

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--staff", type=int, default=10_000)
    args = parser.parse_args()
    app = create_app({"ENV": "testing", "SCHEDULER_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        synthetic.build(db.session, args.staff)
        db.session.commit()
        summary = open_cycle(db.session, SYSTEM, "periodic_appraisal", "2026-10", checkpoint=db.session.commit)
        db.session.commit()
        print(f"prepared {args.staff} people, opened {summary.opened} appraisals")


if __name__ == "__main__":
    main()
