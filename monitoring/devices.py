"""What the pages show of a patient's connected devices (clinical-rules §10): the latest device reading with its
age, whether a streaming device has gone quiet, and the readings for the staff charts. Reads only; the ingest
(storing readings) and the silence scan (opening the `device_silence` alert) are elsewhere.

The latest device temperature is kept on each assignment by the ingest (`last_temperature`,
`last_temperature_at`), so the dashboard and the patient's page read only the patient's few assignments, never the
readings table (a day of 10,000 patches is 14.4 M readings: bench/readings.py). The charts read the readings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Avg, Exists, F, OuterRef, Subquery
from django.db.models.functions import TruncMinute
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from monitoring.models import Alert, AlertStatus
from monitoring.rules.streams import DEVICE_SILENCE
from monitoring.rules.types import has_fever
from tracker.models import DeviceAssignment, DeviceKind, Patient, Reading, ReadingType
from tracker.models.devices import STREAMING_KINDS

TEMPERATURE_KINDS = (DeviceKind.TEMPERATURE_PATCH, DeviceKind.THERMOMETER)
# A patient's home page calls a streaming device quiet after this many expected intervals without a reading
# (policy; with the patch's 2 minutes, 6 minutes), as well as when the silence alert is open.
QUIET_AFTER_INTERVALS = 3


def open_assignments(patient_ref=None):
    return DeviceAssignment.objects.filter(patient=patient_ref if patient_ref is not None else OuterRef("pk"),
                                           ended_at__isnull=True)


def open_silence_alerts(patient_ref=None):
    return Alert.objects.filter(patient=patient_ref if patient_ref is not None else OuterRef("pk"),
                                condition=DEVICE_SILENCE).exclude(status=AlertStatus.RESOLVED)


def device_annotations() -> dict:
    """Columns for a Patient queryset (the dashboard's rows): `has_temperature_device` (an open assignment of a
    patch or thermometer), the latest device temperature and when it was measured (the newest kept on any of the
    patient's assignments), `device_silent` (an open `device_silence` alert) and `device_last_at` (the last reading
    of the open streaming assignment that has been quiet longest: the one the silence is about)."""
    temperature = (DeviceAssignment.objects.filter(patient=OuterRef("pk"), last_temperature_at__isnull=False)
                   .order_by(F("last_temperature_at").desc()))
    streaming = open_assignments().filter(device__kind__in=STREAMING_KINDS, last_measured_at__isnull=False)
    return {
        "has_temperature_device": Exists(open_assignments().filter(device__kind__in=TEMPERATURE_KINDS)),
        "device_temperature": Subquery(temperature.values("last_temperature")[:1]),
        "device_temperature_at": Subquery(temperature.values("last_temperature_at")[:1]),
        "device_silent": Exists(open_silence_alerts()),
        "device_last_at": Subquery(streaming.order_by(F("last_measured_at").asc()).values("last_measured_at")[:1]),
    }


def device_temperature_of(patient: Patient, now: dt.datetime) -> dict | None:
    """The latest device temperature of a patient wearing a patch or thermometer, for a staff page's facts line:
    {"value", "measured_at", "age", "fever", "silent"}; None without one. One query (device_annotations)."""
    columns = device_annotations()
    names: list[str] = ["has_temperature_device", "device_temperature", "device_temperature_at", "device_silent"]
    row = Patient.objects.filter(pk=patient.pk).annotate(**columns).values(*names).first()
    if not row or not row["has_temperature_device"] or row["device_temperature"] is None:
        return None
    return {"value": Decimal(f"{row['device_temperature']:.1f}"), "measured_at": row["device_temperature_at"],
            "age": reading_age(row["device_temperature_at"], now), "fever": has_fever(row["device_temperature"]),
            "silent": row["device_silent"]}


def reading_age(at: dt.datetime, now: dt.datetime) -> str:
    """"just now", "2 min ago", "3 h ago", "2 days ago": short, for a row or a line of a phone page."""
    seconds = max(0, (now - at).total_seconds())
    if seconds < 60:
        return _("just now")
    minutes = int(seconds // 60)
    if minutes < 60:
        return _("%(n)d min ago") % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return _("%(n)d h ago") % {"n": hours}
    days = hours // 24
    return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}


def reading_age_words(at: dt.datetime, now: dt.datetime) -> str:
    """The same in whole words for a patient's page: "2 minutes ago", "1 hour ago"."""
    seconds = max(0, (now - at).total_seconds())
    if seconds < 60:
        return _("less than a minute ago")
    minutes = int(seconds // 60)
    if minutes < 60:
        return ngettext("%(n)d minute ago", "%(n)d minutes ago", minutes) % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(n)d hour ago", "%(n)d hours ago", hours) % {"n": hours}
    days = hours // 24
    return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}


