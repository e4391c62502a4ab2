from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from tracker.models.users import User


class Center(models.Model):
    """A cancer center: its 24/7 number is what patients are told to call."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    phone_24_7 = models.CharField("24/7 phone number", max_length=32)
    time_zone = models.CharField(max_length=64, default="America/New_York")

    def __str__(self) -> str:
        return self.name


class CareTeam(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="care_teams")
    name = models.CharField(max_length=200)
    members: models.ManyToManyField[User, CareTeamMembership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="CareTeamMembership", related_name="care_teams"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["center", "name"], name="careteam_unique_name_per_center")]

    def __str__(self) -> str:
        return f"{self.name} ({self.center})"


class CareTeamMembership(models.Model):
    team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"
