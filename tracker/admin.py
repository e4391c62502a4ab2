from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse

from tracker.admin_base import ReadOnlyAdmin, ReadOnlyInline
from tracker.models import (
    ApiToken,
    AuditEvent,
    CaregiverLink,
    CareTeam,
    CareTeamMembership,
    Center,
    CheckIn,
    DoseAdministration,
    EnrolmentCode,
    Invitation,
    InvitationLink,
    Patient,
    Therapy,
    TreatmentCourse,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "first_name", "last_name", "email"]
    readonly_fields = ["uuid", "last_login", "date_joined"]
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Tracker", {"fields": ["uuid", "role", "phone", "preferred_language"]}))
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("Tracker", {"fields": ["role", "first_name", "last_name", "email"]}),)
    actions = ["issue_enrolment_code"]

    @admin.action(description="Issue a two-factor enrolment code (shown once)")
    def issue_enrolment_code(self, request, queryset):
        """For one staff member setting up (or replacing) their authenticator: the code is shown on the page
        this action returns, once, and never stored (only its hash). Give it in person or by a call."""
        from tracker.accounts import enrolment_code_issue
        from tracker.models.users import EnrolmentChannel

        users = list(queryset[:2])
        if len(users) != 1 or not users[0].is_staff_member:
            self.message_user(request, "Select exactly one staff account.", messages.ERROR)
            return None
        user = users[0]
        raw = enrolment_code_issue(user=user, channel=EnrolmentChannel.ADMIN, issued_by=request.user)
        return TemplateResponse(request, "admin/tracker/user/enrolment_code.html", {
            **self.admin_site.each_context(request), "title": "Two-factor enrolment code", "target": user,
            "code": raw, "minutes": settings.TWO_FACTOR_ENROLMENT_MINUTES, "opts": self.model._meta,
        })


@admin.register(EnrolmentCode)
class EnrolmentCodeAdmin(ReadOnlyAdmin):
    """Which enrolment codes were issued, to whom, by whom and whether they were used (never the codes)."""

    list_display = ["user", "channel", "issued_by", "created_at", "expires_at", "used_at", "voided_at",
                    "failed_attempts"]
    list_select_related = ["user", "issued_by"]
    list_filter = ["channel"]
    search_fields = ["user__username"]
    raw_id_fields = ["user", "issued_by"]
    exclude = ["code_hash"]

    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name != "code_hash"]


