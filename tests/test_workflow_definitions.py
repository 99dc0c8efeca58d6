"""Loading BPMN safely: unsafe or unusable definitions are refused at load, naming the element.

Also the restricted evaluator the engine runs conditions and scripts with, and the
state-only serialization of running instances.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import ProcessDefinition
from app.workflow import engine as eng
from app.workflow.definitions import (
    LANE_ROLES,
    MAX_BPMN_BYTES,
    SPEC_CACHE,
    DefinitionError,
    LoadedDefinition,
    load_definition,
    sha256,
)
from app.workflow.expressions import UnsafeExpression, check_expression, check_script, evaluate, execute
from app.workflow.repository import shipped_files
from forms import FORMS

BPMN = Path(__file__).resolve().parent.parent / "bpmn"
APPRAISAL = (BPMN / "periodic_appraisal.bpmn").read_text(encoding="utf-8")
INDICATORS = (BPMN / "indicator_setting.bpmn").read_text(encoding="utf-8")
CHINESE = re.compile(r"[\u4e00-\u9fff]")

RETURN_CONDITION = "decision == 'return'</bpmn:conditionExpression>"
SCORE_REMIND_TIMER = "'P3D'</bpmn:timeDuration>"
ARCHIVE_SCRIPT = "<bpmn:script>archived = True</bpmn:script>"


def _variant(old: str, new: str, xml: str = APPRAISAL) -> str:
    """The shipped appraisal with the first ``old`` replaced (which must be there)."""
    assert old in xml, old
    return xml.replace(old, new, 1)


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _refused(xml: str | bytes) -> str:
    """Load must fail with ``DefinitionError``; the spec cache stays as it was. Returns the message."""
    cached = dict(SPEC_CACHE._items)
    with pytest.raises(DefinitionError) as info:
        load_definition(xml)
    if isinstance(xml, str):
        with pytest.raises(DefinitionError):
            SPEC_CACHE.get(sha256(xml), xml)
    assert dict(SPEC_CACHE._items) == cached
    assert info.value.problems, "a refusal lists its problems"
    return str(info.value)


# --- unsafe expressions ------------------------------------------------------------------

UNSAFE = {
    "import": "__import__('os').system('id')",
    "dunder attribute": "().__class__",
    "attribute": "decision.upper() == 'RETURN'",
    "lambda": "(lambda: decision)() == 'return'",
    "comprehension": "[d for d in decision] == ['r']",
    "open": "open('/etc/passwd') != None",
    "power": "9 ** 9 ** 9 > 0",
    "private name": "_secret == 1",
}


@pytest.mark.parametrize("expression", list(UNSAFE.values()), ids=list(UNSAFE))
def test_unsafe_gateway_condition_is_refused_naming_the_sequence_flow(expression: str) -> None:
    message = _refused(_variant(RETURN_CONDITION, _xml_text(expression) + "</bpmn:conditionExpression>"))
    assert "sequenceFlow 'f_review_return'" in message
    assert "condition" in message and "refused" in message
    assert "not allowed" in message  # says what to remove


def test_refusal_of_a_call_lists_the_functions_that_are_allowed() -> None:
    message = _refused(_variant(RETURN_CONDITION, "__import__('os').system('id')</bpmn:conditionExpression>"))
    assert "allowed: abs, all, any" in message and "len" in message


@pytest.mark.parametrize(
    "expression", [UNSAFE["import"], UNSAFE["dunder attribute"], UNSAFE["lambda"], UNSAFE["comprehension"]]
)
def test_unsafe_timer_duration_is_refused_naming_the_timer(expression: str) -> None:
    message = _refused(_variant(SCORE_REMIND_TIMER, _xml_text(expression) + "</bpmn:timeDuration>"))
    assert "tm_score_remind" in message  # the boundary timer (today via its definition's id, tm_score_remind_def)
    assert "the timer" in message and "not allowed" in message


@pytest.mark.parametrize(
    ("script", "hint"),
    [
        ("import os", "only assignments of the form 'name = expression'"),
        ("archived = __import__('os').system('id')", "not allowed"),
        ("archived = ().__class__.__bases__", "not allowed"),
        ("archived = True\nfor x in y:\n    z = x", "line 2: only assignments"),
        ("_archived = True", "the name '_archived' is not allowed"),
    ],
)
def test_unsafe_script_task_is_refused_naming_the_task(script: str, hint: str) -> None:
    message = _refused(_variant(ARCHIVE_SCRIPT, f"<bpmn:script>{_xml_text(script)}</bpmn:script>"))
    assert "scriptTask 'archive' (考核成绩备案)" in message
    assert "script is refused" in message and hint in message


def test_unsafe_service_parameter_is_refused_naming_the_service_task() -> None:
    # four service tasks have a parameter 'kind': the message must say which one is wrong
    message = _refused(_variant("value=\"'reminder'\"", "value=\"__import__('os').getcwd()\""))
    assert "parameter 'kind'" in message and "not allowed" in message
    assert "serviceTask 'remind_score'" in message


def test_every_problem_is_reported_at_once() -> None:
    xml = _variant(RETURN_CONDITION, "().__class__</bpmn:conditionExpression>")
    xml = _variant(ARCHIVE_SCRIPT, "<bpmn:script>import os</bpmn:script>", xml)
    with pytest.raises(DefinitionError) as info:
        load_definition(xml)
    assert len(info.value.problems) == 2
    assert any("f_review_return" in p for p in info.value.problems)
    assert any("scriptTask 'archive'" in p for p in info.value.problems)


# --- unsafe or unusable files ----------------------------------------------------------

XXE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
""" + APPRAISAL.split("\n", 1)[1].replace("汇总本期周记实", "&e;汇总本期周记实", 1)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" name="&lol9;" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("xml", [XXE, XXE.encode("utf-8"), BILLION_LAUGHS], ids=["xxe", "xxe-bytes", "billion-laughs"])
def test_dtd_and_entities_are_refused(xml: str | bytes) -> None:
    message = _refused(xml)
    assert "DTD or entities" in message and "<!DOCTYPE" in message
    assert "root:" not in message  # /etc/passwd was never read


