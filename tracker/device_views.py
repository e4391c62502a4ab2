"""Staff pages for a patient's connected devices (clinical-rules §10): the "Devices" section of the staff patient
page (its context is built here, `device_section`), and the posts that register a device for the patient's
center, assign one to the patient, end an assignment, issue a device key (shown once, on its own page) and revoke
one. Each goes back to the patient page, or shows the section again with each error beside its field (nothing
stored). Times are entered and shown on the clock of the patient's center. Works without JavaScript; audited."""

import zoneinfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tracker import selectors
from tracker.audit import audit
from tracker.device_services import (
    device_assign,
    device_credential_issue,
    device_credential_revoke,
    device_register,
    device_unassign,
    patient_devices,
)
from tracker.dose_views import LOCAL_INPUT, LocalDateTimeInput
from tracker.errors import ApplicationError
from tracker.http import SignedInRequest
from tracker.language import reader_language
from tracker.models import Device, DeviceCredential, Patient
from tracker.models.devices import BodySite, DeviceKind


class _ServiceErrors:
    def add_service_errors(self, error: ApplicationError) -> None:
        for name, messages in error.fields.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)  # type: ignore[attr-defined]
        if not error.fields:
            self.add_error(None, error.detail)  # type: ignore[attr-defined]


class DeviceRegisterForm(_ServiceErrors, forms.Form):
    prefix = "register"
    kind = forms.ChoiceField(label=_("Kind"), choices=DeviceKind.choices)
    maker = forms.CharField(label=_("Maker"), max_length=100)
    model_name = forms.CharField(label=_("Model"), max_length=100)
    serial = forms.CharField(label=_("Serial number"), max_length=100)
    body_site = forms.ChoiceField(label=_("Body site"), choices=BodySite.choices)
    expected_interval_seconds = forms.IntegerField(
        label=_("Expected interval (seconds)"), min_value=10, max_value=86400, initial=120,
        help_text=_("How often it sends a reading when worn (a patch: every 120 seconds)."))
    temperature_offset_c = forms.DecimalField(
        label=_("Temperature offset (°C)"), max_digits=3, decimal_places=1, min_value=-3, max_value=3, initial=0,
        required=False, help_text=_("Center policy, default 0: added to this device's temperatures when graded "
                                    "(a skin site reads lower than the core). The stored readings stay raw."))


