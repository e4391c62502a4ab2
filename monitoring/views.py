"""Staff pages of monitoring. The alert page is where every message links; the template lists the
alert's notifications (delivery status) through the reverse relation the notifications app adds."""

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from monitoring import selectors
from monitoring.dashboard import PAGE_SIZE, URGENCY_BY_LABEL, DashboardFilters, dashboard_page
from monitoring.models import AlertStatus
from monitoring.rules.types import has_fever
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
    rows = dashboard_page(request.user, filters)
    audit(request, "list", patients=[row["pk"] for row in rows])
    since = parse_datetime(request.GET.get("since", "") or "")
    now = timezone.now()
    context = {
        "rows": _display_rows(rows, now=now, since=since), "filters": filters, "now": now,
        "poll_since": now.isoformat(), "next": request.path,
        # One token for every row's forms (rendering {% csrf_token %} twice a row was a good part of the page).
        "csrf_input": format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)),
        "teams": CareTeam.objects.filter(
            pk__in=selectors.patients_visible_to(request.user).order_by().values("care_team_id").distinct()),
        "therapies": Therapy.objects.all(), "urgencies": list(URGENCY_BY_LABEL),
        "open_counts": _open_counts(request.user), "poll_seconds": settings.DASHBOARD_POLL_SECONDS,
    }
    template = "monitoring/_dashboard_rows.html" if request.headers.get("HX-Request") else "monitoring/dashboard.html"
    return render(request, template, context)


_URGENCY_PILL = {4: "emergency", 3: "urgent", 2: "same-day"}  # else routine
PEAK_RISK_LAST_DAY = 14  # clinical-rules §1: show a "peak-risk window (days 0-14)" marker after CAR T
_ANY_UUID = uuid.UUID(int=0)


def _url_with_uuid(name: str, *args):
    """reverse() once; each row fills in its uuid (reversing 800 times was a good part of the page)."""
    head, tail = reverse(name, args=[_ANY_UUID, *args]).split(str(_ANY_UUID))
    return lambda value: f"{head}{value}{tail}"


def _display_rows(rows: list[dict], *, now, since) -> list[dict]:
    """What each dashboard row shows, worked out here rather than in template tags (200 rows of them; the
    tags were most of the page's time): the template only places these strings. Same text as the template
    made: the same timesince, floatformat and date filters, called directly."""
    patient_url = _url_with_uuid("staff-patient-detail")
    alert_url = _url_with_uuid("alert-detail")
    acknowledge_url = _url_with_uuid("alert-action", "acknowledge")
    resolve_url = _url_with_uuid("alert-action", "resolve")
    today_in = {}
    shown = []
    for row in rows:
        tz = row["time_zone"]
        if tz not in today_in:
            today_in[tz] = timezone.localtime(now, zoneinfo.ZoneInfo(tz)).date()  # the patient's own calendar day
        today = today_in[tz]
        day = (today - row["infusion_on"]).days if row["infusion_on"] else None
        temperature, heart_rate, driving = row["last_temperature"], row["last_heart_rate"], row["driving_ends_on"]
        urgency, alert_id, status = row["top_urgency"], row["top_alert_id"], row["top_alert_status"]
        shown.append({
            "uuid": str(row["uuid"]), "urgency": str(urgency), "url": patient_url(row["uuid"]),
            "new": bool(since and row["top_opened_at"] and row["top_opened_at"] > since),
            "name": f"{row['last_name']}, {row['first_name']}", "mrn": row["mrn"], "team": row["care_team_name"],
            "missed": row["missed"], "therapy": row["therapy_name"] or "—",
            "day": "" if day is None else str(day), "peak": day is not None and 0 <= day <= PEAK_RISK_LAST_DAY,
            "last_checkin": f"{timesince(row['last_checkin_at'], now)} ago" if row["last_checkin_at"] else "never",
            "temperature": "" if temperature is None else f"{floatformat(temperature, 1)} °C",
            "fever": temperature is not None and has_fever(float(temperature)),  # clinical-rules §1
            "heart_rate": str(heart_rate) if heart_rate else "—",
            "driving": ("—" if not driving else f"until {date_filter(driving, 'j M')}" if driving > today else "ended"),
            "alert_id": alert_id and str(alert_id), "alert_url": alert_id and alert_url(alert_id),
            "alert_title": row["top_alert_title"], "pill": _URGENCY_PILL.get(urgency, "routine"),
            "acknowledged": status == "acknowledged",
            "acknowledge_url": acknowledge_url(alert_id) if status == "open" else "",
            "resolve_url": alert_id and resolve_url(alert_id),
            "more": str(row["open_alert_count"] - 1) if row["open_alert_count"] > 1 else "",
        })
    return shown


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
