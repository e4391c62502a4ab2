from django import forms
from django.contrib import admin

from monitoring.models import (
    Alert,
    AlertEvent,
    AlertView,
    CheckinAssessment,
    DeviceSilence,
    DoseWindow,
    FollowUp,
    PolicySetting,
    StreamGrading,
    Window,
    WindowEvent,
)
from monitoring.rules.policy import POLICY_FIELDS
from monitoring.services.policy import policy_set
from tracker.admin_base import ReadOnlyAdmin, ReadOnlyInline


class AlertEventInline(ReadOnlyInline):
    model = AlertEvent
    fields = ["at", "kind", "actor", "old_status", "new_status", "old_urgency", "new_urgency", "call_with",
              "call_outcome", "note"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["title", "patient", "urgency", "status", "opened_at", "next_escalation_at"]
    list_select_related = ["patient"]
    list_filter = ["status", "urgency", "condition"]
    search_fields = ["patient__last_name", "patient__mrn", "uuid", "title"]
    raw_id_fields = ["patient", "first_checkin", "last_checkin", "acknowledged_by", "resolved_by"]
    inlines = [AlertEventInline]


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdmin):
    list_display = ["alert", "kind", "at", "actor"]
    list_select_related = ["alert__patient", "actor"]
    list_filter = ["kind"]
    search_fields = ["alert__uuid", "alert__patient__mrn", "note"]
    raw_id_fields = ["alert", "actor", "checkin"]


@admin.register(AlertView)
class AlertViewAdmin(ReadOnlyAdmin):
    """When each staff member last opened an alert (what the dashboard's "new" marker is worked out from)."""

    list_display = ["alert", "user", "seen_at"]
    list_select_related = ["alert__patient", "user"]
    search_fields = ["alert__uuid", "alert__patient__mrn", "user__username"]
    raw_id_fields = ["alert", "user"]


@admin.register(CheckinAssessment)
class CheckinAssessmentAdmin(ReadOnlyAdmin):
    list_display = ["checkin", "urgency", "evaluated_at"]
    list_select_related = ["checkin__patient"]
    list_filter = ["urgency"]
    search_fields = ["checkin__uuid", "checkin__patient__mrn"]
    raw_id_fields = ["checkin"]


@admin.register(StreamGrading)
class StreamGradingAdmin(ReadOnlyAdmin):
    """How far each patient's device readings are graded (clinical-rules §10); a row waiting more than a minute
    is graded by the sweep."""

    list_display = ["patient", "pending_since", "requested_at", "received_through", "graded_at"]
    list_select_related = ["patient"]
    search_fields = ["patient__mrn", "patient__last_name"]
    raw_id_fields = ["patient"]


@admin.register(DeviceSilence)
class DeviceSilenceAdmin(ReadOnlyAdmin):
    """Silences of streaming devices worn in a risk period (clinical-rules §10)."""

    list_display = ["assignment", "patient", "stage", "silent_since", "opened_at", "ended_at", "end_reason"]
    list_select_related = ["assignment__device", "patient"]
    list_filter = ["stage", "end_reason"]
    search_fields = ["patient__mrn", "patient__last_name", "assignment__device__serial"]
    raw_id_fields = ["assignment", "patient", "alert"]


class PolicySettingForm(forms.ModelForm):
    class Meta:
        model = PolicySetting
        fields = ["center", "name", "value", "reason"]
        help_texts = {
            "name": "Unset policies use the published default. Defaults: " + "; ".join(
                f"{name} = {default} ({marker})" for name, (default, _source, marker) in POLICY_FIELDS.items()
            ),
        }


@admin.register(PolicySetting)
class PolicySettingAdmin(admin.ModelAdmin):
    """Center policy of clinical-rules: the published default and its source are shown beside each value."""

    form = PolicySettingForm
    list_display = ["name", "center", "value", "published_default", "marker", "source", "changed_by", "changed_at"]
    list_select_related = ["center", "changed_by"]
    list_filter = ["center", "name"]
    search_fields = ["name", "center__name"]
    raw_id_fields = ["center"]
    readonly_fields = ["changed_by", "changed_at", "published_default", "source"]

    @admin.display(description="marker")
    def marker(self, obj):
        return POLICY_FIELDS.get(obj.name, (None, "", ""))[2]

    def get_readonly_fields(self, request, obj=None):
        # A setting is one policy of one center: to change another policy, add a setting for it.
        return [*self.readonly_fields, "center", "name"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        saved = policy_set(center=obj.center, name=obj.name, value=obj.value, user=request.user, reason=obj.reason)
        obj.pk = saved.pk
        obj.changed_by, obj.changed_at = saved.changed_by, saved.changed_at

    def has_delete_permission(self, request, obj=None):
        return False


class WindowEventInline(ReadOnlyInline):
    model = WindowEvent
    fields = ["at", "kind", "actor", "old_ends_on", "new_ends_on", "note"]


@admin.register(Window)
class WindowAdmin(ReadOnlyAdmin):
    list_display = ["course", "kind", "starts_on", "ends_on", "cleared_on"]
    list_select_related = ["course__patient", "course__therapy"]
    list_filter = ["kind"]
    search_fields = ["course__patient__last_name", "course__patient__mrn"]
    raw_id_fields = ["course", "cleared_by"]
    inlines = [WindowEventInline]


class DoseWindowEventInline(ReadOnlyInline):
    model = WindowEvent
    fk_name = "dose_window"
    fields = ["at", "kind", "actor", "old_closes_at", "new_closes_at", "note"]


@admin.register(DoseWindow)
class DoseWindowAdmin(ReadOnlyAdmin):
    """Windows after each T-cell engager dose (clinical-rules §8): made by the tracker, cleared through the API."""

    list_display = ["course", "kind", "dose", "opens_at", "closes_at", "supervised", "cleared_at", "withdrawn_at"]
    list_select_related = ["course__patient", "course__therapy", "dose"]
    list_filter = ["kind", "supervised"]
    search_fields = ["course__patient__last_name", "course__patient__mrn", "uuid"]
    raw_id_fields = ["course", "dose", "checkin", "cleared_by"]
    inlines = [DoseWindowEventInline]


@admin.register(WindowEvent)
class WindowEventAdmin(ReadOnlyAdmin):
    list_display = ["window", "dose_window", "kind", "at", "actor", "old_ends_on", "new_ends_on", "new_closes_at"]
    list_select_related = ["window__course__patient", "dose_window__course__patient", "actor"]
    list_filter = ["kind"]
    search_fields = ["window__course__patient__mrn", "note"]
    raw_id_fields = ["window", "dose_window", "actor", "checkin"]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ["patient", "kind", "due_at", "answered_by"]
    list_select_related = ["patient"]
    list_filter = ["kind"]
    search_fields = ["patient__last_name", "patient__mrn"]
    raw_id_fields = ["patient", "created_from", "answered_by"]
