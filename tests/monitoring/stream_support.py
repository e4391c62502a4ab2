"""Devices and readings for the stream grading and silence tests. Readings are written with bulk_create (as the
ingest stores them) and the assignment's newest times kept up to date as the ingest does."""

import datetime as dt
import itertools

from monitoring.signals import readings_stored
from tracker.models import Device, DeviceAssignment, Reading, ReadingType
from tracker.models.devices import DeviceKind, ReadingUnit
from tracker.readings import assignments_refresh_temperature

_serials = itertools.count(1)
UNITS = {ReadingType.TEMPERATURE: ReadingUnit.CEL, ReadingType.HEART_RATE: ReadingUnit.PER_MIN,
         ReadingType.SPO2: ReadingUnit.PERCENT, ReadingType.SYSTOLIC: ReadingUnit.MM_HG,
         ReadingType.DIASTOLIC: ReadingUnit.MM_HG}


def wear(patient, *, kind=DeviceKind.TEMPERATURE_PATCH, started_at, interval=120, offset=0, by=None):
    """A device of `kind` put on the patient at `started_at`: its open assignment."""
    device = Device.objects.create(center=patient.center, kind=kind, maker="Acme", model_name="Patch",
                                   serial=f"SN{next(_serials):05d}", body_site="axillary",
                                   expected_interval_seconds=interval, temperature_offset_c=offset)
    return DeviceAssignment.objects.create(device=device, patient=patient, started_at=started_at,
                                           assigned_by=by or patient.user)


def store(assignment, values, *, start, every=120, type=ReadingType.TEMPERATURE, received_at=None,
          signal=False) -> dt.datetime:
    """Readings every `every` seconds from `start`, received at `received_at` (default: the last one's time).
    Returns the earliest measured_at; with `signal`, sends readings_stored as the ingest does after commit."""
    moments = [start + dt.timedelta(seconds=every * i) for i in range(len(values))]
    received = received_at or moments[-1]
    Reading.objects.bulk_create([
        Reading(patient_id=assignment.patient_id, type=type, measured_at=moment, device_id=assignment.device_id,
                value=float(value), unit=UNITS[type], utc_offset_minutes=0, received_at=received)
        for moment, value in zip(moments, values, strict=True)])
    newest = max(moments)
    DeviceAssignment.objects.filter(pk=assignment.pk).update(
        last_measured_at=max(newest, assignment.last_measured_at or newest), last_received_at=received)
    if type == ReadingType.TEMPERATURE:
        assignments_refresh_temperature(DeviceAssignment.objects.filter(pk=assignment.pk))
    assignment.refresh_from_db()
    if signal:
        readings_stored.send(sender=Reading, patients={assignment.patient_id: start})
    return start
