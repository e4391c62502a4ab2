"""Pages for patients, caregivers and staff. They work without JavaScript."""

import datetime as dt
import sys
import uuid
import zoneinfo
from typing import cast

from django import db
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError as DRFValidationError

from tracker import selectors, services
from tracker.api.serializers import CheckInInputSerializer
from tracker.audit import audit
from tracker.checkin_page import asked_questions, form_sections, page_errors, read_form, recorded_summary
from tracker.checkin_time import recorded_at_error
from tracker.errors import ConflictError
from tracker.http import SignedInRequest
from tracker.language import reader_language
from tracker.models import Patient, Role
from tracker.models.checkins import AbdominalPain, Channel, Consciousness
from tracker.questions import CHECKPOINT, ICE_ITEMS, ICE_PARTS, YES_NO_FIELDS
from tracker.security import CheckinRateThrottle
from tracker.signals import checkin_questions_pending, patient_home_shown

QUEUE_HEADER = "X-Checkin-Queue"  # the service worker's resend of a check-in queued on the phone (static/js/sw.js)

def _visible_patient(request: SignedInRequest, patient_id) -> Patient:
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


def _activate_patient_language(request: SignedInRequest, patient: Patient) -> None:
    """Patient-facing pages follow the patient's language unless the reader picked one."""
    if request.user.role in (Role.PATIENT, Role.CAREGIVER) and not request.COOKIES.get("django_language"):
        translation.activate(patient.preferred_language)
        request.LANGUAGE_CODE = patient.preferred_language


@login_required
def home(request: SignedInRequest) -> HttpResponse:
    user = request.user
    if user.role in (Role.PATIENT, Role.CAREGIVER):
        patients = list(selectors.patients_visible_to(user).order_by("last_name"))
        if len(patients) == 1:
            return redirect("patient-home", patient_id=patients[0].uuid)
        return render(request, "tracker/choose_patient.html", {"patients": patients})
    return redirect("dashboard")


def _about(request: HttpRequest, patient: Patient) -> str | None:
    """Whom the pages speak about: None for the patient herself ("How are you?"), her first name for a
    caregiver or staff ("How is Maria?")."""
    return None if patient.user_id is not None and patient.user_id == request.user.pk else patient.first_name


