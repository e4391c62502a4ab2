"""Reads for monitoring, scoped like the records they hang from."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from monitoring.models import Alert, AlertEvent, AlertStatus, AlertView, FollowUp, PolicySetting, Window, WindowKind
from monitoring.rules import driving
from monitoring.rules.engine import checkin_interval_days, next_expected_date
from monitoring.rules.policy import Policy
from tracker.models import Center, CheckIn, Patient, TreatmentCourse, User
from tracker.models.therapies import CourseStatus, TherapyClass
from tracker.selectors import patients_visible_to


def policy_for_center(center: Center) -> Policy:
    """The center's policy for the rules engine: the published defaults, overridden per center in the admin."""
    return policies_for_centers([center.pk])[center.pk]


def policy_from_settings(rows: Iterable[dict]) -> Policy:
    """The Policy of a center's settings given as {"name", "value"} rows (published defaults for the rest)."""
    return Policy(**{row["name"]: PolicySetting(name=row["name"], value=row["value"]).typed_value() for row in rows})


def _policies_by_center(settings: QuerySet[PolicySetting]) -> dict[int, Policy]:
    """center id -> Policy of the centers with settings among `settings` (one query)."""
    named: dict[int, dict] = defaultdict(dict)
    for setting in settings.only("center_id", "name", "value"):
        named[setting.center_id][setting.name] = setting.typed_value()
    return {center_id: Policy(**values) for center_id, values in named.items()}


def policies_for_centers(center_ids: Iterable[int]) -> dict[int, Policy]:
    """`policy_for_center` for many centers in one query: center id -> Policy."""
    ids = set(center_ids)
    found = _policies_by_center(PolicySetting.objects.filter(center_id__in=ids)) if ids else {}
    return {center_id: found.get(center_id, Policy()) for center_id in ids}


def policies_of_patients(patient_ids: Iterable[int]) -> list[Policy]:
    """The policies of the patients' centers in one query, with the published defaults first (a center without
    settings has them)."""
    centers = Patient.objects.filter(pk__in=list(patient_ids)).values("center_id")
    return [Policy(), *_policies_by_center(PolicySetting.objects.filter(center__in=centers)).values()]


def window_status(window: Window, today: dt.date) -> driving.WindowStatus:
    return driving.window_status(window.ends_on, today, window.cleared_on)


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    """Alerts are for staff: scoped to the patients of their care teams (admins: all)."""
    if not (user.is_authenticated and user.is_staff_member):
        return Alert.objects.none()
    return Alert.objects.filter(patient__in=patients_visible_to(user).values("pk"))


# What makes an alert "new" again to someone who saw it: it opened, a check-in added to it, it got worse, or it
# reopened. Not escalations, acknowledgements or calls (someone is on it).
ATTENTION_EVENTS = (AlertEvent.Kind.OPENED, AlertEvent.Kind.EVIDENCE, AlertEvent.Kind.URGENCY_RAISED,
                    AlertEvent.Kind.REOPENED)


def with_unseen(alerts: QuerySet[Alert], user: User) -> QuerySet[Alert]:
    """Annotate `unseen`: `user` has not opened (or acted on) the alert since it last needed attention."""
    changed = (AlertEvent.objects.filter(alert=OuterRef("pk"), kind__in=ATTENTION_EVENTS)
               .order_by("-at").values("at")[:1])
    return alerts.annotate(needs_attention_since=Coalesce(Subquery(changed), F("opened_at"))).annotate(
        unseen=~Exists(AlertView.objects.filter(alert=OuterRef("pk"), user=user,
                                                seen_at__gte=OuterRef("needs_attention_since"))))


def open_alerts_worklist(user: User) -> QuerySet[Alert]:
    return (
        alerts_visible_to(user)
        .exclude(status=AlertStatus.RESOLVED)
        .select_related("patient", "acknowledged_by")
        .order_by("-urgency", F("min_grade").desc(nulls_last=True), "opened_at")
    )


def patient_windows(patient: Patient, today: dt.date | None = None) -> list[dict]:
    """The patient's driving and stay-nearby windows with their status today (in the patient's time zone)."""
    today = today or timezone.localtime(timezone.now(), patient.tz).date()
    windows = Window.objects.filter(course__patient=patient, course__status=CourseStatus.ACTIVE).select_related(
        "course__therapy", "cleared_by").order_by("kind", "-ends_on")
    result = []
    for window in windows:
        status = window_status(window, today)
        result.append({"window": window, "kind": window.kind, "active": status.active, "ends_on": window.ends_on,
                       "days_left": status.days_left, "cleared_on": window.cleared_on})
    return result


