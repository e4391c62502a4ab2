"""What monitoring adds to a patient's pages: what to do after a check-in, or after device readings raised an
alert, until the care team has acknowledged it (monitoring/checkin_views.py patient_home), and why the no-driving window is
longer than the label's (clinical-rules §3; the context processor adds it beside the banner's window)."""

import datetime as dt
from decimal import Decimal

from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext

from monitoring.models import Alert, AlertStatus, CheckinAssessment, DoseWindow, WindowKind
from monitoring.rules import Urgency, driving
from monitoring.rules.streams import DEVICE_SILENCE
from tracker.dose_plans import DoseSchedule
from tracker.dose_services import course_dose_plan, course_doses
from tracker.models import CheckIn, Patient
from tracker.models.therapies import CourseStatus


def open_assessment(patient: Patient) -> CheckinAssessment | None:
    """The assessment whose instruction still stands: of the patient's current check-ins (not corrected since),
    the most urgent (then the latest) whose own most urgent alert is still open, i.e. no one on the care team
    has acknowledged it. Same-day and above: a routine finding waits for the next visit."""
    return (
        CheckinAssessment.objects.filter(
            checkin__patient=patient, urgency__gte=Urgency.SAME_DAY,
            alerts__status=AlertStatus.OPEN, alerts__urgency=F("urgency"),
        )
        .filter(~Exists(CheckIn.objects.amendments_of(OuterRef("checkin_id"))))
        .select_related("checkin")
        .order_by("-urgency", "-checkin__recorded_at")
        .first()
    )


def open_device_alert(patient: Patient) -> Alert | None:
    """An alert raised by device readings alone (clinical-rules §10: a sustained fever, low oxygen) that no one on
    the care team has acknowledged yet, same-day and above, the most urgent (then the latest): what to do stays
    on the patient's page as it does after a check-in, since no check-in answer told them. The silence alert has
    its own card (the device's status). One query."""
    return (Alert.objects.filter(patient=patient, status=AlertStatus.OPEN, urgency__gte=Urgency.SAME_DAY,
                                 first_checkin__isnull=True)
            .exclude(condition=DEVICE_SILENCE).select_related("patient__center")
            .order_by("-urgency", "-updated_at").first())


