"""Wording of notifications in the reader's language (the page) or the district's (e-mail).

Workflow messages store their text (step · person · period, from the BPMN). The scheduler's
messages and those of the quarterly publication (published, objection, answer) store their facts
in ``data`` and are worded here, so they read in the language of whoever reads them.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app.models import Notification
from app.web.labels import notification_kind

TEMPLATES: dict[str, LazyString] = {
    "weekly_log": _l("Write your weekly log for %(week)s."),
    "weekly_log_missing": _l("Your weekly log for %(week)s is missing; write it now (it will show as late)."),
    "publish_quarter": _l("Publish the results of %(quarter)s for %(unit)s."),
    "publication": _l("%(unit)s published the results of %(quarter)s; objections can be filed until %(until)s."),
    "objection": _l("%(unit)s %(quarter)s: %(person)s objects to the published result; please answer."),
    "objection_answer": _l("%(unit)s %(quarter)s: your objection to the published result was answered."),
    "differentiation": _l(
        "%(unit)s %(period)s: the scores given by %(reviewer)s do not differentiate; see the scoring flags."
    ),
    "overdue_digest": _l("%(count)s of your tasks are overdue (%(date)s)."),
    "overdue_unit_digest": _l("%(unit)s: %(count)s tasks are overdue (%(date)s)."),
}


def message(item: Notification) -> str:
    """The notification's sentence in the current locale."""
    template = TEMPLATES.get(item.kind)
    if template is not None and item.data:
        try:
            return str(template) % item.data
        except (KeyError, TypeError, ValueError):
            return item.text  # data from an older message shape: its stored text still reads right
    return item.text


def email_for(item: Notification) -> tuple[str, str]:
    """(subject, body) of the notification's e-mail, in the district's default language."""
    with force_locale(current_app.config["DEFAULT_LOCALE"]):
        subject = f"[{_('Jixiao')}] {notification_kind(item.kind)}"
        body = "\n\n".join(
            [
                message(item),
                _("Log in to Jixiao to see it. You get this e-mail because your message settings ask for it."),
            ]
        )
    return subject, body
