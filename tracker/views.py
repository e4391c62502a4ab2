"""Pages for patients, caregivers and staff. They work without JavaScript."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError as DRFValidationError

from tracker import selectors, services
from tracker.api.errors import flatten_errors
from tracker.api.serializers import CheckInInputSerializer
from tracker.audit import audit
from tracker.models import Patient, Role
from tracker.models.checkins import AbdominalPain, Channel, Consciousness
from tracker.questions import SECTIONS, YES_NO_FIELDS, questions_for
from tracker.security import CheckinRateThrottle


def _visible_patient(request: HttpRequest, patient_id) -> Patient:
    patient = (
        selectors.patients_visible_to(request.user)
        .select_related("center", "care_team")
        .filter(uuid=patient_id)
        .first()
    )
    if patient is None:
        raise Http404("No such patient in your care.")
    audit(request, "view" if request.method == "GET" else "create", patient=patient)
    return patient


def _activate_patient_language(request: HttpRequest, patient: Patient) -> None:
    """Patient-facing pages follow the patient's language unless the reader picked one."""
    if request.user.role in (Role.PATIENT, Role.CAREGIVER) and not request.COOKIES.get("django_language"):
        translation.activate(patient.preferred_language)
        request.LANGUAGE_CODE = patient.preferred_language


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.role in (Role.PATIENT, Role.CAREGIVER):
        patients = list(selectors.patients_visible_to(user).order_by("last_name"))
        if len(patients) == 1:
            return redirect("patient-home", patient_id=patients[0].uuid)
        return render(request, "tracker/choose_patient.html", {"patients": patients})
    return redirect("dashboard")


@login_required
def patient_home(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _visible_patient(request, patient_id)
    _activate_patient_language(request, patient)
    today = timezone.localtime(timezone.now(), patient.tz).date()
    logged = selectors.logged_dates(patient, start=today - dt.timedelta(days=13), end=today)
    courses = list(patient.courses.select_related("therapy").order_by("-start_date"))
    return render(request, "tracker/patient_home.html", {
        "patient": patient,
        "today": today,
        "logged_today": today in logged,
        "days": [(today - dt.timedelta(days=n), (today - dt.timedelta(days=n)) in logged) for n in range(14)],
        "courses": courses,
        "checkins": selectors.latest_checkins(patient, limit=14),
    })


def _form_values(post) -> dict:
    """Turn the page's form into the API's input: ticked boxes are yes, unticked are no."""
    data: dict = {}
    for name in ("temperature", "temperature_unit", "heart_rate", "systolic_bp", "diastolic_bp", "spo2",
                 "consciousness", "ice_orientation", "ice_naming", "ice_command", "ice_writing", "ice_counting",
                 "extra_stools", "abdominal_pain", "rash_percent", "note", "recorded_at"):
        value = post.get(name, "").strip()
        if value != "":
            data[name] = value
    shown = set(post.getlist("asked"))
    for name in YES_NO_FIELDS:
        if name in shown:
            data[name] = name in post.getlist("yes")
    return data


@login_required
@require_http_methods(["GET", "POST"])
def checkin_new(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _visible_patient(request, patient_id)
    _activate_patient_language(request, patient)
    audiences = selectors.patient_audiences(patient)
    errors: dict[str, list[str]] = {}
    data: dict = {"temperature_unit": "F" if patient.center.time_zone.startswith("America/") else "C"}
    if request.method == "POST" and not CheckinRateThrottle().allow_request(request, None):
        errors = {"non_field_errors": [_("Too many check-ins in a short time. Please wait a minute and try again; "
                                         "if you feel unwell, call your care team now.")]}
        return render(request, "tracker/checkin_form.html", _form_context(request, patient, audiences, data, errors),
                      status=429)
    if request.method == "POST":
        data = _form_values(request.POST)
        serializer = CheckInInputSerializer(data=data)
        try:
            with timezone.override(patient.tz):  # a typed time is the patient's local time
                serializer.is_valid(raise_exception=True)
        except DRFValidationError as exc:
            errors = flatten_errors(exc.detail)
        else:
            values = dict(serializer.validated_data)
            result = services.checkin_submit(
                patient=patient, entered_by=request.user, channel=Channel.WEB, values=values,
                recorded_at=values.pop("recorded_at", None),
            )
            return redirect("checkin-detail", patient_id=patient.uuid, checkin_id=result.checkin.uuid)
    return render(request, "tracker/checkin_form.html", _form_context(request, patient, audiences, data, errors),
                  status=400 if errors else 200)


def _form_context(request, patient, audiences, data, errors) -> dict:
    questions = questions_for(audiences)
    return {
        "patient": patient,
        "sections": [(key, title, [q for q in questions if q.section == key]) for key, title in SECTIONS.items()],
        "audiences": audiences,
        "data": data,
        "ticked": {name for name in YES_NO_FIELDS if data.get(name) is True},
        "errors": errors,
        "consciousness_choices": Consciousness.choices,
        "abdominal_pain_choices": AbdominalPain.choices,
        "is_staff_entry": request.user.is_staff_member,
    }


@login_required
def checkin_detail(request: HttpRequest, patient_id, checkin_id) -> HttpResponse:
    patient = _visible_patient(request, patient_id)
    _activate_patient_language(request, patient)
    checkin = get_object_or_404(
        selectors.checkins_visible_to(request.user, include_superseded=True).select_related("entered_by", "amends"),
        uuid=checkin_id, patient=patient,
    )
    answered_yes = [q for q in questions_for(selectors.patient_audiences(patient)) if getattr(checkin, q.field)]
    return render(request, "tracker/checkin_detail.html", {
        "patient": patient, "checkin": checkin, "answered_yes": answered_yes,
    })


@login_required
def staff_patients(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff_member:
        raise Http404
    query = request.GET.get("q", "").strip()
    patients = selectors.patients_visible_to(request.user).select_related("care_team").order_by("last_name")
    if query:
        from django.db.models import Q

        patients = patients.filter(Q(last_name__icontains=query) | Q(first_name__icontains=query) | Q(mrn__iexact=query))
    patients = list(patients[:200])
    audit(request, "list", patients=patients)
    return render(request, "tracker/staff_patients.html", {"patients": patients, "query": query})


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404 for URLs nothing matched: the API's error shape under /api/, the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "not_found", "detail": "Not found.", "fields": {}}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "server_error", "detail": "Something went wrong on our side; it has been logged.",
                             "fields": {}}, status=500)
    return render(request, "500.html", status=500)
