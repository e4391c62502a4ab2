"""Windows keyed to each recorded dose of a T-cell engager (clinical-rules §8): recomputed from the course's
current doses when a dose is recorded or corrected (tracker.signals dose_recorded / dose_corrected), opened by a
neurologic finding (no driving until a physician clears it), and re-monitoring after a grade 2 CRS or any ICANS.
The rules are monitoring/rules/dose_windows.py; every change is a WindowEvent."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from monitoring.models import DoseWindow, DoseWindowKind, RemonitorRequest, WindowEvent
from monitoring.rules import dose_windows as rules
from monitoring.selectors import policy_for_center
from tracker.dose_plans import DoseSchedule
from tracker.dose_services import course_doses
from tracker.errors import ConflictError, InputError, NotAllowedError
from tracker.models import CheckIn, Role, TreatmentCourse, User
from tracker.models.doses import DoseSetting


def _facts(course: TreatmentCourse, schedule: DoseSchedule) -> tuple[list[rules.DoseFact], dict[int, set[int]]]:
    """The current doses as rule facts, and for each the ids of every version of its record (to follow a
    window whose dose was corrected)."""
    facts, versions = [], {}
    for view in course_doses(course):
        dose, step = view.dose, view.step
        supervised = dose.setting == DoseSetting.INPATIENT or dose.kept_for_monitoring
        facts.append(rules.DoseFact(
            key=dose.pk, step_code=dose.step_code, started_at=dose.started_at, ended_at=dose.ended_at,
            step_up=bool(step and step.step_up), monitor_hours=step.monitor_hours if step else 0,
            monitor_from=step.monitor_from if step else "start", nearby_hours=step.nearby_hours if step else None,
            supervised=supervised, in_template=step is not None))
        versions[dose.pk] = {dose.pk, *(h.pk for h in view.history)}
    return facts, versions


def _restart_hours(schedule: DoseSchedule) -> int | None:
    """How long a continuous infusion is monitored after an interruption of 4 h or more (clinical-rules §8): the
    template's restart step (not in §8: policy, 48 h by default)."""
    step = schedule.step(RESTART_STEP) if schedule.continuous_infusion else None
    return step.monitor_hours if step else None


RESTART_STEP = "infusion_restart"


def _event(window: DoseWindow, kind: str, *, old: dt.datetime | None, note: str, user: User | None = None,
           checkin: CheckIn | None = None) -> None:
    WindowEvent.objects.create(dose_window=window, kind=kind, actor=user, checkin=checkin, old_closes_at=old,
                               new_closes_at=window.closes_at, note=note)


@transaction.atomic
def dose_windows_recompute(*, course_id: int) -> list[DoseWindow]:
    """Bring the course's dose windows in line with its current doses; returns the windows in force (not
    withdrawn). A window whose dose was corrected moves with it (event MOVED); one no current dose opens any
    more is withdrawn (event WITHDRAWN)."""
    course = (TreatmentCourse.objects.select_for_update(of=("self",)).select_related("therapy", "patient__center")
              .get(pk=course_id))
    schedule = DoseSchedule.from_json(course.therapy.dose_schedule)
    if schedule is None:
        return []
    policy = policy_for_center(course.patient.center)
    facts, versions = _facts(course, schedule)
    requests = list(RemonitorRequest.objects.filter(course=course).order_by("raised_at"))
    step_ups = [s.code for s in schedule.steps if s.step_up]
    specs = rules.dose_windows(
        facts, last_step_up_code=step_ups[-1] if step_ups else None,
        continuous_infusion=schedule.continuous_infusion, driving_hours=policy.step_up_driving_hours,
        remonitor_after=[r.raised_at for r in requests], restart_monitor_hours=_restart_hours(schedule))
    current_of = {old: cur for cur, ids in versions.items() for old in ids}
    existing = {}
    for window in DoseWindow.objects.select_for_update().filter(course=course, dose__isnull=False,
                                                                 withdrawn_at__isnull=True):
        existing[(window.kind, current_of.get(window.dose_id))] = window
    kept = []
    for spec in specs:
        window = existing.pop((spec.kind, spec.dose_key), None)
        if window is None:
            window = DoseWindow.objects.create(
                course=course, kind=spec.kind, dose_id=spec.dose_key, reason=spec.reason, opens_at=spec.opens_at,
                closes_at=spec.closes_at, supervised=spec.supervised)
            _event(window, WindowEvent.Kind.CREATED, old=None,
                   note=f"Opened by dose {spec.dose_key} ({spec.reason}; clinical-rules §8).")
        elif (window.dose_id, window.opens_at, window.closes_at, window.supervised, window.reason) != (
                spec.dose_key, spec.opens_at, spec.closes_at, spec.supervised, spec.reason):
            old = window.closes_at
            window.dose_id, window.opens_at, window.closes_at = spec.dose_key, spec.opens_at, spec.closes_at
            window.supervised, window.reason = spec.supervised, spec.reason
            if old != spec.closes_at:
                window.end_notified_at = None  # a new end: its notice is due again when it comes
            window.save()
            _event(window, WindowEvent.Kind.MOVED, old=old,
                   note=f"Dose {spec.dose_key} recorded or corrected (clinical-rules §8).")
        kept.append(window)
    now = timezone.now()
    for window in existing.values():
        window.withdrawn_at = now
        window.save(update_fields=["withdrawn_at"])
        _event(window, WindowEvent.Kind.WITHDRAWN, old=window.closes_at, note="No current dose opens it.")
    remonitored = {w.dose_id for w in kept if w.kind == DoseWindowKind.REMONITOR}
    for request in requests:
        consumed = next((f.key for f in facts if f.started_at > request.raised_at), None)
        consumed = consumed if consumed in remonitored else None
        if request.consumed_by_id != consumed:
            request.consumed_by_id = consumed
            request.save(update_fields=["consumed_by"])
    return kept