def test_user_task_outside_a_role_lane_is_refused_listing_the_roles() -> None:
    message = _refused(_variant('name="section_head">', 'name="boss">'))
    assert "user task 'section_score' (股室负责人评分)" in message
    assert "lane 'boss'" in message
    for role in LANE_ROLES:
        assert role in message


def test_user_task_with_an_unknown_form_is_refused_naming_the_form() -> None:
    message = _refused(_variant('value="appraisal_score"', 'value="no_such_form"'))
    assert "user task 'section_score'" in message and "'no_such_form'" in message
    assert "appraisal_score" in message  # lists the forms that exist


def test_user_task_without_a_form_is_refused() -> None:
    task = re.search(r'<bpmn:userTask id="section_review".*?</bpmn:userTask>', INDICATORS, re.S)
    assert task is not None
    formless = re.sub(r'<spiffworkflow:property name="form" value="[^"]*" />', "", task[0])
    message = _refused(_variant(task[0], formless, INDICATORS))
    assert "user task 'section_review'" in message and "'(none)'" in message


def test_file_over_the_size_limit_is_refused() -> None:
    padding = "<!-- " + "x" * MAX_BPMN_BYTES + " -->"
    xml = APPRAISAL.replace("</bpmn:definitions>", padding + "</bpmn:definitions>")
    message = _refused(xml)
    assert "limit" in message and f"{MAX_BPMN_BYTES // 1024} KB" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not well-formed XML"),
        ("name,score\n张三,90\n", "not well-formed XML"),
        (APPRAISAL[: len(APPRAISAL) // 2], "not well-formed XML"),
        ("<html><body>not bpmn</body></html>", "root element must be bpmn:definitions"),
        ("", "not well-formed XML"),
    ],
    ids=["png", "csv", "truncated", "html", "empty"],
)
def test_non_bpmn_file_is_refused(content: str | bytes, expected: str) -> None:
    assert expected in _refused(content)


def test_file_with_two_processes_is_refused() -> None:
    second = (
        '<bpmn:process id="second" isExecutable="true"><bpmn:startEvent id="second_start" /></bpmn:process>'
        "</bpmn:definitions>"
    )
    message = _refused(APPRAISAL.replace("</bpmn:definitions>", second))
    assert "exactly one executable process; it has 2" in message


