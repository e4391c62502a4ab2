"""What grading device readings keeps (clinical-rules §10): how far each patient's readings are graded, and the
silence of each streaming device during a risk period."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StreamGrading(models.Model):
    """One row per patient with device readings: the grading marker. A stored batch asks for grading from its
    earliest measured_at (`pending_since`, the earliest asked for and not yet graded, with `requested_at`); the
    grading task clears it. The sweep grades what a lost task never graded: a request older than a minute, and
    readings received after `received_through` (the newest `last_received_at` of the patient's devices when they
    were last graded) that no request named (a process that died between the ingest's commit and its signal).
    Grading is idempotent, so grading a batch twice opens nothing twice."""

    patient = models.OneToOneField("tracker.Patient", primary_key=True, on_delete=models.CASCADE,
                                   related_name="+")
    pending_since = models.DateTimeField(null=True, blank=True,
                                         help_text="Grade from this measured_at: asked for, not yet graded.")
    requested_at = models.DateTimeField(null=True, blank=True, help_text="When grading was last asked for.")
    waiting_since = models.DateTimeField(
        null=True, blank=True, help_text="When grading was first asked for and not yet done: the queue health's lag.")
    received_through = models.DateTimeField(
        null=True, blank=True, help_text="The newest reading received of the patient's devices when last graded.")
    graded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["requested_at"], condition=models.Q(pending_since__isnull=False),
                                name="streamgrading_pending")]

    def __str__(self) -> str:
        return f"Readings of patient {self.patient_id} graded at {self.graded_at}"


class DeviceSilence(models.Model):
    """One silence of a streaming device worn during a risk period (clinical-rules §10): from `silent_since` (its
    last reading received, or when it was put on) until readings resume, the assignment ends or the risk period
    ends (`ended_at`, `end_reason`). `stage` is what it has raised: 1 the same-day alert with a reminder to the
    patient, 2 urgent. The patient's `device_silence` alert gathers the silences of all their devices."""

    class Stage(models.IntegerChoices):
        SAME_DAY = 1, _("Silent: same-day")
        URGENT = 2, _("Silent: urgent")

    class EndReason(models.TextChoices):
        DEVICE_BACK = "device_back", _("Device back: readings resumed")
        ASSIGNMENT_ENDED = "assignment_ended", _("Device taken off")
        RISK_PERIOD_OVER = "risk_period_over", _("Risk period over")

    assignment = models.ForeignKey("tracker.DeviceAssignment", on_delete=models.CASCADE, related_name="silences")
    patient = models.ForeignKey("tracker.Patient", on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey("monitoring.Alert", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    silent_since = models.DateTimeField()
    stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    opened_at = models.DateTimeField(default=timezone.now)
    escalated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, blank=True, choices=EndReason.choices)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [models.UniqueConstraint(fields=["assignment"], condition=models.Q(ended_at__isnull=True),
                                               name="devicesilence_one_open_per_assignment")]
        indexes = [models.Index(fields=["id"], condition=models.Q(ended_at__isnull=True),
                                name="devicesilence_open")]

    def __str__(self) -> str:
        return f"Assignment {self.assignment_id} silent since {self.silent_since:%Y-%m-%d %H:%M}"