def due_followups(patient: Patient, now: dt.datetime | None = None) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(patient=patient, answered_by__isnull=True, due_at__lte=now or timezone.now())


def patient_timeline(patient: Patient, *, days: int = 100) -> dict:
    """Everything that happened to a patient, newest first: check-ins (amendments marked), alert events
    and the notifications sent for the alerts. Plus the readings for the trend charts (oldest first)."""
    since = timezone.now() - dt.timedelta(days=days)
    checkins = list(
        patient.checkins.filter(recorded_at__gte=since).select_related("entered_by", "amends", "assessment")
        .order_by("-recorded_at")[:500]
    )
    alerts = list(patient.alerts.filter(opened_at__gte=since).prefetch_related(
        "events__actor", "notifications__recipient"))
    entries: list[dict[str, Any]] = [{"at": c.recorded_at, "kind": "amendment" if c.amends_id else "checkin", "checkin": c} for c in checkins]
    for alert in alerts:
        entries += [{"at": e.at, "kind": "alert_event", "alert": alert, "event": e} for e in alert.events.all()]
        entries += [{"at": n.sent_at or n.created_at, "kind": "notification", "alert": alert, "notification": n}
                    for n in alert.notifications.all()]
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    superseded = {c.amends_id for c in checkins if c.amends_id}
    readings = [c for c in reversed(checkins) if c.pk not in superseded]
    chart = {
        "labels": [c.recorded_at.isoformat() for c in readings],
        "temperature": [float(c.temperature_c) if c.temperature_c is not None else None for c in readings],
        "heart_rate": [c.heart_rate for c in readings],
        "spo2": [c.spo2 for c in readings],
        "systolic": [c.systolic_bp for c in readings],
        "diastolic": [c.diastolic_bp for c in readings],
        "ice": [c.ice_score for c in readings],
    }
    return {"entries": entries, "chart": chart}


def driving_windows(patient: Patient) -> list[Window]:
    """No-driving windows of the patient's active courses (cleared ones too: a clearance can be dated
    later than the day asked about)."""
    return list(Window.objects.filter(course__patient=patient, course__status=CourseStatus.ACTIVE,
                                      kind=WindowKind.DRIVING))


def next_checkin_expected(patient: Patient, now: dt.datetime | None = None, policy=None) -> dt.date | None:
    """The local date the patient's next check-in is expected (None without an active course)."""
    policy = policy or policy_for_center(patient.center)
    return next_checkins_expected([patient], now or timezone.now(), {patient.center_id: policy})[patient.pk]


def next_checkins_expected(patients, now: dt.datetime, policies) -> dict[int, dt.date | None]:
    """`next_checkin_expected` for many patients in two queries (their active courses, then the last
    complete current check-in of each in the 60 days to its local today). `policies` maps center id to
    Policy; returns patient id -> date (None without an active course): daily through the CAR T daily
    period, then every `checkin_interval_days` (center policy), counted from the last complete check-in."""
    patients = list(patients)
    if not patients:
        return {}
    today = {p.pk: timezone.localtime(now, p.tz).date() for p in patients}
    courses = defaultdict(list)
    for patient_id, start, therapy_class in (
            TreatmentCourse.objects.filter(patient_id__in=today, status=CourseStatus.ACTIVE)
            .values_list("patient_id", "start_date", "therapy__therapy_class")):
        if start <= today[patient_id]:
            courses[patient_id].append((start, therapy_class))
    intervals = {}
    for p in patients:
        day = today[p.pk]
        car_t_days = [(day - start).days for start, cls in courses[p.pk] if cls == TherapyClass.CAR_T]
        intervals[p.pk] = checkin_interval_days(car_t_days, bool(courses[p.pk]), policies[p.center_id])
    by_day = defaultdict(list)
    for patient_id, interval in intervals.items():
        if interval is not None:
            by_day[today[patient_id]].append(patient_id)
    last: dict[int, dt.date] = {}
    if by_day:
        window = Q()
        for day, ids in by_day.items():
            window |= Q(patient_id__in=ids, local_date__range=(day - dt.timedelta(days=60), day))
        last = dict(CheckIn.objects.current().filter(window, is_complete=True).order_by()
                    .values("patient_id").annotate(last=Max("local_date")).values_list("patient_id", "last"))
    return {patient_id: None if interval is None else next_expected_date(last.get(patient_id), today[patient_id],
                                                                          interval)
            for patient_id, interval in intervals.items()}


