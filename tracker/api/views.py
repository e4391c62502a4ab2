"""REST API v1. Views parse, call a service or selector, and render; every queryset is scoped. Recording
and correcting a check-in are monitoring's endpoints (monitoring/api/checkins.py): their answer is the
grading."""

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

from tracker import selectors
from tracker.api.serializers import (
    CheckInOutputSerializer,
    MeSerializer,
    PatientSerializer,
    TherapySerializer,
    TokenInputSerializer,
    TokenOutputSerializer,
)
from tracker.audit import AuditedListMixin, audit
from tracker.errors import InputError, NotAllowedError
from tracker.export import patient_export
from tracker.models import ApiToken, Patient, Role, Therapy
from tracker.security import (
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
