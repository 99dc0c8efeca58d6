"""The single declaration of every Jixiao setting.

Each setting has a name (the Flask config key), a default, a type and a one-line
description; its environment variable is the name with the ``JIXIAO_`` prefix.
Precedence, lowest first: defaults → per-environment overrides (``JIXIAO_ENV``) →
environment variables → ``config_overrides`` passed to ``create_app`` (tests).
The README's configuration table is generated from this list (``flask --app app settings``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "JIXIAO_"
ROOT = Path(__file__).resolve().parent.parent


def _bool(raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


def _retention_days(raw: str) -> int:
    days = int(raw)
    if days < 180:
        raise ValueError(f"audit events are kept at least 180 days, got {days}")
    return days


@dataclass(frozen=True)
class Setting:
    """One configurable value and how to read it from the environment."""

    name: str
    default: Any
    description: str
    parse: Callable[[str], Any] = str

    @property
    def env_var(self) -> str:
        return PREFIX + self.name


SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development", "Environment: development, production or testing."),
    Setting("SECRET_KEY", None, "Session signing key. Required outside development."),
    Setting(
        "DATA_KEY",
        None,
        "Base64 of 32 random bytes sealing authentication data at rest (TOTP secrets); derived from SECRET_KEY "
        "when unset, so set it before rotating SECRET_KEY.",
    ),
    Setting(
        "DATABASE_URL",
        f"sqlite:///{ROOT / 'instance' / 'jixiao.db'}",
        "SQLAlchemy URL; SQLite embedded by default, postgresql+psycopg://… to scale out.",
    ),
    Setting("DEFAULT_LOCALE", "zh_CN", "UI language when the user has not chosen one (zh_CN or en)."),
    Setting("TIMEZONE", "Asia/Shanghai", "The district's time zone; periods and schedules use it."),
    Setting("SCHEDULER_ENABLED", True, "Run the in-process scheduler (cycles, timers).", _bool),
    Setting("API_TOKEN_HOURS", 12, "Lifetime of a /api/v1 bearer token in hours.", int),
    Setting("SESSION_HOURS", 8, "Absolute lifetime of a browser session in hours.", int),
    Setting("PAGE_SIZE", 50, "Rows per page in lists.", int),
    Setting("MAX_UPLOAD_MB", 10, "Largest accepted upload (Excel, BPMN, evidence) in MiB.", int),
    Setting("APPEAL_DAYS", 5, "Days a person has to appeal an appraisal result after it is sent back to them.", int),
    Setting("COOKIE_SECURE", False, "Send cookies only over HTTPS (turn on behind TLS).", _bool),
    Setting("PASSWORD_MIN_LENGTH", 8, "Shortest accepted password.", int),
    Setting("PASSWORD_MIN_CLASSES", 3, "Character classes required (lower, upper, digit, symbol).", int),
    Setting("PASSWORD_HISTORY", 5, "How many earlier passwords cannot be reused.", int),
    Setting("PASSWORD_MAX_AGE_DAYS", 0, "Force a change after this many days; 0 = never (see README).", int),
    Setting("LOCKOUT_THRESHOLD", 5, "Failed logins in a row that lock an account.", int),
    Setting("LOCKOUT_MINUTES", 15, "How long a locked account stays locked.", int),
    Setting("ADDRESS_FAILURE_LIMIT", 20, "Failed logins from one address per lockout window, then refused.", int),
    Setting("SESSION_IDLE_MINUTES", 30, "A browser session ends after this much inactivity.", int),
    Setting("TOTP_ENABLED", False, "Offer the TOTP second factor and require it of TOTP_REQUIRED_ROLES.", _bool),
    Setting(
        "TOTP_REQUIRED_ROLES",
        "sys_admin,sec_admin,audit_admin",
        "Comma-separated roles that must enrol a second factor when TOTP_ENABLED.",
    ),
    Setting("TOTP_ISSUER", "Jixiao", "Issuer name shown by authenticator apps."),
    Setting(
        "AUDIT_RETENTION_DAYS", 180, "Audit events younger than this cannot be pruned (at least 180).", _retention_days
    ),
    Setting("LOAD_DEMO", True, "`make run` loads the demo district into an empty database.", _bool),
    # Scheduler: crontab syntax (minute hour day month weekday) in TIMEZONE; name weekdays (mon…sun).
    Setting("CRON_WEEKLY", "0 8 * * mon", "Weekly job: remind everyone of enabled units to write the week's log."),
    Setting("CRON_MONTHLY", "0 1 1 * *", "Monthly job: open periodic_appraisal for the month just ended."),
    Setting(
        "CRON_QUARTERLY",
        "0 2 1 1,4,7,10 *",
        "Quarterly job: open the evaluation rounds and remind unit administrators to publish the quarter.",
    ),
    Setting("CRON_DAILY", "0 7 * * *", "Daily job: overdue digest per person and per unit administrator."),
    Setting("CRON_TIMERS", "* * * * *", "Fire due BPMN timers (reminders, escalations)."),
    Setting("CRON_EMAIL", "* * * * *", "Send pending notification e-mails (only when SMTP_HOST is set)."),
    Setting("JOB_LEASE_MINUTES", 30, "A job run silent for this long counts as crashed and is taken over.", int),
    Setting("CYCLE_CHUNK_SIZE", 200, "People opened per commit when a cycle opens.", int),
    Setting(
        "EVALUATION_MAX_PEERS",
        0,
        "Colleagues of the same section who rate each person in an evaluation round (0: all of them).",
        int,
    ),
    Setting("EVALUATION_DAYS", 14, "Days an evaluation round opened by the scheduler stays open for ratings.", int),
    # Differentiation check (打满分赋均分): a reviewer is flagged for a month when any threshold is crossed.
    Setting("DIFF_MIN_SCORES", 3, "Scores a reviewer must have given in the month before being judged.", int),
    Setting("DIFF_FULL_MARKS_SHARE", 0.8, "Flag a reviewer when this share of their scores is at full marks.", float),
    Setting("DIFF_MIN_SPREAD", 3.0, "Flag a reviewer whose highest and lowest score lie closer (points).", float),
    Setting("DIFF_EQUAL_SHARE", 0.8, "Flag a reviewer when this share of their scores equals another one.", float),
    Setting("SMTP_HOST", "", "SMTP server for notification e-mails; empty turns e-mail off."),
    Setting("SMTP_PORT", 25, "SMTP port.", int),
    Setting("SMTP_USER", "", "SMTP login; empty sends without logging in."),
    Setting("SMTP_PASSWORD", "", "SMTP password."),
    Setting("SMTP_FROM", "jixiao@localhost", "Sender address of notification e-mails."),
    Setting("SMTP_STARTTLS", False, "Upgrade the SMTP connection with STARTTLS.", _bool),
)

ENVIRONMENTS: Mapping[str, Mapping[str, Any]] = {
    "development": {"SECRET_KEY": "dev-only-not-secret"},
    "testing": {
        "SECRET_KEY": "testing-not-secret",
        "SCHEDULER_ENABLED": False,
        "WTF_CSRF_ENABLED": True,
        "LOAD_DEMO": False,
    },
    "production": {"COOKIE_SECURE": True},
}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Resolve every setting; raise ``ConfigError`` naming the variable at fault."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    env_name = overrides.get("ENV") or environ.get(PREFIX + "ENV") or "development"
    if env_name not in ENVIRONMENTS:
        raise ConfigError(f"{PREFIX}ENV={env_name!r} is unknown; use one of {', '.join(ENVIRONMENTS)}")
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    values.update(ENVIRONMENTS[env_name])
    for s in SETTINGS:
        raw = environ.get(s.env_var)
        if raw is not None:
            try:
                values[s.name] = s.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{s.env_var}: {exc}") from exc
    values.update(overrides)
    values["ENV"] = env_name
    if not values.get("SECRET_KEY"):
        raise ConfigError(
            f"{PREFIX}SECRET_KEY is required when {PREFIX}ENV={env_name}; "
            "set it to a long random string, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return values
