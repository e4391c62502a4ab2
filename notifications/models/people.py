from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    INAPP = "inapp", _("In-app inbox")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Paging webhook")


class ChainRole(models.TextChoices):
    """The escalation chain: nurse first, then the charge nurse, then the physician."""

    PRIMARY_NURSE = "primary_nurse", _("Primary nurse")
    CHARGE_NURSE = "charge_nurse", _("Charge nurse")
    PHYSICIAN = "physician", _("Physician")


class OnCallShift(models.Model):
    team = models.ForeignKey("tracker.CareTeam", on_delete=models.CASCADE, related_name="shifts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shifts")
    role = models.CharField(max_length=20, choices=ChainRole.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["team", "role", "starts_at", "ends_at"], name="shift_lookup")]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} for {self.team} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"


class NotificationPreference(models.Model):
    """Which outside channels a person wants besides the in-app inbox (always on)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference")
    email = models.BooleanField(default=True)
    sms = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class PagingWebhook(models.Model):
    """A hospital paging system: urgent and emergency alerts of the team are posted here, signed."""

    team = models.ForeignKey("tracker.CareTeam", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField()
    secret = models.CharField(max_length=128, help_text="Shared secret for the HMAC-SHA256 signature.")
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"Paging webhook for {self.team}"
