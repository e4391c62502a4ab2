import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
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
