"""Writes for the records domain. Views and serializers parse input and call these. A check-in is stored
by monitoring.services.intake, which locks the patient, calls `checkin_store` and grades the row in the same
transaction."""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.utils import timezone

from tracker.compiled import insert_row
from tracker.errors import ConflictError, NotAllowedError
from tracker.models import CheckIn, Patient, Role, User
from tracker.models.checkins import Channel, EnteredRole
from tracker.questions import CHOICE_FIELDS, CLINICAL_FIELDS, IL2_CODES, required_fields

BLANK_AS_EMPTY = {*CHOICE_FIELDS, "note"}


@dataclass(frozen=True)
class StoredCheckin:
    checkin: CheckIn
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


def checkin_store(*, patient: Patient, question_groups: set[str], entered_by: User, channel: str, values: dict,
                  recorded_at: dt.datetime | None = None, amends: CheckIn | None = None, reason: str = "",
                  client_id: uuid.UUID | None = None) -> StoredCheckin:
    """Insert one check-in row (nothing else: grading is the caller's, monitoring.services.intake). The caller
    holds the patient's row locked until commit, so a second copy of a check-in with the same client id (a
    retry, the offline queue sent twice) waits and then finds the first; `question_groups` are the question groups
    the patient was asked (completeness). A staff member's web entry is a phone report."""
    if channel == Channel.WEB and entered_by.is_staff_member:
        channel = Channel.PHONE
    recorded_at = recorded_at or timezone.now()
    clinical = _clean(values)
    if client_id is not None:
        stored = CheckIn.objects.filter(uuid=client_id).first()
        if stored is not None:
            if stored.patient_id != patient.pk or stored.amends_id != (amends.pk if amends else None):
                raise ConflictError("A different check-in already has this id.",
                                    fields={"id": ["Already used; make a new id for a new check-in."]})
            return StoredCheckin(checkin=stored, replayed=True)
    checkin = CheckIn(
        **({"uuid": client_id} if client_id is not None else {}),
        patient=patient,
        entered_by=entered_by,
        entered_role=entered_role_for(entered_by),
        channel=channel,
        recorded_at=recorded_at,
        local_date=timezone.localtime(recorded_at, patient.tz).date(),
        is_complete=is_complete(clinical, question_groups),
        amends=amends,
        amendment_reason=reason,
        **clinical,
    )
    insert_row(checkin)  # nothing listens to a check-in's save: the SQL is made once (tracker.compiled)
    return StoredCheckin(checkin=checkin)


def checkin_amendment_values(*, original: CheckIn, entered_by: User, changes: dict) -> tuple[CheckIn, dict]:
    """The check-in a correction amends, locked, and the values of the correction (the original's, with the
    changes). A correction is a new row; the original is never changed. Raises if `entered_by` may not
    correct it or it was corrected already. Runs inside the caller's transaction."""
    original = CheckIn.objects.select_for_update(of=("self",)).select_related("patient").get(pk=original.pk)
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
    return original, values


def course_set_baseline_weight(*, course, weight_kg: str, user: User):
    """Staff enter the patient's weight before interleukin-2 (clinical-rules §9 capillary leak: the gain counts
    from it); who and when are kept on the course. Bad input raises InputError naming `weight_kg`."""
    from decimal import Decimal, InvalidOperation

    from django.utils.translation import gettext

    from tracker.errors import InputError
    from tracker.models.checkins import WEIGHT_KG_MAX, WEIGHT_KG_MIN
    from tracker.questions import parse_decimal_text

    if not user.is_staff_member:
        raise NotAllowedError(gettext("Only the care team enters a baseline weight."))
    if course.therapy.code not in IL2_CODES:
        message = gettext("A baseline weight is kept for interleukin-2 only.")
        raise InputError(message, fields={"weight_kg": [message]})
    try:
        value = Decimal(parse_decimal_text(str(weight_kg))).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or not WEIGHT_KG_MIN <= value <= WEIGHT_KG_MAX:
        message = gettext("Type the weight in kilograms, between %(min)s and %(max)s, for example 70.5.") % {
            "min": WEIGHT_KG_MIN, "max": WEIGHT_KG_MAX}
        raise InputError(message, fields={"weight_kg": [message]})
    course.baseline_weight_kg, course.baseline_weight_by, course.baseline_weight_at = value, user, timezone.now()
    course.save(update_fields=["baseline_weight_kg", "baseline_weight_by", "baseline_weight_at"])
    return course
