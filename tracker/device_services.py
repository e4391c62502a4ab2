"""Staff manage connected devices (clinical-rules §10) from a patient's page: register a device for the patient's
center, assign it to the patient from a time, end the assignment, issue the device's key (shown once) and revoke
it. Each service takes the staff member acting and the patient whose page they act from: only staff, and only for
a patient of their care teams (tracker.selectors.patients_visible_to); the views audit each action.

Decisions:
- A device is never with two patients at once: an assignment that would overlap another one of the same device
  (open or not, whichever patient) is refused, naming `started_at`; end the other first. Writes lock the device
  row, so two staff cannot assign one device twice; the ingest locks the assignments it reads
  (tracker.readings), so a batch stored meanwhile sees the assignment as it is after the change.
- Readings land on the patient whose assignment covers their measured_at, so an assignment may start in the past
  (a patch worn since the morning) but not before the device's readings of another patient's assignment.
- A key is issued only for a device assigned to this patient now (its readings can reach no one else); revoking
  is allowed for any device of the patient's center, at once (the ingest refuses the key from then on)."""

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from tracker import selectors
from tracker.errors import ConflictError, InputError, NotAllowedError
from tracker.models import Device, DeviceAssignment, DeviceCredential, Patient, User

DEVICE_FIELDS = ("kind", "maker", "model_name", "serial", "body_site", "expected_interval_seconds",
                 "temperature_offset_c")


def _check_access(by: User, patient: Patient) -> None:
    if not by.is_authenticated or not by.is_staff_member:
        raise NotAllowedError(gettext("Devices are managed by the care team."))
    if not selectors.patients_visible_to(by).filter(pk=patient.pk).exists():
        raise NotAllowedError(gettext("This patient is not in your care teams."))


def _check_device(device: Device, patient: Patient) -> None:
    if device.center_id != patient.center_id:
        raise InputError(gettext("This device belongs to another center."),
                         fields={"device": [gettext("Not a device of this patient's center.")]})


def _locked(device: Device) -> Device:
    return Device.objects.select_for_update().get(pk=device.pk)


def device_register(*, patient: Patient, values: dict, by: User) -> Device:
    """Register a device for the patient's center (not assigned yet). The serial is unique per maker and center."""
    _check_access(by, patient)
    device = Device(center_id=patient.center_id, **{name: values[name] for name in DEVICE_FIELDS if name in values})
    if device.temperature_offset_c is None:
        device.temperature_offset_c = Decimal(0)
    try:
        with transaction.atomic():
            device.save(force_insert=True)
    except IntegrityError:
        raise InputError(gettext("A device of this maker with this serial is registered already."),
                         fields={"serial": [gettext("Registered already for this maker.")]}) from None
    return device


def device_assign(*, patient: Patient, device: Device, started_at: dt.datetime, by: User) -> DeviceAssignment:
    """Assign `device` to `patient` from `started_at` (open-ended). Refused, naming the field, when the device
    is retired, of another center, or already with a patient (this one or another) at or after that time."""
    _check_access(by, patient)
    _check_device(device, patient)
    with transaction.atomic():
        device = _locked(device)
        if device.retired_at is not None:
            raise InputError(gettext("This device is retired."), fields={"device": [gettext("Retired.")]})
        if started_at > timezone.now() + dt.timedelta(minutes=5):
            raise InputError(gettext("An assignment starts now or in the past."),
                             fields={"started_at": [gettext("Not in the future.")]})
        overlapping = (DeviceAssignment.objects.filter(device=device).exclude(ended_at__lte=started_at)
                       .select_related("patient").order_by("started_at").first())
        if overlapping is not None:
            same = overlapping.patient_id == patient.pk
            message = (gettext("This device is already assigned to this patient from that time.") if same else
                       gettext("This device is with another patient at that time: end that assignment first, or "
                               "start this one after it ends."))
            raise InputError(message, fields={"started_at": [message]})
        return DeviceAssignment.objects.create(device=device, patient=patient, started_at=started_at, assigned_by=by)


def device_unassign(*, patient: Patient, device: Device, ended_at: dt.datetime | None = None,
                    by: User) -> DeviceAssignment:
    """End the device's open assignment to `patient` (at `ended_at`, default now). Readings measured after it
    are refused, until the device is assigned again."""
    _check_access(by, patient)
    ended_at = ended_at or timezone.now()
    with transaction.atomic():
        device = _locked(device)
        assignment = DeviceAssignment.objects.filter(device=device, patient=patient, ended_at__isnull=True).first()
        if assignment is None:
            raise ConflictError(gettext("This device is not assigned to this patient now."),
                                fields={"device": [gettext("Not assigned to this patient now.")]})
        if ended_at <= assignment.started_at:
            raise InputError(gettext("An assignment ends after it starts."),
                             fields={"ended_at": [gettext("After the start of the assignment.")]})
        if ended_at > timezone.now() + dt.timedelta(minutes=5):
            raise InputError(gettext("An assignment ends now or in the past."),
                             fields={"ended_at": [gettext("Not in the future.")]})
        assignment.ended_at, assignment.ended_by = ended_at, by
        assignment.save(update_fields=["ended_at", "ended_by"])
        return assignment


def device_credential_issue(*, patient: Patient, device: Device, by: User) -> tuple[DeviceCredential, str]:
    """A new key for a device assigned to `patient` now; the raw key is returned once (only its hash is kept)."""
    _check_access(by, patient)
    with transaction.atomic():
        device = _locked(device)
        if not DeviceAssignment.objects.filter(device=device, patient=patient, ended_at__isnull=True).exists():
            raise InputError(gettext("Assign the device to this patient before issuing its key."),
                             fields={"device": [gettext("Not assigned to this patient now.")]})
        return DeviceCredential.issue(device, created_by=by)


def device_credential_revoke(*, patient: Patient, credential: DeviceCredential, by: User) -> DeviceCredential:
    """Revoke a device key at once. Revoking a revoked key changes nothing."""
    _check_access(by, patient)
    _check_device(credential.device, patient)
    now = timezone.now()
    DeviceCredential.objects.filter(pk=credential.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by)
    credential.refresh_from_db(fields=["revoked_at", "revoked_by"])
    return credential


def patient_devices(patient: Patient) -> dict:
    """What the Devices section of the staff page shows: the patient's assignments (newest first) with each
    device's keys, and the center's devices free to assign now. Three queries."""
    assignments = list(DeviceAssignment.objects.filter(patient=patient).select_related("device")
                       .order_by("-started_at"))
    device_ids = {a.device_id for a in assignments}
    credentials: dict[int, list[DeviceCredential]] = {}
    if device_ids:
        for credential in DeviceCredential.objects.filter(device_id__in=device_ids).order_by("-created_at"):
            credentials.setdefault(credential.device_id, []).append(credential)
    worn = DeviceAssignment.objects.filter(device=OuterRef("pk"), ended_at__isnull=True)
    available = list(Device.objects.filter(center_id=patient.center_id, retired_at__isnull=True)
                     .exclude(Exists(worn)).order_by("kind", "serial"))
    return {"assignments": [(a, credentials.get(a.device_id, [])) for a in assignments], "available": available}
