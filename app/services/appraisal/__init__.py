"""Periodic appraisal (平时考核): weekly logs, monthly summaries, scoring, review, feedback, archive.

- ``common``: the policy (appeal window, time zone, low-score share), periods and weeks, who may read.
- ``logs``: writing and reading weekly logs, evidence, leaders' comments.
- ``weeks``: on-time / late / missing weeks, the section overview, a period's entries by indicator.
- ``records``: the appraisal record of a process instance, its lookups and the archive guard.
- ``scoring``: per-item scores, the total and its formula, the justification rules.
- ``flow``: the task handlers and the listener that tie the record to ``periodic_appraisal.bpmn``.
"""
