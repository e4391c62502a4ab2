"""Who signs in and how they prove it: users and their roles, API tokens, and the enrolment codes that set up
a staff member's second factor."""

import datetime as dt
import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    CAREGIVER = "caregiver", _("Caregiver")
    NURSE = "nurse", _("Nurse")
    CHARGE_NURSE = "charge_nurse", _("Charge nurse")
    PHYSICIAN = "physician", _("Physician")
    COORDINATOR = "coordinator", _("Coordinator")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset({Role.NURSE, Role.CHARGE_NURSE, Role.PHYSICIAN, Role.COORDINATOR, Role.ADMIN})


class User(AbstractUser):
    """Anyone who signs in: patients, caregivers and staff. The role decides what they may see."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(max_length=20, choices=Role.choices)
    phone = models.CharField(max_length=32, blank=True)
    preferred_language = models.CharField(max_length=8, default="en", choices=[("en", "English"), ("es", "Español")])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
        ]

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def sees_everything(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    def __str__(self) -> str:
        return self.get_full_name() or self.username


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """An API token that expires and can be revoked. Only its SHA-256 hash is stored; the key is shown
    once, when it is issued."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The first characters of the key, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    two_factor = models.BooleanField(
        default=False, help_text="Issued after a code from the user's authenticator app (required for staff when "
                                 "REQUIRE_STAFF_2FA is on).")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… for {self.user}"

    @classmethod
    def issue(cls, user, *, days: int | None = None, two_factor: bool = False) -> tuple["ApiToken", str]:
        raw = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, key_hash=hash_key(raw), prefix=raw[:8], two_factor=two_factor,
            expires_at=timezone.now() + dt.timedelta(days=days or settings.API_TOKEN_DAYS),
        )
        return token, raw

    def is_valid(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


# An enrolment code: 10 characters of an alphabet without look-alikes (about 49 bits), shown as XXXXX-XXXXX.
ENROLMENT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ENROLMENT_CODE_LENGTH = 10
ENROLMENT_MAX_FAILURES = 5


def normalise_enrolment_code(raw: str) -> str:
    return "".join(ch for ch in str(raw).upper() if ch.isalnum())


class EnrolmentChannel(models.TextChoices):
    EMAIL = "email", "Emailed to the address on file"
    ADMIN = "admin", "Issued by an administrator"


class EnrolmentCode(models.Model):
    """Proof of a second channel before a staff member's first authenticator is set up: a single-use code
    that expires, emailed to the address on file or issued by an administrator (shown once). Only its
    SHA-256 hash is stored; ENROLMENT_MAX_FAILURES wrong entries void the user's open codes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_codes")
    code_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=EnrolmentChannel.choices)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="enrolment_code_by_user")]

    def __str__(self) -> str:
        return f"Two-factor enrolment code for {self.user} ({self.get_channel_display()})"

    @classmethod
    def issue(cls, user, *, channel: str, issued_by=None) -> tuple["EnrolmentCode", str]:
        """A new code for `user`; any code still open is voided (only the newest works)."""
        now = timezone.now()
        cls.objects.filter(user=user, used_at__isnull=True, voided_at__isnull=True).update(voided_at=now)
        raw = "".join(secrets.choice(ENROLMENT_ALPHABET) for _ in range(ENROLMENT_CODE_LENGTH))
        code = cls.objects.create(
            user=user, code_hash=hash_key(raw), channel=channel, issued_by=issued_by, created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.TWO_FACTOR_ENROLMENT_MINUTES),
        )
        return code, f"{raw[:5]}-{raw[5:]}"

    @classmethod
    def redeem(cls, user, raw: str) -> bool:
        """Use the user's open code if `raw` matches it; count a failure (and void after too many) if not."""
        now = timezone.now()
        wanted = hash_key(normalise_enrolment_code(raw)) if raw else ""
        with transaction.atomic():
            codes = list(cls.objects.select_for_update().filter(
                user=user, used_at__isnull=True, voided_at__isnull=True, expires_at__gt=now))
            for code in codes:
                if wanted and secrets.compare_digest(code.code_hash, wanted):
                    cls.objects.filter(pk=code.pk).update(used_at=now)
                    return True
            for code in codes:
                failures = code.failed_attempts + 1
                cls.objects.filter(pk=code.pk).update(
                    failed_attempts=failures, voided_at=now if failures >= ENROLMENT_MAX_FAILURES else None)
        return False
