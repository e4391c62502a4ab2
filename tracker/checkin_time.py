"""When a reported check-in may be dated. A check-in graded by the rules as of a day before the treatment
started, or long past, finds no therapy to judge it by and comes back "nothing needs action" whatever it
says (39.6 °C and a pulse of 135 included). So what a person enters (a check-in, or a correction that moves
its time) is accepted only if it was taken:

* not in the future (CheckInInputSerializer, with a little tolerance for a phone's clock);
* not more than `max_age_hours` back (the caller passes the center's `checkin_max_age_hours` policy:
  monitoring.services.intake, which has the policy loaded with the locked patient);
* not before the start of the patient's earliest treatment course, in the patient's time zone.

The services themselves accept any time (seeding history, imports and tests date rows as they need)."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.models import Patient


def recorded_at_error(*, patient: Patient, recorded_at: dt.datetime | None, max_age_hours: int,
                      first_course_start: dt.date | None, now: dt.datetime | None = None) -> str:
    """Why `recorded_at` cannot be accepted for this patient ('' if it can; None means "now").
    `first_course_start` is the start of the patient's earliest treatment course (None without one)."""
    if recorded_at is None:
        return ""
    now = now or timezone.now()
    if recorded_at < now - dt.timedelta(hours=max_age_hours):
        return _("A check-in can be dated at most %(hours)s hours back. To report older readings, call your care "
                 "team.") % {"hours": max_age_hours}
    if first_course_start is not None and recorded_at < dt.datetime.combine(first_course_start, dt.time.min,
                                                                            tzinfo=patient.tz):
        return _("A check-in cannot be dated before the treatment started (%(date)s).") % {
            "date": first_course_start.isoformat()}
    return ""


def first_course_start(patient: Patient) -> dt.date | None:
    return patient.courses.order_by("start_date").values_list("start_date", flat=True).first()
