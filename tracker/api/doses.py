"""The doses of a treatment course (clinical-rules §8): list them with the planned doses and the restart
proposal, record one, correct one. Staff of the patient's care teams only; writes take an Idempotency-Key and
are in the audit trail like the other staff writes."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker import selectors
from tracker.api.serializers import EARLIEST_RECORDED_AT, BoundedDateTimeField, StrictSerializer
from tracker.api.views import ERROR_RESPONSES
from tracker.audit import audit
from tracker.dose_services import DoseView, course_dose_plan, course_doses, dose_correct, dose_record
from tracker.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from tracker.models import DoseAdministration, TreatmentCourse
from tracker.models.doses import FREE_STEP_MAX_LENGTH, DoseRoute, DoseSetting


class IsStaffMember(BasePermission):
    message = "Doses are recorded by the care team."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff_member)


class DoseTimeField(BoundedDateTimeField):
    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if moment < EARLIEST_RECORDED_AT:
            raise serializers.ValidationError(_("Enter a real date and time."))
        return moment


class DoseInputSerializer(StrictSerializer):
    step_code = serializers.CharField(
        max_length=FREE_STEP_MAX_LENGTH,
        help_text="A step of the product's schedule (its `dose_schedule`); for a product without one, the dose's name.")
    cycle = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=500,
        help_text="The time this step is given in the course (1, 2, ...). Left out: the next one for the step.")
    planned_start = DoseTimeField(required=False, allow_null=True)
    started_at = DoseTimeField(help_text="When the infusion or injection started (ISO 8601 with offset).")
    ended_at = DoseTimeField(required=False, allow_null=True, help_text="When it ended; empty while it runs.")
    setting = serializers.ChoiceField(choices=DoseSetting.choices, help_text="Where the dose was given.")
    kept_for_monitoring = serializers.BooleanField(default=False)
    route = serializers.ChoiceField(choices=DoseRoute.choices, required=False, allow_blank=True, default="")


class DoseCorrectionInputSerializer(DoseInputSerializer):
    reason = serializers.CharField(max_length=1000, help_text="Why the dose record is corrected.")

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            if name != "reason":
                field.required = False
                field.default = serializers.empty
        return fields


class DoseVersionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    step_code = serializers.CharField()
    cycle = serializers.IntegerField()
    planned_start = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    setting = serializers.CharField()
    kept_for_monitoring = serializers.BooleanField()
    route = serializers.CharField()
    recorded_by = serializers.SerializerMethodField()
    recorded_at = serializers.DateTimeField()
    corrects = serializers.UUIDField(source="corrects.uuid", allow_null=True, default=None)
    correction_reason = serializers.CharField()

    def get_recorded_by(self, obj) -> str:
        return obj.recorded_by.get_full_name() or obj.recorded_by.username


class DoseSerializer(serializers.Serializer):
    """A current dose with its schedule step (null for a free-named dose) and the versions it replaced."""

    dose = DoseVersionSerializer()
    step_name = serializers.SerializerMethodField()
    step_up = serializers.SerializerMethodField()
    monitor_hours = serializers.SerializerMethodField()
    monitor_status = serializers.SerializerMethodField()
    monitoring_ends_at = serializers.DateTimeField(allow_null=True)
    history = DoseVersionSerializer(many=True)

    def get_step_name(self, obj: DoseView) -> str:
        return _(obj.step.name) if obj.step else obj.dose.step_code

    def get_step_up(self, obj: DoseView) -> bool | None:
        return obj.step.step_up if obj.step else None

    def get_monitor_hours(self, obj: DoseView) -> int | None:
        return obj.step.monitor_hours if obj.step else None

    def get_monitor_status(self, obj: DoseView) -> str | None:
        return obj.step.monitor_status if obj.step else None


class PlannedDoseSerializer(serializers.Serializer):
    step_code = serializers.CharField()
    step_name = serializers.SerializerMethodField()
    date = serializers.DateField()
    planned_start = serializers.DateTimeField()
    step_up = serializers.BooleanField()
    monitor_hours = serializers.IntegerField(allow_null=True)
    monitor_status = serializers.CharField()

    def get_step_name(self, obj) -> str:
        return _(obj.name)


class RestartSerializer(serializers.Serializer):
    restart_at = serializers.CharField()
    days_since_last = serializers.IntegerField()
    days_late = serializers.IntegerField()
    rule = serializers.CharField(help_text="tecvayli (clinical-rules §8, label) or policy (center policy).")
    status = serializers.CharField(help_text="label or policy.")
    reason = serializers.CharField()
    planned = PlannedDoseSerializer(many=True)


class CourseDosesSerializer(serializers.Serializer):
    course = serializers.UUIDField()
    therapy = serializers.CharField()
    schedule = serializers.JSONField(help_text="The product's dose schedule template ({} when it has none).")
    doses = DoseSerializer(many=True)
    planned = PlannedDoseSerializer(many=True)
    restart = RestartSerializer(allow_null=True)


def visible_course(request, course_id, *, action: str) -> TreatmentCourse:
    course = get_object_or_404(
        TreatmentCourse.objects.filter(patient__in=selectors.patients_visible_to(request.user).values("pk"))
        .select_related("therapy", "patient"), uuid=course_id)
    audit(request, action, patient=course.patient)
    return course


def course_doses_data(course: TreatmentCourse) -> dict:
    doses = course_doses(course)
    plan = course_dose_plan(course, doses)
    return CourseDosesSerializer({
        "course": course.uuid, "therapy": course.therapy.code, "schedule": course.therapy.dose_schedule or {},
        "doses": doses, "planned": plan.planned, "restart": plan.restart,
    }).data


def _dose_data(course: TreatmentCourse, dose: DoseAdministration) -> dict:
    view = next(v for v in course_doses(course) if v.dose.pk == dose.pk)
    return DoseSerializer(view).data


class CourseDosesView(APIView):
    """GET: the course's current doses in time order (each with the versions it replaced), the planned doses of
    the product's schedule from the first dose, and the restart proposal if the next dose is late enough to
    restart the step-up schedule (clinical-rules §8). POST: record a dose."""

    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: CourseDosesSerializer, 403: None, **ERROR_RESPONSES})
    def get(self, request, id):
        course = visible_course(request, id, action="view")
        return Response(course_doses_data(course))

    @extend_schema(request=DoseInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: DoseSerializer, 403: None, 409: None, 422: None, **ERROR_RESPONSES})
    @idempotent()
    def post(self, request, id):
        course = visible_course(request, id, action="record_dose")
        data = DoseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dose = dose_record(course=course, values=dict(data.validated_data), recorded_by=request.user)
        return Response(_dose_data(course, dose), status=status.HTTP_201_CREATED)


class DoseCorrectionView(APIView):
    """Correct a dose record: a new version is stored with who, when and why; the original is kept unchanged.
    Only the current version can be corrected (409)."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=DoseCorrectionInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: DoseSerializer, 403: None, 409: None, 422: None, **ERROR_RESPONSES})
    @idempotent()
    def post(self, request, id, dose_id):
        course = visible_course(request, id, action="correct_dose")
        original = get_object_or_404(DoseAdministration.objects.filter(course=course).select_related("course"),
                                     uuid=dose_id)
        original.course = course
        data = DoseCorrectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        reason = changes.pop("reason")
        dose = dose_correct(original=original, changes=changes, reason=reason, recorded_by=request.user)
        return Response(_dose_data(course, dose), status=status.HTTP_201_CREATED)

