from __future__ import annotations

import uuid
import zoneinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from tracker.models.users import User


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone (for example America/Chicago)."), params={"value": value})


class Patient(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    center = models.ForeignKey("tracker.Center", on_delete=models.PROTECT, related_name="patients")
    care_team = models.ForeignKey("tracker.CareTeam", on_delete=models.PROTECT, related_name="patients")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="patient_record"
    )
    mrn = models.CharField("MRN", max_length=32)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone], default="America/New_York")
    preferred_language = models.CharField(max_length=8, default="en", choices=[("en", "English"), ("es", "Español")])
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    caregivers: models.ManyToManyField[User, CaregiverLink] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="CaregiverLink", related_name="cared_for_patients", blank=True
    )
    temperature_unit = models.CharField(
        max_length=1, blank=True, choices=[("C", "°C"), ("F", "°F")],
        help_text="The unit the patient's thermometer shows, remembered from the °C/°F switch on the check-in page. "
                  "Blank: the default (tracker.questions.default_temperature_unit: °F for English readers at a center "
                  "in the Americas, otherwise °C).",
    )
    baseline_ice_score = models.PositiveSmallIntegerField(
        "baseline ICE score", default=10, validators=[MaxValueValidator(10)],
        help_text="The patient's own ICE baseline before infusion; 10 unless the team recorded otherwise (clinical-rules §2).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Not a column: True on the instance tracker.selectors.patient_for_checkin locked for one check-in's
    # transaction, whose readers may keep what they load on it.
    locked_for_checkin: bool = False

    class Meta:
        constraints = [models.UniqueConstraint(fields=["center", "mrn"], name="patient_mrn_unique_per_center")]
        indexes = [models.Index(fields=["care_team", "last_name"])]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def temperature_unit_shown(self) -> str:
        """"C" or "F": the patient's own choice, else the default for the center and language."""
        from tracker.questions import default_temperature_unit

        return self.temperature_unit or default_temperature_unit(self.center.time_zone, self.preferred_language)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def age_on(self, day) -> int:
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years


class CaregiverLink(models.Model):
    """A caregiver may log check-ins for, and see the records of, the patients linked here."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="caregiver_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="caregiver_links")
    relationship = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "user"], name="caregiver_link_unique")]

    def __str__(self) -> str:
        return f"{self.user} cares for {self.patient}"
