"""Connected devices and the readings they send (clinical-rules §10).

A Device (a temperature patch, a thermometer, a pulse oximeter, a blood pressure cuff) is assigned to one patient
for a period (DeviceAssignment); a device or the phone gateway it pairs with sends readings with its own revocable
credential (DeviceCredential), and each reading lands on the patient whose assignment covers its measured_at.

Readings are stored raw (§10: "store the raw value and the site"), in one canonical unit per type (Cel, /min, %,
mm[Hg]) with the unit the device sent kept beside it; a device's temperature offset (policy, default 0) is applied
when grading, never to the stored value. The primary key (patient, type, measured_at, device) is the §10 dedupe key
(one assignment per device at a time makes (device, type, measured_at) decide the patient) and serves the
per-patient window and chart queries; on PostgreSQL the table is partitioned by day on measured_at."""

import datetime as dt
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .users import hash_key


class DeviceKind(models.TextChoices):
    TEMPERATURE_PATCH = "temperature_patch", _("Temperature patch")
    THERMOMETER = "thermometer", _("Thermometer")
    PULSE_OXIMETER = "pulse_oximeter", _("Pulse oximeter")
    BLOOD_PRESSURE_CUFF = "blood_pressure_cuff", _("Blood pressure cuff")


class BodySite(models.TextChoices):
    AXILLARY = "axillary", _("Armpit (axillary)")
    ORAL = "oral", _("Mouth (oral)")
    TYMPANIC = "tympanic", _("Ear (tympanic)")
    FOREHEAD = "forehead", _("Forehead")
    CHEST = "chest", _("Chest")
    WRIST = "wrist", _("Wrist")
    FINGER = "finger", _("Finger")
    UPPER_ARM = "upper_arm", _("Upper arm")


# Which device kinds are expected to stream on their own (a patch, a worn oximeter) rather than be used now and
# then by hand: only those can fall silent (§10 silence).
STREAMING_KINDS = frozenset({DeviceKind.TEMPERATURE_PATCH, DeviceKind.PULSE_OXIMETER})


class Device(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    center = models.ForeignKey("tracker.Center", on_delete=models.PROTECT, related_name="devices")
    kind = models.CharField(max_length=24, choices=DeviceKind.choices)
    maker = models.CharField(max_length=100)
    model_name = models.CharField("model", max_length=100)
    serial = models.CharField(max_length=100)
    body_site = models.CharField(max_length=16, choices=BodySite.choices)
    expected_interval_seconds = models.PositiveIntegerField(
        default=120, help_text="How often the device sends a reading when worn (a patch: every 2 minutes, §10).")
    temperature_offset_c = models.DecimalField(
        max_digits=3, decimal_places=1, default=0,
        help_text="Center policy (§10): added to this device's temperatures before grading, for a skin site that "
                  "reads below core. Default 0; the stored readings stay raw.")
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["center", "kind", "serial"]
        constraints = [models.UniqueConstraint(fields=["center", "maker", "serial"], name="device_serial_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.maker} {self.model_name} #{self.serial}"

    @property
    def streams(self) -> bool:
        return self.kind in STREAMING_KINDS


class DeviceAssignment(models.Model):
    """A device worn by one patient from `started_at` until `ended_at` (open while worn). A device is never
    assigned to two patients at once (tracker.device_services checks overlaps under a lock on the device).

    `last_measured_at`/`last_received_at` are the newest reading's times, and `last_temperature` (°C, raw as
    stored, no offset) / `last_temperature_at` the newest temperature reading, all kept up to date by the ingest
    (the silence scan reads the first two, the dashboard and the patient's page the last two, so neither reads
    the readings table)."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="assignments")
    patient = models.ForeignKey("tracker.Patient", on_delete=models.PROTECT, related_name="device_assignments")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    last_measured_at = models.DateTimeField(null=True, blank=True)
    last_received_at = models.DateTimeField(null=True, blank=True)
    last_temperature = models.FloatField(null=True, blank=True)
    last_temperature_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["device", "-started_at"]
        indexes = [
            models.Index(fields=["patient", "-started_at"], name="assignment_by_patient"),
            # The silence scan (clinical-rules §10): open assignments by when their device was last heard from.
            models.Index(Coalesce("last_received_at", "started_at"), name="assignment_silence",
                         condition=models.Q(ended_at__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["device"], condition=models.Q(ended_at__isnull=True),
                                    name="device_one_open_assignment"),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gt=models.F("started_at")),
                name="assignment_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.device} on patient {self.patient_id} from {self.started_at}"

    def covers(self, moment: dt.datetime) -> bool:
        return self.started_at <= moment and (self.ended_at is None or moment < self.ended_at)


class DeviceCredential(models.Model):
    """The key a device (or its phone gateway) sends readings with. Scoped to the device: it can write only
    readings of that device, which land on the patient its assignment names. Only the SHA-256 hash is stored;
    the key is shown once."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="credentials")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… for {self.device}"

    @classmethod
    def issue(cls, device: Device, *, created_by) -> tuple["DeviceCredential", str]:
        raw = "dev_" + secrets.token_urlsafe(32)
        credential = cls.objects.create(device=device, key_hash=hash_key(raw), prefix=raw[4:12], created_by=created_by)
        return credential, raw


class ReadingType(models.IntegerChoices):
    """What a reading measures, stored as a small integer; each type has one canonical UCUM unit."""

    TEMPERATURE = 1, _("Temperature")
    HEART_RATE = 2, _("Heart rate")
    SPO2 = 3, _("Oxygen saturation (SpO2)")
    SYSTOLIC = 4, _("Systolic blood pressure")
    DIASTOLIC = 5, _("Diastolic blood pressure")


class ReadingUnit(models.IntegerChoices):
    """The UCUM unit a reading arrived in (kept for provenance; the value is stored in the canonical unit)."""

    CEL = 1, "Cel"
    DEG_F = 2, "[degF]"
    PER_MIN = 3, "/min"
    PERCENT = 4, "%"
    MM_HG = 5, "mm[Hg]"


class Reading(models.Model):
    """One measurement from a device. Never updated; partitioned by day on PostgreSQL."""

    pk = models.CompositePrimaryKey("patient_id", "type", "measured_at", "device_id")
    patient = models.ForeignKey("tracker.Patient", on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="+")
    type = models.SmallIntegerField(choices=ReadingType.choices)
    measured_at = models.DateTimeField()
    device = models.ForeignKey(Device, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    value = models.FloatField(help_text="In the type's canonical unit: Cel, /min, %, mm[Hg]; raw, no offset.")
    unit = models.SmallIntegerField(choices=ReadingUnit.choices, help_text="The unit the device sent.")
    utc_offset_minutes = models.SmallIntegerField(help_text="The offset measured_at was sent with.")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["patient", "type", "measured_at"]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.value} at {self.measured_at} from device {self.device_id}"


class ReadingSummary(models.Model):
    """Five-minute summaries of readings, kept after the raw partitions pass the retention period."""

    pk = models.CompositePrimaryKey("patient_id", "type", "bucket_start", "device_id")
    patient = models.ForeignKey("tracker.Patient", on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="+")
    type = models.SmallIntegerField(choices=ReadingType.choices)
    bucket_start = models.DateTimeField()
    device = models.ForeignKey(Device, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    count = models.PositiveIntegerField()
    minimum = models.FloatField()
    maximum = models.FloatField()
    mean = models.FloatField()

    class Meta:
        ordering = ["patient", "type", "bucket_start"]

    def __str__(self) -> str:
        return f"{self.get_type_display()} summary at {self.bucket_start} from device {self.device_id}"
