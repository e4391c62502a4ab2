"""Staff pages of monitoring. The alert page is where every message links; the template lists the
alert's notifications (delivery status) through the reverse relation the notifications app adds."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from monitoring import selectors
from monitoring.dashboard import PAGE_SIZE, URGENCY_BY_LABEL, DashboardFilters, dashboard_patients_for_user
from monitoring.models import AlertStatus
from monitoring.services.alerts import alert_acknowledge, alert_resolve
from tracker.audit import audit
from tracker.errors import ApplicationError
from tracker.models import CareTeam, Therapy


def _staff_alert(request: HttpRequest, alert_id):
    if not request.user.is_staff_member:
        raise Http404
    alert = get_object_or_404(
        selectors.alerts_visible_to(request.user).select_related("patient__center", "acknowledged_by", "resolved_by"),
        uuid=alert_id,
    )
    audit(request, "view" if request.method == "GET" else request.resolver_match.kwargs.get("action", "change"),
          patient=alert.patient)
    return alert


@login_required
def alert_detail(request: HttpRequest, alert_id) -> HttpResponse:
    alert = _staff_alert(request, alert_id)
    return render(request, "monitoring/alert_detail.html", {
        "alert": alert, "events": alert.events.select_related("actor", "checkin"), "error": "", "note": "",
    })


@login_required
@require_POST
def alert_action(request: HttpRequest, alert_id, action: str) -> HttpResponse:
    alert = _staff_alert(request, alert_id)
    note = request.POST.get("note", "")
    try:
        if action == "acknowledge":
            alert_acknowledge(alert=alert, user=request.user, note=note)
        elif action == "resolve":
            alert_resolve(alert=alert, user=request.user, note=note)
        else:
            raise Http404
    except ApplicationError as exc:
        alert.refresh_from_db()
        return render(request, "monitoring/alert_detail.html", {
            "alert": alert, "events": alert.events.select_related("actor", "checkin"),
            "error": exc.detail, "fields": exc.fields, "note": note,
        }, status=exc.status_code)
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect("alert-detail", alert_id=alert.uuid)


def _require_staff(request: HttpRequest) -> None:
    if not request.user.is_staff_member:
        raise Http404


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Patients sorted by risk. htmx polls the rows (`?partial=rows`) to show new alerts without a reload."""
    _require_staff(request)
    filters = DashboardFilters.from_params(request.GET)
    rows = list(dashboard_patients_for_user(request.user, filters)[:PAGE_SIZE])
    audit(request, "list", patients=rows)
    since = parse_datetime(request.GET.get("since", "") or "")
    now = timezone.now()
    for row in rows:
        today = timezone.localtime(now, row.tz).date()  # the patient's own calendar day
        row.day = (today - row.infusion_on).days if row.infusion_on else None
        row.driving_active = bool(row.driving_ends_on and row.driving_ends_on > today)
        row.is_new = bool(since and row.top_opened_at and row.top_opened_at > since)
    context = {
        "rows": rows, "filters": filters, "now": now, "poll_since": now.isoformat(),
        "teams": CareTeam.objects.filter(pk__in=selectors.patients_visible_to(request.user).values("care_team_id")),
        "therapies": Therapy.objects.all(), "urgencies": list(URGENCY_BY_LABEL),
        "open_counts": _open_counts(request.user), "poll_seconds": settings.DASHBOARD_POLL_SECONDS,
    }
    template = "monitoring/_dashboard_rows.html" if request.headers.get("HX-Request") else "monitoring/dashboard.html"
    return render(request, template, context)


def _open_counts(user) -> dict:
    counts = (selectors.alerts_visible_to(user).exclude(status=AlertStatus.RESOLVED)
              .values("urgency").annotate(n=Count("pk")))
    by_value = {row["urgency"]: row["n"] for row in counts}
    return {label.replace("-", "_"): by_value.get(value, 0) for label, value in URGENCY_BY_LABEL.items()}


@login_required
def alert_inbox(request: HttpRequest) -> HttpResponse:
    """Open alerts of the user's teams, emergencies first, with rationale, evidence and delivery status."""
    _require_staff(request)
    alerts = list(selectors.open_alerts_worklist(request.user).prefetch_related("notifications")[:PAGE_SIZE])
    audit(request, "list", patients=[a.patient_id for a in alerts])
    return render(request, "monitoring/alert_inbox.html", {"alerts": alerts})


@login_required
def staff_patient_detail(request: HttpRequest, patient_id) -> HttpResponse:
    """Timeline of check-ins, amendments, alerts with their events and notifications; trend charts."""
    _require_staff(request)
    patient = get_object_or_404(
        selectors.patients_visible_to(request.user).select_related("center", "care_team"), uuid=patient_id)
    audit(request, "view", patient=patient)
    timeline = selectors.patient_timeline(patient)
    return render(request, "monitoring/patient_detail.html", {
        "patient": patient, "timeline": timeline["entries"], "chart_data": timeline["chart"],
        "windows": selectors.patient_windows(patient),
        "courses": patient.courses.select_related("therapy", "care_team").order_by("-start_date"),
        "alerts": patient.alerts.exclude(status=AlertStatus.RESOLVED).order_by("-urgency"),
    })
