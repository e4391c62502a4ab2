import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring import selectors
from monitoring.api.serializers import (
    AlertDetailSerializer,
    AlertSerializer,
    CallInputSerializer,
    ClearInputSerializer,
    NoteInputSerializer,
    ResolveInputSerializer,
    WindowSerializer,
)
from monitoring.models import Alert, DoseWindow, Window
from monitoring.selectors import window_status
from monitoring.services.alerts import alert_acknowledge, alert_log_call, alert_resolve
from monitoring.services.dose_windows import dose_window_clear
from monitoring.services.windows import window_clear
from monitoring.urgency import ALERT_LEVEL_BY_LABEL
from tracker.audit import AuditedListMixin, audit
from tracker.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from tracker.selectors import patients_visible_to


class IsStaff(BasePermission):
    message = "Alerts are for the care team."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff_member)


class AlertFilter(django_filters.FilterSet):
    urgency = django_filters.MultipleChoiceFilter(
        choices=[(label, label) for label in ALERT_LEVEL_BY_LABEL], method="filter_urgency")
    status = django_filters.MultipleChoiceFilter(choices=Alert._meta.get_field("status").choices)
    patient = django_filters.UUIDFilter(field_name="patient__uuid")
    condition = django_filters.CharFilter()

    class Meta:
        model = Alert
        fields = ["urgency", "status", "patient", "condition"]

    def filter_urgency(self, queryset, name, value):
        return queryset.filter(urgency__in=[ALERT_LEVEL_BY_LABEL[v] for v in value])


class AlertListView(AuditedListMixin, generics.ListAPIView):
    """Alerts for the patients of your care teams, most urgent first."""

    permission_classes = [IsStaff]
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    pagination_class = None

    def get_queryset(self):
        return (selectors.alerts_visible_to(self.request.user)
                .select_related("patient", "acknowledged_by", "resolved_by")
                .order_by("-urgency", "opened_at"))


class AlertDetailView(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = AlertDetailSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        return AlertListView.get_queryset(self).prefetch_related("events__actor", "events__checkin")

    def get_object(self):
        alert = super().get_object()
        audit(self.request, "view", patient=alert.patient)
        return alert


def visible_alert(request, alert_id, *, action: str) -> Alert:
    """The alert named in the URL if the user's teams may see it (else 404), recorded in the audit trail."""
    alert = get_object_or_404(selectors.alerts_visible_to(request.user).select_related("patient"), uuid=alert_id)
    audit(request, action, patient=alert.patient)
    return alert


class AlertAcknowledgeView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=NoteInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={422: None, 200: AlertDetailSerializer})
    @idempotent()
    def post(self, request, id):
        alert = visible_alert(request, id, action="acknowledge")
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alert_acknowledge(alert=alert, user=request.user, note=data.validated_data.get("note", ""))
        return Response(AlertDetailSerializer(alert).data)


class AlertResolveView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=ResolveInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={422: None, 200: AlertDetailSerializer})
    @idempotent()
    def post(self, request, id):
        alert = visible_alert(request, id, action="resolve")
        data = ResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alert_resolve(alert=alert, user=request.user, note=data.validated_data["note"])
        return Response(AlertDetailSerializer(alert).data)


class AlertCallView(APIView):
    """Log a phone call about the alert (who was called, what came of it, a note): a `call` event in its
    history. It neither acknowledges nor resolves the alert."""

    permission_classes = [IsStaff]

    @extend_schema(request=CallInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={422: None, 201: AlertDetailSerializer})
    @idempotent()
    def post(self, request, id):
        alert = visible_alert(request, id, action="log_call")
        data = CallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert_log_call(alert=alert, user=request.user, called=data.validated_data["called"],
                       outcome=data.validated_data["outcome"], note=data.validated_data.get("note", ""))
        alert = AlertDetailView.get_queryset(self).get(pk=alert.pk)
        return Response(AlertDetailSerializer(alert).data, status=201)


def _window_data(window: Window):
    status = window_status(window, timezone.localtime(timezone.now(), window.course.patient.tz).date())
    return WindowSerializer(window, context={"status": status}).data


class PatientWindowsView(APIView):
    """The patient's no-driving and stay-nearby windows (clinical-rules §3), with their audit trail."""

    @extend_schema(responses={200: WindowSerializer(many=True)})
    def get(self, request, id):
        patient = get_object_or_404(patients_visible_to(request.user), uuid=id)
        audit(request, "view", patient=patient)
        rows = selectors.patient_windows(patient)
        windows = Window.objects.filter(pk__in=[r["window"].pk for r in rows]).select_related(
            "course__therapy", "course__patient", "cleared_by").prefetch_related("events__actor")
        return Response([_window_data(w) for w in windows])


class WindowClearView(APIView):
    """A physician clears the patient to drive before the window ends, with a reason (audited)."""

    permission_classes = [IsStaff]

    @extend_schema(request=ClearInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={422: None, 200: WindowSerializer})
    @idempotent()
    def post(self, request, id):
        window = get_object_or_404(
            Window.objects.filter(course__patient__in=patients_visible_to(request.user).values("pk"))
            .select_related("course__patient"), uuid=id)
        audit(request, "clear_window", patient=window.course.patient)
        data = ClearInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = window_clear(window=window, user=request.user, reason=data.validated_data["reason"])
        return Response(_window_data(window))


def _dose_window_data(window: DoseWindow) -> dict:
    return {"id": str(window.uuid), "kind": window.kind, "reason": window.reason, "opens_at": window.opens_at,
            "closes_at": window.closes_at, "supervised": window.supervised,
            "dose": str(window.dose.uuid) if window.dose else None,
            "checkin": str(window.checkin.uuid) if window.checkin else None,
            "cleared_at": window.cleared_at, "clearance_reason": window.clearance_reason}


class DoseWindowClearView(APIView):
    """A physician records that the neurologic finding behind a no-driving window after T-cell engager doses has
    resolved, or ends such a window early, with a reason (clinical-rules §8; audited, a WindowEvent)."""

    permission_classes = [IsStaff]

    @extend_schema(request=ClearInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER], responses={422: None})
    @idempotent()
    def post(self, request, id):
        window = get_object_or_404(
            DoseWindow.objects.filter(course__patient__in=patients_visible_to(request.user).values("pk"))
            .select_related("course__patient", "dose", "checkin"), uuid=id)
        audit(request, "clear_window", patient=window.course.patient)
        data = ClearInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = dose_window_clear(window=window, user=request.user, reason=data.validated_data["reason"])
        return Response(_dose_window_data(window))
