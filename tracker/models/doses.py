"""Doses given in a treatment course (clinical-rules §8: the risk of a T-cell engager follows each dose of the
step-up schedule, so every dose is recorded with its step and its start and end times).

Rows are never updated or deleted: a correction is a new row that `corrects` the one before, with who
(`recorded_by`), when (`recorded_at`) and why (`correction_reason`); `DoseQuerySet.current()` leaves out the rows a
later one corrects, like check-in amendments."""

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tracker.dose_plans import DoseSchedule, DoseStep

# A clock a little ahead of the server's (a workstation, a phone) is not an error: center policy, 5 minutes.
FUTURE_SKEW = dt.timedelta(minutes=5)  # policy
FREE_STEP_MAX_LENGTH = 60


class DoseSetting(models.TextChoices):
    INPATIENT = "inpatient", _("Hospital inpatient")
    INFUSION_CENTER = "infusion_center", _("Infusion center")
    HOME_OR_CLINIC = "home_or_clinic", _("Home or clinic")


class DoseRoute(models.TextChoices):
    IV = "iv", _("Intravenous (IV)")
    SUBCUTANEOUS = "subcutaneous", _("Subcutaneous")


class DoseQuerySet(models.QuerySet):
    def corrections_of(self, dose) -> "DoseQuerySet":
        """The rows that correct `dose` (a dose, its id, or an OuterRef to one)."""
        return self.filter(corrects=dose)

    def current(self) -> "DoseQuerySet":
        """The current versions: doses no later row corrects (a correction stands in for the original)."""
        return self.filter(~models.Exists(self.model.objects.corrections_of(models.OuterRef("pk"))))


class DoseAdministration(models.Model):
    """One dose given in a course: its schedule step, when it started and ended, where, and whether the patient
    was kept for monitoring afterwards."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey("tracker.TreatmentCourse", on_delete=models.PROTECT, related_name="doses")
    step_code = models.CharField(
        max_length=FREE_STEP_MAX_LENGTH,
        help_text="A step of the product's schedule template (su1, su2, first_treatment...); for a product without "
                  "a template, the dose's name as the center writes it (\"cycle 3 day 1\").",
    )
    cycle = models.PositiveSmallIntegerField(
        default=1, help_text="Which time this step is given in the course: 1, then 2, 3... for a repeating step "
                             "(weekly doses) or a step given again after a restart.",
    )
    planned_start = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(help_text="When the infusion or injection started.")
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When it ended; empty while an infusion runs.")
    setting = models.CharField("where given", max_length=20, choices=DoseSetting.choices)
    kept_for_monitoring = models.BooleanField(default=False)
    route = models.CharField(max_length=20, choices=DoseRoute.choices, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recorded_doses")
    recorded_at = models.DateTimeField(auto_now_add=True)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections",
        help_text="The dose record this one corrects.",
    )
    correction_reason = models.TextField(blank=True, max_length=1000)

    objects = DoseQuerySet.as_manager()

    class Meta:
        ordering = ["started_at", "pk"]
        indexes = [models.Index(fields=["course", "started_at"], name="dose_course_started")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(corrects__isnull=True) | ~models.Q(correction_reason=""),
                name="dose_correction_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="dose_ends_after_start",
            ),
            models.CheckConstraint(condition=models.Q(cycle__gte=1), name="dose_cycle_positive"),
            # One correction per row: a correction of a corrected dose corrects the current version instead.
            models.UniqueConstraint(fields=["corrects"], condition=models.Q(corrects__isnull=False),
                                    name="dose_corrected_once"),
        ]

    def __str__(self) -> str:
        return f"Dose {self.step_code} (cycle {self.cycle}) of course {self.course_id} at {self.started_at}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Dose records are never changed; store a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Dose records are never deleted.")

    @property
    def schedule(self) -> DoseSchedule | None:
        return DoseSchedule.from_json(self.course.therapy.dose_schedule)

    @property
    def step(self) -> DoseStep | None:
        schedule = self.schedule
        return schedule.step(self.step_code) if schedule else None

    @property
    def step_name(self) -> str:
        step = self.step
        return gettext(step.name) if step else self.step_code

    def clean(self) -> None:
        """The checks one row can make (tracker.dose_services adds those against the course's other doses).
        Raises ValidationError naming each field."""
        errors: dict[str, list[str]] = {}
        now = timezone.now()
        course = self.course
        zone = course.patient.tz
        schedule = DoseSchedule.from_json(course.therapy.dose_schedule)
        if schedule is not None and schedule.step(self.step_code) is None:
            errors.setdefault("step_code", []).append(
                gettext("Not a step of this product's schedule: choose one of %(codes)s.")
                % {"codes": ", ".join(schedule.codes)})
        if schedule is None and not self.step_code.strip():
            errors.setdefault("step_code", []).append(gettext("Name the dose, such as “cycle 3 day 1”."))
        for name in ("planned_start", "started_at", "ended_at"):
            value = getattr(self, name)
            if value is not None and timezone.is_naive(value):
                errors.setdefault(name, []).append(gettext("Give the time with its time zone."))
        if errors:
            raise ValidationError(errors)
        for name in ("started_at", "ended_at"):
            value = getattr(self, name)
            if value is not None and value > now + FUTURE_SKEW:
                errors.setdefault(name, []).append(gettext("This time is in the future."))
        if "started_at" not in errors and self.started_at.astimezone(zone).date() < course.start_date:
            errors.setdefault("started_at", []).append(
                gettext("This is before the course started (%(date)s, the patient's time zone).")
                % {"date": course.start_date.isoformat()})
        if self.ended_at is not None and self.ended_at < self.started_at:
            errors.setdefault("ended_at", []).append(gettext("The end is before the start."))
        if schedule is not None and schedule.route and self.route != schedule.route:
            errors.setdefault("route", []).append(
                gettext("This course follows the %(route)s schedule: record the route (%(route)s).")
                % {"route": DoseRoute(schedule.route).label})
        if self.corrects_id is not None and not self.correction_reason.strip():
            errors.setdefault("reason", []).append(gettext("Say why the dose record is corrected."))
        if errors:
            raise ValidationError(errors)