class InvitationLinkInline(ReadOnlyInline):
    """When each link was sent (a retry sends another); the token hashes stay out of the page."""

    model = InvitationLink
    fields = ["created_at"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Who was invited to set a password, by whom, how, and whether they did (never a link: only their hashes
    are stored, in InvitationLink, and not shown). Coordinators send new ones from /staff/enrolments/."""

    list_display = ["user", "patient", "channel", "issued_by", "created_at", "expires_at", "accepted_at", "voided_at"]
    list_select_related = ["user", "patient", "issued_by"]
    list_filter = ["channel"]
    search_fields = ["user__username", "patient__mrn", "patient__last_name"]
    raw_id_fields = ["user", "patient", "issued_by"]
    date_hierarchy = "created_at"
    inlines = [InvitationLinkInline]


@admin.register(Center)
class CenterAdmin(admin.ModelAdmin):
    list_display = ["name", "phone_24_7", "time_zone"]
    search_fields = ["name"]
    readonly_fields = ["uuid"]


class MembershipInline(admin.TabularInline):
    model = CareTeamMembership
    raw_id_fields = ["user"]
    readonly_fields = ["joined_at"]
    extra = 0


@admin.register(CareTeam)
class CareTeamAdmin(admin.ModelAdmin):
    list_display = ["name", "center"]
    list_select_related = ["center"]
    list_filter = ["center"]
    search_fields = ["name", "center__name"]
    readonly_fields = ["uuid"]
    inlines = [MembershipInline]


@admin.register(CareTeamMembership)
class CareTeamMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "joined_at"]
    list_select_related = ["user", "team__center"]
    search_fields = ["user__username", "user__last_name", "team__name"]
    raw_id_fields = ["user", "team"]
    readonly_fields = ["joined_at"]


class CaregiverInline(admin.TabularInline):
    model = CaregiverLink
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]
    extra = 0


class CourseInline(admin.TabularInline):
    model = TreatmentCourse
    raw_id_fields = ["therapy", "care_team"]
    readonly_fields = ["uuid", "created_at"]
    extra = 0


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "mrn", "center", "care_team", "preferred_language"]
    list_select_related = ["center", "care_team"]
    list_filter = ["center", "care_team", "preferred_language"]
    search_fields = ["last_name", "first_name", "mrn", "email"]
    raw_id_fields = ["user", "center", "care_team"]
    readonly_fields = ["uuid", "created_at"]
    inlines = [CourseInline, CaregiverInline]


@admin.register(CaregiverLink)
class CaregiverLinkAdmin(admin.ModelAdmin):
    list_display = ["user", "patient", "relationship", "created_at"]
    list_select_related = ["user", "patient"]
    search_fields = ["user__username", "patient__last_name", "patient__mrn"]
    raw_id_fields = ["user", "patient"]
    readonly_fields = ["created_at"]


@admin.register(Therapy)
class TherapyAdmin(admin.ModelAdmin):
    list_display = ["brand_name", "generic_name", "therapy_class", "target", "driving_restriction_days", "proximity_days",
                    "label_facts_unverified", "label_date"]
    list_filter = ["therapy_class", "label_facts_unverified"]
    search_fields = ["brand_name", "generic_name", "code"]
    # The label facts with their source, the date of the label copy and the unverified or policy markers
    # (clinical-rules §8); the schedule template is the catalogue's (manage.py sync_catalogue), not edited here.
    readonly_fields = ["source", "label_date", "label_markers", "dose_schedule"]


@admin.register(DoseAdministration)
class DoseAdministrationAdmin(ReadOnlyAdmin):
    """Doses are clinical records: viewable here, never edited or deleted (a correction is a new row)."""

    list_display = ["course", "step_code", "cycle", "started_at", "ended_at", "setting", "recorded_by", "recorded_at"]
    list_select_related = ["course__patient", "course__therapy", "recorded_by"]
    list_filter = ["setting", "kept_for_monitoring", "route"]
    search_fields = ["course__patient__last_name", "course__patient__mrn", "uuid", "step_code"]
    raw_id_fields = ["course", "recorded_by", "corrects"]
    date_hierarchy = "started_at"


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(admin.ModelAdmin):
    list_display = ["patient", "therapy", "start_date", "status", "care_team"]
    list_select_related = ["patient", "therapy", "care_team"]
    list_filter = ["status", "therapy__therapy_class", "therapy"]
    search_fields = ["patient__last_name", "patient__mrn", "therapy__brand_name"]
    raw_id_fields = ["patient", "therapy", "care_team"]
    readonly_fields = ["uuid", "created_at"]


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    """Check-ins are clinical records: viewable here, never edited or deleted (corrections are amendments)."""

    list_display = ["patient", "recorded_at", "local_date", "temperature_c", "is_complete", "entered_role", "channel"]
    list_select_related = ["patient", "entered_by"]
    list_filter = ["is_complete", "entered_role", "channel"]
    search_fields = ["patient__last_name", "patient__mrn", "uuid"]
    raw_id_fields = ["patient", "entered_by", "amends"]
    date_hierarchy = "recorded_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Who opened or changed which chart, when and from where. Filter by patient or user; never editable."""

    list_display = ["at", "username", "role", "action", "patient", "method", "path", "status_code", "ip_address"]
    list_select_related = ["patient"]
    list_filter = ["action", "role", "method"]
    search_fields = ["username", "patient__mrn", "patient__last_name", "path", "ip_address"]
    raw_id_fields = ["user", "patient"]
    date_hierarchy = "at"


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "prefix"]
    raw_id_fields = ["user"]
    readonly_fields = ["user", "key_hash", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.")

    def has_add_permission(self, request):
        return False
