"""One check-in, from validated input to the answer the patient reads, in one transaction and in one place:

1. lock the patient's row (scoped to what the user may see when a request names the patient), with what
   grading reads about them (monitoring.services.context);
2. check when it may be dated (tracker.checkin_time), for what a person entered;
3. store the row (tracker.services.checkin_store);
4. grade it: rules, alerts, windows, follow-ups, the assessment (monitoring.services.assessment);
5. the caller's audit row, in the same transaction (one commit for everything);
6. after commit: `monitoring.signals.checkin_recorded` (notifications moves the next reminder on after the first
   complete check-in of a day), and, from
   the alerts service, `alert_changed` for each alert opened or changed (notifications tells the care team).

The check-in API (monitoring.api.checkins) and the check-in page (monitoring.checkin_views) call this; the
answer is a frozen `IntakeResult`, which the API's serializer renders."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from monitoring.models import CheckinAssessment
from monitoring.rules import Urgency
from monitoring.services.assessment import AlertSummary, Grade, checkin_assess
from monitoring.services.context import CheckinContext, checkin_context, checkin_context_lock
from monitoring.signals import checkin_recorded
from tracker.checkin_time import first_course_start, recorded_at_error
from tracker.errors import InputError
from tracker.models import CheckIn, Patient, Role, User
from tracker.services import checkin_amendment_values, checkin_store

# Called inside the transaction with the locked patient, before it commits (an audit row written with the
# check-in: tracker.audit.audit_write).
OnStored = Callable[[Patient], None]


@dataclass(frozen=True)
class IntakeResult:
    """A stored and graded check-in, and what the patient is told."""

    checkin: CheckIn
    urgency: str  # the label of the most urgent finding: none, routine, same-day, urgent, emergency
    instruction: str  # in the patient's language
    findings: list[dict[str, object]]
    alerts: tuple[AlertSummary, ...]
    replayed: bool = False  # a copy of a check-in stored already (same client id): nothing new was stored


def checkin_submit(*, patient: Patient, entered_by: User, channel: str, values: dict[str, object],
                   recorded_at: dt.datetime | None = None, client_id: uuid.UUID | None = None,
                   check_time: bool = False, on_stored: OnStored | None = None) -> IntakeResult:
    """Store a validated check-in for `patient` and grade it, in one transaction. With `client_id` (the id
    the phone made for it) it is stored once however often it is sent: a copy returns the stored one with
    `replayed=True`. `check_time`: refuse a `recorded_at` outside the accepted window (what a person
    entered; seeding and imports date rows as they need)."""
    with transaction.atomic():
        context = checkin_context(patient.pk)
        return _intake(context, entered_by=entered_by, channel=channel, values=values, recorded_at=recorded_at,
                       client_id=client_id, check_time=check_time, on_stored=on_stored)


def checkin_submit_for_user(*, user: User, patient_uuid: uuid.UUID | None, channel: str,
                            values: dict[str, object], recorded_at: dt.datetime | None = None,
                            client_id: uuid.UUID | None = None, on_stored: OnStored | None = None) -> IntakeResult:
    """`checkin_submit` by `user` for the patient named by `patient_uuid` among those the user may see (a
    patient or caregiver with one patient may leave it out), with the time window checked. Finding the
    patient and locking the row are one query."""
    with transaction.atomic():
        # Only a patient or caregiver may leave the patient out (the one they look after).
        named = patient_uuid is not None or user.role in (Role.PATIENT, Role.CAREGIVER)
        found = checkin_context_lock(user, patient_uuid=patient_uuid) if named else []
        if patient_uuid is not None and not found:
            raise InputError("No patient with that id is in your care.",
                             fields={"patient": ["No patient with that id is in your care."]})
        if len(found) != 1:
            raise InputError("Say which patient this check-in is for.",
                             fields={"patient": ["This field is required."]})
        return _intake(found[0], entered_by=user, channel=channel, values=values, recorded_at=recorded_at,
                       client_id=client_id, check_time=True, on_stored=on_stored)


def checkin_amend(*, original: CheckIn, entered_by: User, channel: str, changes: dict[str, object], reason: str,
                  recorded_at: dt.datetime | None = None, check_time: bool = False,
                  on_stored: OnStored | None = None) -> IntakeResult:
    """Correct a check-in: a new row that amends it, graded like any check-in; the original is never
    changed. Only staff correct what staff entered; only the latest version can be corrected."""
    with transaction.atomic():
        context = checkin_context(original.patient_id)
        original, values = checkin_amendment_values(original=original, entered_by=entered_by, changes=changes)
        return _intake(context, entered_by=entered_by, channel=channel, values=values,
                       recorded_at=recorded_at or original.recorded_at, amends=original, reason=reason,
                       check_time=check_time and recorded_at is not None, on_stored=on_stored)


def _intake(context: CheckinContext, *, entered_by: User, channel: str, values: dict[str, object],
            recorded_at: dt.datetime | None, client_id: uuid.UUID | None = None, amends: CheckIn | None = None,
            reason: str = "", check_time: bool, on_stored: OnStored | None) -> IntakeResult:
    patient = context.patient
    if check_time and recorded_at is not None:
        error = recorded_at_error(patient=patient, recorded_at=recorded_at,
                                  max_age_hours=context.policy.checkin_max_age_hours,
                                  first_course_start=first_course_start(patient))
        if error:
            raise InputError(error, fields={"recorded_at": [error]})
    stored = checkin_store(patient=patient, question_groups=context.question_groups(), entered_by=entered_by, channel=channel,
                           values=values, recorded_at=recorded_at, amends=amends, reason=reason,
                           client_id=client_id)
    if stored.replayed:
        return _replayed(stored.checkin)
    checkin = stored.checkin
    grade = checkin_assess(checkin=checkin, context=context)
    if on_stored is not None:
        on_stored(patient)
    checkin_id, patient_id, complete = checkin.pk, patient.pk, checkin.is_complete
    moves_reminders = complete and not grade.day_already_logged
    transaction.on_commit(lambda: checkin_recorded.send(sender=CheckIn, checkin_id=checkin_id, patient_id=patient_id,
                                                        is_complete=complete, moves_reminders=moves_reminders),
                          robust=True)
    return _result(checkin, grade)


def _result(checkin: CheckIn, grade: Grade, *, replayed: bool = False) -> IntakeResult:
    return IntakeResult(checkin=checkin, urgency=grade.urgency.label, instruction=grade.instruction,
                        findings=grade.findings, alerts=grade.alerts, replayed=replayed)


def _replayed(checkin: CheckIn) -> IntakeResult:
    """The answer the stored copy was given (its assessment), for a check-in sent again."""
    assessment = CheckinAssessment.objects.filter(checkin=checkin).prefetch_related("alerts").first()
    if assessment is None:
        return IntakeResult(checkin=checkin, urgency=Urgency.NONE.label, instruction="", findings=[], alerts=(),
                            replayed=True)
    alerts = tuple(AlertSummary(id=str(a.uuid), condition=a.condition, urgency=a.urgency_label, status=a.status)
                   for a in assessment.alerts.all())
    grade = Grade(urgency=Urgency(assessment.urgency), instruction=assessment.instruction,
                  findings=list(assessment.findings), alerts=alerts)
    return _result(checkin, grade, replayed=True)

