"""Staff pages for the doses of a course (clinical-rules §8): the "Doses" section of the staff patient page (its
context is built here, `dose_sections`), the page that records a dose and shows the form again with its errors,
and the page that corrects one (a reason is required; the original is kept). Times are entered and shown on the
clock of the patient's center, like the rest of the staff patient page. Works without JavaScript."""

import datetime as dt
import zoneinfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from tracker import selectors
from tracker.audit import audit
from tracker.dose_plans import DoseSchedule
from tracker.dose_services import course_dose_plan, course_doses, dose_correct, dose_record, dose_rows
from tracker.errors import ApplicationError
from tracker.http import SignedInRequest
from tracker.language import reader_language
from tracker.models import DoseAdministration, Patient, TreatmentCourse
from tracker.models.doses import FREE_STEP_MAX_LENGTH, DoseRoute, DoseSetting

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self):
        super().__init__(format=LOCAL_INPUT)


class DoseForm(forms.Form):
    """Record a dose. The step is chosen from the product's schedule; a product without one takes a dose name."""

    step_code = forms.CharField(label=_("Dose (schedule step)"), max_length=FREE_STEP_MAX_LENGTH)
    cycle = forms.IntegerField(label=_("Cycle"), required=False, min_value=1, max_value=500,
                               help_text=_("Leave empty: the next one for this step."))
    started_at = forms.DateTimeField(label=_("Started"), input_formats=[LOCAL_INPUT], widget=LocalDateTimeInput())
    ended_at = forms.DateTimeField(label=_("Ended"), required=False, input_formats=[LOCAL_INPUT],
                                   widget=LocalDateTimeInput(), help_text=_("Leave empty while an infusion runs."))
    setting = forms.ChoiceField(label=_("Where given"), choices=DoseSetting.choices, widget=forms.RadioSelect)
    kept_for_monitoring = forms.BooleanField(label=_("Kept for monitoring after the dose"), required=False)
    route = forms.ChoiceField(label=_("Route"), required=False, choices=[("", "—"), *DoseRoute.choices])
    is_correction = False

    def __init__(self, *args, course: TreatmentCourse, **kwargs):
        kwargs.setdefault("auto_id", f"id_%s_{course.uuid.hex[:8]}")  # one form per course on the patient page
        super().__init__(*args, **kwargs)
        self.course = course
        schedule = DoseSchedule.from_json(course.therapy.dose_schedule)
        if schedule is not None:
            self.fields["step_code"] = forms.ChoiceField(
                label=_("Dose (schedule step)"), choices=[(s.code, gettext(s.name)) for s in schedule.steps])
        else:
            self.fields["step_code"].help_text = _("This product has no schedule: name the dose, such as “cycle 3 day 1”.")

    def add_service_errors(self, error: ApplicationError) -> None:
        for name, messages in error.fields.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        if not error.fields:
            self.add_error(None, error.detail)