def driving_extension(windows, today: dt.date) -> dict | None:
    """For an active no-driving window (of `windows`, the patient's) that a neurologic finding made longer
    (clinical-rules §3: at least the center's number of weeks after the event, **policy**): the new end, the
    date of the finding that set it, the weeks after it, and the end the label (with center policy) gave
    before. None when no window was extended."""
    for window in windows:
        if window.kind != WindowKind.DRIVING or not window.is_active_on(today) or not window.neuro_event_dates:
            continue
        before = driving.driving_window_end(window.starts_on, window.label_days, window.center_days)
        if window.ends_on <= before:
            continue
        event_on = max(dt.date.fromisoformat(d) for d in window.neuro_event_dates)
        days = (window.ends_on - event_on).days
        return {"ends_on": window.ends_on, "event_on": event_on, "ends_on_before": before,
                "weeks": days // 7 if days > 0 and days % 7 == 0 else None}
    return None


def dose_window_cards(patient: Patient, now: dt.datetime | None = None) -> list[dict]:
    """The patient's dose windows open now (clinical-rules §8), each as what it is, until when, and what opened
    it (a dose with its step name and start, or a check-in's neurologic finding). One query; none for a patient
    without T-cell engager doses shows nothing."""
    now = now or timezone.now()
    cards = []
    for window in (DoseWindow.objects.in_force(now).filter(course__patient=patient)
                   .select_related("dose", "checkin", "course__therapy").order_by("opens_at", "id")):
        step = None
        if window.dose is not None:
            schedule = DoseSchedule.from_json(window.course.therapy.dose_schedule)
            found = schedule.step(window.dose.step_code) if schedule else None
            step = gettext(found.name) if found else window.dose.step_code
        cards.append({"window": window, "kind": window.kind, "reason": window.reason, "until": window.closes_at,
                      "supervised": window.supervised, "step_name": step,
                      "dose_at": window.dose.started_at if window.dose else None,
                      "checkin_at": window.checkin.recorded_at if window.checkin else None,
                      "therapy": window.course.therapy})
    # Where the patient must be first (watched, near care), then no driving.
    cards.sort(key=lambda card: _CARD_ORDER.index(card["kind"]) if card["kind"] in _CARD_ORDER else len(_CARD_ORDER))
    return cards


_CARD_ORDER = ["dose_monitoring", "dose_remonitor", "dose_nearby", "dose_driving"]


def next_planned_dose(patient: Patient, now: dt.datetime | None = None) -> dict | None:
    """The next planned dose of the patient's active courses with a dose schedule (clinical-rules §8): the first
    planned step not given yet, from today on. None without such a course or doses."""
    now = now or timezone.now()
    today = timezone.localtime(now, patient.tz).date()
    courses = [c for c in patient.courses.filter(status=CourseStatus.ACTIVE).select_related("therapy", "patient")
               if c.therapy.dose_schedule]
    best: dict | None = None
    best_at: dt.datetime | None = None
    for course in courses:
        doses = course_doses(course)
        last_given: dict[str, dt.date] = {}
        for view in doses:
            last_given[view.dose.step_code] = timezone.localtime(view.dose.started_at, patient.tz).date()
        schedule = DoseSchedule.from_json(course.therapy.dose_schedule)
        plan = course_dose_plan(course, doses, today=today)
        for planned in plan.planned:
            step = schedule.step(planned.step_code) if schedule else None
            repeats = bool(step and step.repeats)
            given_on = last_given.get(planned.step_code)
            if planned.date < today or (given_on is not None and (not repeats or planned.date <= given_on)):
                continue
            if best_at is None or planned.planned_start < best_at:
                best_at = planned.planned_start
                best = {"step_name": gettext(planned.name), "at": planned.planned_start, "date": planned.date,
                        "therapy": course.therapy}
            break
    return best


def dose_checkin_cadence(patient: Patient, checkins, now: dt.datetime | None = None) -> dict | None:
    """While a 12-hourly check-in period after a step-up or first full dose runs (clinical-rules §8, policy):
    when the next check-in is due and when the period ends. `checkins`: the patient's latest current check-ins,
    newest first (loaded by the page)."""
    from monitoring.rules.dose_windows import DoseFact, dose_checkin_due
    from monitoring.selectors import policy_for_center

    now = now or timezone.now()
    facts = []
    for course in patient.courses.filter(status=CourseStatus.ACTIVE).select_related("therapy", "patient"):
        if not course.therapy.dose_schedule:
            continue
        for view in course_doses(course):
            if view.step is not None:
                facts.append(DoseFact(key=view.dose.pk, step_code=view.dose.step_code,
                                      started_at=view.dose.started_at, ended_at=view.dose.ended_at,
                                      step_up=view.step.step_up))
    if not facts:
        return None
    last = next((c.recorded_at for c in checkins if c.is_complete), None)
    policy = policy_for_center(patient.center)
    due = dose_checkin_due(facts, last, now, interval_hours=policy.dose_checkin_interval_hours,
                           period_hours=policy.dose_checkin_period_hours)
    if due is None:
        return None
    return {"due_at": due[0], "overdue": due[0] <= now, "ends_at": due[1],
            "interval_hours": policy.dose_checkin_interval_hours}


IL2_CODE = "aldesleukin"
KG_TO_LB = Decimal("2.20462")


def weight_gain_text(kg: float, unit: str) -> str:
    """The IL-2 weight-gain limit as the patient reads weights: pounds first for a patient whose thermometer
    shows °F (the check-in asks their weight in pounds then, templates/tracker/_weight_field.html)."""
    value = Decimal(str(kg))
    pounds = number_format((value * KG_TO_LB).quantize(Decimal("0.1")), 1)
    kilos = number_format(value.quantize(Decimal("0.1")), 1).removesuffix(".0").removesuffix(",0")
    pounds = pounds.removesuffix(".0").removesuffix(",0")
    if unit == "F":
        return gettext("%(lb)s lb (about %(kg)s kg)") % {"lb": pounds, "kg": kilos}
    return gettext("%(kg)s kg (about %(lb)s lb)") % {"kg": kilos, "lb": pounds}


def watch_text(course, patient: Patient, policy=None) -> str:
    """The course's "what to watch for" text in the active language; interleukin-2's with the center's weight-gain
    limit (clinical-rules §9, policy il2_weight_gain_kg) in the patient's unit rather than the default's 2 kg."""
    from monitoring.selectors import policy_for_center
    from tracker.catalogue import IL2_WATCH_WITH_LIMIT

    if course.therapy.code != IL2_CODE:
        return gettext(course.therapy.patient_summary)
    policy = policy or policy_for_center(patient.center)
    return gettext(IL2_WATCH_WITH_LIMIT) % {
        "gain": weight_gain_text(policy.il2_weight_gain_kg, patient.temperature_unit_shown)}


def fourteen_days(today: dt.date, logged: set, courses) -> list[tuple[dt.date, str]]:
    """The last 14 local days, newest first, each "done" (a complete check-in), "missed", or "before" (before the
    first course started: nothing was expected, not a gap)."""
    first = min((c.start_date for c in courses), default=None)
    days = []
    for n in range(14):
        day = today - dt.timedelta(days=n)
        state = "done" if day in logged else "before" if first is None or day < first else "missed"
        days.append((day, state))
    return days
