"""HTTP load test (`make load`): people log in, read their inbox, open and complete tasks.

Run against gunicorn on 127.0.0.1 only, bounded in time, on a database prepared by
`python -m tests.bench.prepare_load` (a synthetic district with the month opened):

    locust -f tests/bench/locustfile.py --headless -u 300 -r 10 -t 10m --host http://127.0.0.1:8000
"""

from __future__ import annotations

import os
import random
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

PASSWORD = "Bench#2026"
STAFF = int(os.environ.get("LOAD_STAFF", "10000"))


@events.init.add_listener
def _only_loopback(environment, **_kwargs):  # type: ignore[no-untyped-def]
    host = urlsplit(environment.host or "").hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"refusing to load-test {host}: only this machine (127.0.0.1) is a target")


class Person(HttpUser):
    """A staff member of the synthetic district (usernames b000000 …)."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.username = f"b{random.randrange(STAFF):06d}"
        r = self.client.post(
            "/api/v1/auth/token", json={"username": self.username, "password": PASSWORD}, name="/api/v1/auth/token"
        )
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"} if r.ok else {}

    @task(6)
    def inbox(self) -> None:
        self.client.get("/api/v1/tasks?scope=mine", headers=self.headers, name="/api/v1/tasks")

    @task(2)
    def done(self) -> None:
        self.client.get("/api/v1/tasks?scope=done", headers=self.headers, name="/api/v1/tasks?done")

    @task(1)
    def complete_one(self) -> None:
        items = self.client.get("/api/v1/tasks?scope=mine", headers=self.headers, name="/api/v1/tasks").json()
        for item in items.get("items", []):
            if item["form"] in {"period_summary", "review", "feedback_ack"}:
                self.client.get(f"/api/v1/tasks/{item['id']}", headers=self.headers, name="/api/v1/tasks/[id]")
                body = {
                    "period_summary": {"summary": "本月工作小结"},
                    "review": {"decision": "approve"},
                    "feedback_ack": {"decision": "acknowledge"},
                }[item["form"]]
                with self.client.post(
                    f"/api/v1/tasks/{item['id']}/complete",
                    json=body,
                    headers=self.headers,
                    name="/api/v1/tasks/[id]/complete",
                    catch_response=True,
                ) as r:
                    if r.status_code in (200, 409, 422):  # 409/422: someone else, or a richer form — not an error
                        r.success()
                return
