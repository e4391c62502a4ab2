"""Shared admin behaviour for clinical and audit rows."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to administrators, changed only through the tracker's services (never edited, added or
    deleted by hand): check-ins, alerts and their events, windows, the notification outbox."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + [m.name for m in self.model._meta.many_to_many]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False
