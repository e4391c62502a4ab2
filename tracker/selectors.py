"""Reads, always scoped to what the user may see (patients own records, caregivers linked patients,
staff their care teams' patients, administrators everything)."""

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from tracker.models import CareTeamMembership, CheckIn, Patient, Role, TreatmentCourse, User
from tracker.models.therapies import CourseStatus
from tracker.questions import extra_question_groups, question_groups_for


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
        # The patients of the user's teams, and those with a course run by one of them: one id list
        # (UNION), which PostgreSQL estimates about right (an OR with EXISTS it guessed at 3/4 of all
        # patients, and planned every page that filters through this for thousands of rows).
        teams = _team_ids(user)
        in_team = Patient.objects.filter(care_team_id__in=teams).values("pk")
        course_in_team = TreatmentCourse.objects.filter(care_team_id__in=teams).values("patient_id")
        return qs.filter(pk__in=in_team.union(course_in_team))
    return qs.none()


def checkins_visible_to(user: User, *, include_superseded: bool = False) -> QuerySet[CheckIn]:
    qs = CheckIn.objects.filter(patient__in=patients_visible_to(user).values("pk"))
    newer = CheckIn.objects.amendments_of(OuterRef("pk"))
    qs = qs.annotate(superseded_by_uuid=Subquery(newer.values("uuid")[:1]))
    return qs if include_superseded else qs.current()


def active_courses(patient: Patient) -> list[TreatmentCourse]:
    """The patient's active courses with their therapies, oldest first."""
    return list(active_courses_query().filter(patient=patient))


def active_courses_query() -> QuerySet[TreatmentCourse]:
    return TreatmentCourse.objects.filter(status=CourseStatus.ACTIVE).select_related("therapy").order_by("pk")


def active_therapies(patient: Patient) -> list[tuple[str, str]]:
    """(therapy code, therapy class) of the patient's active courses."""
    return [(c.therapy.code, c.therapy.therapy_class) for c in active_courses(patient)]


def patient_question_groups(patient: Patient) -> set[str]:
    """Question groups for this patient: their therapies, plus what monitoring adds (driving window...)."""
    return question_groups_for(active_therapies(patient)) | extra_question_groups(patient)


def logged_dates(patient: Patient, *, start: dt.date, end: dt.date) -> set[dt.date]:
    """Local dates in [start, end] that have at least one complete, current check-in."""
    return set(
        CheckIn.objects.current().filter(patient=patient, is_complete=True, local_date__range=(start, end))
        .values_list("local_date", flat=True)
        .distinct()
    )


def latest_checkins(patient: Patient, *, limit: int = 14) -> list[CheckIn]:
    return list(
        CheckIn.objects.current().filter(patient=patient)
        .select_related("entered_by")
        .order_by("-recorded_at")[:limit]
    )
