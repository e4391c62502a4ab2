"""Staff pages of monitoring. The alert page is where every message links; the template lists the
alert's notifications (delivery status) through the reverse relation the notifications app adds."""

import uuid
import zoneinfo
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from monitoring import plain, selectors
from monitoring.dashboard import PAGE_SIZE, DashboardFilters, dashboard_page
from monitoring.dashboard_markup import rows_markup
from monitoring.devices import DEVICE_CHART_HOURS, device_chart_series, device_temperature_of, reading_age
from monitoring.models import AlertEvent, AlertStatus, DoseWindow
from monitoring.rules import Urgency
from monitoring.rules.types import FEVER_C, has_fever
from monitoring.selectors import policy_for_center
from monitoring.services.alerts import alert_acknowledge, alert_log_call, alert_mark_seen, alert_resolve
from monitoring.services.dose_windows import dose_window_clear
from monitoring.staff import format_time, render_staff, request_zone, staff_page
from monitoring.templatetags.staff_tags import tel_uri
from monitoring.urgency import ALERT_LEVELS, COUNT_TEXTS, urgency_class, urgency_word
from tracker.audit import audit
from tracker.device_views import device_section
from tracker.dose_services import with_dose_flag
from tracker.dose_views import dose_sections
from tracker.errors import ApplicationError
from tracker.http import SignedInRequest
from tracker.models import CareTeam, Role, Therapy, TreatmentCourse
from tracker.models.therapies import CourseStatus
from tracker.questions import IL2_CODES
from tracker.services import course_set_baseline_weight


def _staff_alert(request: SignedInRequest, alert_id):
    alert = get_object_or_404(
        selectors.alerts_visible_to(request.user).select_related("patient__center", "acknowledged_by", "resolved_by",
                                                                 "last_checkin"),
        uuid=alert_id,
    )
    action = request.resolver_match.kwargs.get("action", "change") if request.resolver_match else "change"
    audit(request, "view" if request.method == "GET" else action,
          patient=alert.patient)
    return alert


def _alert_page(request: HttpRequest, alert, *, status: int = 200, **extra) -> HttpResponse:
    """The alert page: what it is in plain words, why (rule ids and sources behind "Why"), whom to call, the
    call log, its history as sentences, who was notified; every time on the patient's center's clock."""
    patient = alert.patient
    zone = zoneinfo.ZoneInfo(patient.center.time_zone)
    events = list(alert.events.select_related("actor", "checkin"))
    context = {
        "alert": alert, "patient": patient, "headline": plain.alert_headline_of(alert),
        "rationale": plain.alert_rationale(alert, zone), "rules": plain.why_rules(alert),
        "events": events, "calls": [e for e in events if e.kind == AlertEvent.Kind.CALL],
        "contacts": _contacts(patient), "call_with": AlertEvent.CallWith.choices,
        "call_outcomes": AlertEvent.CallOutcome.choices, "evidence": _evidence(alert, zone),
        "notifications": alert.notifications.select_related("recipient").order_by("created_at", "pk"),
        "error": "", "note": "", "failed_action": "", "therapy": _therapy_day(patient),
        "device_temperature": device_temperature_of(patient, timezone.now()), **extra,
    }
    # Every name the template reads is set (an unresolved one is logged with the page's data at DEBUG).
    context["fields"] = {"called": [], "outcome": [], "note": [], **extra.get("fields", {})}
    context["call"] = {"called": "", "outcome": "", "note": "", **extra.get("call", {})}
    return render_staff(request, "monitoring/alert_detail.html", context, zone=zone, status=status)


def _therapy_day(patient) -> dict | None:
    """The active therapy and the day since it started on the patient's own calendar (CAR T: the peak-risk
    window of days 0-14, clinical-rules §1), for the line under the alert's headline."""
    course = (patient.courses.filter(status=CourseStatus.ACTIVE).select_related("therapy").order_by("-start_date")
              .first())
    if course is None:
        return None
    day = (timezone.localtime(timezone.now(), patient.tz).date() - course.start_date).days
    return {"name": course.therapy.brand_name, "day": day,
            "peak": course.therapy.is_car_t and 0 <= day <= PEAK_RISK_LAST_DAY}


