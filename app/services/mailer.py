"""Notification e-mail: an outbox drained by a scheduler job, after the creating transaction committed.

E-mail is off unless ``SMTP_HOST`` is set. A message goes out when its recipient asked for
e-mail of that kind (``notification.email_wanted``, decided when it was created) and has an
address. Each message is marked sent in the same transaction that sent it; a failure is
counted and retried by the next run, at most ``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.models import Notification
from app.models.base import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_AGE = timedelta(days=2)  # older unsent messages are no longer worth an e-mail


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    sender: str = "jixiao@localhost"
    starttls: bool = False
    timeout: float = 20.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)


def send(config: SmtpConfig, to: str, subject: str, body: str) -> None:
    """Send one plain-text message (UTF-8)."""
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
        if config.starttls:
            smtp.starttls()
        if config.user:
            smtp.login(config.user, config.password)
        smtp.send_message(msg)


def send_pending(
    session: Session,
    config: SmtpConfig,
    render: Callable[[Notification], tuple[str, str]],
    *,
    now: datetime | None = None,
    limit: int = 200,
) -> dict[str, int]:
    """Send the e-mails of committed notifications that want one; returns sent/failed/no_address counts.

    ``render`` words a notification as (subject, body) in the district's language.
    """
    if not config.enabled:
        return {"sent": 0, "failed": 0, "no_address": 0}
    now = now or utcnow()
    pending = session.scalars(
        select(Notification)
        .options(joinedload(Notification.recipient))
        .where(
            Notification.email_wanted.is_(True),
            Notification.email_sent_at.is_(None),
            Notification.email_attempts < MAX_ATTEMPTS,
            Notification.created_at >= now - MAX_AGE,
        )
        .order_by(Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Notification)
    ).all()
    counts = {"sent": 0, "failed": 0, "no_address": 0}
    for item in pending:
        address = item.recipient.email if item.recipient else None
        if not address:
            item.email_attempts = MAX_ATTEMPTS  # nothing to retry until the person gives an address
            counts["no_address"] += 1
            continue
        subject, body = render(item)
        try:
            send(config, address, subject, body)
        except (OSError, smtplib.SMTPException) as exc:
            item.email_attempts += 1
            counts["failed"] += 1
            log.warning("e-mail of notification %s to %s failed: %s", item.id, address, exc)
            continue
        item.email_sent_at = utcnow()
        item.email_attempts += 1
        counts["sent"] += 1
    session.flush()
    return counts
