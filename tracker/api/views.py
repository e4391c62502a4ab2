"""REST API v1. Views parse, call a service or selector, and render; every queryset is scoped."""

import django_filters
from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker import selectors, services
from tracker.api.serializers import (
    AmendmentInputSerializer,
    CheckInInputSerializer,
    CheckInOutputSerializer,
    MeSerializer,
    PatientSerializer,
    TherapySerializer,
    TokenInputSerializer,
    TokenOutputSerializer,
    amendment_changes,
)
from tracker.audit import AuditedListMixin, audit
from tracker.checkin_time import recorded_at_check
from tracker.errors import ConflictError, InputError, NotAllowedError
from tracker.export import patient_export
from tracker.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from tracker.models import ApiToken, CheckIn, Patient, Role, Therapy
from tracker.models.checkins import Channel
from tracker.security import (
    AmendRateThrottle,
    CheckinRateThrottle,
    LoginRateThrottle,
    lockout_response,
    two_factor_code_ok,
)

ERROR_RESPONSES = {
    400: OpenApiResponse(description='Invalid input: {"type", "detail", "fields": {field: [messages]}}'),
    401: OpenApiResponse(description="Not signed in."),
    404: OpenApiResponse(description="Not found, or not visible to you."),
}


class TokenView(APIView):
    """Exchange a username and password (and, for staff when two-factor is required, a TOTP code) for an
    API token that expires after API_TOKEN_DAYS. DELETE revokes the token the request was made with."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    def _issuing(self) -> bool:
        request = getattr(self, "request", None)
        return request is None or request.method == "POST"

    def get_authenticators(self):
        return [] if self._issuing() else super().get_authenticators()

    def get_permissions(self):
        return [AllowAny()] if self._issuing() else [IsAuthenticated()]

    def get_throttles(self):
        return [LoginRateThrottle()] if self._issuing() else []

    @extend_schema(request=TokenInputSerializer, responses={200: TokenOutputSerializer, 429: None, **ERROR_RESPONSES})
    def post(self, request):
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        code = values.pop("otp", "")
        try:
            user = authenticate(request._request, **values)
        except AxesBackendPermissionDenied:
            return lockout_response(request._request, values)
        if getattr(request._request, "axes_locked_out", False):
            return lockout_response(request._request, values)
        if user is None or not user.is_active:
            raise InputError("Unable to sign in with that username and password.",
                             fields={"password": ["Unable to sign in with that username and password."]})
        verified = user.is_staff_member and bool(code) and two_factor_code_ok(user, code)
        if settings.REQUIRE_STAFF_2FA and user.is_staff_member and not verified:
            raise InputError("Enter the 6-digit code from your authenticator app.",
                             fields={"otp": ["Enter the 6-digit code from your authenticator app."]})
        token, raw = ApiToken.issue(user, two_factor=verified)
        return Response({"token": raw, "expires_at": token.expires_at})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if isinstance(request.auth, ApiToken):
            ApiToken.objects.filter(pk=request.auth.pk).update(revoked_at=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


def own_patients(user) -> list[Patient]:
    """Patients a patient or caregiver checks in for."""
    if user.role in (Role.PATIENT, Role.CAREGIVER):
        return list(selectors.patients_visible_to(user).order_by("last_name", "first_name"))
    return []


class MeView(APIView):
    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        user = get_user_model().objects.prefetch_related("care_teams").get(pk=request.user.pk)
        return Response(MeSerializer(user, context={"own_patients": own_patients(user)}).data)


class CheckInFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient__uuid")
    local_date_from = django_filters.DateFilter(field_name="local_date", lookup_expr="gte")
    local_date_to = django_filters.DateFilter(field_name="local_date", lookup_expr="lte")
    is_complete = django_filters.BooleanFilter()

    class Meta:
        model = CheckIn
        fields = ["patient", "local_date_from", "local_date_to", "is_complete"]


def resolve_patient(user, patient_id) -> Patient:
    """The patient a check-in is for: as named, or the user's own record."""
    visible = selectors.patients_visible_to(user).select_related("center")
    if patient_id is not None:
        patient = visible.filter(uuid=patient_id).first()
        if patient is None:
            raise InputError("No patient with that id is in your care.",
                             fields={"patient": ["No patient with that id is in your care."]})
        return patient
    candidates = list(visible[:2]) if user.role in (Role.PATIENT, Role.CAREGIVER) else []
    if len(candidates) != 1:
        raise InputError("Say which patient this check-in is for.", fields={"patient": ["This field is required."]})
    return candidates[0]


def checkin_key(request) -> str | None:
    """A check-in's client-made `id` is its idempotency key when no Idempotency-Key header is sent."""
    data = request.data if isinstance(request.data, dict) else {}
    return f"checkin:{data['id']}" if isinstance(data.get("id"), str) and data["id"] else None


