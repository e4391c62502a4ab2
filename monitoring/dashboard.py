"""The care team's worklist: every visible patient with what a nurse needs at a glance, sorted by risk
(open alert urgency, then grade, then the alert's age). One query for the rows, whatever their number."""

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from monitoring.models import Alert, AlertStatus, Window, WindowKind
from monitoring.services.policy import policy_for_center
from tracker.models import Center, CheckIn, Patient, TreatmentCourse, User
from tracker.models.therapies import CourseStatus, TherapyClass
from tracker.selectors import patients_visible_to

PAGE_SIZE = 200
INVALID = "invalid"
URGENCY_BY_LABEL = {"routine": 1, "same-day": 2, "urgent": 3, "emergency": 4}


@dataclass(frozen=True)
class DashboardFilters:
    team: str = ""  # care team uuid
    therapy: str = ""  # therapy code
    urgency: str = ""  # label: show patients whose top open alert is at least this urgent
    missed: bool = False
    query: str = ""  # name or MRN

    @classmethod
    def from_params(cls, params) -> "DashboardFilters":
        team = params.get("team", "")
        try:
            team = str(uuid.UUID(team)) if team else ""
        except ValueError:
            team = INVALID
        return cls(team=team, therapy=params.get("therapy", ""),
                   urgency=params.get("urgency", ""), missed=params.get("missed") in ("1", "on", "true"),
                   query=params.get("q", "").strip())


def _current_checkins():
    newer = CheckIn.objects.filter(amends=OuterRef("pk"))
    return CheckIn.objects.filter(patient=OuterRef("pk")).filter(~Exists(newer))


def _overdue_cutoffs(pairs: list[tuple[int, str]]) -> tuple[Case, Case, Case]:
    """Per (center, patient time zone): the dates before which a missing check-in counts as missed, for
    daily and for interval patients (center policy: daily through the CAR T period, then every N days),
    judged by the patient's own calendar day."""
    daily, interval, daily_start = [], [], []
    policies = {center.pk: policy_for_center(center) for center in Center.objects.filter(pk__in={c for c, _ in pairs})}
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


def annotate_checkin_status(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Add `last_complete_on`, `infusion_on`, `in_daily_period` and `missed`: a check-in that was due
    (daily through the CAR T daily period, then every `checkin_interval_days`; center policy) is overdue."""
    checkins = _current_checkins()
    courses = TreatmentCourse.objects.filter(patient=OuterRef("pk"), status=CourseStatus.ACTIVE)
    car_t = courses.filter(therapy__therapy_class=TherapyClass.CAR_T).order_by("-start_date")
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


def dashboard_patients_for_user(user: User, filters: DashboardFilters = DashboardFilters()) -> QuerySet[Patient]:
    visible = patients_visible_to(user)
    open_alerts = Alert.objects.filter(patient=OuterRef("pk")).exclude(status=AlertStatus.RESOLVED)
    top = open_alerts.order_by("-urgency", F("min_grade").desc(nulls_last=True), "opened_at")
    checkins = _current_checkins()
    latest = checkins.order_by("-recorded_at")
    courses = TreatmentCourse.objects.filter(patient=OuterRef("pk"), status=CourseStatus.ACTIVE).order_by("-start_date")
    driving = Window.objects.filter(course__patient=OuterRef("pk"), course__status=CourseStatus.ACTIVE,
                                    kind=WindowKind.DRIVING, cleared_on__isnull=True).order_by("-ends_on")
    qs = annotate_checkin_status(visible).select_related("care_team", "center").annotate(
        top_urgency=Coalesce(Subquery(top.values("urgency")[:1]), 0),
        top_grade=Coalesce(Subquery(top.values("min_grade")[:1]), 0),
        top_opened_at=Subquery(top.values("opened_at")[:1]),
        top_alert_id=Subquery(top.values("uuid")[:1]),
        top_alert_title=Subquery(top.values("title")[:1]),
        top_alert_status=Subquery(top.values("status")[:1]),
        open_alert_count=Coalesce(Subquery(
            open_alerts.order_by().values("patient").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField()), 0),
        last_checkin_at=Subquery(latest.values("recorded_at")[:1]),
        last_temperature=Subquery(latest.filter(temperature_c__isnull=False).values("temperature_c")[:1]),
        last_heart_rate=Subquery(latest.filter(heart_rate__isnull=False).values("heart_rate")[:1]),
        therapy_name=Subquery(courses.values("therapy__brand_name")[:1]),
        therapy_code=Subquery(courses.values("therapy__code")[:1]),
        driving_ends_on=Subquery(driving.values("ends_on")[:1]),
    )
    if filters.team == INVALID:
        return qs.none()
    if filters.team:
        qs = qs.filter(care_team__uuid=filters.team)
    if filters.therapy:
        qs = qs.filter(Exists(TreatmentCourse.objects.filter(patient=OuterRef("pk"), status=CourseStatus.ACTIVE,
                                                             therapy__code=filters.therapy)))
    if filters.urgency in URGENCY_BY_LABEL:
        qs = qs.filter(top_urgency__gte=URGENCY_BY_LABEL[filters.urgency])
    if filters.missed:
        qs = qs.filter(missed=True)
    if filters.query:
        qs = qs.filter(Q(last_name__icontains=filters.query) | Q(first_name__icontains=filters.query)
                       | Q(mrn__iexact=filters.query))
    return qs.order_by("-top_urgency", "-top_grade", F("top_opened_at").asc(nulls_last=True), "last_name", "pk")
