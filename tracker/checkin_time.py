"""When a reported check-in may be dated. A check-in graded by the rules as of a day before the treatment
started, or long past, finds no therapy to judge it by and comes back "nothing needs action" whatever it
says (39.6 °C and a pulse of 135 included). So what a person enters (a check-in, or a correction that moves
its time) is accepted only if it was taken:

* not in the future (CheckInInputSerializer, with a little tolerance for a phone's clock);
* not more than the center's `checkin_max_age_hours` back (monitoring's center policy, asked through the
  `checkin_time_limits` hook: the records layer does not import monitoring);
* not before the start of the patient's earliest treatment course, in the patient's time zone.

The services themselves accept any time (seeding history, imports and tests date rows as they need)."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.errors import InputError
from tracker.models import Patient
from tracker.signals import checkin_time_limits

FALLBACK_MAX_AGE_HOURS = 72  # the policy's published default, should no app answer the hook


def max_age_hours(patient: Patient) -> int:
    responses: list[object] = [answer for _receiver, answer in checkin_time_limits.send(sender=Patient, patient=patient)]
    limits = [answer.get("max_age_hours") for answer in responses if isinstance(answer, dict)]
    answers = [int(hours) for hours in limits if hours is not None]
    return min(answers) if answers else FALLBACK_MAX_AGE_HOURS


def recorded_at_error(*, patient: Patient, recorded_at: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """Why `recorded_at` cannot be accepted for this patient ('' if it can; None means "now")."""
    if recorded_at is None:
        return ""
    now = now or timezone.now()
    hours = max_age_hours(patient)
    if recorded_at < now - dt.timedelta(hours=hours):
        return _("A check-in can be dated at most %(hours)s hours back. To report older readings, call your care "
                 "team.") % {"hours": hours}
    first = patient.courses.order_by("start_date").values_list("start_date", flat=True).first()
    if first is not None and recorded_at < dt.datetime.combine(first, dt.time.min, tzinfo=patient.tz):
        return _("A check-in cannot be dated before the treatment started (%(date)s).") % {"date": first.isoformat()}
    return ""


def recorded_at_check(*, patient: Patient, recorded_at: dt.datetime | None) -> None:
    """`recorded_at_error` as an InputError naming `recorded_at` (400 in the API's error shape)."""
    error = recorded_at_error(patient=patient, recorded_at=recorded_at)
    if error:
        raise InputError(error, fields={"recorded_at": [error]})