def test_service_task_other_than_notify_is_refused_naming_the_service_task() -> None:
    message = _refused(_variant('serviceTaskOperator id="notify"', 'serviceTaskOperator id="http_request"'))
    assert "serviceTask 'remind_score'" in message
    assert "'http_request' is unknown" in message and "'notify'" in message


@pytest.mark.parametrize(
    ("snippet", "what"),
    [
        ('<bpmn:multiInstanceLoopCharacteristics id="mi" />', "multi-instance"),
        ('<bpmn:standardLoopCharacteristics id="loop" />', "loop activities"),
    ],
)
def test_unsupported_constructs_are_refused(snippet: str, what: str) -> None:
    anchor = "<bpmn:outgoing>f_score</bpmn:outgoing>\n    </bpmn:userTask>"
    message = _refused(_variant(anchor, anchor.replace("</bpmn:userTask>", snippet + "</bpmn:userTask>")))
    assert what in message and "not supported" in message


def test_refused_definition_leaves_the_database_untouched(session: Any) -> None:
    before = session.scalar(select(func.count()).select_from(ProcessDefinition))
    _refused(_variant(RETURN_CONDITION, "__import__('os').system('id')</bpmn:conditionExpression>"))
    assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == before


# --- the shipped definitions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "steps"),
    [
        ("periodic_appraisal", ["submit_summary", "section_score", "leader_review", "feedback"]),
        ("indicator_setting", ["draft", "section_review", "principal_approve"]),
    ],
)
def test_shipped_definitions_load_with_role_lanes_registered_forms_and_chinese_names(
    key: str, steps: list[str]
) -> None:
    xml = shipped_files()[key].read_text(encoding="utf-8")
    loaded = load_definition(xml, f"{key}.bpmn")
    assert loaded.key == key and CHINESE.search(loaded.name)
    assert sorted(loaded.steps) == sorted(steps)
    for step in loaded.steps.values():
        assert step.lane in LANE_ROLES, step
        assert step.form in FORMS, step
        assert CHINESE.search(step.name), step
    lanes = re.findall(r'<bpmn:lane id="[^"]+" name="([^"]+)"', xml)
    assert lanes and set(lanes) <= set(LANE_ROLES)
    assert SPEC_CACHE.get(sha256(xml), xml).steps == loaded.steps


def test_shipped_files_include_the_core_processes() -> None:
    # other issues ship further processes (publication, bonus distribution, ...) beside these
    assert {"indicator_setting", "monthly_analysis", "periodic_appraisal"} <= set(shipped_files())


# --- the restricted evaluator ----------------------------------------------------------

DATA = {"decision": "return", "score": 86, "scores": [70, 95, 88], "person": {"name": "张三", "tags": ["a", "b"]}}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("decision == 'return'", True),
        ("decision != 'return'", False),
        ("score >= 60 and score < 90", True),
        ("not (score > 90) or decision == 'approve'", True),
        ("60 <= score <= 100", True),
        ("decision in ('return', 'appeal')", True),
        ("score * 2 + 10 - 6 / 3", 180.0),
        ("score // 10 % 3", 2),
        ("-score", -86),
        ("len(scores)", 3),
        ("min(scores) + max(scores)", 165),
        ("sum(scores) / len(scores) > 80", True),
        ("scores[0]", 70),
        ("scores[-1]", 88),
        ("person['name']", "张三"),
        ("person['tags'][1]", "b"),
        ("len(person['tags']) == 2", True),
        ("'A' if score >= 85 else 'B'", "A"),
        ("round(score / 3, 1)", 28.7),
        ("abs(min(scores) - 100)", 30),
        ("sorted(scores)", [70, 88, 95]),
        ("{'k': score}['k']", 86),
        ("'P' + str(score // 10) + 'D'", "P8D"),
        ("any([score > 90, decision == 'return'])", True),
    ],
)
def test_allowed_expressions_evaluate(expression: str, expected: Any) -> None:
    check_expression(expression)
    assert evaluate(expression, DATA) == expected


