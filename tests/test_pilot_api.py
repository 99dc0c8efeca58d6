"""A pilot unit's whole quarter through the JSON API (issue 5): the smallest pilot unit, 机关事务管理中心
(jgsw: a leadership team and two sections, fifteen people), runs the three months of the last quarter —
weekly logs, the monthly summary, scoring, the leader's review, feedback with one appeal, the archive —
then the quarter: a comprehensive evaluation round, bonus and deduction items (one person over the cap),
results checked against the formula recomputed here from the raw numbers, grades refused over the 好
quota and confirmed with a choice, publication with an objection, the bonus distribution and its
payroll sheet. One reviewer gives a whole section full marks in the last month and is flagged.

Only the month's opening goes through the cycles service (there is no API for it: the scheduler, the
CLI or the office page opens a cycle); everything else is what a client of /api/v1 does. No clock is
faked: the quarter is the one before today, so every week of it has started and the appeal and
publicity windows open today.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from app.models import OrgUnit, UserAccount
from app.services import cycles
from app.services.actor import actor_for_user
from app.services.appraisal import common
from app.services.demo import DEMO_PASSWORD
from tests.test_appraisal_logs import PDF

UNIT = "jgsw"
APPRAISAL = "periodic_appraisal"
D = Decimal


def previous_quarter(today: date) -> str:
    q = (today.month - 1) // 3 + 1
    return f"{today.year - 1}-Q4" if q == 1 else f"{today.year}-Q{q - 1}"


QUARTER = previous_quarter(common.local_today())
YEAR, Q = int(QUARTER[:4]), int(QUARTER[-1])
MONTHS = [f"{YEAR}-{3 * Q - 2 + n:02d}" for n in range(3)]

# The section heads' monthly scores (one per month). jgsw106's first month is below 60 and the
# whole of section 2 gets full marks in the last month: both need a justification. The leader in
# charge lowers jgsw104's first month; jgsw105 appeals the first month and is re-scored.
SCORES: dict[str, tuple[int, int, int]] = {
    "jgsw_principal": (88, 87, 89),
    "jgsw_leader1": (86, 85, 87),
    "jgsw_leader2": (85, 86, 84),
    "jgsw101": (91, 90, 92),
    "jgsw102": (93, 94, 92),
    "jgsw103": (89, 90, 88),
    "jgsw104": (84, 83, 85),
    "jgsw105": (80, 81, 79),
    "jgsw106": (58, 72, 74),
    "jgsw201": (90, 91, 90),
    "jgsw202": (94, 95, 100),
    "jgsw203": (92, 93, 100),
    "jgsw204": (91, 92, 100),
    "jgsw205": (90, 91, 100),
    "jgsw206": (88, 89, 100),
}
ADJUSTED = ("jgsw104", 82)  # first month, by the leader in charge, with a reason
APPEAL = ("jgsw105", 83)  # first month: re-scored after the appeal
# Evaluation: the leaders rate everyone RATING[ratee] on every dimension, colleagues two points less,
# everyone rates themself 100.
RATING = {u: 90 + n % 3 for n, u in enumerate(SCORES)}
CHECKED = "jgsw103"  # whose total is recomputed here; bonus 3 + 4 (over the cap of 5) and a deduction of 1


def q2(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Api:
    """A /api/v1 client speaking as any of the unit's people (a token per username)."""

    client: Any
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    person_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = self.client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.get_json()
            self.tokens[username] = {"Authorization": f"Bearer {r.get_json()['token']}"}
            me = self.client.get("/api/v1/me", headers=self.tokens[username]).get_json()
            self.person_ids[username] = me["person_id"]
        return self.tokens[username]

    def person(self, username: str) -> int:
        self.headers(username)
        return self.person_ids[username]

    def username(self, person_id: int) -> str:
        return next(u for u, p in self.person_ids.items() if p == person_id)

    def get(self, username: str, url: str, status: int = 200, **query: Any) -> Any:
        r = self.client.get(url, headers=self.headers(username), query_string=query)
        assert r.status_code == status, (url, r.status_code, r.get_json())
        return r.get_json() if r.is_json else r.data

    def send(self, username: str, url: str, body: dict[str, Any] | None = None, status: int = 200, **query: Any) -> Any:
        r = self.client.post(url, headers=self.headers(username), json=body or {}, query_string=query)
        assert r.status_code == status, (url, r.status_code, r.get_json())
        return r.get_json()

    def complete(self, username: str, task_id: int, body: dict[str, Any], status: int = 200) -> Any:
        return self.send(username, f"/api/v1/tasks/{task_id}/complete", body, status)

    def inbox(self, username: str, process: str, period: str, step: str | None = None) -> list[dict[str, Any]]:
        """The user's 待办 and 可认领 tasks of a process and period (optionally one step)."""
        found = []
        for scope in ("mine", "claimable"):
            page = self.get(username, "/api/v1/tasks", scope=scope, process=process, period=period, per_page=200)
            found += [t for t in page["items"] if step is None or t["step_id"] == step]
        return found

    def waiting(self, usernames: list[str], process: str, period: str, step: str) -> list[tuple[str, dict[str, Any]]]:
        """Every open task of a step, each with the first of ``usernames`` who may act on it."""
        seen: dict[int, tuple[str, dict[str, Any]]] = {}
        for username in usernames:
            for task in self.inbox(username, process, period, step):
                seen.setdefault(task["id"], (username, task))
        return list(seen.values())