@login_required
def patient_home(request: SignedInRequest, patient_id) -> HttpResponse:
    patient = _visible_patient(request, patient_id)
    _activate_patient_language(request, patient)
    today = timezone.localtime(timezone.now(), patient.tz).date()
    logged = selectors.logged_dates(patient, start=today - dt.timedelta(days=13), end=today)
    courses = list(patient.courses.select_related("therapy").order_by("-start_date"))
    context = {
        "patient": patient,
        "about": _about(request, patient),
        "unit": patient.temperature_unit_shown,
        "today": today,
        "logged_today": today in logged,
        "days": [(today - dt.timedelta(days=n), (today - dt.timedelta(days=n)) in logged) for n in range(14)],
        "courses": courses,
        "checkins": selectors.latest_checkins(patient, limit=14),
    }
    # What monitoring adds: the instruction of a check-in whose alert no one has acknowledged yet (it stays at
    # the top until then), why the no-driving window is longer than the label's.
    for _receiver, extra in patient_home_shown.send(sender=Patient, patient=patient):
        if isinstance(extra, dict):
            context.update(extra)
    with timezone.override(patient.tz):  # times on the patient's own clock
        return render(request, "tracker/patient_home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def checkin_new(request: SignedInRequest, patient_id) -> HttpResponse:
    patient = _visible_patient(request, patient_id)
    _activate_patient_language(request, patient)
    question_groups = selectors.patient_question_groups(patient)
    about = _about(request, patient)
    questions = asked_questions(question_groups, about=about)
    errors: dict[str, list[str]] = {}
    data: dict = {"temperature_unit": patient.temperature_unit_shown}
    ice: dict = {}
    quick = request.GET.get("quick") == "1" and not request.user.is_staff_member
    waiting = frozenset() if request.user.is_staff_member else _followup_fields(patient, question_groups, questions)
    if request.method == "POST" and not CheckinRateThrottle().allow_request(request, None):
        errors = {"non_field_errors": [_("Too many check-ins in a short time. Please wait a minute and try again; "
                                         "if you feel unwell, call your care team now.")]}
        return render(request, "tracker/checkin_form.html",
                      _form_context(request, patient, question_groups, questions, about, data, errors, ice, quick, waiting),
                      status=429)
    if request.method == "POST":
        reading = read_form(request.POST, question_groups, waiting=waiting)
        quick = reading.same_as_usual
        data = {"temperature_unit": patient.temperature_unit_shown, **reading.shown}
        ice = reading.ice
        client_id = _client_id(request.POST)
        if client_id is not None:
            # Sent again (a resend from the phone's queue, a double tap): the answer is the one already stored.
            existing = selectors.checkins_visible_to(request.user, include_superseded=True).filter(
                patient=patient, uuid=client_id).values_list("uuid", flat=True).first()
            if existing is not None:
                return redirect("checkin-detail", patient_id=patient.uuid, checkin_id=existing)
        serializer = CheckInInputSerializer(data=reading.values)
        try:
            with timezone.override(patient.tz):  # a typed time is the patient's local time
                serializer.is_valid(raise_exception=True)
        except DRFValidationError as exc:
            # A serializer's own ValidationError (not many=True) carries a dict of fields.
            errors = page_errors(cast(dict, exc.detail), cast(dict, exc.get_codes()), reading.values,
                                 {q.field: str(q.text) for q in questions})
        errors = _in_form_order({**errors, **reading.errors}, questions)
        if not errors:
            values = dict(serializer.validated_data)
            too_old = recorded_at_error(patient=patient, recorded_at=values.get("recorded_at"))
            if too_old:
                errors = {"recorded_at": [too_old]}
            else:
                try:
                    result = services.checkin_submit(
                        patient=patient, entered_by=request.user, channel=Channel.WEB, values=values,
                        recorded_at=values.pop("recorded_at", None), client_id=client_id,
                    )
                except ConflictError:  # the id is another patient's check-in: not this one, and not a resend
                    errors = {"non_field_errors": [_("This check-in could not be saved. Please send it again.")]}
                else:
                    _remember_unit(request, patient, values)
                    return redirect("checkin-detail", patient_id=patient.uuid, checkin_id=result.checkin.uuid)
    if errors and request.headers.get(QUEUE_HEADER):
        # The service worker sending a check-in queued on the phone: the reasons, to show the patient later.
        return JsonResponse({"type": "validation_error", "detail": _("This check-in could not be saved."),
                             "fields": errors}, status=400)
    return render(request, "tracker/checkin_form.html",
                  _form_context(request, patient, question_groups, questions, about, data, errors, ice, quick, waiting),
                  status=400 if errors else 200)


def _followup_fields(patient: Patient, question_groups: set[str], questions) -> frozenset[str]:
    """Of the questions this form asks, those a pending follow-up is waiting on (monitoring answers): the short
    check-in asks them instead of answering them with the usual values."""
    pending: set[str] = set()
    for _receiver, answer in checkin_questions_pending.send(sender=Patient, patient=patient):
        if isinstance(answer, dict):
            pending |= set(answer.get("fields", ()))
    asked = {q.field for q in questions} | ({"extra_stools"} if CHECKPOINT in question_groups else set())
    return frozenset(pending & asked)


def _remember_unit(request: SignedInRequest, patient: Patient, values: dict) -> None:
    """The °C/°F switch a patient or caregiver used is the unit shown to them next time (staff on the phone
    type what they are told, which says nothing about the patient's thermometer)."""
    unit = values.get("temperature_unit")
    if unit and not request.user.is_staff_member and unit != patient.temperature_unit:
        Patient.objects.filter(pk=patient.pk).update(temperature_unit=unit)


def _in_form_order(errors: dict, questions) -> dict:
    """The error summary lists the problems in the order of the form."""
    order = ["non_field_errors", "temperature", "temperature_unit", "heart_rate", "systolic_bp", "diastolic_bp",
             "spo2", "on_oxygen", "extra_stools", "abdominal_pain", "rash_percent", "consciousness",
             *(q.field for q in questions), "ice", *(item.field for item in ICE_ITEMS), *ICE_PARTS, "note",
             "recorded_at"]
    position = {name: index for index, name in enumerate(order)}
    return dict(sorted(errors.items(), key=lambda item: position.get(item[0], len(order))))


def _error_summary(errors: dict) -> list[dict]:
    """The list at the top of the form: each problem once, linked to where it is answered (the word and memory
    screen's items left unanswered are one line, linked to the first of them)."""
    items = [item.field for item in ICE_ITEMS]
    summary = []
    for name, messages in errors.items():
        if name in items:
            continue
        anchor: str | None
        if name == "ice" or name in ICE_PARTS:
            anchor = next((n for n in items if n in errors), "ice")
        else:
            anchor = None if name == "non_field_errors" else name
        summary.append({"anchor": anchor, "text": " ".join(messages)})
    return summary


def _client_id(post) -> uuid.UUID | None:
    """The check-in's own id, made on the phone (static/js/offline.js) or with the page: a resend is harmless."""
    try:
        return uuid.UUID(post.get("client_id", ""))
    except ValueError:
        return None


def _form_context(request, patient, question_groups, questions, about, data, errors, ice, quick, waiting) -> dict:
    return {
        "patient": patient,
        "about": about,
        "quick": quick,
        # The short check-in asks what a pending follow-up waits on: the stools, this week's movement questions.
        "followup_stools": "extra_stools" in waiting,
        "followup_questions": [{"q": q, "answer": data.get(q.field)} for q in questions if q.field in waiting],
        "sections": form_sections(questions, question_groups, about=about),
        "question_groups": question_groups,
        "data": data,
        "ticked": {name for name in YES_NO_FIELDS if request.method == "POST" and name in request.POST.getlist("yes")},
        "ice_items": [{"item": item, "answer": ice.get(item.field)} for item in ICE_ITEMS],
        "errors": errors,
        "error_summary": _error_summary(errors),
        "consciousness_choices": Consciousness.choices,
        "abdominal_pain_choices": AbdominalPain.choices,
        "is_staff_entry": request.user.is_staff_member,
        "client_id": uuid.uuid4(),  # replaced in the browser on every page view (the page may be a cached copy)
    }


@login_required
def checkin_detail(request: SignedInRequest, patient_id, checkin_id) -> HttpResponse:
    patient = _visible_patient(request, patient_id)
    _activate_patient_language(request, patient)
    checkin = get_object_or_404(
        selectors.checkins_visible_to(request.user, include_superseded=True)
        .select_related("entered_by", "amends", "assessment"),
        uuid=checkin_id, patient=patient,
    )
    try:
        assessment = checkin.assessment
    except ObjectDoesNotExist:
        assessment = None
    # The answers that led to the instruction are marked in the summary, so it never reads as "all fine".
    flagged = {key for finding in (assessment.findings if assessment else []) for key in finding.get("evidence", {})}
    about = _about(request, patient)
    summary = recorded_summary(
        checkin, asked_questions(selectors.patient_question_groups(patient), about=about),
        unit=checkin.temperature_unit or patient.temperature_unit_shown, flagged=flagged)
    # Times on the patient's own clock for patients and caregivers, on the center's for staff; labelled.
    zone = zoneinfo.ZoneInfo(patient.center.time_zone) if request.user.is_staff_member else patient.tz
    with timezone.override(zone):
        return render(request, "tracker/checkin_detail.html", {
            "patient": patient, "checkin": checkin, "assessment": assessment, "about": about, "summary": summary,
            "paragraphs": assessment.patient_paragraphs if assessment else [],
        })


@login_required
@require_http_methods(["GET", "POST"])
def staff_patients(request: SignedInRequest) -> HttpResponse:
    """Every patient of the user's teams; a search by name or MRN is POSTed (with CSRF), so what was searched
    for never lands in a URL, the browser history or an access log. A `q` in the URL is ignored."""
    if not request.user.is_staff_member:
        raise Http404
    query = request.POST.get("q", "").strip()[:100] if request.method == "POST" else ""
    patients = selectors.patients_visible_to(request.user).select_related("care_team").order_by("last_name")
    if query:
        from django.db.models import Q

        patients = patients.filter(Q(last_name__icontains=query) | Q(first_name__icontains=query) | Q(mrn__iexact=query))
    shown = list(patients[:200])
    audit(request, "list", patients=shown)
    with translation.override(reader_language(request)):  # staff pages in the reader's language
        return render(request, "tracker/staff_patients.html", {"patients": shown, "query": query})


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404 for URLs nothing matched: the API's error shape under /api/, the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "not_found", "detail": "Not found.", "fields": {}}, status=404)
    return render(request, "404.html", status=404)


RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 with Retry-After when the database connection failed (a restart or failover): nothing
    was saved (the transaction rolled back) and sending the same request again is safe and will work."""
    if isinstance(sys.exc_info()[1], db.OperationalError | db.InterfaceError):
        return _unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "server_error", "detail": "Something went wrong on our side; it has been logged.",
                             "fields": {}}, status=500)
    # Without the request: its context (who is signed in, the banners) needs the database, which may be what failed.
    return HttpResponse(render_to_string("500.html"), status=500)


def _unavailable(request: HttpRequest) -> HttpResponse:
    detail = _("The service is briefly unavailable and nothing was saved. Please try again in a few seconds; "
               "if you have an emergency sign, call 911 now.")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"type": "service_unavailable", "detail": detail, "fields": {}}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"detail": detail}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