@pytest.mark.parametrize(
    "expression",
    [
        *UNSAFE.values(),
        "getattr(decision, 'upper')",
        "eval('1')",
        "exec('x = 1')",
        "globals()",
        "len(scores, key=1)",
        "score.__class__.__mro__",
        "{k: 1 for k in scores}",
        "(x := 1)",
        "f'{score}'",
        "'x' * 100000",
        "'" + "x" * 600 + "'",
        "",
        "   ",
        "score ==",
        "x = 1",
        "1 + " * 700 + "1",
    ],
)
def test_refused_expressions_raise_unsafe_expression(expression: str) -> None:
    with pytest.raises(UnsafeExpression):
        check_expression(expression)
    with pytest.raises(UnsafeExpression):
        evaluate(expression, DATA)


def test_large_repetition_is_bounded_at_run_time() -> None:
    with pytest.raises(Exception, match=r"long|not allowed"):
        evaluate("'ab' * 10000 * 10000", DATA)


def test_scripts_assign_in_order_and_see_earlier_results() -> None:
    data: dict[str, Any] = {"score": 80}
    execute("a = score + 1\nb = a * 2\nscore = b - a\nlabel = 'ok' if score > 80 else 'low'", data)
    assert data == {"score": 81, "a": 81, "b": 162, "label": "ok"}
    assert check_script("x = 1\ny = x") == [("x", "1"), ("y", "x")]


@pytest.mark.parametrize(
    "script",
    [
        "import os",
        "from os import system",
        "x.y = 1",
        "x, y = 1, 2",
        "x = y = 1",
        "x += 1",
        "def f(): pass",
        "for i in [1]: x = i",
        "while True: pass",
        "_x = 1",
        "x = __import__('os')",
        "x = (",
    ],
)
def test_refused_scripts_raise_unsafe_expression(script: str) -> None:
    data: dict[str, Any] = {}
    with pytest.raises(UnsafeExpression):
        execute(script, data)
    assert data == {}


def test_script_results_must_be_plain_data() -> None:
    with pytest.raises(UnsafeExpression, match="set"):
        execute("x = {1, 2}", {})


# --- state-only serialization ----------------------------------------------------------


@pytest.fixture(scope="module")
def appraisal() -> LoadedDefinition:
    return load_definition(APPRAISAL, "periodic_appraisal.bpmn")


def _running(loaded: LoadedDefinition) -> Any:
    """An appraisal waiting at the section head's scoring (timers armed)."""
    wf = eng.new_workflow(loaded, {"subject_id": 7, "period": "2026-11"}, eng.Outbox())
    eng.advance(wf)
    (submit,) = eng.ready_user_tasks(wf)
    eng.run_task(wf, submit, {"summary": "本月完成预算编制", "plan": "推进决算"})
    return wf


def test_dump_holds_the_state_only_and_is_small(appraisal: LoadedDefinition) -> None:
    wf = _running(appraisal)
    blob = eng.dump(wf)
    assert len(blob) < 4096
    text = gzip.decompress(blob).decode("utf-8")
    state = json.loads(text)
    assert "spec" not in state and "subprocess_specs" not in state
    assert "bpmn_id" not in text
    assert "依据指标和周记实评分" not in text  # the section_score documentation lives in the spec
    assert "股室负责人评分" not in text  # so does the step name
    assert "本月完成预算编制" in text  # the task data is state


def test_load_then_dump_round_trips(appraisal: LoadedDefinition) -> None:
    wf = _running(appraisal)
    blob = eng.dump(wf)
    again = eng.load(appraisal, blob, eng.Outbox())
    assert [(str(t.id), eng.task_spec_id(t)) for t in eng.ready_user_tasks(again)] == [
        (str(t.id), eng.task_spec_id(t)) for t in eng.ready_user_tasks(wf)
    ]
    assert eng.next_timer_at(again) == eng.next_timer_at(wf)
    assert json.loads(gzip.decompress(eng.dump(again))) == json.loads(gzip.decompress(blob))
    # the restored instance runs on with the restricted engine attached
    (score,) = eng.ready_user_tasks(again)
    eng.run_task(again, score, {"score": 88, "score_comment": "好"})
    assert [eng.task_spec_id(t) for t in eng.ready_user_tasks(again)] == ["leader_review"]
    (review,) = eng.ready_user_tasks(again)
    eng.run_task(again, review, {"decision": "return", "comment": "补充依据"})
    assert [eng.task_spec_id(t) for t in eng.ready_user_tasks(again)] == ["section_score"]