def _evidence(alert, zone) -> list[dict]:
    """Each check-in (or stretch of device readings) that added to the alert, newest first, in words: when, how
    urgent, what it showed, its times on the center's clock (`zone`)."""
    entries = []
    for entry in reversed(alert.evidence or []):
        at = parse_datetime(entry.get("recorded_at") or "")
        entries.append({"at": at, "urgency": entry.get("urgency", ""),
                        "text": plain.finding_rationale(entry, zone),
                        "rule_id": entry.get("rule_id", ""), "source": entry.get("source", ""),
                        "checkin": entry.get("checkin", "")})
    return entries


def _contacts(patient) -> list[dict]:
    """Whom a nurse can call about the patient, with tap-to-call links: the patient, then each caregiver."""
    people = [{"who": _("Patient"), "name": patient.full_name, "phone": patient.phone, "tel": tel_uri(patient.phone)}]
    for link in patient.caregiver_links.select_related("user").order_by("pk"):
        user = link.user
        who = _("Caregiver (%(relationship)s)") % {"relationship": link.relationship} if link.relationship \
            else _("Caregiver")
        people.append({"who": who, "name": user.get_full_name() or user.username, "phone": user.phone,
                       "tel": tel_uri(user.phone)})
    return people


@staff_page
def alert_detail(request: SignedInRequest, alert_id) -> HttpResponse:
    alert = _staff_alert(request, alert_id)
    alert_mark_seen(alert=alert, user=request.user)  # no longer "new" to her on the dashboard
    return _alert_page(request, alert)


@login_required
@require_POST
@staff_page
def alert_action(request: SignedInRequest, alert_id, action: str) -> HttpResponse:
    if action not in ("acknowledge", "resolve", "call"):
        raise Http404
    alert = _staff_alert(request, alert_id)
    note = request.POST.get("note", "")
    try:
        if action == "acknowledge":
            alert_acknowledge(alert=alert, user=request.user, note=note)
        elif action == "resolve":
            alert_resolve(alert=alert, user=request.user, note=note)
        else:
            alert_log_call(alert=alert, user=request.user, called=request.POST.get("called", ""),
                           outcome=request.POST.get("outcome", ""), note=note)
    except ApplicationError as exc:
        alert.refresh_from_db()
        call = {"called": request.POST.get("called", ""), "outcome": request.POST.get("outcome", ""), "note": note}
        return _alert_page(request, alert, status=exc.status_code, error=exc.detail, fields=exc.fields,
                           note="" if action == "call" else note, call=call if action == "call" else {},
                           failed_action=action)
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    if action == "call":
        return redirect(reverse("alert-detail", args=[alert.uuid]) + "#calls")
    return redirect("alert-detail", alert_id=alert.uuid)


DASHBOARD_QUERY = "dashboard_query"  # session key: the name or MRN the dashboard is filtered by
FILTERS_IN_URL = ("team", "therapy", "urgency", "missed")  # no patient data in these


@staff_page
@require_http_methods(["GET", "POST"])
def dashboard(request: SignedInRequest) -> HttpResponse:
    """Patients sorted by risk. htmx polls the rows every few seconds to show new alerts without a reload.
    The filter form is POSTed: the name or MRN searched for is kept in the session, never in the URL (nor the
    browser history or access logs); the other filters go back into the URL, which can be bookmarked.
    Every unresolved alert of a patient is listed in the row, newest first; one this staff member has not
    opened since it last changed is marked new, and its row outlined (`selectors.with_unseen`)."""
    if request.method == "POST":
        request.session[DASHBOARD_QUERY] = request.POST.get("q", "").strip()[:100]
        params = {name: request.POST[name] for name in FILTERS_IN_URL if request.POST.get(name)}
        return redirect(f"{reverse('dashboard')}?{urlencode(params)}" if params else reverse("dashboard"))
    filters = DashboardFilters.from_params({**request.GET.dict(), "q": request.session.get(DASHBOARD_QUERY, "")})
    rows = dashboard_page(request.user, filters)
    audit(request, "list", patients=[row["pk"] for row in rows])
    now, zone = timezone.now(), request_zone(request)
    with timezone.override(zone):
        shown = _display_rows(rows, now=now)
    # One token for every row's forms (rendering {% csrf_token %} twice a row was a good part of the page).
    csrf_input = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
    context = {
        "rows": shown, "filters": filters, "now": now, "next": request.get_full_path(), "csrf_input": csrf_input,
        "rows_markup": rows_markup(shown, csrf_input=csrf_input, next_url=request.get_full_path()),
        "open_counts": _open_counts(request.user), "poll_seconds": settings.DASHBOARD_POLL_SECONDS,
        "unseen_rows": sum(1 for row in shown if row["new"]),
    }
    if request.headers.get("HX-Request"):
        return render_staff(request, "monitoring/_dashboard_rows.html", context, zone=zone)
    context.update({
        "teams": CareTeam.objects.filter(
            pk__in=selectors.patients_visible_to(request.user).order_by().values("care_team_id").distinct()),
        "therapies": Therapy.objects.all(),
        "urgencies": [{"label": level.label, "word": urgency_word(level)} for level in ALERT_LEVELS],
    })
    return render_staff(request, "monitoring/dashboard.html", context, zone=zone)


