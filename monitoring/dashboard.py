"""The care team's worklist: every visible patient with what a nurse needs at a glance, sorted by risk
(open alert urgency, then grade, then the alert's age, then name).

`dashboard_page` ranks first from the unresolved alerts alone (one window-function query over the few
unresolved alerts, joined to the visible patients) and then computes the check-in, therapy and driving
columns for the rows shown only: a fixed number of queries, whatever the number of patients or centers.
The tests compare it with a plain one-queryset definition (tests/monitoring/dashboard_reference.py)."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from monitoring.devices import device_annotations
from monitoring.models import Alert, AlertStatus, Window, WindowKind
from monitoring.selectors import policies_for_centers, with_unseen
from monitoring.urgency import ALERT_LEVEL_BY_LABEL
from tracker.models import CaregiverLink, CheckIn, Patient, TreatmentCourse, User
from tracker.models.therapies import CourseStatus, TherapyClass
from tracker.selectors import patients_visible_to

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

PatientT = TypeVar("PatientT", bound=Patient)  # a Patient, or one with annotations


class CheckinStatus(TypedDict):
    """What `annotate_checkin_status` adds to each patient."""

    last_complete_on: dt.date | None
    infusion_on: dt.date | None
    in_daily_period: bool
    missed: bool

PAGE_SIZE = 200
INVALID = "invalid"


@dataclass(frozen=True)
class DashboardFilters:
    team: str = ""  # care team uuid
    therapy: str = ""  # therapy code
    urgency: str = ""  # label (ALERT_LEVEL_BY_LABEL): show patients whose top open alert is at least this urgent
    missed: bool = False
    query: str = ""  # name or MRN

    @classmethod
    def from_params(cls, params) -> DashboardFilters:
        team = params.get("team", "")
        try:
            team = str(uuid.UUID(team)) if team else ""
        except ValueError:
            team = INVALID
        return cls(team=team, therapy=params.get("therapy", ""),
                   urgency=params.get("urgency", ""), missed=params.get("missed") in ("1", "on", "true"),
                   query=params.get("q", "").strip())


def _current_checkins():
    return CheckIn.objects.current().filter(patient=OuterRef("pk"))


def _overdue_cutoffs(pairs) -> tuple[Case, Case, Case]:
    """Per (center, patient time zone): the dates before which a missing check-in counts as missed, for
    daily and for interval patients (center policy: daily through the CAR T period, then every N days),
    judged by the patient's own calendar day."""
    daily, interval, daily_start = [], [], []
    policies = policies_for_centers({center_id for center_id, _ in pairs})
    now = timezone.now()
    for center_id, tz in pairs:
        policy = policies[center_id]
        today = timezone.localtime(now, zoneinfo.ZoneInfo(tz)).date()
        match = {"center_id": center_id, "time_zone": tz}
        daily_start.append(When(**match, then=Value(today - dt.timedelta(days=policy.car_t_daily_checkin_days - 1))))
        daily.append(When(**match, then=Value(today - dt.timedelta(days=1))))
        interval.append(When(**match, then=Value(today - dt.timedelta(days=policy.checkin_interval_days))))
    return (Case(*daily_start, output_field=DateField()),
            Case(*daily, output_field=DateField()), Case(*interval, output_field=DateField()))


def annotate_checkin_status(patients: QuerySet[PatientT], pairs=None) -> QuerySet[WithAnnotations[PatientT, CheckinStatus]]:
    """Add `last_complete_on`, `infusion_on`, `in_daily_period` and `missed`: a check-in that was due
    (daily through the CAR T daily period, then every `checkin_interval_days`; center policy) is overdue.
    `pairs`: the (center id, time zone) pairs of these patients when the caller knows them (else one query)."""
    checkins = _current_checkins()
    courses = TreatmentCourse.objects.filter(patient=OuterRef("pk"), status=CourseStatus.ACTIVE)
    car_t = courses.filter(therapy__therapy_class=TherapyClass.CAR_T).order_by("-start_date")
    if pairs is None:
        pairs = list(patients.order_by().values_list("center_id", "time_zone").distinct())
    daily_start, daily_cutoff, interval_cutoff = _overdue_cutoffs(pairs)
    return patients.annotate(
        last_complete_on=Subquery(checkins.filter(is_complete=True).order_by("-local_date").values("local_date")[:1]),
        first_course_on=Subquery(courses.order_by("start_date").values("start_date")[:1]),
        infusion_on=Subquery(car_t.values("start_date")[:1]),
    ).annotate(
        in_daily_period=Case(When(infusion_on__gte=daily_start, then=Value(True)), default=Value(False),
                             output_field=BooleanField()),
    ).annotate(
        missed=Case(
            When(first_course_on__isnull=True, then=Value(False)),
            When(in_daily_period=True, then=Q(last_complete_on__isnull=True, first_course_on__lt=daily_cutoff)
                 | Q(last_complete_on__lt=daily_cutoff)),
            default=Q(last_complete_on__isnull=True, first_course_on__lt=interval_cutoff)
            | Q(last_complete_on__lt=interval_cutoff),
            output_field=BooleanField(),
        ),
    )


