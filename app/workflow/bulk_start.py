"""Starting one process for many people at once (cycle opening): a few statements per chunk, not per person.

Why: ``runtime.start_process`` runs the engine, guards the insert with a SAVEPOINT and writes the
instance, its history row, task, candidates, notifications and the domain's record one by one —
about eleven statements per person. Opening a district's month starts thousands of identical
processes, so here the engine state comes from a start template (``start_template``: the engine
runs once per definition and period) and every table is written with one multi-row INSERT per chunk.

Exactly once: the instances are inserted with ``INSERT … ON CONFLICT DO NOTHING … RETURNING`` on
the unique key (process, subject, period, revision). A row that another transaction inserted first
— a concurrent opener; PostgreSQL makes this insert wait for it to end — is not returned, and
nothing else is written for it: it counts as already open. All rows go into the caller's
transaction; nothing here commits.

Same rows as the one-by-one path: task rows from ``mirror.task_values``, the ``started`` history
row as ``mirror.record`` writes it, notifications by the recipients' preferences as
``notifications.notify`` creates them, and the domain's start listeners (``hooks.notify_started``).
People whose definition has no template (a script or timer before the first user task) and other
databases than SQLite and PostgreSQL go through ``runtime.start_process`` one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Table, insert
from sqlalchemy.orm import Session

from app.models import (
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    Notification,
    Person,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
)
from app.models.base import utcnow
from app.services import notifications
from app.services.actor import Actor
from app.services.errors import T_, Forbidden
from app.workflow import assignment, hooks, mirror, repository, runtime, start_template
from app.workflow.definitions import LoadedDefinition
from app.workflow.start_template import StartTemplate

# One person's start: the subject, the definition (row and parsed) and the rendered engine state.
Plan = tuple[Person, ProcessDefinition, LoadedDefinition, start_template.Rendered]


@dataclass
class BulkOutcome:
    opened: int = 0
    already_open: int = 0


def _insert_or_ignore(session: Session, table: Table) -> Insert | None:
    """An INSERT that skips rows violating a unique key, or ``None`` where the database has none we use."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return None


