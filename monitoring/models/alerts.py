import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from monitoring.rules import Urgency
from monitoring.urgency import (
    ALERT_LEVELS,
    CALL_BUTTONS_FROM,
    PATIENT_HEADINGS,
    URGENCY_CHOICES,
    urgency_class,
)

from .events import EventRow


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class UrgencyShown:
    """How an alert's or a check-in assessment's stored urgency is shown (both have an `urgency` column)."""

    urgency: int

    @property
    def urgency_label(self) -> str:
        """"same-day": the stored level's label (monitoring.rules.Urgency)."""
        return Urgency(self.urgency).label

    @property
    def urgency_class(self) -> str:
        return urgency_class(self.urgency)

    @property
    def is_emergency(self) -> bool:
        return self.urgency >= Urgency.EMERGENCY

    @property
    def patient_heading(self) -> str:
        """What to do, as the heading of the patient's card or result (clinical-rules "Urgency levels")."""
        return str(PATIENT_HEADINGS[Urgency(self.urgency)])


class Alert(UrgencyShown, models.Model):
    """One open alert per patient and condition; new findings for the condition update it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("tracker.Patient", on_delete=models.PROTECT, related_name="alerts")
    condition = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    urgency = models.PositiveSmallIntegerField(choices=URGENCY_CHOICES)
    min_grade = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Signs of at least this grade.")
    grading_system = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    rationale = models.TextField(
        help_text="Why it fired, naming the values (latest finding first), in English with the rules' "
                  "[rule.id, urgency] tags: the record. Pages show rationale_messages in the reader's language.")
    rationale_messages = models.JSONField(
        default=list, blank=True, db_default=models.Value([], output_field=models.JSONField()),
        help_text="The same as message keys with their parameters, one list per finding, latest first "
                  "(monitoring/rules/messages.py; the keys are listed in monitoring/rules_messages.py). Empty for "
                  "an alert stored before the keys existed: its text is shown instead.")
    patient_instruction = models.TextField()
    rule_ids = models.JSONField(default=list)
    sources = models.JSONField(default=list)
    evidence = models.JSONField(
        default=list, help_text="One entry per check-in that added to this alert, or per stretch of device readings "
                                "(clinical-rules §10: the readings' times and the device) or device silence.")
    # Empty for an alert raised by device readings only (clinical-rules §10): its evidence names the readings.
    first_checkin = models.ForeignKey("tracker.CheckIn", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    last_checkin = models.ForeignKey("tracker.CheckIn", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the alert escalates if nobody has acknowledged it."
    )

    class Meta:
        ordering = ["-urgency", "opened_at"]
        indexes = [models.Index(fields=["status", "-urgency", "opened_at"], name="alert_worklist")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "condition"], condition=~models.Q(status="resolved"), name="alert_one_open_per_condition"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="resolved") | ~models.Q(resolution_note=""), name="alert_resolution_has_note"
            ),
            models.CheckConstraint(  # an alert is at least routine
                condition=models.Q(urgency__gte=int(ALERT_LEVELS[0]), urgency__lte=int(ALERT_LEVELS[-1])),
                name="alert_urgency_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_urgency_display()} {self.title} ({self.get_status_display()})"

    @property
    def patient_paragraphs(self) -> list[str]:
        """What to do, in the language active now (the reader's): the urgency's headline with the center's 24/7
        number, then the rule's instruction (the patient's card of an alert raised by device readings, which no
        check-in answer showed; the patient and center are read: select them with the alert)."""
        from django.utils.translation import gettext

        from monitoring.rules import instruction_messages_from_stored, render_instruction

        found = [{"urgency": self.urgency_label, "patient_instruction": self.patient_instruction}]
        return render_instruction(instruction_messages_from_stored(self.urgency, found,
                                                                   self.patient.center.phone_24_7), translate=gettext)

    def is_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == AlertStatus.OPEN and self.next_escalation_at is not None and self.next_escalation_at <= now


class AlertEvent(EventRow):
    """Every change of an alert, as a row: who, when, old → new, why."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        EVIDENCE = "evidence", _("New evidence")
        URGENCY_RAISED = "urgency_raised", _("Urgency raised")
        REOPENED = "reopened", _("Reopened: worse than when acknowledged")
        ESCALATED = "escalated", _("Escalated: not acknowledged in time")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")
        CALL = "call", _("Phone call")
        # Closed by the tracker, not by a person: a silent device sends readings again (clinical-rules §10).
        DEVICE_BACK = "device_back", _("Device back: readings resumed")

    class CallWith(models.TextChoices):
        # "Nora Quinn called the caregiver" (pgettext: Spanish says "llamó al cuidador").
        PATIENT = "patient", pgettext_lazy("called", "the patient")
        CAREGIVER = "caregiver", pgettext_lazy("called", "the caregiver")
        OTHER = "other", pgettext_lazy("called", "someone else")

    class CallOutcome(models.TextChoices):
        NO_ANSWER = "no_answer", _("no answer")
        LEFT_MESSAGE = "left_message", _("left a message")
        ADVISED_911 = "advised_911", _("advised to call 911 or go to the emergency department")
        ADVISED_COME_IN = "advised_come_in", _("asked to come in to be seen")
        ADVICE_AT_HOME = "advice_at_home", _("advice given, staying at home")
        OTHER = "other", _("see note")

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    old_status = models.CharField(max_length=20, blank=True)
    new_status = models.CharField(max_length=20, blank=True)
    old_urgency = models.PositiveSmallIntegerField(null=True, blank=True, choices=URGENCY_CHOICES)
    new_urgency = models.PositiveSmallIntegerField(null=True, blank=True, choices=URGENCY_CHOICES)
    # A phone call about the alert (kind CALL): who was called and what came of it; the note says the rest.
    call_with = models.CharField(max_length=20, blank=True, choices=CallWith.choices)
    call_outcome = models.CharField(max_length=20, blank=True, choices=CallOutcome.choices)

    class Meta(EventRow.Meta):
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="call") | (~models.Q(call_with="") & ~models.Q(call_outcome="")),
                name="alertevent_call_has_who_and_outcome",
            ),
        ]