PEAK_RISK_LAST_DAY = 14  # clinical-rules §1: show a "peak-risk window (days 0-14)" marker after CAR T
_ANY_UUID = uuid.UUID(int=0)


def _url_with_uuid(name: str, *args):
    """reverse() once; each row fills in its uuid (reversing 800 times was a good part of the page)."""
    head, tail = reverse(name, args=[_ANY_UUID, *args]).split(str(_ANY_UUID))
    return lambda value: f"{head}{value}{tail}"


def _display_rows(rows: list[dict], *, now) -> list[dict]:
    """What each dashboard row shows, worked out here rather than in template tags (200 rows of them; the
    tags were most of the page's time): the template only places these strings. Times on the active (the
    center's) clock with the zone, through the one formatter of the staff pages."""
    patient_url = _url_with_uuid("staff-patient-detail")
    alert_url = _url_with_uuid("alert-detail")
    acknowledge_url = _url_with_uuid("alert-action", "acknowledge")
    resolve_url = _url_with_uuid("alert-action", "resolve")
    today_in = {}
    ago = _("%(time)s ago")
    shown = []
    for row in rows:
        tz = row["time_zone"]
        if tz not in today_in:
            today_in[tz] = timezone.localtime(now, zoneinfo.ZoneInfo(tz)).date()  # the patient's own calendar day
        today = today_in[tz]
        day = (today - row["infusion_on"]).days if row["infusion_on"] else None
        temperature, heart_rate, driving = row["last_temperature"], row["last_heart_rate"], row["driving_ends_on"]
        urgency, last = row["top_urgency"], row["last_checkin_at"]
        alerts = [_display_alert(alert, alert_url, acknowledge_url, resolve_url) for alert in row.get("alerts", [])]
        caregiver = row["caregiver_phone"] and {
            "name": row["caregiver_first_name"] or "", "relationship": row["caregiver_relationship"] or "",
            "phone": row["caregiver_phone"], "tel": tel_uri(row["caregiver_phone"])}
        shown.append({
            "uuid": str(row["uuid"]), "urgency": str(urgency), "urgency_class": urgency_class(urgency),
            "url": patient_url(row["uuid"]),
            "new": any(alert["new"] for alert in alerts), "emergency": urgency >= Urgency.EMERGENCY,
            "name": f"{row['last_name']}, {row['first_name']}", "mrn": row["mrn"], "team": row["care_team_name"],
            "phone": row["phone"], "tel": tel_uri(row["phone"]), "caregiver": caregiver,
            "missed": row["missed"], "therapy": row["therapy_name"] or "—",
            "day": "" if day is None else str(day), "peak": day is not None and 0 <= day <= PEAK_RISK_LAST_DAY,
            "last_checkin": (_("never") if not last else _("just now") if (now - last).total_seconds() < 60
                             else ago % {"time": timesince(last, now)}),
            "last_checkin_at": format_time(last, "datetime") if last else "",
            "temperature": "" if temperature is None else f"{floatformat(temperature, 1)} °C",
            "fever": temperature is not None and has_fever(float(temperature)),  # clinical-rules §1
            "heart_rate": str(heart_rate) if heart_rate else "—",
            **_device_cells(row, now),
            "driving": ("—" if not driving else _("until %(date)s") % {"date": date_filter(driving, "j M")}
                        if driving > today else _("ended")),
            "alerts": alerts,
        })
    return shown