class DoseCorrectionForm(DoseForm):
    is_correction = True
    reason = forms.CharField(label=_("Why is the record corrected?"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, dose: DoseAdministration, **kwargs):
        zone = timezone.get_current_timezone()
        initial = {name: getattr(dose, name) for name in ("step_code", "cycle", "setting", "kept_for_monitoring",
                                                           "route")}
        for name in ("started_at", "ended_at"):
            value = getattr(dose, name)
            initial[name] = value.astimezone(zone).replace(tzinfo=None) if value else None
        super().__init__(*args, course=dose.course, initial=initial, **kwargs)


def _values(form: DoseForm) -> dict:
    values = {name: form.cleaned_data.get(name) for name in ("step_code", "cycle", "started_at", "ended_at",
                                                              "setting", "kept_for_monitoring", "route")}
    values["route"] = values["route"] or ""
    return values


def dose_section(course: TreatmentCourse, *, form: DoseForm | None = None, today: dt.date | None = None,
                 rows: list[DoseAdministration] | None = None) -> dict:
    """What the Doses section shows for one course: recorded doses in time order, planned doses not given yet,
    the restart proposal, and the record form. The course's therapy and patient must be loaded."""
    doses = course_doses(course, rows)
    plan = course_dose_plan(course, doses, today=today)
    given = [v for v in doses if v.step is not None]
    last_given: dict[str, dt.date] = {}
    for view in given:
        last_given[view.dose.step_code] = view.dose.started_at.astimezone(course.patient.tz).date()
    upcoming = [p for p in plan.planned
                if p.step_code not in last_given or (_repeats(course, p.step_code) and p.date > last_given[p.step_code])]
    now = timezone.now()
    monitoring_now = {v.dose.pk for v in doses if v.monitoring_ends_at and v.dose.started_at <= now < v.monitoring_ends_at}
    return {"course": course, "doses": doses, "upcoming": upcoming, "restart": plan.restart,
            "monitoring_now": monitoring_now, "today": timezone.localtime(now, course.patient.tz).date(),
            "restart_step": _step_name(course, plan.restart.restart_at) if plan.restart else "",
            "form": form or DoseForm(course=course), "has_schedule": bool(course.therapy.dose_schedule)}


def _repeats(course: TreatmentCourse, code: str) -> bool:
    schedule = DoseSchedule.from_json(course.therapy.dose_schedule)
    step = schedule.step(code) if schedule else None
    return bool(step and step.repeats)


def _step_name(course: TreatmentCourse, code: str) -> str:
    schedule = DoseSchedule.from_json(course.therapy.dose_schedule)
    step = schedule.step(code) if schedule else None
    return gettext(step.name) if step else code


def dose_sections(patient: Patient, courses: list[TreatmentCourse]) -> list[dict]:
    """The Doses section of the staff patient page: one entry per course (newest first, as the page lists them).
    Courses from `with_dose_flag` cost no query without doses, and one for all of them with some."""
    with_doses = [c.pk for c in courses if getattr(c, "has_doses", True)]
    rows = dose_rows(with_doses) if with_doses else {}
    sections = []
    for course in courses:
        course.patient = patient
        sections.append(dose_section(course, rows=rows.get(course.pk, [])))
    return sections


def _staff_course(request: SignedInRequest, course_id, *, action: str) -> TreatmentCourse:
    if not request.user.is_staff_member:
        raise Http404
    course = get_object_or_404(
        TreatmentCourse.objects.filter(patient__in=selectors.patients_visible_to(request.user).values("pk"))
        .select_related("therapy", "patient__center"), uuid=course_id)
    audit(request, "view" if request.method == "GET" else action, patient=course.patient)
    return course


def _patient_page(course: TreatmentCourse) -> str:
    return reverse("staff-patient-detail", args=[course.patient.uuid]) + "#doses"


def _render(request, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def course_doses_page(request: SignedInRequest, course_id) -> HttpResponse:
    """The doses of one course with the record form; a POST records a dose and goes back to the patient page,
    or shows the form again with each error beside its field (nothing stored)."""
    course = _staff_course(request, course_id, action="record_dose")
    zone = zoneinfo.ZoneInfo(course.patient.center.time_zone)
    with translation.override(reader_language(request)), timezone.override(zone):
        form = DoseForm(request.POST or None, course=course)
        if request.method == "POST":
            if form.is_valid():
                try:
                    dose_record(course=course, values=_values(form), recorded_by=request.user)
                    return redirect(_patient_page(course))
                except ApplicationError as exc:
                    form.add_service_errors(exc)
            return _render(request, "tracker/course_doses.html", {
                "course": course, "patient": course.patient, "zone": zone.key, "show_errors": True,
                "dose_sections": [dose_section(course, form=form)]}, status=400)
        return _render(request, "tracker/course_doses.html", {
            "course": course, "patient": course.patient, "zone": zone.key, "show_errors": False,
            "dose_sections": [dose_section(course, form=form)]})


@login_required
@require_http_methods(["GET", "POST"])
def dose_correction_page(request: SignedInRequest, course_id, dose_id) -> HttpResponse:
    """Correct a dose record: the form starts from the current values; a reason is required. The original is
    kept and shown in the history."""
    course = _staff_course(request, course_id, action="correct_dose")
    dose = get_object_or_404(DoseAdministration.objects.filter(course=course), uuid=dose_id)
    dose.course = course
    zone = zoneinfo.ZoneInfo(course.patient.center.time_zone)
    with translation.override(reader_language(request)), timezone.override(zone):
        form = DoseCorrectionForm(request.POST or None, dose=dose)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:  # the form holds the whole corrected version
                    dose_correct(original=dose, changes=_values(form), reason=form.cleaned_data["reason"],
                                 recorded_by=request.user)
                    return redirect(_patient_page(course))
                except ApplicationError as exc:
                    form.add_service_errors(exc)
        return _render(request, "tracker/dose_correction.html", {
            "course": course, "patient": course.patient, "dose": dose, "step_name": _step_name(course, dose.step_code),
            "form": form, "zone": zone.key, "show_errors": request.method == "POST"}, status=status)