class DeviceAssignForm(_ServiceErrors, forms.Form):
    prefix = "assign"
    device = forms.ModelChoiceField(label=_("Device"), queryset=Device.objects.none(), to_field_name="uuid")
    started_at = forms.DateTimeField(label=_("Worn from"), input_formats=[LOCAL_INPUT], widget=LocalDateTimeInput(),
                                     help_text=_("Readings measured from this time land on this patient."))

    def __init__(self, *args, available=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["device"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Device.objects.filter(pk__in=[d.pk for d in available])
        if not self.is_bound:
            self.initial["started_at"] = timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)


class DeviceUnassignForm(_ServiceErrors, forms.Form):
    prefix = "end"
    ended_at = forms.DateTimeField(label=_("Taken off at"), required=False, input_formats=[LOCAL_INPUT],
                                   widget=LocalDateTimeInput(), help_text=_("Leave empty: now."))


def device_section(patient: Patient, *, register_form=None, assign_form=None, end_errors=None) -> dict:
    """The Devices section of the staff patient page."""
    devices = patient_devices(patient)
    return {"device_assignments": devices["assignments"],
            "register_form": register_form or DeviceRegisterForm(),
            "assign_form": assign_form or DeviceAssignForm(available=devices["available"]),
            "device_end_errors": end_errors or {}}


def _staff_patient(request: SignedInRequest, patient_id, *, action: str) -> Patient:
    if not request.user.is_staff_member:
        raise Http404
    patient = get_object_or_404(selectors.patients_visible_to(request.user).select_related("center"),
                                uuid=patient_id)
    audit(request, action, patient=patient)
    return patient


def _back(patient: Patient) -> HttpResponse:
    return redirect(reverse("staff-patient-detail", args=[patient.uuid]) + "#devices")


def _render_section(request, patient: Patient, *, status: int = 400, **forms_) -> HttpResponse:
    zone = zoneinfo.ZoneInfo(patient.center.time_zone)
    with timezone.override(zone):
        context = {"patient": patient, "zone": zone.key, "show_errors": status == 400,
                   **device_section(patient, **forms_)}
        return render(request, "tracker/patient_devices.html", context, status=status)


def _in_zone(patient: Patient):
    return timezone.override(zoneinfo.ZoneInfo(patient.center.time_zone))


@login_required
def patient_devices_page(request: SignedInRequest, patient_id) -> HttpResponse:
    """GET: the patient's devices. POST: register a device for the patient's center."""
    patient = _staff_patient(request, patient_id, action="register_device" if request.method == "POST" else "view")
    with translation.override(reader_language(request)):
        if request.method != "POST":
            return _render_section(request, patient, status=200)
        form = DeviceRegisterForm(request.POST)
        if form.is_valid():
            values = dict(form.cleaned_data)
            if values.get("temperature_offset_c") is None:
                values["temperature_offset_c"] = 0
            try:
                device_register(patient=patient, values=values, by=request.user)
                return _back(patient)
            except ApplicationError as exc:
                form.add_service_errors(exc)
        return _render_section(request, patient, register_form=form)


@login_required
@require_POST
def device_assign_view(request: SignedInRequest, patient_id) -> HttpResponse:
    patient = _staff_patient(request, patient_id, action="assign_device")
    with translation.override(reader_language(request)), _in_zone(patient):
        form = DeviceAssignForm(request.POST, available=patient_devices(patient)["available"])
        if form.is_valid():
            try:
                device_assign(patient=patient, device=form.cleaned_data["device"],
                              started_at=form.cleaned_data["started_at"], by=request.user)
                return _back(patient)
            except ApplicationError as exc:
                form.add_service_errors(exc)
        return _render_section(request, patient, assign_form=form)


def _patient_device(patient: Patient, device_id) -> Device:
    """A device this patient wears or wore (another patient's device is not found from this page)."""
    device = (Device.objects.filter(center_id=patient.center_id, uuid=device_id, assignments__patient=patient)
              .first())
    if device is None:
        raise Http404
    return device


@login_required
@require_POST
def device_unassign_view(request: SignedInRequest, patient_id, device_id) -> HttpResponse:
    patient = _staff_patient(request, patient_id, action="unassign_device")
    device = _patient_device(patient, device_id)
    with translation.override(reader_language(request)), _in_zone(patient):
        form = DeviceUnassignForm(request.POST)
        if form.is_valid():
            try:
                device_unassign(patient=patient, device=device, ended_at=form.cleaned_data.get("ended_at"),
                                by=request.user)
                return _back(patient)
            except ApplicationError as exc:
                form.add_service_errors(exc)
        errors = [str(m) for messages in form.errors.values() for m in messages]
        return _render_section(request, patient, end_errors={device.uuid: errors})


@login_required
@require_POST
def device_key_issue_view(request: SignedInRequest, patient_id, device_id) -> HttpResponse:
    """Issue a key for the device and show it once (only its hash is kept)."""
    patient = _staff_patient(request, patient_id, action="issue_device_key")
    device = _patient_device(patient, device_id)
    with translation.override(reader_language(request)):
        try:
            credential, key = device_credential_issue(patient=patient, device=device, by=request.user)
        except ApplicationError as exc:
            return _render_section(request, patient, end_errors={device.uuid: [exc.detail]})
        return render(request, "tracker/device_key.html", {"patient": patient, "device": device,
                                                           "credential": credential, "key": key})


@login_required
@require_POST
def device_key_revoke_view(request: SignedInRequest, patient_id, device_id, prefix: str) -> HttpResponse:
    patient = _staff_patient(request, patient_id, action="revoke_device_key")
    device = _patient_device(patient, device_id)
    credential = (DeviceCredential.objects.select_related("device").filter(device=device, prefix=prefix)
                  .order_by("-created_at").first())
    if credential is None:
        raise Http404
    with translation.override(reader_language(request)):
        try:
            device_credential_revoke(patient=patient, credential=credential, by=request.user)
        except ApplicationError as exc:
            return _render_section(request, patient, end_errors={device.uuid: [exc.detail]})
        return _back(patient)