def _device_cells(row: dict, now) -> dict:
    """The device line under the typed readings (clinical-rules §10): the latest device temperature with its age
    ("38.4 °C · 2 min ago") while a patch or thermometer is assigned, and "device silent" with the age of the last
    reading while the silence scan's alert is open."""
    value, at, last = row["device_temperature"], row["device_temperature_at"], row["device_last_at"]
    shown = row["has_temperature_device"] and value is not None
    return {
        "device_temperature": f"{floatformat(value, 1)} °C" if shown else "",
        "device_fever": shown and has_fever(value),  # clinical-rules §1, as for a typed reading
        "device_age": reading_age(at, now) if shown else "",
        "device_measured": format_time(at, "datetime") if shown else "",
        "device_silent": row["device_silent"],
        # The age of the last reading beside the badge, unless the temperature line just above says the same.
        "device_last": reading_age(last, now) if row["device_silent"] and last and not (shown and last == at) else "",
    }


def _display_alert(alert: dict, alert_url, acknowledge_url, resolve_url) -> dict:
    """One of a row's alerts: plain words, how urgent, when it opened, who took it, new to this reader."""
    acknowledged_by = " ".join(filter(None, (alert["acknowledged_by__first_name"],
                                             alert["acknowledged_by__last_name"]))) or alert["acknowledged_by__username"]
    return {
        "uuid": str(alert["uuid"]), "url": alert_url(alert["uuid"]), "new": alert["unseen"],
        "urgency_class": urgency_class(alert["urgency"]), "urgency": urgency_word(alert["urgency"]),
        "headline": plain.alert_headline(condition=alert["condition"], rule_ids=alert["rule_ids"],
                                         min_grade=alert["min_grade"], grading_system=alert["grading_system"],
                                         title=alert["title"]),
        "opened": format_time(alert["opened_at"], "datetime"),
        "acknowledged": alert["status"] == AlertStatus.ACKNOWLEDGED, "acknowledged_by": acknowledged_by or "",
        "acknowledge_url": acknowledge_url(alert["uuid"]) if alert["status"] == AlertStatus.OPEN else "",
        "resolve_url": resolve_url(alert["uuid"]),
    }


def _open_counts(user) -> list[dict]:
    """The summary above the rows: how many unresolved alerts of each level, most urgent first."""
    counts = (selectors.alerts_visible_to(user).exclude(status=AlertStatus.RESOLVED)
              .values("urgency").annotate(n=Count("pk")))
    by_value = {row["urgency"]: row["n"] for row in counts}
    return [{"class": urgency_class(level) if by_value.get(level) else "zero",
             "text": COUNT_TEXTS[level] % {"n": by_value.get(level, 0)}} for level in reversed(ALERT_LEVELS)]


@staff_page
def alert_inbox(request: SignedInRequest) -> HttpResponse:
    """Open alerts of the user's teams, emergencies first, with rationale, evidence and delivery status."""
    alerts = list(selectors.with_unseen(selectors.open_alerts_worklist(request.user), request.user)
                  .prefetch_related("notifications")[:PAGE_SIZE])
    audit(request, "list", patients=[a.patient_id for a in alerts])
    return render_staff(request, "monitoring/alert_inbox.html", {"alerts": alerts})


@staff_page
def staff_patient_detail(request: SignedInRequest, patient_id) -> HttpResponse:
    """Whom to call (tap to call), open alerts, therapy, windows, trend charts on a time axis and the timeline
    of check-ins, amendments, alert events (calls too) and notifications, on the center's clock."""
    patient = get_object_or_404(
        selectors.patients_visible_to(request.user).select_related("center", "care_team"), uuid=patient_id)
    audit(request, "view", patient=patient)
    return _patient_page(request, patient)


