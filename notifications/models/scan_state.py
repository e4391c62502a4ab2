from django.db import models


class ReminderState(models.Model):
    """Where each patient's check-in reminders stand. `next_due_at` is when the next step is due, so the
    scan is one indexed query (like Healthchecks' alert_after)."""

    class Stage(models.IntegerChoices):
        WAITING = 0, "Waiting for the reminder time"
        FIRST_SENT = 1, "First reminder sent"
        SECOND_SENT = 2, "Second reminder sent"
        NURSE_TOLD = 3, "Nurse told of the missed check-in"

    patient = models.OneToOneField("tracker.Patient", on_delete=models.CASCADE, related_name="reminder_state")
    expected_on = models.DateField(help_text="The local date a check-in is expected.")
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, default=Stage.WAITING)
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # In the 72 h after a step-up or first full dose (clinical-rules §8, policy) check-ins are due every 12 h:
    # the reminders then work on a slot (due by `dose_slot_at`; a complete check-in recorded after
    # `dose_slot_from` answers it) instead of the local date `expected_on`.
    dose_slot_from = models.DateTimeField(null=True, blank=True)
    dose_slot_at = models.DateTimeField(null=True, blank=True, help_text="A 12-hourly check-in after a dose is "
                                                                         "due by then; empty: the daily schedule.")

    def __str__(self) -> str:
        return f"Reminders for {self.patient_id}: {self.get_stage_display()} (expected {self.expected_on})"


class DigestRun(models.Model):
    """One morning digest per care team and local date (makes the digest idempotent)."""

    team = models.ForeignKey("tracker.CareTeam", on_delete=models.CASCADE, related_name="digest_runs")
    local_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "local_date"], name="digest_once_per_day")]

    def __str__(self) -> str:
        return f"Digest for {self.team} on {self.local_date}"