def checkin_response_data(result, request) -> dict:
    data = CheckInOutputSerializer(result.checkin, context={"request": request}).data
    for assessment in result.assessments:
        if isinstance(assessment, dict):
            data.update(assessment)
    return data


class CheckInListCreateView(AuditedListMixin, generics.ListCreateAPIView):
    """List the check-ins you may see (newest first), or record a new one."""

    serializer_class = CheckInOutputSerializer
    filterset_class = CheckInFilter

    def get_throttles(self):
        return [CheckinRateThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        include = self.request.query_params.get("include_superseded") in ("1", "true", "True")
        return selectors.checkins_visible_to(self.request.user, include_superseded=include).select_related(
            "patient", "entered_by", "amends"
        )

    @extend_schema(request=CheckInInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: CheckInOutputSerializer, 409: None, 422: None, 503: None, **ERROR_RESPONSES})
    @idempotent(implicit_key=checkin_key)
    def post(self, request, *args, **kwargs):
        data = CheckInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        patient = resolve_patient(request.user, values.pop("patient", None))
        recorded_at_check(patient=patient, recorded_at=values.get("recorded_at"))
        result = services.checkin_submit(
            patient=patient, entered_by=request.user, channel=Channel.API, values=values,
            recorded_at=values.pop("recorded_at", None), client_id=values.pop("id", None),
        )
        audit(request, "create", patient=patient)
        if result.replayed:
            raise ConflictError("This check-in was received already; it is stored once.",
                                fields={"id": [f"Stored as check-in {result.checkin.uuid}."]})
        return Response(checkin_response_data(result, request), status=status.HTTP_201_CREATED)


class CheckInDetailView(generics.RetrieveAPIView):
    serializer_class = CheckInOutputSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"

    def get_object(self):
        checkin = super().get_object()
        audit(self.request, "view", patient=checkin.patient)
        return checkin

    def get_queryset(self):
        return selectors.checkins_visible_to(self.request.user, include_superseded=True).select_related(
            "patient", "entered_by", "amends"
        )


class CheckInAmendView(APIView):
    """Correct a check-in: a new version is stored and the original is kept unchanged. Only staff correct a
    check-in staff entered (403); a new time must fall in the same window as a new check-in's."""

    def get_throttles(self):
        return [AmendRateThrottle()]

    @extend_schema(request=AmendmentInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: CheckInOutputSerializer, 403: None, 409: None, 422: None, 429: None,
                              **ERROR_RESPONSES})
    @idempotent()
    def post(self, request, id):
        original = get_object_or_404(
            selectors.checkins_visible_to(request.user, include_superseded=True).select_related("patient"), uuid=id)
        audit(request, "amend", patient=original.patient)
        data = AmendmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "recorded_at" in values:
            recorded_at_check(patient=original.patient, recorded_at=values["recorded_at"])
        reason = values.pop("reason")
        result = services.checkin_amend(
            original=original, entered_by=request.user, channel=Channel.API,
            changes=amendment_changes(set(request.data.keys()), values), reason=reason,
            recorded_at=values.get("recorded_at"),
        )
        return Response(checkin_response_data(result, request), status=status.HTTP_201_CREATED)


class PatientListView(AuditedListMixin, generics.ListAPIView):
    serializer_class = PatientSerializer
    pagination_class = None

    def get_queryset(self):
        return (
            selectors.patients_visible_to(self.request.user)
            .select_related("center", "care_team")
            .prefetch_related("courses__therapy", "courses__care_team")
            .order_by("last_name", "first_name")
        )


class PatientDetailView(generics.RetrieveAPIView):
    serializer_class = PatientSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"

    def get_object(self):
        patient = super().get_object()
        audit(self.request, "view", patient=patient)
        return patient

    def get_queryset(self):
        return PatientListView.get_queryset(self)


class TherapyListView(generics.ListAPIView):
    serializer_class = TherapySerializer
    pagination_class = None
    queryset = Therapy.objects.all()


class PatientExportView(APIView):
    """The patient's whole record as JSON, for a records request: administrators, coordinators of the
    patient's team, and the patient themselves. Every export is in the audit trail."""

    @extend_schema(responses={200: OpenApiResponse(description="The patient's record as JSON.")})
    def get(self, request, id):
        patient = get_object_or_404(selectors.patients_visible_to(request.user).select_related("center", "care_team"),
                                    uuid=id)
        audit(request, "export", patient=patient)  # refused attempts are on record too
        allowed = request.user.sees_everything or request.user.role == Role.COORDINATOR or patient.user_id == request.user.pk
        if not allowed:
            raise NotAllowedError("Exports are made by a coordinator or administrator, or by the patient.")
        response = JsonResponse(patient_export(patient), encoder=DjangoJSONEncoder, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="patient-{patient.uuid}.json"'
        return response


class PingView(APIView):
    """Liveness: answers without touching the database (load balancers; the benchmarks' no-op baseline)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: OpenApiResponse(description='{"status": "ok"}')})
    def get(self, request):
        return Response({"status": "ok"})
