"""The dashboard's rows and order written the plain way: one queryset, every column a correlated subquery.
Right, but a dozen subqueries for every visible patient before the sort can pick the first page, so the page
runs `monitoring.dashboard.dashboard_page` instead; the tests check that both give the same rows in the same
order."""

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from monitoring.dashboard import (
    INVALID,
    DashboardFilters,
    annotate_checkin_status,
    annotate_row_details,
    filter_patients,
)
from monitoring.models import Alert, AlertStatus
from monitoring.urgency import ALERT_LEVEL_BY_LABEL
from tracker.models import Patient, User
from tracker.selectors import patients_visible_to

# A patient's top alert: the most urgent unresolved one, the higher grade first (ungraded last), then the
# one that has waited longest. The row's place follows it.
TOP_ALERT_ORDER = ("-urgency", F("min_grade").desc(nulls_last=True), "opened_at", "pk")


def dashboard_patients_for_user(user: User, filters: DashboardFilters = DashboardFilters()) -> QuerySet[Patient]:
    """Every visible patient matching the filters, sorted by risk, each with every column of a row."""
    visible = patients_visible_to(user)
    open_alerts = Alert.objects.filter(patient=OuterRef("pk")).exclude(status=AlertStatus.RESOLVED)
    top = open_alerts.order_by(*TOP_ALERT_ORDER)
    qs = annotate_row_details(annotate_checkin_status(visible)).annotate(
        top_urgency=Coalesce(Subquery(top.values("urgency")[:1]), 0),
        top_grade=Coalesce(Subquery(top.values("min_grade")[:1]), 0),
        top_opened_at=Subquery(top.values("opened_at")[:1]),
        top_alert_id=Subquery(top.values("uuid")[:1]),
        top_alert_title=Subquery(top.values("title")[:1]),
        top_alert_status=Subquery(top.values("status")[:1]),
        open_alert_count=Coalesce(Subquery(
            open_alerts.order_by().values("patient").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField()), 0),
    )
    if filters.team == INVALID:
        return qs.none()
    qs = filter_patients(qs, filters)
    if filters.urgency in ALERT_LEVEL_BY_LABEL:
        qs = qs.filter(top_urgency__gte=ALERT_LEVEL_BY_LABEL[filters.urgency])
    if filters.missed:
        qs = qs.filter(missed=True)
    return qs.order_by("-top_urgency", "-top_grade", F("top_opened_at").asc(nulls_last=True), "last_name", "pk")