def patient_device_status(patient: Patient, now: dt.datetime) -> dict | None:
    """For the patient's home page: the streaming device worn now (a patch first), its newest reading and
    whether it is quiet (no reading for QUIET_AFTER_INTERVALS expected intervals, or the silence alert open).
    None without an open assignment of a streaming device. One query."""
    assignments = list(open_assignments(patient).filter(device__kind__in=STREAMING_KINDS).select_related("device")
                       .annotate(silent=Exists(open_silence_alerts(patient))))
    if not assignments:
        return None
    assignments.sort(key=lambda a: (a.device.kind != DeviceKind.TEMPERATURE_PATCH, a.started_at))
    worn = assignments[0]
    last = worn.last_measured_at
    temperature = worn.last_temperature if worn.device.kind in TEMPERATURE_KINDS else None
    quiet_after = dt.timedelta(seconds=worn.device.expected_interval_seconds * QUIET_AFTER_INTERVALS)
    quiet = worn.silent or last is None or now - last > quiet_after
    return {"kind": worn.device.kind, "device": worn.device, "last_at": last, "quiet": quiet,
            "silence_alert": worn.silent, "age": reading_age_words(last, now) if last else "",
            # One decimal as a Decimal, like a typed temperature (a float's 36.89999… would show as 36.8).
            "temperature_c": Decimal(f"{temperature:.1f}") if temperature is not None else None}


# The staff patient page's charts draw the device readings of the last DEVICE_CHART_HOURS, at most one point a
# minute per series (the mean of the minute), so a patch every 2 minutes is sent whole and a faster device is
# thinned server-side: at most 4,320 points a series.
DEVICE_CHART_HOURS = 72
CHART_SERIES = {ReadingType.TEMPERATURE: "temperature", ReadingType.HEART_RATE: "heart_rate",
                ReadingType.SPO2: "spo2", ReadingType.SYSTOLIC: "systolic", ReadingType.DIASTOLIC: "diastolic"}


def device_chart_series(patient: Patient, now: dt.datetime, *, hours: int = DEVICE_CHART_HOURS) -> dict:
    """Per chart series name: {"t": [epoch milliseconds], "v": [values]}, oldest first, one point per minute
    with readings (their mean), over the last `hours`. One query (the primary key's range per type)."""
    rows = (Reading.objects.filter(patient=patient, type__in=list(CHART_SERIES),
                                   measured_at__gte=now - dt.timedelta(hours=hours),
                                   measured_at__lte=now + dt.timedelta(minutes=5))
            .annotate(minute=TruncMinute("measured_at", tzinfo=dt.UTC)).order_by()
            .values("type", "minute").annotate(mean=Avg("value")).order_by("type", "minute"))
    series: dict[str, dict[str, list]] = {}
    for row in rows:
        points = series.setdefault(CHART_SERIES[row["type"]], {"t": [], "v": []})
        points["t"].append(int(row["minute"].timestamp() * 1000))
        points["v"].append(round(row["mean"], 2))
    return series