class BulkStarter:
    """Starts ``process_key`` for ``period`` for chunk after chunk of people, in the caller's transaction.

    Keeps the start templates between chunks (a definition version never changes; ``period`` is fixed).
    """

    def __init__(self, session: Session, actor: Actor, process_key: str, period: str) -> None:
        self.session, self.actor = session, actor
        self.process_key, self.period = process_key, period
        self._templates: dict[int, StartTemplate | None] = {}
        self._insert = _insert_or_ignore(session, ProcessInstance.__table__)  # type: ignore[arg-type]

    def _template(self, definition: ProcessDefinition, loaded: LoadedDefinition) -> StartTemplate | None:
        if self._insert is None:
            return None
        if definition.id not in self._templates:
            self._templates[definition.id] = start_template.build(loaded, self.period)
        return self._templates[definition.id]

    def start(self, subjects: Sequence[Person], definitions: Mapping[int, ProcessDefinition]) -> BulkOutcome:
        """Start the process for each subject (none of whom had an instance when the caller looked).

        ``definitions`` maps each subject's id to the active definition for the subject's unit.
        """
        outcome = BulkOutcome()
        for subject in subjects:
            if not runtime.may_start_for(self.actor, subject):  # the one rule of runtime.start_process
                raise Forbidden(T_("You may start a process only for yourself or for people of a unit you administer."))
        plans: list[Plan] = []
        for subject in subjects:
            definition = definitions[subject.id]
            loaded = repository.loaded(definition)
            template = self._template(definition, loaded)
            if template is None:  # the engine must run for this person
                created = runtime.start_process(
                    self.session,
                    self.actor,
                    self.process_key,
                    self.period,
                    subject.id,
                    definition=definition,
                    known_absent=True,
                ).created
                outcome.opened += int(created)
                outcome.already_open += int(not created)
            else:
                plans.append((subject, definition, loaded, template.render(subject.id)))
        if plans:
            created_ids = self._write(plans)
            outcome.opened += len(created_ids)
            outcome.already_open += len(plans) - len(created_ids)
        return outcome

    def _write(self, plans: list[Plan]) -> set[int]:
        """Insert the instances and, for those this transaction created, everything that belongs to them."""
        conn = self.session.connection()
        now = utcnow()
        instance_rows = [
            {
                "definition_id": definition.id,
                "process_key": self.process_key,
                "subject_id": subject.id,
                "period": self.period,
                "revision": 0,
                "status": InstanceStatus.running,
                "state": rendered.state,
                "next_timer_at": None,
                "started_by_id": self.actor.person_id,
                "created_at": now,
                "version_id": 1,
            }
            for subject, definition, _loaded, rendered in plans
        ]
        assert self._insert is not None
        table = ProcessInstance.__table__
        inserted = conn.execute(self._insert.returning(table.c.id, table.c.subject_id), instance_rows).all()
        instance_of = {subject_id: instance_id for instance_id, subject_id in inserted}
        events: list[dict[str, Any]] = []
        tasks: list[dict[str, Any]] = []
        recipients: dict[str, list[tuple[int, str, int]]] = {}  # kind → (instance, text, person) in order
        candidates_of: dict[str, tuple[int, ...]] = {}
        started: list[hooks.Started] = []
        for subject, _definition, loaded, rendered in plans:
            instance_id = instance_of.get(subject.id)
            if instance_id is None:
                continue  # opened by a concurrent transaction
            events.append(
                {
                    "instance_id": instance_id,
                    "step_id": "start",
                    "step_name": loaded.name,
                    "kind": "started",
                    "actor_id": self.actor.person_id,
                    "at": now,
                    "decision": None,
                    "comment": None,
                    "details": None,
                }
            )
            unit_id, section_id = assignment.subject_scope(subject)
            forms = []
            for engine_task_id, spec_id in rendered.ready:
                step = loaded.steps[spec_id]
                who = assignment.resolve(self.session, step.lane, subject)
                values = mirror.task_values(instance_id, self.process_key, self.period, engine_task_id, step, who, now)
                tasks.append({**values, "subject_id": subject.id, "unit_id": unit_id, "section_id": section_id})
                candidates_of[engine_task_id] = who.person_ids
                text = mirror.task_text(step, subject, self.period)
                kind = mirror.notification_kind(step, None)
                recipients.setdefault(kind, []).extend((instance_id, text, p) for p in dict.fromkeys(who.person_ids))
                forms.append(step.form)
            started.append(
                hooks.Started(instance_id, self.process_key, subject.id, self.period, now, False, tuple(forms))
            )
        if not started:
            return set()
        conn.execute(insert(InstanceEvent), events)
        task_ids = dict(
            (engine_id, task_id)
            for task_id, engine_id in conn.execute(
                insert(HumanTask).returning(HumanTask.id, HumanTask.engine_task_id), tasks
            )
        )
        candidate_rows = [
            {"task_id": task_ids[engine_id], "person_id": p}
            for engine_id, people in candidates_of.items()
            for p in people
        ]
        if candidate_rows:
            conn.execute(insert(TaskCandidate), candidate_rows)
        notes = self._notifications(recipients)
        if notes:
            conn.execute(insert(Notification), notes)
        hooks.notify_started(self.session, self.process_key, started)
        return {s.instance_id for s in started}

    def _notifications(self, recipients: dict[str, list[tuple[int, str, int]]]) -> list[dict[str, Any]]:
        """The rows ``notifications.notify`` creates for these messages: by preference, none if both are off."""
        rows = []
        for kind, messages in recipients.items():
            prefs = notifications.preferences(self.session, [p for _i, _t, p in messages], kind)
            for instance_id, text, person_id in messages:
                in_app, email = prefs.get(person_id, notifications.DEFAULT)
                if not (in_app or email):
                    continue
                rows.append(
                    {
                        "recipient_id": person_id,
                        "kind": kind,
                        "text": text[:500],
                        "link": None,
                        "instance_id": instance_id,
                        "data": None,
                        "dedupe_key": None,
                        "in_app": in_app,
                        "email_wanted": email,
                        "created_at": utcnow(),
                    }
                )
        return rows
