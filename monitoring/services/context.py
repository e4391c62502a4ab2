"""What storing and grading one check-in reads, read once and passed along: the patient's row locked until
commit, with the center, its policy, the active courses, the no-driving windows and whether a follow-up is
open. Built by `checkin_context_lock` inside the check-in's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.contrib.postgres.aggregates import JSONBAgg
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone

from monitoring.models import FollowUp, PolicySetting, Window, WindowKind
from monitoring.rules.engine import IL2_PRODUCTS
from monitoring.rules.policy import Policy
from monitoring.selectors import policy_for_center, policy_from_settings
from tracker.compiled import CompiledQuery, JSONArray, from_json, json_of
from tracker.models import Patient, Role, Therapy, TreatmentCourse, User
from tracker.models.therapies import CourseStatus, TherapyClass
from tracker.questions import CARVYKTI, DRIVING, INTERFERON, question_groups_for
from tracker.selectors import active_courses_query, patients_visible_to


@dataclass(frozen=True)
class CheckinContext:
    """The patient (locked for this transaction) and what grading reads about them."""

    patient: Patient
    courses: tuple[TreatmentCourse, ...]  # active, with their therapies, oldest first
    driving_windows: tuple[Window, ...]  # of the active courses, cleared ones too
    policy: Policy  # the center's
    has_open_followups: bool
    # clinical-rules §9 interferon alfa: the most recent finished interferon course (its code and last dose),
    # watched up to 6 months after the last dose
    ended_interferon: tuple[str, dt.date] | None = None

    def question_groups(self, today: dt.date | None = None) -> set[str]:
        """The question groups asked today (in the patient's time zone): the therapies' and monitoring's."""
        today = today or timezone.localtime(timezone.now(), self.patient.tz).date()
        therapies = [(c.therapy.code, c.therapy.therapy_class) for c in self.courses]
        return question_groups_for(therapies) | monitoring_extra_groups(
            today=today, courses=self.courses, driving_windows=self.driving_windows, policy=self.policy,
            ended_interferon=self.ended_interferon)

    def interferon_watch_days_left(self, today: dt.date) -> int | None:
        """Days since the last dose of a finished interferon course, while still watched (§9), else None."""
        return interferon_days_after(self.ended_interferon, today, self.policy)


def interferon_days_after(ended: tuple[str, dt.date] | None, today: dt.date, policy: Policy) -> int | None:
    """clinical-rules §9 interferon alfa, "up to 6 months after the last dose": the days since the last dose of
    a finished interferon course if still within the watch (policy.interferon_watch_days), else None."""
    if ended is None:
        return None
    days = (today - ended[1]).days
    return days if 0 <= days <= policy.interferon_watch_days else None


def ended_interferon_courses() -> QuerySet[TreatmentCourse]:
    """Finished interferon courses, most recent last dose first (clinical-rules §9: any cytokine that is not
    interleukin-2 counts, as in the rules)."""
    return (TreatmentCourse.objects.filter(status__in=(CourseStatus.COMPLETED, CourseStatus.STOPPED),
                                           therapy__therapy_class=TherapyClass.CYTOKINE)
            .exclude(therapy__code__in=IL2_PRODUCTS)
            .order_by(last_dose().desc()))


def last_dose() -> Coalesce:
    """A course's last dose: its last dose date, else its start."""
    return Coalesce("last_dose_date", "start_date")


def monitoring_extra_groups(*, today: dt.date, courses, driving_windows, policy: Policy,
                            ended_interferon: tuple[str, dt.date] | None = None) -> set[str]:
    """Question groups monitoring adds: the driving question inside a no-driving window (clinical-rules §3),
    the late-neurotoxicity questions through day 100 of Carvykti (§2), the interferon mood questions up to 6
    months after a finished interferon course (§9)."""
    extra: set[str] = set()
    if interferon_days_after(ended_interferon, today, policy) is not None:
        extra.add(INTERFERON)
    if any(w.is_active_on(today) for w in driving_windows):
        extra.add(DRIVING)
    carvykti_start = next((c.start_date for c in courses if c.therapy.code == "carvykti"), None)
    if carvykti_start is not None and (today - carvykti_start).days <= policy.carvykti_late_neuro_days:
        extra.add(CARVYKTI)
    return extra


def _locking(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Lock the patient's row only (not the center's), as FOR NO KEY UPDATE: rows that merely refer to the
    patient (a scan's notifications) need not wait. On PostgreSQL the center's policy, the active courses with
    their therapies and the no-driving windows come in the same query (JSON, read by `_context`); the open
    follow-ups always do."""
    open_followups = FollowUp.objects.filter(patient=OuterRef("pk"), answered_by__isnull=True)
    interferon = ended_interferon_courses().filter(patient=OuterRef("pk"))
    locked = (patients.select_for_update(no_key=True, of=("self",)).select_related("center")
              .annotate(open_followups=Exists(open_followups),
                        ended_interferon_code=Subquery(interferon.values("therapy__code")[:1]),
                        ended_interferon_last_dose=Subquery(interferon.values(last=last_dose())[:1])))
    if connection.vendor != "postgresql":  # the quick start's SQLite: each is read on its own
        return locked
    settings = (PolicySetting.objects.filter(center_id=OuterRef("center_id")).order_by().values("center_id")
                .annotate(rows=JSONBAgg(JSONObject(name="name", value="value"))).values("rows"))
    courses = (active_courses_query().filter(patient=OuterRef("pk")).order_by().values("patient")
               .annotate(rows=JSONBAgg(JSONArray(json_of(TreatmentCourse), json_of(Therapy, "therapy__")),
                                       order_by="pk"))
               .values("rows"))
    windows = (Window.objects.filter(course__patient=OuterRef("pk"), course__status=CourseStatus.ACTIVE,
                                     kind=WindowKind.DRIVING)
               .order_by().values("course__patient").annotate(rows=JSONBAgg(json_of(Window))).values("rows"))
    return locked.annotate(policy_settings=Subquery(settings), course_rows=Subquery(courses),
                           driving_window_rows=Subquery(windows))


def _course_from(row: list) -> TreatmentCourse:
    course = from_json(TreatmentCourse, row[0])
    course.therapy = from_json(Therapy, row[1])
    return course


# The queries every check-in runs, compiled once (tracker.compiled): by id (the pages, corrections), and for a
# patient's or caregiver's own check-in, scoped to the patients they may see (tracker.selectors), with or
# without the patient's uuid. Staff check-ins are scoped through their teams (a list whose length varies) and
# take the plain queryset.
_SENTINEL_ID, _SENTINEL_UUID = -7_770_001, uuid.UUID("00000000-0000-4000-8000-000000777001")
_BY_ID = CompiledQuery(lambda patient_id: _locking(Patient.objects.filter(pk=patient_id))[:1],
                       patient_id=_SENTINEL_ID)
_COURSES = CompiledQuery(lambda patient_id: active_courses_query().filter(patient_id=patient_id),
                         patient_id=_SENTINEL_ID)
_DRIVING_WINDOWS = CompiledQuery(
    lambda patient_id: Window.objects.filter(course__patient_id=patient_id, course__status=CourseStatus.ACTIVE,
                                             kind=WindowKind.DRIVING),
    patient_id=_SENTINEL_ID)


def _own_query(role: str, by_uuid: bool) -> CompiledQuery:
    def visible(user_id: int) -> QuerySet[Patient]:
        return patients_visible_to(User(pk=user_id, role=role, is_active=True))

    if by_uuid:
        return CompiledQuery(lambda user_id, patient_uuid: _locking(visible(user_id).filter(uuid=patient_uuid))[:1],
                             user_id=_SENTINEL_ID, patient_uuid=_SENTINEL_UUID)
    return CompiledQuery(lambda user_id: _locking(visible(user_id))[:2], user_id=_SENTINEL_ID)


_OWN: dict[tuple[str, bool], CompiledQuery] = {
    (role, by_uuid): _own_query(role, by_uuid) for role in (Role.PATIENT, Role.CAREGIVER) for by_uuid in (False, True)
}


def _context(patient: Patient) -> CheckinContext:
    # The annotations of _locking: on PostgreSQL the courses, windows and policy came with the lock.
    read = {name: getattr(patient, name, None) or [] for name in ("course_rows", "driving_window_rows",
                                                                  "policy_settings")}
    if hasattr(patient, "course_rows"):
        courses = tuple(_course_from(row) for row in read["course_rows"])
        windows = tuple(from_json(Window, row) for row in read["driving_window_rows"])
        policy = policy_from_settings(read["policy_settings"])
    else:
        courses = tuple(_COURSES.fetch(patient_id=patient.pk))
        windows = ()
        if any(c.therapy.therapy_class == TherapyClass.CAR_T for c in courses):  # only CAR T courses have windows
            windows = tuple(_DRIVING_WINDOWS.fetch(patient_id=patient.pk))
        policy = policy_for_center(patient.center)
    return CheckinContext(patient=patient, courses=courses, driving_windows=windows, policy=policy,
                          has_open_followups=bool(getattr(patient, "open_followups", False)),  # annotated by _locking
                          ended_interferon=_ended_interferon(patient))


def checkin_context_lock(user: User, *, patient_uuid: uuid.UUID | None) -> list[CheckinContext]:
    """The contexts of the patients `user` may see (the one named by `patient_uuid`; else at most two, for a
    patient or caregiver who need not name the one they look after), each row locked until the end of the
    current transaction: one check-in graded at a time per patient, so concurrent check-ins cannot open
    duplicate alerts. The visibility check and the lock are one query."""
    own = _OWN.get((user.role, patient_uuid is not None)) if not user.sees_everything else None
    if own is not None and user.is_active:
        found = own.fetch(user_id=user.pk, **({"patient_uuid": patient_uuid} if patient_uuid else {}))
    else:
        visible = patients_visible_to(user)
        found = list(_locking(visible.filter(uuid=patient_uuid))[:1] if patient_uuid else _locking(visible)[:2])
    return [_context(patient) for patient in found]


def _ended_interferon(patient: Patient) -> tuple[str, dt.date] | None:
    """The finished interferon course `_locking` annotated: (its code, its last dose), or None."""
    last: dt.date | None = getattr(patient, "ended_interferon_last_dose", None)
    return None if last is None else (str(getattr(patient, "ended_interferon_code", "")), last)


def checkin_context(patient_id: int) -> CheckinContext:
    """The context of one patient by id, its row locked until the end of the current transaction."""
    return _context(_BY_ID.fetch(patient_id=patient_id)[0])