def dose_windows_after_findings(*, courses, checkin: CheckIn, findings) -> None:
    """A neurologic finding opens a no-driving window on each of `courses` (the patient's active courses with a
    dose schedule, their therapies loaded) until a physician records it resolved (clinical-rules §8); a grade 2
    CRS or any ICANS sends the next dose of each such course back to step-up monitoring (§8). Runs in the
    check-in's transaction."""
    from monitoring.rules.driving import is_neurologic

    neuro = any(is_neurologic(f) for f in findings)
    remonitor = next((f for f in findings if rules.is_remonitor_finding(f.condition, f.min_grade)), None)
    if not neuro and remonitor is None:
        return
    for course in courses:
        if neuro and not DoseWindow.objects.filter(course=course, kind=DoseWindowKind.DRIVING, dose__isnull=True,
                                                   cleared_at__isnull=True, withdrawn_at__isnull=True).exists():
            window = DoseWindow.objects.create(course=course, kind=DoseWindowKind.DRIVING, checkin=checkin,
                                               reason=rules.R_DRIVING_NEURO, opens_at=checkin.recorded_at)
            _event(window, WindowEvent.Kind.EXTENDED, old=None, checkin=checkin,
                   note="Neurologic finding: no driving until it has resolved (clinical-rules §8).")
        if remonitor is not None:
            RemonitorRequest.objects.get_or_create(
                course=course, checkin=checkin,
                defaults={"condition": remonitor.condition, "raised_at": checkin.recorded_at})


@transaction.atomic
def dose_window_clear(*, window: DoseWindow, user: User, reason: str) -> DoseWindow:
    """A physician records the neurologic finding behind a reopened no-driving window resolved, with a reason
    (clinical-rules §8: no driving from any new neurologic symptom until it has resolved). Only such a window:
    the others close with their doses' hours."""
    if user.role != Role.PHYSICIAN:
        raise NotAllowedError(gettext("Only a physician can clear a patient to drive."))
    if not reason.strip():
        message = gettext("A clearance needs a reason.")
        raise InputError(message, fields={"reason": [message]})
    window = DoseWindow.objects.select_for_update().get(pk=window.pk)
    if window.kind != DoseWindowKind.DRIVING or window.checkin_id is None:
        raise ConflictError(gettext("Only a no-driving window reopened by a neurologic finding is cleared this way; "
                                    "this one closes with its doses' hours."))
    if window.cleared_at is not None or window.withdrawn_at is not None:
        raise ConflictError(gettext("This window was cleared already."))
    window.cleared_at, window.cleared_by, window.clearance_reason = timezone.now(), user, reason.strip()
    window.save()
    _event(window, WindowEvent.Kind.CLEARED, old=window.closes_at, user=user, note=reason.strip())
    return window


def dose_windows_in_force(patient, now: dt.datetime | None = None) -> list[DoseWindow]:
    """The patient's dose windows open now, with their dose and course (one query)."""
    now = now or timezone.now()
    return list(DoseWindow.objects.in_force(now).filter(course__patient=patient)
                .select_related("dose", "course__therapy").order_by("opens_at", "id"))
