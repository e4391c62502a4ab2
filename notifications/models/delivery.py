import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .people import ChannelKind


class NotificationKind(models.TextChoices):
    ALERT = "alert", _("Alert")
    ESCALATION = "escalation", _("Escalation")
    REMINDER = "reminder", _("Check-in reminder")
    MISSED_CHECKIN = "missed_checkin", _("Missed check-in")
    DIGEST = "digest", _("Morning digest")
    WINDOW_END = "window_end", _("Window ended")
    INVITATION = "invitation", _("Invitation to set a password")
    PASSWORD_RESET = "password_reset", _("Password reset")
    # To a patient and their caregivers: a worn device stopped sending readings (clinical-rules §10).
    DEVICE_SILENCE = "device_silence", _("Device not sending readings")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notification(models.Model):
    """One message to one recipient on one channel: the outbox row, written before anything is sent."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    channel = models.CharField(max_length=10, choices=ChannelKind.choices)
    dedup_key = models.CharField(max_length=200, unique=True)
    alert = models.ForeignKey("monitoring.Alert", null=True, blank=True, on_delete=models.PROTECT, related_name="notifications")
    patient = models.ForeignKey("tracker.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications")
    webhook = models.ForeignKey("notifications.PagingWebhook", null=True, blank=True, on_delete=models.PROTECT, related_name="notifications")
    step = models.PositiveSmallIntegerField(default=0, help_text="Escalation step: 0 nurse, 1 charge nurse, 2+ physician.")
    language = models.CharField(max_length=8, default="en")
    urgency = models.CharField(max_length=12, blank=True)
    alert_urgency = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The alert's urgency when sent.")
    context = models.JSONField(default=dict, blank=True, help_text="What the message template needs (no names or diagnoses).")
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(
        max_length=64, blank=True,
        help_text="The task that claimed the row; the same task handed out again after its worker died takes it "
                  "back at once instead of waiting for the row to go stale.")
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
            models.Index(fields=["recipient", "channel", "-created_at"], name="notification_inbox"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | models.Q(webhook__isnull=False),
                name="notification_has_destination",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} via {self.get_channel_display()} ({self.get_status_display()})"


class DeliveryAttempt(models.Model):
    """Written before the outside call and completed after it: an attempt that never finished shows."""

    class Outcome(models.TextChoices):
        STARTED = "started", _("Started, no outcome recorded")
        SENT = "sent", _("Sent")
        TRANSIENT = "transient", _("Transient error, will retry")
        PERMANENT = "permanent", _("Permanent error")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_attempts")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.STARTED)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} at {self.started_at:%Y-%m-%d %H:%M:%S}"
