import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DeliveryStatus(models.TextChoices):
    """Whether an invitation's message went out, as notifications records it when the message is sent or
    fails for good (tracker.invitations.invitation_delivery_record)."""

    NOT_APPLICABLE = "", _("No message (no mobile phone or email)")
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Could not be delivered")


class Invitation(models.Model):
    """An invitation for a patient or a caregiver to set a first password (tracker/invitations.py). Single-use
    and expiring (INVITATION_HOURS); a newer invitation for the same person voids this one. The link itself
    is made when the message is sent and only its SHA-256 hash is kept (InvitationLink): no row anywhere
    holds a link that works."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations")
    patient = models.ForeignKey("tracker.Patient", on_delete=models.CASCADE, related_name="invitations",
                                help_text="The patient's record the person was enrolled with (their own, or cared for).")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    channel = models.CharField(max_length=10, blank=True,
                               help_text="How the message goes (sms, email); empty if the person cannot be reached.")
    delivery_status = models.CharField(
        max_length=10, blank=True, choices=DeliveryStatus.choices, default=DeliveryStatus.NOT_APPLICABLE,
        help_text="Whether the message went out: pending from the moment it is written, then sent or failed "
                  "(recorded by notifications); empty when there is no message.")
    delivery_changed_at = models.DateTimeField(null=True, blank=True,
                                               help_text="When the delivery status last changed.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True, help_text="Replaced by a newer invitation.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="invitation_by_patient"),
            models.Index(fields=["user", "-created_at"], name="invitation_by_user"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.user} ({self.created_at:%Y-%m-%d %H:%M})"

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.accepted_at is None and self.voided_at is None and self.expires_at > now

    def state(self, now=None) -> str:
        """accepted, replaced, expired or open."""
        now = now or timezone.now()
        if self.accepted_at:
            return "accepted"
        if self.voided_at:
            return "replaced"
        if self.expires_at <= now:
            return "expired"
        return "open"


class InvitationLink(models.Model):
    """One link sent for an invitation: only the SHA-256 hash of its token. Each sending (a retry too) makes
    its own link; all of an invitation's links stop working when one is used, when the invitation expires
    or when a newer one replaces it."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Link for {self.invitation} made {self.created_at:%Y-%m-%d %H:%M:%S}"