# Module-level names for the API schema's enum names (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
CallWith = AlertEvent.CallWith
CallOutcome = AlertEvent.CallOutcome


class AlertView(models.Model):
    """When a staff member last opened an alert (or acted on it): an alert is "new" to her until she has
    seen it since it opened, got new evidence, got worse or reopened. One row per alert and person."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_views")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="alertview_one_per_alert_and_user")]

    def __str__(self) -> str:
        return f"{self.user} saw alert {self.alert_id} at {self.seen_at:%Y-%m-%d %H:%M}"


class CheckinAssessment(UrgencyShown, models.Model):
    """What the rules found in one check-in and what the patient was told."""

    checkin = models.OneToOneField("tracker.CheckIn", on_delete=models.PROTECT, related_name="assessment")
    urgency = models.PositiveSmallIntegerField(choices=URGENCY_CHOICES)
    findings = models.JSONField(default=list)
    instruction = models.TextField(
        help_text="What the patient was told when the check-in was graded, in the patient's language at that "
                  "moment (a record). Pages show instruction_messages in the reader's language instead.")
    instruction_messages = models.JSONField(
        default=list, blank=True, db_default=models.Value([], output_field=models.JSONField()),
        help_text='The instruction as message keys with their parameters, [[key, {"phone": ...}], ...]: the '
                  "English texts of monitoring/rules_messages.py, translated when shown.")
    alerts = models.ManyToManyField(Alert, related_name="assessments", blank=True)
    evaluated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Assessment of {self.checkin_id}: {self.get_urgency_display()}"

    @property
    def shows_call_buttons(self) -> bool:
        return self.urgency >= CALL_BUTTONS_FROM

    @property
    def staff_findings(self) -> list[dict]:
        """The findings with their rationale in the language active now (the reader's): the stored message
        keys translated, or the stored text (without the rules' tags) for a finding stored without them."""
        from monitoring.plain import finding_rationale

        return [{**finding, "rationale": finding_rationale(finding)} for finding in self.findings]

    @property
    def patient_paragraphs(self) -> list[str]:
        """What to do, in the language active now (the reader's), one paragraph per message; the first is
        the headline of the urgency with the center's 24/7 number (clinical-rules "Urgency levels")."""
        from django.utils.translation import gettext

        from monitoring.rules import instruction_messages_from_stored, render_instruction

        messages = self.instruction_messages
        if not messages:  # a row written without its keys (bulk-loaded data): rebuilt from what was found
            messages = instruction_messages_from_stored(self.urgency, self.findings,
                                                        self.checkin.patient.center.phone_24_7)
        return render_instruction(messages, translate=gettext)
