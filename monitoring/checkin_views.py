"""The patient's pages that show what monitoring found: the home page (what to do stays at the top until the
care team has acknowledged the alert), the check-in form, which stores and grades the check-in through
monitoring.services.intake, and the check-in's result page (what to do, what was recorded). They work
without JavaScript."""

import datetime as dt
import uuid
import zoneinfo
from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError as DRFValidationError

from monitoring.devices import patient_device_status
from monitoring.patient_pages import (
    dose_checkin_cadence,
    dose_window_cards,
    fourteen_days,
    next_planned_dose,
    open_assessment,
    open_device_alert,
    watch_text,
)
from monitoring.services import intake
from monitoring.services.assessment import followup_fields_pending
from tracker import selectors
from tracker.api.serializers import CheckInInputSerializer
from tracker.audit import audit_write
from tracker.checkin_page import asked_questions, form_sections, page_errors, read_form, recorded_summary
from tracker.errors import ConflictError, InputError
from tracker.http import SignedInRequest
from tracker.models import Patient
from tracker.models.checkins import AbdominalPain, Channel, Consciousness
from tracker.questions import CHECKPOINT, ICE_ITEMS, ICE_PARTS, YES_NO_FIELDS
from tracker.security import CheckinRateThrottle
from tracker.views import QUEUE_HEADER, about_name, activate_patient_language, visible_patient


@login_required
def patient_home(request: SignedInRequest, patient_id) -> HttpResponse:
    patient = visible_patient(request, patient_id)
    activate_patient_language(request, patient)
    today = timezone.localtime(timezone.now(), patient.tz).date()
    logged = selectors.logged_dates(patient, start=today - dt.timedelta(days=13), end=today)
    courses = list(patient.courses.select_related("therapy").order_by("-start_date"))
    context: dict[str, object] = {
        "patient": patient,
        "about": about_name(request, patient),
        "unit": patient.temperature_unit_shown,
        "today": today,
        "logged_today": today in logged,
        "days": fourteen_days(today, logged, courses),
        "courses": courses,
        "checkins": selectors.latest_checkins(patient, limit=14),
    }
    # What to do after a check-in whose alert no one on the care team has acknowledged yet stays at the top
    # until then (the driving window's explanation comes from the context processor).
    context["open_assessment"] = assessment = open_assessment(patient)
    # The same for an alert raised by device readings (clinical-rules §10), above the check-in's when more urgent.
    device_alert = open_device_alert(patient)
    context["device_alert"] = device_alert
    context["device_alert_first"] = bool(device_alert and (assessment is None
                                                           or device_alert.urgency > assessment.urgency))
    for course in courses:  # in the patient's language (activated above); IL-2's with the center's limit
        setattr(course, "watch_text", watch_text(course, patient))  # noqa: B010 (read by the template)
    # Windows keyed to each recorded dose (clinical-rules §8) and the next planned dose.
    has_doses = any(c.therapy.dose_schedule for c in courses)  # no query for a patient without a dose schedule
    context["dose_windows"] = dose_window_cards(patient) if has_doses else []
    context["next_dose"] = next_planned_dose(patient) if has_doses else None
    context["dose_checkins"] = dose_checkin_cadence(patient, context["checkins"]) if has_doses else None
    # A worn patch or oximeter (clinical-rules §10): connected, or quiet with what to check.
    now = timezone.now()
    context["device"] = device = patient_device_status(patient, now)
    context["device_since_today"] = bool(device and device["last_at"]
                                         and timezone.localtime(device["last_at"], patient.tz).date() == today)
    with timezone.override(patient.tz):  # times on the patient's own clock
        return render(request, "monitoring/patient_home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def checkin_new(request: SignedInRequest, patient_id) -> HttpResponse:
    patient = visible_patient(request, patient_id)
    activate_patient_language(request, patient)
    question_groups = selectors.patient_question_groups(patient)
    about = about_name(request, patient)
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
            try:
                result = intake.checkin_submit(
                    patient=patient, entered_by=request.user, channel=Channel.WEB, values=values,
                    recorded_at=values.pop("recorded_at", None), client_id=client_id, check_time=True,
                    on_stored=lambda stored_for: _on_stored(request, stored_for, values),
                )
            except InputError as exc:  # dated outside the accepted window
                errors = {name: [str(m) for m in messages] for name, messages in exc.fields.items()}
            except ConflictError:  # the id is another patient's check-in: not this one, and not a resend
                errors = {"non_field_errors": [_("This check-in could not be saved. Please send it again.")]}
            else:
                return redirect("checkin-detail", patient_id=patient.uuid, checkin_id=result.checkin.uuid)
    if errors and request.headers.get(QUEUE_HEADER):
        # The service worker sending a check-in queued on the phone: the reasons, to show the patient later.
        return JsonResponse({"type": "validation_error", "detail": _("This check-in could not be saved."),
                             "fields": errors}, status=400)
    return render(request, "tracker/checkin_form.html",
                  _form_context(request, patient, question_groups, questions, about, data, errors, ice, quick, waiting),
                  status=400 if errors else 200)


def _followup_fields(patient: Patient, question_groups: set[str], questions) -> frozenset[str]:
    """Of the questions this form asks, those a pending follow-up is waiting on: the short check-in asks them
    instead of answering them with the usual values."""
    asked = {q.field for q in questions} | ({"extra_stools"} if CHECKPOINT in question_groups else set())
    return frozenset(set(followup_fields_pending(patient)) & asked)


def _on_stored(request: SignedInRequest, patient: Patient, values: dict) -> None:
    """Inside the check-in's transaction: the unit the person used, and the audit row (the answer is the
    redirect to the result page), so a check-in from the page is one commit."""
    _remember_unit(request, patient, values)
    audit_write(request, "create", patient=patient, status_code=302)


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
        # clinical-rules §9 interleukin-2 weight: in lb for a patient whose thermometer shows °F, else in kg
        "weight_in_lb": patient.temperature_unit_shown == "F",
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
    patient = visible_patient(request, patient_id)
    activate_patient_language(request, patient)
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
    about = about_name(request, patient)
    summary = recorded_summary(
        checkin, asked_questions(selectors.patient_question_groups(patient), about=about),
        unit=checkin.temperature_unit or patient.temperature_unit_shown, flagged=flagged)
    # Times on the patient's own clock for patients and caregivers, on the center's for staff; labelled.
    zone = zoneinfo.ZoneInfo(patient.center.time_zone) if request.user.is_staff_member else patient.tz
    with timezone.override(zone):
        return render(request, "monitoring/checkin_detail.html", {
            "patient": patient, "checkin": checkin, "assessment": assessment, "about": about, "summary": summary,
            "paragraphs": assessment.patient_paragraphs if assessment else [],
        })