def score_body(score: int, note: str = "按月度工作完成情况评分") -> dict[str, Any]:
    body: dict[str, Any] = {"score": score, "score_comment": note}
    if score >= 100 or score < 60:
        body["justification"] = "依据周记实和月小结逐项核对，附佐证材料"
    return body


# --- the month ------------------------------------------------------------------------------------


@dataclass
class Month:
    period: str
    records: dict[str, dict[str, Any]]  # username → the archived record
    scored_by: dict[str, str]  # username → who scored
    closed: dict[str, tuple[str, int]]  # step → (who completed it, a completed task), to try again


def run_month(api: Api, session: Any, unit: OrgUnit, admin: str, n: int, *, first: bool = False) -> Month:
    people = list(SCORES)
    month = MONTHS[n]
    month_weeks = common.weeks_of_period(month)
    for username in people:
        for w, week in enumerate(month_weeks):
            entries = [{"content": f"{username} {week} 第{w + 1}周重点工作推进", "progress": min(100, 25 * (w + 1))}]
            api.send(username, "/api/v1/logs", {"week": week, "entries": entries})

    # the cycle opens the month for every active person of the unit (scheduler, CLI or office page)
    account = session.scalar(select(UserAccount).where(UserAccount.username == admin))
    opened = cycles.open_cycle(session, actor_for_user(session, account), APPRAISAL, month, unit.id)
    session.commit()
    assert (opened.opened, opened.already_open) == (len(people), 0)

    closed: dict[str, tuple[str, int]] = {}
    for username in people:
        [task] = api.inbox(username, APPRAISAL, month, "submit_summary")
        detail = api.get(username, f"/api/v1/tasks/{task['id']}")
        prefill = detail["data"]["prefill"]
        assert all(f"{username} {week}" in prefill for week in month_weeks), prefill
        assert {w["status"] for w in detail["data"]["log_weeks"]} <= {"late", "on_time"}
        api.complete(username, task["id"], {"summary": prefill + "\n存在不足：调研不够深入", "plan": "下月计划"})
        closed["submit_summary"] = (username, task["id"])

    scored_by: dict[str, str] = {}
    for scorer, task in api.waiting(people, APPRAISAL, month, "section_score"):
        subject = api.username(task["subject"]["id"])
        score = SCORES[subject][n]
        if score >= 100 or score < 60:  # full or low marks without a justification are refused
            refused = api.complete(scorer, task["id"], {"score": score, "score_comment": "x"}, status=422)
            assert "justification" in refused["error"]["fields"]
        api.complete(scorer, task["id"], score_body(score))
        scored_by[subject] = scorer
        closed["section_score"] = (scorer, task["id"])
    assert set(scored_by) == set(people)

    for reviewer, task in api.waiting(people, APPRAISAL, month, "leader_review"):
        subject = api.username(task["subject"]["id"])
        body: dict[str, Any] = {"decision": "approve", "comment": "同意"}
        if first and subject == ADJUSTED[0]:
            shown = api.get(reviewer, f"/api/v1/tasks/{task['id']}")["data"]
            assert shown["score"] == SCORES[subject][0]
            refused = api.complete(reviewer, task["id"], {**body, "adjusted_score": ADJUSTED[1]}, status=422)
            assert "adjust_reason" in refused["error"]["fields"]
            body |= {"adjusted_score": ADJUSTED[1], "adjust_reason": "与同岗位人员相比偏高"}
        api.complete(reviewer, task["id"], body)
        closed["leader_review"] = (reviewer, task["id"])

    appellant = APPEAL[0] if first else None
    for username in people:
        [task] = api.inbox(username, APPRAISAL, month, "feedback")
        shown = api.get(username, f"/api/v1/tasks/{task['id']}")["data"]
        expected = ADJUSTED[1] if first and username == ADJUSTED[0] else SCORES[username][n]
        assert shown["score"] == expected
        if username == appellant:
            api.complete(username, task["id"], {"decision": "appeal", "appeal_reason": "防汛值班加班未计入"})
        else:
            api.complete(username, task["id"], {"decision": "acknowledge"})
            closed["feedback"] = (username, task["id"])

    if appellant is not None:
        [(scorer, task)] = api.waiting(people, APPRAISAL, month, "section_score")
        assert scorer == scored_by[appellant] and api.username(task["subject"]["id"]) == appellant
        assert api.get(scorer, f"/api/v1/tasks/{task['id']}")["data"]["appeal_reason"] == "防汛值班加班未计入"
        api.complete(scorer, task["id"], score_body(APPEAL[1], "复核后补记加班"))
        [(reviewer, task)] = api.waiting(people, APPRAISAL, month, "leader_review")
        api.complete(reviewer, task["id"], {"decision": "approve", "comment": "复核属实"})
        [task] = api.inbox(appellant, APPRAISAL, month, "feedback")
        assert api.get(appellant, f"/api/v1/tasks/{task['id']}")["data"]["score"] == APPEAL[1]
        api.complete(appellant, task["id"], {"decision": "acknowledge"})

    records: dict[str, dict[str, Any]] = {}
    for username in people:
        mine = api.get(username, "/api/v1/appraisals", year=YEAR)["items"]
        [record] = [r for r in mine if r["period"] == month]
        records[username] = record
        assert record["status"] == "archived" and record["archived_at"], record
        assert record["acknowledged_at"] and record["summary"].endswith("调研不够深入")
        instance = api.get(username, f"/api/v1/process-instances/{record['instance_id']}")
        assert instance["status"] == "completed" and instance["open_tasks"] == []
    return Month(month, records, scored_by, closed)


