"""The coordinator's pages: enrol a patient in one form, the list of recent enrolments with each person's
invitation, and "send a new invitation". Coordinators and administrators only: patients and caregivers get
404 (as on every staff page), other staff 403. They work without JavaScript."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tracker import selectors
from tracker.audit import audit
from tracker.enrolment import (
    enrolment_people,
    enrolment_teams_for,
    enrolments_recent,
    invitation_resend,
    latest_invitation,
    may_enrol,
    patient_enrol,
    recently_invited,
)
from tracker.errors import InputError
from tracker.forms import MAX_CAREGIVERS, CaregiverFormSet, EnrolmentForm
from tracker.http import SignedInRequest
from tracker.models import DeliveryStatus, Invitation, Patient, Therapy, User
from tracker.models.therapies import TherapyClass

CAREGIVERS = "caregivers"  # the formset's prefix


def _require_enroller(request: SignedInRequest) -> None:
    if not request.user.is_staff_member:
        raise Http404  # patients and caregivers do not learn that staff pages exist
    if not may_enrol(request.user):
        raise PermissionDenied


def _therapies() -> list[Therapy]:
    car_t_first = Case(When(therapy_class=TherapyClass.CAR_T, then=Value(0)), default=Value(1),
                       output_field=IntegerField())
    return list(Therapy.objects.order_by(car_t_first, "brand_name"))


def _with_extra_caregiver(post):
    data = post.copy()
    total = int(data.get(f"{CAREGIVERS}-TOTAL_FORMS") or 0)
    data[f"{CAREGIVERS}-TOTAL_FORMS"] = str(min(total + 1, MAX_CAREGIVERS))
    return data


def _error_summary(form, formset) -> list[tuple[str, str]]:
    """(field id, "Label: message") for every error, in page order, linking to the field."""
    summary = [(f"id_{name}" if name in form.fields else "", f"{form.fields[name].label}: {message}"
                if name in form.fields else message)
               for name, errors in form.errors.items() for message in errors]
    for number, caregiver in enumerate(formset.forms, start=1):
        for name, errors in caregiver.errors.items():
            label = caregiver.fields[name].label if name in caregiver.fields else ""
            for message in errors:
                summary.append((f"id_{caregiver.prefix}-{name}",
                                _("Caregiver %(number)s, %(field)s: %(message)s")
                                % {"number": number, "field": str(label).lower(), "message": message}))
    summary += [("", message) for message in formset.non_form_errors()]
    return summary


@login_required
@require_http_methods(["GET", "POST"])
def enrol_patient(request: SignedInRequest) -> HttpResponse:
    _require_enroller(request)
    teams = list(enrolment_teams_for(request.user))
    kwargs: dict[str, Any] = {"teams": teams, "therapies": _therapies()}
    status, show_errors = 200, False
    if request.method == "POST" and "add_caregiver" in request.POST:
        data = _with_extra_caregiver(request.POST)
        form, formset = EnrolmentForm(data, **kwargs), CaregiverFormSet(data, prefix=CAREGIVERS)
    elif request.method == "POST":
        form, formset = EnrolmentForm(request.POST, **kwargs), CaregiverFormSet(request.POST, prefix=CAREGIVERS)
        show_errors = True
        if form.is_valid() and formset.is_valid():
            caregivers = [person for person in (f.person() for f in formset.forms) if person is not None]
            try:
                patient = patient_enrol(enrolment=form.enrolment(caregivers), enrolled_by=request.user)
            except InputError as exc:
                for name, problems in exc.fields.items():
                    form.add_error(name if name in form.fields else None, problems or exc.detail)
            else:
                audit(request, "enrol", patient=patient)
                messages.success(request, _("%(name)s is enrolled. Their invitations are on their way.")
                                 % {"name": patient.full_name})
                return redirect("enrolments")
        status = 400
    else:
        form, formset = EnrolmentForm(**kwargs), CaregiverFormSet(prefix=CAREGIVERS)
    return render(request, "tracker/enrol.html", {
        "form": form, "formset": formset, "teams": teams, "show_errors": show_errors,
        "summary": _error_summary(form, formset) if show_errors else [],
        "can_add_caregiver": len(formset.forms) < MAX_CAREGIVERS,
    }, status=status)


def _mask_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"••• {digits[-4:]}" if digits else ""


def _mask_email(address: str) -> str:
    name, _at, domain = address.partition("@")
    return f"{name[:1]}•••@{domain}" if domain else ""


def _invitation_state(invitation: Invitation | None, user: User, now) -> dict:
    """What the list says about one person's latest invitation."""
    if invitation is None:
        return {"key": "password" if user.has_usable_password() else "none", "invitation": None}
    state = invitation.state(now)
    if state == "open":
        # What became of the message, as notifications recorded it on the invitation.
        outcomes: dict[str, str] = {DeliveryStatus.SENT: "sent", DeliveryStatus.FAILED: "failed"}
        state = outcomes.get(invitation.delivery_status, "waiting")
        if not invitation.channel:
            state = "unreachable"
    return {"key": state, "invitation": invitation}


def _contact(patient: Patient, user: User, channel: str) -> str:
    if patient.user_id == user.pk:
        phone, email = patient.phone or user.phone, patient.email or user.email
    else:
        phone, email = user.phone, user.email
    return _mask_phone(phone) if channel == "sms" else _mask_email(email) if channel == "email" else ""


@login_required
def enrolments(request: SignedInRequest) -> HttpResponse:
    _require_enroller(request)
    patients = enrolments_recent(request.user)
    now = timezone.now()
    rows = []
    for patient in patients:
        people = []
        for person in enrolment_people(patient):
            invitation = latest_invitation(patient, person)
            state = _invitation_state(invitation, person, now)
            people.append({
                "user": person, "is_patient": person.pk == patient.user_id, **state,
                "contact": _contact(patient, person, invitation.channel if invitation else ""),
                "relationship": next((link.relationship for link in patient.caregiver_links.all()
                                      if link.user_id == person.pk), ""),
            })
        rows.append({"patient": patient, "people": people})
    audit(request, "list", patients=patients)
    return render(request, "tracker/enrolments.html", {"rows": rows})


@login_required
@require_POST
def invitation_resend_view(request: SignedInRequest, patient_id) -> HttpResponse:
    _require_enroller(request)
    patient = (selectors.patients_visible_to(request.user).select_related("user").filter(uuid=patient_id).first())
    if patient is None:
        raise Http404
    audit(request, "invitation_resend", patient=patient)
    people = {str(person.uuid): person for person in enrolment_people(patient)}
    person = people.get(request.POST.get("person", ""))
    if person is None:
        messages.error(request, _("Choose whom to send the invitation to."))
        return redirect("enrolments")
    if recently_invited(person):
        messages.info(request, _("An invitation was sent to %(name)s less than a minute ago: give it a moment.")
                      % {"name": person.get_full_name()})
        return redirect("enrolments")
    invitation = invitation_resend(patient=patient, user=person, issued_by=request.user)
    if invitation.channel:
        messages.success(request, _("A new invitation is on its way to %(name)s. The earlier link no longer works.")
                         % {"name": person.get_full_name()})
    else:
        messages.error(request, _("%(name)s has no mobile phone or email on file, so the invitation cannot be sent.")
                       % {"name": person.get_full_name()})
    return redirect("enrolments")
