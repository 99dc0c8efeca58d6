"""Start templates (issue 10): a cloned start state is the state the engine itself would have produced."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.workflow import engine as eng
from app.workflow import start_template
from app.workflow.definitions import LoadedDefinition, load_definition

BPMN = Path(__file__).resolve().parent.parent / "bpmn"
APPRAISAL = (BPMN / "periodic_appraisal.bpmn").read_text(encoding="utf-8")
FIRST_TASK_PROPERTIES = '<spiffworkflow:property name="due" value="P5D" />\n        </spiffworkflow:properties>'


def _shape(state: bytes) -> Any:
    """The state with task ids numbered in order of appearance and state-change times dropped."""
    data = json.loads(gzip.decompress(state))
    order: dict[str, str] = {}

    def task_id(m: re.Match[str]) -> str:
        return order.setdefault(m.group(0), f"task{len(order)}")

    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", task_id, json.dumps(data))
    shaped = json.loads(text)
    for task in shaped["tasks"].values():
        task.pop("last_state_change")
    return shaped


def _fresh(loaded: LoadedDefinition, subject_id: int, period: str) -> tuple[bytes, list[str]]:
    wf = eng.new_workflow(loaded, {"subject_id": subject_id, "period": period}, eng.Outbox())
    eng.advance(wf)
    return eng.dump(wf), [eng.task_spec_id(t) for t in eng.ready_user_tasks(wf)]


@pytest.mark.parametrize("path", sorted(BPMN.glob("*.bpmn")), ids=lambda p: p.stem)
def test_a_rendered_start_is_the_state_the_engine_produces(path: Path) -> None:
    loaded = load_definition(path.read_text(encoding="utf-8"), path.name)
    template = start_template.build(loaded, "2026-10")
    if template is None:  # a process that computes before its first user task runs the engine per person
        return
    rendered = template.render(4711)
    fresh, fresh_ready = _fresh(loaded, 4711, "2026-10")
    assert _shape(rendered.state) == _shape(fresh)
    assert [spec for _id, spec in rendered.ready] == fresh_ready
    # the clone runs on like any instance: same tasks after completing the first one
    wf = eng.load(loaded, rendered.state, eng.Outbox())
    assert wf.data == {"subject_id": 4711, "period": "2026-10"}
    assert [str(t.id) for t in eng.ready_user_tasks(wf)] == [engine_id for engine_id, _spec in rendered.ready]


def test_the_shipped_appraisal_and_indicator_processes_are_cloned() -> None:
    for name in ("periodic_appraisal", "indicator_setting"):
        loaded = load_definition((BPMN / f"{name}.bpmn").read_text(encoding="utf-8"))
        assert start_template.build(loaded, "2026") is not None, name


def test_every_rendered_instance_has_its_own_task_ids_and_its_own_subject() -> None:
    template = start_template.build(load_definition(APPRAISAL), "2026-10")
    assert template is not None
    first, second = template.render(1), template.render(2)
    assert not {i for i, _ in first.ready} & {i for i, _ in second.ready}
    for engine_id, _spec in first.ready:  # well-formed random UUIDs, as the engine makes them
        parsed = uuid.UUID(engine_id)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, engine_id)
    ids = set(json.loads(gzip.decompress(first.state))["tasks"]) & set(
        json.loads(gzip.decompress(second.state))["tasks"]
    )
    assert not ids
    assert json.loads(gzip.decompress(second.state))["data"]["subject_id"] == 2


def test_a_pre_script_before_the_first_wait_makes_the_engine_run_per_person() -> None:
    xml = APPRAISAL.replace(
        FIRST_TASK_PROPERTIES,
        FIRST_TASK_PROPERTIES + "\n        <spiffworkflow:preScript>note = subject_id</spiffworkflow:preScript>",
        1,
    )
    assert xml != APPRAISAL
    assert start_template.build(load_definition(xml), "2026-10") is None


def test_a_timer_on_the_first_step_makes_the_engine_run_per_person() -> None:
    xml = APPRAISAL.replace(
        'cancelActivity="false" attachedToRef="section_score"',
        'cancelActivity="false" attachedToRef="submit_summary"',
        1,
    )
    assert xml != APPRAISAL
    assert start_template.build(load_definition(xml), "2026-10") is None
