from django.contrib import admin
from django.db import models
from django.template.response import TemplateResponse
from django.urls import path

from notifications.models import (
    DeliveryAttempt,
    DigestRun,
    Notification,
    NotificationPreference,
    OnCallShift,
    PagingWebhook,
    ReminderState,
)
from notifications.services.health import queue_health
from tracker.admin_base import ReadOnlyAdmin, ReadOnlyInline


@admin.register(OnCallShift)
class OnCallShiftAdmin(admin.ModelAdmin):
    list_display = ["team", "role", "user", "starts_at", "ends_at"]
    list_select_related = ["team", "user"]
    list_filter = ["team", "role"]
    search_fields = ["user__username", "user__last_name", "team__name"]
    raw_id_fields = ["user", "team"]
    date_hierarchy = "starts_at"


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "sms"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__last_name"]
    raw_id_fields = ["user"]


@admin.register(PagingWebhook)
class PagingWebhookAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["team", "url", "enabled"]
    list_select_related = ["team"]
    search_fields = ["team__name", "url"]
    raw_id_fields = ["team"]


class AttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["started_at", "finished_at", "outcome", "error", "worker"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The outbox. Rows are read-only; the queue-health page sums up what is pending, stuck or failed."""

    list_display = ["kind", "channel", "recipient", "urgency", "step", "status", "attempts", "created_at", "sent_at"]
    list_select_related = ["recipient", "alert"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["uuid", "dedup_key", "recipient__username"]
    raw_id_fields = ["alert", "patient", "recipient", "webhook"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    change_list_template = "admin/notifications/notification/change_list.html"

    def get_urls(self):
        return [path("health/", self.admin_site.admin_view(self.health_view), name="notifications_queue_health"),
                *super().get_urls()]

    def health_view(self, request):
        context = {**self.admin_site.each_context(request), "title": "Notification queue health",
                   "report": queue_health()}
        return TemplateResponse(request, "admin/notifications/queue_health.html", context)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["notification", "started_at", "finished_at", "outcome"]
    list_select_related = ["notification"]
    list_filter = ["outcome"]
    search_fields = ["notification__uuid", "error"]
    raw_id_fields = ["notification"]


@admin.register(ReminderState)
class ReminderStateAdmin(admin.ModelAdmin):
    list_display = ["patient", "expected_on", "stage", "next_due_at"]
    list_select_related = ["patient"]
    list_filter = ["stage"]
    search_fields = ["patient__last_name", "patient__mrn"]
    raw_id_fields = ["patient"]
    readonly_fields = ["expected_on", "stage", "next_due_at"]


@admin.register(DigestRun)
class DigestRunAdmin(admin.ModelAdmin):
    list_display = ["team", "local_date", "created_at"]
    list_select_related = ["team"]
    search_fields = ["team__name"]
    raw_id_fields = ["team"]
    readonly_fields = ["team", "local_date", "created_at", "summary"]
