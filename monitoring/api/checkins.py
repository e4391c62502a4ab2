"""The check-in endpoints: list, record (stored and graded in one call to monitoring.services.intake, the
answer saying what to do), correct. Here rather than in tracker's API because the answer is monitoring's."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.api.serializers import CheckInResultSerializer
from monitoring.services import intake
from tracker import selectors
from tracker.api.serializers import (
    AmendmentInputSerializer,
    CheckInInputSerializer,
    CheckInOutputSerializer,
    amendment_changes,
)
from tracker.api.views import ERROR_RESPONSES
from tracker.audit import AuditedListMixin, audit, audit_write
from tracker.errors import ConflictError
from tracker.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from tracker.models import CheckIn
from tracker.models.checkins import Channel
from tracker.security import AmendRateThrottle, CheckinRateThrottle


class CheckInFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient__uuid")
    local_date_from = django_filters.DateFilter(field_name="local_date", lookup_expr="gte")
    local_date_to = django_filters.DateFilter(field_name="local_date", lookup_expr="lte")
    is_complete = django_filters.BooleanFilter()

    class Meta:
        model = CheckIn
        fields = ["patient", "local_date_from", "local_date_to", "is_complete"]


def checkin_key(request) -> str | None:
    """A check-in's client-made `id` is its idempotency key when no Idempotency-Key header is sent."""
    data = request.data if isinstance(request.data, dict) else {}
    return f"checkin:{data['id']}" if isinstance(data.get("id"), str) and data["id"] else None


class CheckInListCreateView(AuditedListMixin, generics.ListCreateAPIView):
    """List the check-ins you may see (newest first), or record a new one: the answer says what to do."""

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
                   responses={201: CheckInResultSerializer, 409: None, 422: None, 503: None, **ERROR_RESPONSES})
    @idempotent(implicit_key=checkin_key)
    def post(self, request, *args, **kwargs):
        data = CheckInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        result = intake.checkin_submit_for_user(
            user=request.user, patient_uuid=values.pop("patient", None), channel=Channel.API, values=values,
            recorded_at=values.pop("recorded_at", None), client_id=values.pop("id", None),
            # The audit row commits with the check-in: one commit for both.
            on_stored=lambda patient: audit_write(request, "create", patient=patient,
                                                  status_code=status.HTTP_201_CREATED),
        )
        if result.replayed:
            audit(request, "create", patient=result.checkin.patient)
            raise ConflictError("This check-in was received already; it is stored once.",
                                fields={"id": [f"Stored as check-in {result.checkin.uuid}."]})
        return Response(CheckInResultSerializer(result, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class CheckInAmendView(APIView):
    """Correct a check-in: a new version is stored and graded, and the original is kept unchanged. Only staff
    correct a check-in staff entered (403); a new time must fall in the same window as a new check-in's."""

    def get_throttles(self):
        return [AmendRateThrottle()]

    @extend_schema(request=AmendmentInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: CheckInResultSerializer, 403: None, 409: None, 422: None, 429: None,
                              **ERROR_RESPONSES})
    @idempotent()
    def post(self, request, id):
        original = get_object_or_404(
            selectors.checkins_visible_to(request.user, include_superseded=True).select_related("patient"), uuid=id)
        audit(request, "amend", patient=original.patient)
        data = AmendmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason")
        result = intake.checkin_amend(
            original=original, entered_by=request.user, channel=Channel.API,
            changes=amendment_changes(set(request.data.keys()), values), reason=reason,
            recorded_at=values.get("recorded_at"), check_time=True,
        )
        return Response(CheckInResultSerializer(result, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)
