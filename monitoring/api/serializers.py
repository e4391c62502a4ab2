from rest_framework import serializers

from monitoring.models import Alert, AlertEvent, Window, WindowEvent


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
