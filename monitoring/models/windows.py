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


class DoseWindowKind(models.TextChoices):
    MONITORING = "dose_monitoring", _("Monitoring after a dose")
    DRIVING = "dose_driving", _("No driving")
    NEARBY = "dose_nearby", _("Stay within 1 hour of care, with a caregiver")
    REMONITOR = "dose_remonitor", _("Step-up monitoring again")


class DoseWindowQuerySet(models.QuerySet):
    def in_force(self, now) -> "DoseWindowQuerySet":
        """Open at `now`: opened, not closed, not cleared, not withdrawn."""
        return self.filter(opens_at__lte=now, withdrawn_at__isnull=True, cleared_at__isnull=True).filter(
            models.Q(closes_at__isnull=True) | models.Q(closes_at__gt=now))


class DoseWindow(models.Model):
    """An hour-precise window opened by a recorded dose of a T-cell engager (clinical-rules §8), or by a
    neurologic finding during such a course (no driving until staff clear it). Kept apart from the date-granular
    CAR T `Window` (one per course and kind): a course has one of these per dose and kind. Recomputed from the
    course's current doses (monitoring.services.dose_windows); a window whose dose record was corrected moves with
    it; one no dose opens any more is withdrawn, never deleted. Every change is a WindowEvent."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey("tracker.TreatmentCourse", on_delete=models.CASCADE, related_name="dose_windows")
    kind = models.CharField(max_length=20, choices=DoseWindowKind.choices)
    dose = models.ForeignKey("tracker.DoseAdministration", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="windows", help_text="The dose that opened it (its current version).")
    checkin = models.ForeignKey("tracker.CheckIn", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="The check-in whose neurologic finding opened it.")
    reason = models.CharField(max_length=40, help_text="Message key: why (monitoring/dose_window_messages.py).")
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                     help_text="Empty: until an event (the infusion ends, the step-up doses end, "
                                               "staff clear it).")
    supervised = models.BooleanField(default=False, help_text="Given inpatient or kept for monitoring: the care "
                                                              "team watches the patient in this time.")
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    clearance_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True, help_text="No current dose opens it any more.")
    end_notified_at = models.DateTimeField(null=True, blank=True, help_text="When the patient and team were told "
                                                                            "it ended (no-driving, stay-nearby).")

    objects = DoseWindowQuerySet.as_manager()

    class Meta:
        ordering = ["opens_at", "id"]
        indexes = [models.Index(fields=["course", "opens_at"], name="dosewindow_course_opens")]
        constraints = [
            models.UniqueConstraint(fields=["course", "kind", "dose"],
                                    condition=models.Q(dose__isnull=False, withdrawn_at__isnull=True),
                                    name="dosewindow_one_per_dose_kind"),
            models.CheckConstraint(condition=models.Q(dose__isnull=False) | models.Q(checkin__isnull=False),
                                   name="dosewindow_has_opener"),
            models.CheckConstraint(
                condition=models.Q(cleared_at__isnull=True) | ~models.Q(clearance_reason=""),
                name="dosewindow_clearance_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.opens_at:%Y-%m-%d %H:%M} until {self.closes_at or 'an event'}"


class RemonitorRequest(models.Model):
    """A grade 2 CRS or any ICANS during a T-cell engager course (clinical-rules §8): the next dose recorded after
    `raised_at` gets the step-up monitoring again. `consumed_by` is that dose once recorded."""

    course = models.ForeignKey("tracker.TreatmentCourse", on_delete=models.CASCADE, related_name="remonitor_requests")
    checkin = models.ForeignKey("tracker.CheckIn", on_delete=models.PROTECT, related_name="+")
    condition = models.CharField(max_length=20)
    raised_at = models.DateTimeField()
    consumed_by = models.ForeignKey("tracker.DoseAdministration", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "checkin"], name="remonitor_once_per_checkin")]

    def __str__(self) -> str:
        return f"Re-monitor course {self.course_id} after {self.condition} at {self.raised_at}"


class WindowEvent(EventRow):
    """Every change of a window's end, as a row: created, extended, shortened or lengthened by center
    policy, cleared; for a dose window also moved (its dose record corrected) and withdrawn. Belongs to a CAR T
    `Window` (dates) or a `DoseWindow` (times)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        EXTENDED = "extended", _("Extended after a neurologic finding")
        POLICY = "policy", _("Center policy changed the length")
        CLEARED = "cleared", _("Cleared by a physician")
        MOVED = "moved", _("Moved by a recorded or corrected dose")
        WITHDRAWN = "withdrawn", _("Withdrawn: no current dose opens it")

    window = models.ForeignKey(Window, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    dose_window = models.ForeignKey(DoseWindow, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    old_ends_on = models.DateField(null=True, blank=True)
    new_ends_on = models.DateField(null=True, blank=True)
    old_closes_at = models.DateTimeField(null=True, blank=True)
    new_closes_at = models.DateTimeField(null=True, blank=True)

    class Meta(EventRow.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window__isnull=False, dose_window__isnull=True)
                | models.Q(window__isnull=True, dose_window__isnull=False),
                name="windowevent_one_window",
            )
        ]


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
