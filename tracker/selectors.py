"""Reads, always scoped to what the user may see (patients own records, caregivers linked patients,
staff their care teams' patients, administrators everything)."""

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from tracker.models import CareTeamMembership, CheckIn, Patient, Role, TreatmentCourse, User
from tracker.models.therapies import CourseStatus
from tracker.questions import audiences_for, extra_audiences


def _team_ids(user: User):
    return CareTeamMembership.objects.filter(user=user).values("team_id")


def patients_visible_to(user: User) -> QuerySet[Patient]:
    qs = Patient.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.sees_everything:
        return qs
    if user.role == Role.PATIENT:
        return qs.filter(user=user)
    if user.role == Role.CAREGIVER:
        return qs.filter(Exists(Patient.caregivers.through.objects.filter(patient=OuterRef("pk"), user=user)))
    if user.is_staff_member:
        teams = _team_ids(user)
        course_in_team = TreatmentCourse.objects.filter(patient=OuterRef("pk"), care_team_id__in=teams)
        return qs.filter(Q(care_team_id__in=teams) | Q(Exists(course_in_team)))
    return qs.none()


def checkins_visible_to(user: User, *, include_superseded: bool = False) -> QuerySet[CheckIn]:
    qs = CheckIn.objects.filter(patient__in=patients_visible_to(user).values("pk"))
    newer = CheckIn.objects.filter(amends=OuterRef("pk"))
    qs = qs.annotate(superseded_by_uuid=Subquery(newer.values("uuid")[:1]))
    if not include_superseded:
        qs = qs.filter(~Exists(newer))
    return qs


def active_therapies(patient: Patient) -> list[tuple[str, str]]:
    """(therapy code, therapy class) of the patient's active courses."""
    return list(
        patient.courses.filter(status=CourseStatus.ACTIVE).values_list(
            "therapy__code", "therapy__therapy_class"
        )
    )


def patient_audiences(patient: Patient) -> set[str]:
    """Question groups for this patient: their therapies, plus what monitoring adds (driving window...)."""
    return audiences_for(active_therapies(patient)) | extra_audiences(patient)


def logged_dates(patient: Patient, *, start: dt.date, end: dt.date) -> set[dt.date]:
    """Local dates in [start, end] that have at least one complete, current check-in."""
    newer = CheckIn.objects.filter(amends=OuterRef("pk"))
    return set(
        CheckIn.objects.filter(patient=patient, is_complete=True, local_date__range=(start, end))
        .filter(~Exists(newer))
        .values_list("local_date", flat=True)
        .distinct()
    )


def latest_checkins(patient: Patient, *, limit: int = 14) -> list[CheckIn]:
    newer = CheckIn.objects.filter(amends=OuterRef("pk"))
    return list(
        CheckIn.objects.filter(patient=patient)
        .filter(~Exists(newer))
        .select_related("entered_by")
        .order_by("-recorded_at")[:limit]
    )