STAFF_DOSE_WINDOWS = 30  # the latest; older ones are in the export


def patient_dose_windows(patient, now=None) -> list[dict]:
    """The patient's dose windows (clinical-rules §8), latest first, each with the dose that opened it and
    whether it is open now; withdrawn ones (their dose record no longer opens them) are left out. One query."""
    from django.utils import timezone

    from monitoring.models import DoseWindow
    from tracker.dose_plans import DoseSchedule

    now = now or timezone.now()
    rows = []
    for window in (DoseWindow.objects.filter(course__patient=patient, withdrawn_at__isnull=True)
                   .select_related("dose", "checkin", "course__therapy", "cleared_by")
                   .order_by("-opens_at", "-id")[:STAFF_DOSE_WINDOWS]):
        step = None
        if window.dose is not None:
            schedule = DoseSchedule.from_json(window.course.therapy.dose_schedule)
            found = schedule.step(window.dose.step_code) if schedule else None
            step = found.name if found else window.dose.step_code
        is_open = (window.cleared_at is None and window.opens_at <= now
                   and (window.closes_at is None or now < window.closes_at))
        rows.append({"window": window, "step_name": step, "open": is_open})
    return rows



def dose_checkin_facts(patients, now: dt.datetime, policies) -> dict[int, tuple[list, dt.datetime | None]]:
    """What the 12-hourly check-ins after a dose (clinical-rules §8, policy) read, for many patients: patient id
    -> (their current template doses of active courses started in the longest period, as rule DoseFacts; the
    time of their last complete current check-in since then). Only patients with such doses. Two queries
    whatever the number of patients (one when none has doses), none without patients."""
    from monitoring.rules.dose_windows import DoseFact
    from tracker.dose_plans import DoseSchedule
    from tracker.models import DoseAdministration

    patients = list(patients)
    if not patients:
        return {}
    # A day more than the longest period: the reminders of a period's last slot are still being sent after it.
    longest = max(policies[p.center_id].dose_checkin_period_hours for p in patients) + 24
    since = now - dt.timedelta(hours=longest)
    facts: dict[int, list[DoseFact]] = defaultdict(list)
    schedules: dict[int, DoseSchedule | None] = {}
    for dose in (DoseAdministration.objects.current()
                 .filter(course__patient_id__in={p.pk for p in patients}, course__status=CourseStatus.ACTIVE,
                         started_at__gt=since, started_at__lte=now)
                 .select_related("course__therapy").order_by()):
        therapy = dose.course.therapy
        if therapy.pk not in schedules:
            schedules[therapy.pk] = DoseSchedule.from_json(therapy.dose_schedule)
        schedule = schedules[therapy.pk]
        step = schedule.step(dose.step_code) if schedule else None
        if step is not None:
            facts[dose.course.patient_id].append(DoseFact(key=dose.pk, step_code=dose.step_code,
                                                          started_at=dose.started_at, ended_at=dose.ended_at,
                                                          step_up=step.step_up))
    if not facts:
        return {}
    last = dict(CheckIn.objects.current()
                .filter(patient_id__in=list(facts), is_complete=True, recorded_at__gt=since)
                .order_by().values("patient_id").annotate(last=Max("recorded_at")).values_list("patient_id", "last"))
    return {patient_id: (doses, last.get(patient_id)) for patient_id, doses in facts.items()}


def dose_checkin_slot_of(patient, facts, now: dt.datetime, policy,
                         after: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime] | None:
    """The patient's next 12-hourly check-in slot (monitoring.rules.dose_windows.dose_checkin_slot) from
    `facts` (dose_checkin_facts); None: the daily schedule."""
    from monitoring.rules.dose_windows import dose_checkin_slot

    found = facts.get(patient.pk)
    if found is None:
        return None
    return dose_checkin_slot(found[0], found[1], now, interval_hours=policy.dose_checkin_interval_hours,
                             period_hours=policy.dose_checkin_period_hours, after=after)