def annotate_row_details(patients: QuerySet[PatientT]) -> QuerySet[PatientT]:
    """What a row shows besides its alerts: latest check-in and readings (of the current versions, not
    amended ones), the latest device temperature and whether a device has gone silent (monitoring/devices.py),
    the active therapy and the no-driving window."""
    latest = _current_checkins().order_by("-recorded_at")
    courses = TreatmentCourse.objects.filter(patient=OuterRef("pk"), status=CourseStatus.ACTIVE).order_by("-start_date")
    driving = Window.objects.filter(course__patient=OuterRef("pk"), course__status=CourseStatus.ACTIVE,
                                    kind=WindowKind.DRIVING, cleared_on__isnull=True).order_by("-ends_on")
    caregiver = CaregiverLink.objects.filter(patient=OuterRef("pk")).exclude(user__phone="").order_by("pk")
    return patients.annotate(
        care_team_name=F("care_team__name"),
        last_checkin_at=Subquery(latest.values("recorded_at")[:1]),
        last_temperature=Subquery(latest.filter(temperature_c__isnull=False).values("temperature_c")[:1]),
        last_heart_rate=Subquery(latest.filter(heart_rate__isnull=False).values("heart_rate")[:1]),
        therapy_name=Subquery(courses.values("therapy__brand_name")[:1]),
        therapy_code=Subquery(courses.values("therapy__code")[:1]),
        driving_ends_on=Subquery(driving.values("ends_on")[:1]),
        # The first linked caregiver with a phone number, for the row's tap-to-call link.
        caregiver_first_name=Subquery(caregiver.values("user__first_name")[:1]),
        caregiver_relationship=Subquery(caregiver.values("relationship")[:1]),
        caregiver_phone=Subquery(caregiver.values("user__phone")[:1]),
        **device_annotations(),
    )


def filter_patients(qs: QuerySet[PatientT], filters: DashboardFilters) -> QuerySet[PatientT]:
    """The filters that depend on the patient alone (team, therapy, name or MRN)."""
    if filters.team:
        qs = qs.filter(care_team__uuid=filters.team)
    if filters.therapy:
        qs = qs.filter(Exists(TreatmentCourse.objects.filter(patient=OuterRef("pk"), status=CourseStatus.ACTIVE,
                                                             therapy__code=filters.therapy)))
    if filters.query:
        qs = qs.filter(Q(last_name__icontains=filters.query) | Q(first_name__icontains=filters.query)
                       | Q(mrn__iexact=filters.query))
    return qs


# The ranking step of `dashboard_page`: each candidate patient with its top unresolved alert (the first by
# ROW_NUMBER over the unresolved alerts of the candidates, a few per cent of all alerts; the partial unique
# index alert_one_open_per_condition holds exactly those) and their number, sorted by the top alert (urgency,
# grade with ungraded last, age) then name and id, first `limit` rows only. Plain SQL that PostgreSQL and SQLite (the
# quick start) both run; it returns ids and numbers only, and the ORM reads the alerts' typed columns.
_RANK_SQL = """
SELECT p.id, p.center_id, p.time_zone, top.id, top.open_count
FROM {patient} p
LEFT JOIN (
    SELECT id, patient_id, urgency, min_grade, opened_at, open_count FROM (
        SELECT a.id, a.patient_id, a.urgency, a.min_grade, a.opened_at,
               COUNT(*) OVER (PARTITION BY a.patient_id) AS open_count,
               ROW_NUMBER() OVER (PARTITION BY a.patient_id
                                  ORDER BY a.urgency DESC, a.min_grade DESC NULLS LAST, a.opened_at ASC, a.id ASC) AS place
        FROM {alert} a
        WHERE NOT (a.status = %s) AND a.patient_id IN ({candidates})
    ) ranked WHERE place = 1
) top ON top.patient_id = p.id
WHERE p.id IN ({candidates}){urgency_at_least}
ORDER BY COALESCE(top.urgency, 0) DESC, COALESCE(top.min_grade, 0) DESC, top.opened_at ASC NULLS LAST,
         p.last_name ASC, p.id ASC
LIMIT %s
"""


