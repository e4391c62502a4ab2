import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class TwoFactorState(models.TextChoices):
    """Whether the request's sign-in was confirmed with a second factor (staff), or none applies."""

    VERIFIED = "verified", "Verified"
    NOT_VERIFIED = "not_verified", "Not verified"
    NOT_APPLICABLE = "not_applicable", "Not applicable"  # anonymous, patients and caregivers
    UNKNOWN = "unknown", "Unknown"  # rows written before the state was recorded


class AuditEvent(models.Model):
    """Who read or changed patient data, when, how and from where. Append-only: the model refuses updates
    and deletes, the admin shows it read-only, and on PostgreSQL a trigger refuses UPDATE and DELETE."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150, blank=True, help_text="Kept even if the account is renamed.")
    role = models.CharField(max_length=20, blank=True)
    patient = models.ForeignKey("tracker.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    patient_ids = models.JSONField(default=list, blank=True, help_text="Patients shown by a list page or endpoint.")
    action = models.CharField(max_length=40, help_text="view, list, create, amend, acknowledge, resolve, export ...")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    two_factor = models.CharField(max_length=16, choices=TwoFactorState.choices, default=TwoFactorState.UNKNOWN,
                                  help_text="Whether a staff sign-in was confirmed with a second factor.")

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["patient", "-at"], name="audit_by_patient"),
            models.Index(fields=["user", "-at"], name="audit_by_user"),
        ]

    def __str__(self) -> str:
        return f"{self.username or 'anonymous'} {self.action} {self.path} at {self.at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The audit trail is append-only.")