def _patient_page(request: SignedInRequest, patient, *, status: int = 200, clear: dict | None = None,
                  baseline: dict | None = None) -> HttpResponse:
    """The staff patient page; `clear`: a refused clearance of a dose window (its window id, error and note);
    `baseline`: a refused baseline weight (its course id, error and the value typed)."""
    timeline = selectors.patient_timeline(patient)
    chart = timeline["chart"]
    policy = policy_for_center(patient.center)
    # The fever line is clinical-rules §1 (38.0 °C); the SpO2 and systolic lines are the center's limits (§1, policy).
    # Device readings (clinical-rules §10) as lines of the last DEVICE_CHART_HOURS, the check-ins' as points.
    device = device_chart_series(patient, timezone.now())
    chart.update(zone=patient.center.time_zone, fever_c=FEVER_C, spo2_min=policy.spo2_min,
                 systolic_min=policy.systolic_bp_min, device=device, text={
                     "temperature": _("Temperature °C"), "fever": _("Fever"), "heart_rate": _("Heart rate"),
                     "limit": _("Center limit"), "systolic": _("Systolic"), "diastolic": _("Diastolic"),
                     "device": _("device"), "checkin": _("check-in")})
    readings = {name: any(v is not None for v in chart[name]) or name in device
                for name in ("temperature", "heart_rate", "spo2", "ice")}
    readings["bp"] = any(any(v is not None for v in chart[name]) or name in device for name in ("systolic", "diastolic"))
    courses = list(with_dose_flag(patient.courses.select_related("therapy", "care_team", "baseline_weight_by")).order_by("-start_date"))
    zone = zoneinfo.ZoneInfo(patient.center.time_zone)
    with timezone.override(zone):  # the Doses section's times, like the page's, on the center's clock
        doses = dose_sections(patient, courses)
        devices = device_section(patient)
    return render_staff(request, "monitoring/patient_detail.html", {
        "patient": patient, "timeline": timeline["entries"], "chart_data": chart, "readings": readings,
        "policy": policy, "contacts": _contacts(patient), "device_hours": DEVICE_CHART_HOURS,
        "windows": selectors.patient_windows(patient),
        "dose_windows": selectors.patient_dose_windows(patient)
        if any(c.therapy.dose_schedule for c in courses) else [],
        "courses": courses, "dose_sections": doses, "zone": zone.key, "show_errors": False, **devices,
        "alerts": selectors.with_unseen(patient.alerts.exclude(status=AlertStatus.RESOLVED), request.user)
        .select_related("acknowledged_by").order_by("-urgency", "-opened_at"),
        # Every name the template reads is set (an unresolved one would be logged with the page's data).
        "can_clear": request.user.role == Role.PHYSICIAN,
        "clear": clear or {"window": None, "error": "", "note": ""},
        "baseline": baseline or {"course": None, "error": "", "value": ""},
        "il2_codes": IL2_CODES,
    }, zone=zone, status=status)


@login_required
@require_POST
@staff_page
def dose_window_clear_page(request: SignedInRequest, dose_window_id) -> HttpResponse:
    """A physician records that the neurologic finding behind a reopened no-driving window after T-cell engager
    doses has resolved, with a required note (clinical-rules §8); audited, a WindowEvent. Refused (the page again,
    with the reason beside the form) for anyone else, without a note, or for a window no finding reopened."""
    window = get_object_or_404(
        DoseWindow.objects.filter(course__patient__in=selectors.patients_visible_to(request.user).values("pk"))
        .select_related("course__patient__center", "course__patient__care_team"), uuid=dose_window_id)
    patient = window.course.patient
    audit(request, "clear_window", patient=patient)
    note = request.POST.get("note", "")
    try:
        dose_window_clear(window=window, user=request.user, reason=note)
    except ApplicationError as exc:
        return _patient_page(request, patient, status=exc.status_code,
                             clear={"window": window.pk, "error": exc.detail, "note": note})
    return redirect(reverse("staff-patient-detail", args=[patient.uuid]) + "#dose-windows")


@login_required
@require_POST
@staff_page
def course_baseline_weight_page(request: SignedInRequest, course_id) -> HttpResponse:
    """Staff of the patient's team enter the weight before interleukin-2 that the weight-gain rule counts from
    (clinical-rules §9); audited, who and when kept on the course. Bad input: the page again, the error beside
    the field (400)."""
    course = get_object_or_404(
        TreatmentCourse.objects.filter(patient__in=selectors.patients_visible_to(request.user).values("pk"))
        .select_related("therapy", "patient__center", "patient__care_team"), uuid=course_id)
    patient = course.patient
    audit(request, "set_baseline_weight", patient=patient)
    value = request.POST.get("weight_kg", "")
    try:
        course_set_baseline_weight(course=course, weight_kg=value, user=request.user)
    except ApplicationError as exc:
        return _patient_page(request, patient, status=exc.status_code,
                             baseline={"course": course.pk, "error": exc.detail, "value": value})
    return redirect(reverse("staff-patient-detail", args=[patient.uuid]) + f"#course-{course.uuid}")