def _ranked(candidates: QuerySet[Patient], filters: DashboardFilters, limit: int) -> list[tuple]:
    try:
        candidates_sql, candidates_params = candidates.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # .none(): nobody to rank
        return []
    params = [AlertStatus.RESOLVED.value, *candidates_params, *candidates_params]
    urgency_at_least = ""
    if filters.urgency in ALERT_LEVEL_BY_LABEL:
        urgency_at_least = " AND top.urgency >= %s"
        params.append(int(ALERT_LEVEL_BY_LABEL[filters.urgency]))
    sql = _RANK_SQL.format(patient=connection.ops.quote_name(Patient._meta.db_table),
                           alert=connection.ops.quote_name(Alert._meta.db_table),
                           candidates=candidates_sql, urgency_at_least=urgency_at_least)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return cursor.fetchall()


# What `dashboard_page` gives of each row, besides the
# top alert's `top_*` and `open_alert_count`.
ROW_FIELDS = ("pk", "uuid", "first_name", "last_name", "mrn", "time_zone", "care_team_name", "missed", "infusion_on",
              "last_checkin_at", "last_temperature", "last_heart_rate", "therapy_name", "therapy_code",
              "driving_ends_on", "phone", "caregiver_first_name", "caregiver_relationship", "caregiver_phone",
              "has_temperature_device", "device_temperature", "device_temperature_at", "device_silent",
              "device_last_at")
# What a row shows of each of the patient's unresolved alerts (all of them, not only the top one).
ALERT_FIELDS = ("pk", "patient_id", "urgency", "min_grade", "opened_at", "uuid", "title", "status", "condition",
                "rule_ids", "grading_system", "acknowledged_by__first_name", "acknowledged_by__last_name",
                "acknowledged_by__username", "unseen")


def dashboard_page(user: User, filters: DashboardFilters = DashboardFilters(), *,
                   limit: int = PAGE_SIZE) -> list[dict]:
    """The first `limit` visible patients matching the filters, sorted by risk, as dicts of ROW_FIELDS, the top alert's columns and `alerts` (every unresolved alert of the patient, newest first, each
    with `unseen`: not seen by `user` since it last changed), in four queries: rank (alerts only), the centers'
    policies, the other columns of these rows alone, and their unresolved alerts."""
    if filters.team == INVALID:
        return []
    candidates = filter_patients(patients_visible_to(user), filters)
    if filters.missed:
        candidates = annotate_checkin_status(candidates).filter(Q(missed=True))
    ranked = _ranked(candidates, filters, limit)
    if not ranked:
        return []
    pairs = sorted({(center_id, tz) for _, center_id, tz, _, _ in ranked})
    shown = Patient.objects.filter(pk__in=[r[0] for r in ranked])
    details = annotate_row_details(annotate_checkin_status(shown, pairs=pairs)).values(*ROW_FIELDS)
    by_pk = {row["pk"]: row for row in details}
    with_alerts = [r[0] for r in ranked if r[3]]
    unresolved = with_unseen(Alert.objects.filter(patient_id__in=with_alerts).exclude(status=AlertStatus.RESOLVED),
                             user).order_by("-opened_at", "-pk").values(*ALERT_FIELDS) if with_alerts else []
    by_patient: dict[int, list[dict]] = {}
    for alert in unresolved:
        by_patient.setdefault(alert["patient_id"], []).append(alert)
    page = []
    for pk, _, _, alert_pk, open_count in ranked:
        row = by_pk.get(pk)
        if row is None:  # gone between the reads
            continue
        alerts = by_patient.get(pk, [])
        top = next((alert for alert in alerts if alert["pk"] == alert_pk), {})
        row.update(top_urgency=top.get("urgency") or 0, top_grade=top.get("min_grade") or 0,
                   top_opened_at=top.get("opened_at"), top_alert_id=top.get("uuid"), top_alert_title=top.get("title"),
                   top_alert_status=top.get("status"), open_alert_count=open_count or 0, alerts=alerts)
        page.append(row)
    return page
