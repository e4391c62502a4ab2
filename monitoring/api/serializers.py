import dataclasses
from typing import ClassVar

from rest_framework import serializers

from monitoring.models import Alert, AlertEvent, AlertStatus, Window, WindowEvent
from monitoring.rules import Urgency
from monitoring.services.intake import IntakeResult
from tracker.api.serializers import CheckInOutputSerializer

URGENCY_LABELS = [urgency.label for urgency in Urgency]
RESULT_FIELDS = ("urgency", "instruction", "findings", "alerts")


class AlertEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.get_full_name", default=None, allow_null=True)
    old_urgency = serializers.CharField(source="get_old_urgency_display", default=None, allow_null=True)
    new_urgency = serializers.CharField(source="get_new_urgency_display", default=None, allow_null=True)
    checkin = serializers.UUIDField(source="checkin.uuid", default=None, allow_null=True)

    class Meta:
        model = AlertEvent
        fields = ["kind", "at", "actor", "old_status", "new_status", "old_urgency", "new_urgency", "checkin", "note",
                  "call_with", "call_outcome"]


class AlertSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid")
    patient = serializers.UUIDField(source="patient.uuid")
    patient_name = serializers.CharField(source="patient.full_name")
    urgency = serializers.CharField(source="urgency_label")
    acknowledged_by = serializers.CharField(source="acknowledged_by.get_full_name", default=None, allow_null=True)
    resolved_by = serializers.CharField(source="resolved_by.get_full_name", default=None, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id", "patient", "patient_name", "condition", "status", "urgency", "min_grade", "grading_system", "title",
            "rationale", "patient_instruction", "rule_ids", "sources", "evidence", "opened_at", "updated_at",
            "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "resolution_note",
            "escalation_level", "next_escalation_at",
        ]


class AlertDetailSerializer(AlertSerializer):
    events = AlertEventSerializer(many=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "events"]


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class CallInputSerializer(serializers.Serializer):
    called = serializers.ChoiceField(choices=AlertEvent.CallWith.choices, help_text="Who was called.")
    outcome = serializers.ChoiceField(choices=AlertEvent.CallOutcome.choices, help_text="What came of the call.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000,
                                 help_text="Anything else worth knowing; required when the outcome is `other`.")


class ResolveInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000, help_text="What was done. Required.")


class ClearInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, help_text="Why the patient may drive again. Required.")


class WindowEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.get_full_name", default=None, allow_null=True)

    class Meta:
        model = WindowEvent
        fields = ["kind", "at", "actor", "old_ends_on", "new_ends_on", "note"]


class WindowSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid")
    therapy = serializers.CharField(source="course.therapy.brand_name")
    # Computed for the day asked about (monitoring.selectors.window_status), given as context["status"].
    active = serializers.SerializerMethodField()
    days_left = serializers.SerializerMethodField()
    cleared_by = serializers.CharField(source="cleared_by.get_full_name", default=None, allow_null=True)
    events = WindowEventSerializer(many=True)

    class Meta:
        model = Window
        fields = ["id", "kind", "therapy", "starts_on", "label_days", "center_days", "neuro_event_dates", "ends_on",
                  "active", "days_left", "cleared_on", "cleared_by", "clearance_reason", "events"]

    def get_active(self, window: Window) -> bool:
        return self.context["status"].active

    def get_days_left(self, window: Window) -> int:
        return self.context["status"].days_left

class FindingSerializer(serializers.Serializer):
    """One finding of the rules engine (monitoring.rules.types.Finding.to_dict)."""

    condition = serializers.CharField()
    title = serializers.CharField()
    min_grade = serializers.IntegerField(allow_null=True)
    grading_system = serializers.CharField(allow_blank=True)
    urgency = serializers.ChoiceField(choices=URGENCY_LABELS)
    patient_instruction = serializers.CharField(allow_blank=True)
    staff_rationale = serializers.CharField(allow_blank=True)
    rule_id = serializers.CharField()
    evidence = serializers.DictField(help_text="The values of the check-in (and earlier ones) that led to it.")
    rationale_messages = serializers.ListField(
        child=serializers.JSONField(),
        help_text="The staff rationale as message keys with parameters, rendered in the reader's language.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # `source` is also the name of a Field attribute, so it is declared here rather than on the class.
        fields = super().get_fields()
        fields["source"] = serializers.CharField(help_text="The section of the clinical rules the finding cites.")
        return fields


class AlertSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    condition = serializers.CharField()
    urgency = serializers.ChoiceField(choices=URGENCY_LABELS)
    status = serializers.ChoiceField(choices=AlertStatus.choices)


class CheckInResultSerializer(CheckInOutputSerializer):
    """A recorded check-in and what grading it found (monitoring.services.intake.IntakeResult): the check-in's
    fields, then what to do."""

    urgency = serializers.ChoiceField(choices=URGENCY_LABELS, read_only=True,
                                      help_text="The most urgent finding's level; `none` when nothing needs action.")
    instruction = serializers.CharField(read_only=True, help_text="What the patient is told, in their language.")
    findings = FindingSerializer(many=True, read_only=True)
    alerts = AlertSummarySerializer(many=True, read_only=True,
                                    help_text="The alerts this check-in opened or added to.")

    class Meta(CheckInOutputSerializer.Meta):
        fields = [*CheckInOutputSerializer.Meta.fields, "urgency", "instruction", "findings", "alerts"]
        read_only_fields = fields

    _checkin_fields_cache: ClassVar[list | None] = None

    @classmethod
    def _checkin_fields(cls) -> list:
        """The check-in's fields, built and bound once per process (they keep no state between uses), so
        rendering an answer builds no fields."""
        fields = cls.__dict__.get("_checkin_fields_cache")
        if fields is None:
            fields = [f for f in cls(context={}).fields.values() if f.field_name not in RESULT_FIELDS]
            cls._checkin_fields_cache = fields
        return fields

    def to_representation(self, instance: IntakeResult) -> dict:
        data = {}
        checkin = instance.checkin
        for field in self._checkin_fields():
            attribute = field.get_attribute(checkin)
            data[field.field_name] = None if attribute is None else field.to_representation(attribute)
        data["urgency"] = instance.urgency
        data["instruction"] = instance.instruction
        data["findings"] = instance.findings
        data["alerts"] = [dataclasses.asdict(alert) for alert in instance.alerts]
        return data
