from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventRow(models.Model):
    """A change recorded as a row, never updated: what happened (`kind`, with each subclass's own choices), when,
    who did it, the check-in behind it and a note. AlertEvent and WindowEvent add what changed (old → new)."""

    kind: models.CharField  # each subclass: models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Empty when the tracker itself made the change.",
    )
    checkin = models.ForeignKey("tracker.CheckIn", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    if TYPE_CHECKING:  # each concrete event has its `kind` choices, and Django its get_kind_display()
        def get_kind_display(self) -> str: ...

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
