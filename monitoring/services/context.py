"""What storing and grading one check-in reads, read once and passed along: the patient's row locked until
commit, with the center, its policy, the active courses, the no-driving windows and whether a follow-up is
open. Built by `checkin_context_lock` inside the check-in's transaction."""

from __future__ import annotations

import datetime as dt
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
from tracker.models import Patient, TreatmentCourse
from tracker.models.therapies import CourseStatus, TherapyClass
from tracker.questions import CARVYKTI, DRIVING, INTERFERON, question_groups_for
from tracker.selectors import active_courses_query


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
    patient (a scan's notifications) need not wait. The center's policy and the open follow-ups come in the
    same query."""
    open_followups = FollowUp.objects.filter(patient=OuterRef("pk"), answered_by__isnull=True)
    interferon = ended_interferon_courses().filter(patient=OuterRef("pk"))
    locked = (patients.select_for_update(no_key=True, of=("self",)).select_related("center")
              .annotate(open_followups=Exists(open_followups),
                        ended_interferon_code=Subquery(interferon.values("therapy__code")[:1]),
                        ended_interferon_last_dose=Subquery(interferon.values(last=last_dose())[:1])))
    if connection.vendor != "postgresql":  # the quick start's SQLite: the policy is read on its own
        return locked
    settings = (PolicySetting.objects.filter(center_id=OuterRef("center_id")).order_by().values("center_id")
                .annotate(rows=JSONBAgg(JSONObject(name="name", value="value"))).values("rows"))
    return locked.annotate(policy_settings=Subquery(settings))


def checkin_context_lock(patients: QuerySet[Patient], *, limit: int = 1) -> list[CheckinContext]:
    """The contexts of (at most `limit` of) `patients`, each row locked until the end of the current
    transaction: one check-in graded at a time per patient, so concurrent check-ins cannot open duplicate
    alerts. `patients` is usually scoped to what the user may see, so the visibility check and the lock are
    one query."""
    contexts = []
    for patient in _locking(patients)[:limit]:
        courses = tuple(active_courses_query().filter(patient=patient))
        windows: tuple[Window, ...] = ()
        if any(c.therapy.therapy_class == TherapyClass.CAR_T for c in courses):  # only CAR T courses have windows
            windows = tuple(Window.objects.filter(course__patient=patient, course__status=CourseStatus.ACTIVE,
                                                  kind=WindowKind.DRIVING))
        contexts.append(CheckinContext(
            patient=patient, courses=courses, driving_windows=windows,
            policy=(policy_from_settings(patient.policy_settings or []) if hasattr(patient, "policy_settings")
                    else policy_for_center(patient.center)),
            has_open_followups=bool(getattr(patient, "open_followups", False)),  # annotated by _locking
            ended_interferon=_ended_interferon(patient),
        ))
    return contexts


def _ended_interferon(patient: Patient) -> tuple[str, dt.date] | None:
    """The finished interferon course `_locking` annotated: (its code, its last dose), or None."""
    last: dt.date | None = getattr(patient, "ended_interferon_last_dose", None)
    return None if last is None else (str(getattr(patient, "ended_interferon_code", "")), last)


def checkin_context(patient_id: int) -> CheckinContext:
    """`checkin_context_lock` of one patient by id."""
    return checkin_context_lock(Patient.objects.filter(pk=patient_id))[0]