def final_score(username: str, n: int) -> Decimal:
    if n == 0 and username == ADJUSTED[0]:
        return D(ADJUSTED[1])
    if n == 0 and username == APPEAL[0]:
        return D(APPEAL[1])
    return D(SCORES[username][n])


# --- the quarter's pieces ---------------------------------------------------------------------------


def propose_bonus(api: Api, proposer: str, subject: str, kind: str, points: float, day: date) -> dict[str, Any]:
    body = {"kind": kind, "points": points, "occurred_on": day.isoformat(), "reason": f"{kind} 事项"}
    if proposer != subject:
        body["person_id"] = api.person(subject)
    item = api.send(proposer, "/api/v1/bonus-items", body, status=201)
    r = api.client.post(
        f"/api/v1/bonus-items/{item['id']}/evidence",
        headers=api.headers(proposer),
        data={"evidence": (io.BytesIO(PDF), "证明材料.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    return item


def approve_bonus(api: Api, item: dict[str, Any], people: list[str]) -> None:
    """Through the item's flow: the section head's check (when the person proposed it), the principal's decision."""
    while True:
        waiting = [
            (u, t)
            for step in ("section_check", "principal_decide")
            for u, t in api.waiting(people, "bonus_deduction", item["quarter"], step)
            if t["instance_id"] == item["instance_id"]
        ]
        if not waiting:
            break
        [(username, task)] = waiting
        if task["step_id"] == "section_check":
            api.complete(username, task["id"], {"decision": "forward", "comment": "情况属实"})
        else:
            api.complete(username, task["id"], {"decision": "approve", "comment": "同意"})
    got = api.get(people[-1], f"/api/v1/bonus-items/{item['id']}")  # the principal
    assert got["status"] == "approved", got


def rate_everyone(api: Api, people: list[str], quarter: str) -> None:
    for rater in people:
        [task] = api.inbox(rater, "evaluation_rating", quarter, "rate")
        ratees = api.get(rater, f"/api/v1/tasks/{task['id']}")["data"]["evaluation"]["ratees"]
        ratings = []
        for row in ratees:
            ratee = api.username(row["ratee_id"])
            value = {"self": 100, "leader": RATING[ratee], "peer": RATING[ratee] - 2}[row["group"]]
            ratings.append(
                {"ratee_id": row["ratee_id"], "scores": dict.fromkeys(("de", "neng", "qin", "ji", "lian"), value)}
            )
        if rater == people[0]:  # a sheet with a gap is refused and nothing is stored
            api.complete(rater, task["id"], {"ratings": ratings[1:]}, status=422)
        api.complete(rater, task["id"], {"ratings": ratings})


def expected_evaluation(username: str) -> Decimal:
    """E from the ratings given above: leaders 0.5, colleagues 0.3, self 0.2 (groups present only)."""
    groups = {"leader": D("0.5"), "peer": D("0.3"), "self": D("0.2")}
    value = {"self": D(100), "leader": D(RATING[username]), "peer": D(RATING[username] - 2)}
    return q2(sum(groups[g] * value[g] for g in groups))


# --- the test -------------------------------------------------------------------------------------


def test_a_pilot_unit_runs_a_whole_quarter_through_the_api(client, session) -> None:
    api = Api(client)
    people = list(SCORES)
    for username in people:
        api.headers(username)
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == UNIT))
    admin, principal = "jgsw102", "jgsw_principal"
    admin_roles = api.get(admin, "/api/v1/me")["roles"]
    assert any("unit_admin" in str(role) for role in admin_roles), admin_roles

    # --- month 1: logs, summaries, scores, one adjustment, one appeal, all archived ------------------
    first = run_month(api, session, unit, admin, 0, first=True)
    adjusted = first.records[ADJUSTED[0]]
    assert (adjusted["score"], adjusted["adjusted_score"], adjusted["final_score"]) == (84, 82, 82)
    assert adjusted["adjust_reason"] == "与同岗位人员相比偏高"
    appealed = first.records[APPEAL[0]]
    assert [(a["reason"], a["score_before"], a["score_after"]) for a in appealed["appeals"]] == [
        ("防汛值班加班未计入", 80, 83)
    ]
    assert first.records["jgsw106"]["justification"]  # a score below 60 carries its justification
    assert first.scored_by["jgsw103"] == "jgsw101" and first.scored_by["jgsw101"] == "jgsw_leader1"
    assert first.scored_by["jgsw_leader1"] == principal  # the leaders' own month: scored by the principal

    # an archived record refuses every change the API offers
    week = common.weeks_of_period(first.period)[0]
    r = client.post("/api/v1/logs", headers=api.headers("jgsw103"), json={"week": week, "entries": []})
    assert r.status_code == 409 and "archived" in r.get_json()["error"]["message"]
    for step, body in (
        ("submit_summary", {"summary": "改写小结"}),
        ("section_score", score_body(95)),
        ("leader_review", {"decision": "approve", "adjusted_score": 99, "adjust_reason": "再调"}),
        ("feedback", {"decision": "appeal", "appeal_reason": "再申诉"}),
    ):
        who, task_id = first.closed[step]
        api.complete(who, task_id, body, status=409)
    r = client.post(
        f"/api/v1/processes/{APPRAISAL}/start", headers=api.headers("jgsw103"), json={"period": first.period}
    )
    assert r.status_code == 409  # the month cannot be opened a second time
    record = api.get("jgsw103", f"/api/v1/appraisals/{first.records['jgsw103']['id']}")
    assert (record["status"], record["final_score"]) == ("archived", SCORES["jgsw103"][0])

    # --- months 2 and 3 --------------------------------------------------------------------------------
    run_month(api, session, unit, admin, 1)
    third = run_month(api, session, unit, admin, 2)
    assert {third.scored_by[u] for u in ("jgsw202", "jgsw203", "jgsw204", "jgsw205", "jgsw206")} == {"jgsw201"}

    # the differentiation flag: section 2's head gave everyone full marks in the last month, nobody else
    flags = api.get(admin, "/api/v1/results/flags", period=third.period, unit_id=unit.id)["flags"]
    assert [(f["reviewer_id"], f["scored"], f["full_share"]) for f in flags] == [(api.person("jgsw201"), 5, 1.0)]
    assert any("full marks" in reason for reason in flags[0]["reasons"])
    for month in MONTHS[:2]:
        assert api.get(admin, "/api/v1/results/flags", period=month, unit_id=unit.id)["flags"] == []
    api.get("jgsw103", "/api/v1/results/flags", status=403, period=third.period, unit_id=unit.id)

    # --- the evaluation round: every rater's sheet through the task API ---------------------------------
    opened = api.send(admin, "/api/v1/evaluation/rounds", {"unit_id": unit.id, "period": QUARTER}, status=201)
    assert opened["raters"] == len(people) and opened["processes_opened"] == len(people)
    rate_everyone(api, people, QUARTER)
    completion = api.get(admin, f"/api/v1/evaluation/rounds/{opened['id']}/completion")
    assert (completion["raters_done"], completion["raters_total"]) == (len(people), len(people))
    api.send(admin, f"/api/v1/evaluation/rounds/{opened['id']}/close")

    # --- bonus and deduction items through their flow; one person over the quarter's cap ---------------
    day = date(YEAR, 3 * Q - 1, 15)
    items = [
        propose_bonus(api, CHECKED, CHECKED, "innovation", 3, day),
        propose_bonus(api, CHECKED, CHECKED, "information", 4, day),
        propose_bonus(api, "jgsw101", CHECKED, "criticism", 1, day),  # a deduction, proposed by the head
        propose_bonus(api, "jgsw204", "jgsw204", "commendation", 2, day),
    ]
    assert items[2]["direction"] == "deduction" and items[0]["quarter"] == QUARTER
    approvers = ["jgsw101", "jgsw201", principal]
    for item in items:
        approve_bonus(api, item, approvers)
    counted = api.get(CHECKED, f"/api/v1/people/{api.person(CHECKED)}/counted-points", quarter=QUARTER)
    assert (D(str(counted["bonus_raw"])), D(str(counted["bonus_counted"]))) == (D(7), D(5)), counted
    assert D(str(counted["deduction_counted"])) == D(1) and counted["capped_note"]

    # --- results: the total against the formula, recomputed here from the raw numbers -------------------
    computed = api.send(admin, f"/api/v1/results/units/{unit.id}/compute", period=QUARTER)["results"]
    by_person = {api.username(r["person_id"]): r for r in computed}
    assert set(by_person) == set(people)
    checked = by_person[CHECKED]
    indicator = q2(sum(final_score(CHECKED, n) for n in range(3)) / 3)
    evaluation = expected_evaluation(CHECKED)
    total = q2(indicator * D("0.8") + evaluation * D("0.2") + D(5) - D(1))
    assert (D(checked["indicator_score"]), D(checked["evaluation_score"])) == (indicator, evaluation)
    assert (D(checked["bonus_points"]), D(checked["deduction_points"]), D(checked["total"])) == (D(5), D(1), total)
    assert checked["formula"].endswith(f"= {total:.2f}") and checked["sources"]["bonus_raw"] == "7.00"
    assert D(by_person[ADJUSTED[0]]["sources"]["months"][MONTHS[0]]) == ADJUSTED[1]  # the leader's adjustment
    assert D(by_person[APPEAL[0]]["sources"]["months"][MONTHS[0]]) == APPEAL[1]  # the score after the appeal
    assert all(r["status"] == "draft" for r in computed)

    # --- grades: over the 好 quota the confirmation is refused with the candidates, then made with a choice
    state = api.get(admin, f"/api/v1/results/units/{unit.id}", period=QUARTER)
    quota = state["quota"]
    assert (quota["graded"], quota["cap"]) == (15, 6) and quota["holders"] > quota["cap"]
    assert state["missing"] == []
    refused = api.send(admin, f"/api/v1/results/units/{unit.id}/confirm", period=QUARTER, status=409)["error"]
    candidates = refused["candidates"]
    assert refused["cap"] == 6 and len(candidates) == quota["holders"]
    assert [c["rank"] for c in candidates] == list(range(1, len(candidates) + 1))
    assert [D(c["total"]) for c in candidates] == sorted((D(c["total"]) for c in candidates), reverse=True)
    too_many = {str(c["person_id"]): "good" for c in candidates}
    api.send(admin, f"/api/v1/results/units/{unit.id}/confirm", {"choices": too_many}, period=QUARTER, status=409)
    choices = {str(c["person_id"]): "good" if c["rank"] <= 6 else "fairly_good" for c in candidates}
    confirmed = api.send(admin, f"/api/v1/results/units/{unit.id}/confirm", {"choices": choices}, period=QUARTER)
    grades = {api.username(r["person_id"]): r["grade"] for r in confirmed["results"]}
    assert sum(1 for g in grades.values() if g == "good") == 6
    assert all(r["status"] == "confirmed" for r in confirmed["results"])
    dropped = [c for c in candidates if c["rank"] > 6]
    assert all(grades[api.username(c["person_id"])] == "fairly_good" for c in dropped)
    api.send(admin, f"/api/v1/results/units/{unit.id}/compute", period=QUARTER, status=409)  # frozen
    mine = api.get(CHECKED, "/api/v1/results/mine")["results"]
    assert [(r["period"], D(r["total"])) for r in mine] == [(QUARTER, total)]

    # --- publication: prepared by the administrator, approved by the principal; an objection answered ---
    pub = api.send(admin, "/api/v1/publications", {"unit_id": unit.id, "period": QUARTER}, status=201)
    assert pub["status"] == "draft" and len(pub["rows"]) == len(people)
    [(who, task)] = api.waiting([admin], "publication", QUARTER, "prepare")
    api.complete(who, task["id"], {"note": "请审批本季度考核结果公示"})
    [task] = api.inbox(principal, "publication", QUARTER, "approve")
    api.complete(principal, task["id"], {"decision": "approve", "comment": "同意公示"})
    pub = api.get(admin, f"/api/v1/publications/{pub['id']}")
    assert pub["status"] == "published" and pub["objections_until"]
    row = api.get(APPEAL[0], "/api/v1/publications/mine", period=QUARTER)["row"]
    objection = api.send(
        APPEAL[0], f"/api/v1/publications/rows/{row['id']}/objections", {"text": "七月份加班未计入"}, status=201
    )
    other_row = next(r for r in pub["rows"] if r["person"]["id"] != api.person(APPEAL[0]))
    api.send(APPEAL[0], f"/api/v1/publications/rows/{other_row['id']}/objections", {"text": "x"}, status=403)
    api.send(APPEAL[0], f"/api/v1/publications/objections/{objection['id']}/answer", {"answer": "x"}, status=403)
    answered = api.send(
        admin, f"/api/v1/publications/objections/{objection['id']}/answer", {"answer": "已复核，申诉后分数已计入"}
    )
    assert answered["answered_at"] and answered["answered_by"]
    row = api.get(APPEAL[0], "/api/v1/publications/mine", period=QUARTER)["row"]
    assert [o["answer"] for o in row["objections"]] == ["已复核，申诉后分数已计入"]

    # --- the bonus distribution: sums to the pool exactly, confirmed, exported to payroll ---------------
    pool = D("100000.00")
    dist = api.send(
        admin, "/api/v1/distributions", {"unit_id": unit.id, "period": QUARTER, "pool": "100000.00"}, status=201
    )
    amounts = {s["person"]["staff_no"]: D(s["amount"]) for s in dist["shares"]}
    assert len(amounts) == len(people) and sum(amounts.values()) == pool
    coefficients = {s["person"]["staff_no"]: D(s["coefficient"]) for s in dist["shares"]}
    factor = D(dist["grade_coefficients"][grades[CHECKED]])
    assert dist["method"] == "score_x_grade" and coefficients[CHECKED] == total * factor
    api.get(admin, f"/api/v1/distributions/{dist['id']}/export.xlsx", status=409)  # not confirmed yet
    [(who, task)] = api.waiting([admin], "bonus_distribution", QUARTER, "prepare")
    api.complete(who, task["id"], {"note": "请确认奖金分配"})
    [task] = api.inbox(principal, "bonus_distribution", QUARTER, "approve")
    api.complete(principal, task["id"], {"decision": "approve", "comment": "同意"})
    dist = api.get(admin, f"/api/v1/distributions/{dist['id']}")
    assert dist["status"] == "confirmed"
    api.send(admin, f"/api/v1/distributions/{dist['id']}/compute", {"pool": "1.00"}, status=409)
    sheet = load_workbook(io.BytesIO(api.get(admin, f"/api/v1/distributions/{dist['id']}/export.xlsx")))
    rows = list(sheet.worksheets[0].iter_rows(values_only=True))
    body, footer = rows[1:-1], rows[-1]
    assert {r[0]: q2(D(str(r[6]))) for r in body} == amounts
    assert q2(D(str(footer[6]))) == pool
