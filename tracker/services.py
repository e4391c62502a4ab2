"""Writes for the records domain. Views and serializers parse input and call these."""

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from tracker.errors import ConflictError, NotAllowedError
from tracker.models import CheckIn, Patient, Role, User
from tracker.models.checkins import Channel, EnteredRole
from tracker.questions import CHOICE_FIELDS, CLINICAL_FIELDS, required_fields
from tracker.selectors import patient_for_checkin, patient_question_groups
from tracker.signals import checkin_recorded

BLANK_AS_EMPTY = {*CHOICE_FIELDS, "note"}


@dataclass
class CheckinResult:
    checkin: CheckIn
    assessments: list = field(default_factory=list)  # whatever checkin_recorded receivers returned
    replayed: bool = False  # the client sent a check-in id that was stored already: nothing new was stored


def entered_role_for(user: User) -> str:
    if user.role == Role.PATIENT:
        return EnteredRole.PATIENT
    if user.role == Role.CAREGIVER:
        return EnteredRole.CAREGIVER
    return EnteredRole.STAFF


def is_complete(values: dict, question_groups: set[str]) -> bool:
    return all(values.get(name) not in (None, "") for name in required_fields(question_groups))


def _clean(values: dict) -> dict:
    cleaned = {name: values.get(name) for name in CLINICAL_FIELDS}
    for name in BLANK_AS_EMPTY:
        if cleaned[name] is None:
            cleaned[name] = ""
    return cleaned


def _record(*, patient: Patient, entered_by: User, channel: str, values: dict, recorded_at: dt.datetime | None,
            amends: CheckIn | None = None, reason: str = "", client_id: uuid.UUID | None = None) -> CheckinResult:
    recorded_at = recorded_at or timezone.now()
    clinical = _clean(values)
    patient = patient_for_checkin(patient.pk)  # locked until commit; receivers grade with this instance
    if client_id is not None:
        # The patient's row is locked, so a second copy of this check-in (a retry, the offline queue sent
        # twice) waits here and then finds the first.
        stored = CheckIn.objects.filter(uuid=client_id).first()
        if stored is not None:
            if stored.patient_id != patient.pk or stored.amends_id != (amends.pk if amends else None):
                raise ConflictError("A different check-in already has this id.",
                                    fields={"id": ["Already used; make a new id for a new check-in."]})
            return CheckinResult(checkin=stored, replayed=True)
    checkin = CheckIn.objects.create(
        **({"uuid": client_id} if client_id is not None else {}),
        patient=patient,
        entered_by=entered_by,
        entered_role=entered_role_for(entered_by),
        channel=channel,
        recorded_at=recorded_at,
        local_date=timezone.localtime(recorded_at, patient.tz).date(),
        is_complete=is_complete(clinical, patient_question_groups(patient)),
        amends=amends,
        amendment_reason=reason,
        **clinical,
    )
    responses = checkin_recorded.send(sender=CheckIn, checkin=checkin)
    return CheckinResult(checkin=checkin, assessments=[r for _, r in responses if r is not None])


@transaction.atomic
def checkin_submit(*, patient: Patient, entered_by: User, channel: str, values: dict,
                   recorded_at: dt.datetime | None = None, client_id: uuid.UUID | None = None) -> CheckinResult:
    """Store a validated check-in and let monitoring grade it, all in one transaction. With `client_id` (the
    id the phone made for it) the check-in is stored once however often it is sent: a copy of one stored
    already returns that one with `replayed=True`."""
    if channel == Channel.WEB and entered_by.is_staff_member:
        channel = Channel.PHONE
    return _record(patient=patient, entered_by=entered_by, channel=channel, values=values, recorded_at=recorded_at,
                   client_id=client_id)


@transaction.atomic
def checkin_amend(*, original: CheckIn, entered_by: User, channel: str, changes: dict, reason: str,
                  recorded_at: dt.datetime | None = None) -> CheckinResult:
    """Correct a check-in by storing a new row that amends it; the original is never changed."""
    original = CheckIn.objects.select_for_update().select_related("patient").get(pk=original.pk)
    if original.entered_role == EnteredRole.STAFF and not entered_by.is_staff_member:
        # What the care team entered (a phone check-in, or their correction) is theirs to correct: the
        # dashboard and the charts show it.
        raise NotAllowedError("Only the care team can correct a check-in a staff member entered.",
                              fields={"id": ["Entered by the care team; call them to correct it."]})
    newer = original.amendments.order_by("-submitted_at").first()
    if newer is not None:
        raise ConflictError(
            "This check-in was already corrected; amend the latest version.",
            fields={"id": [f"Latest version: {newer.uuid}"]},
        )
    values = {name: getattr(original, name) for name in CLINICAL_FIELDS}
    values.update({name: value for name, value in changes.items() if name in CLINICAL_FIELDS})
    if channel == Channel.WEB and entered_by.is_staff_member:
        channel = Channel.PHONE
    return _record(
        patient=original.patient, entered_by=entered_by, channel=channel, values=values,
        recorded_at=recorded_at or original.recorded_at, amends=original, reason=reason,
    )
