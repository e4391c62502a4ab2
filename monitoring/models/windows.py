import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .events import EventRow


class WindowKind(models.TextChoices):
    DRIVING = "driving", _("No driving or heavy machinery")
    PROXIMITY = "proximity", _("Stay near the treating center")


class Window(models.Model):
    """A no-driving or stay-nearby window after CAR T infusion (clinical-rules §3). The end date is
    recomputed from label, center policy and neurologic events; every change is a WindowEvent."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey("tracker.TreatmentCourse", on_delete=models.CASCADE, related_name="windows")
    kind = models.CharField(max_length=20, choices=WindowKind.choices)
    starts_on = models.DateField()
    label_days = models.PositiveIntegerField()
    center_days = models.PositiveIntegerField(null=True, blank=True)
    neuro_event_dates = models.JSONField(default=list, help_text="Dates of neurologic findings that extend it.")
    ends_on = models.DateField(db_index=True, help_text="First day the restriction no longer applies.")
    cleared_on = models.DateField(null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    clearance_reason = models.TextField(blank=True)
    end_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "kind"], name="window_unique_per_course"),
            models.CheckConstraint(
                condition=models.Q(cleared_on__isnull=True) | ~models.Q(clearance_reason=""),
                name="window_clearance_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} until {self.ends_on}"

    def is_active_on(self, day) -> bool:
        """In force on that date: not yet ended and not cleared on or before it."""
        return self.ends_on > day and not (self.cleared_on is not None and self.cleared_on <= day)


class WindowEvent(EventRow):
    """Every change of a window's end date, as a row: created, extended, shortened or lengthened by center
    policy, cleared."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        EXTENDED = "extended", _("Extended after a neurologic finding")
        POLICY = "policy", _("Center policy changed the length")
        CLEARED = "cleared", _("Cleared by a physician")

    window = models.ForeignKey(Window, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    old_ends_on = models.DateField(null=True, blank=True)
    new_ends_on = models.DateField(null=True, blank=True)

    class Meta(EventRow.Meta):
        pass


class FollowUp(models.Model):
    """A question the tracker asks again on its own (clinical-rules §2 Carvykti, §4 diarrhea)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("tracker.Patient", on_delete=models.CASCADE, related_name="followups")
    kind = models.CharField(max_length=40)
    due_at = models.DateTimeField(db_index=True)
    reason = models.TextField()
    source = models.CharField(max_length=200)
    created_from = models.ForeignKey("tracker.CheckIn", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    answered_by = models.ForeignKey("tracker.CheckIn", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"], condition=models.Q(answered_by__isnull=True), name="followup_one_pending_per_kind"
            )
        ]
        indexes = [models.Index(fields=["patient", "due_at"])]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due_at:%Y-%m-%d}"
