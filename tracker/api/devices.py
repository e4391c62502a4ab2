"""A patient's connected devices (clinical-rules §10) through the API: the same actions as the Devices section of
the staff patient page (tracker.device_services), for staff of the patient's care teams, audited.

- GET  /api/v1/patients/{id}/devices/: the patient's assignments (with each device's keys, prefixes only) and
  the center's devices free to assign now;
- POST /api/v1/patients/{id}/devices/: register a device for the patient's center;
- POST .../devices/{device_id}/assign/ `{"started_at"}`, .../end/ `{"ended_at"?}`;
- POST .../devices/{device_id}/keys/: issue a key, answered once (never stored: no Idempotency-Key here, since a
  stored answer would keep the key); .../keys/{prefix}/revoke/."""

from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker import selectors
from tracker.api.doses import IsStaffMember
from tracker.api.schema import ErrorSerializer
from tracker.api.serializers import BoundedDateTimeField, StrictSerializer
from tracker.api.views import ERROR_RESPONSES
from tracker.audit import audit
from tracker.device_services import (
    DEVICE_FIELDS,
    device_assign,
    device_credential_issue,
    device_credential_revoke,
    device_register,
    device_unassign,
    patient_devices,
)
from tracker.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from tracker.models import Device, DeviceAssignment, DeviceCredential, Patient
from tracker.models.devices import BodySite, DeviceKind


class DeviceInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=DeviceKind.choices)
    maker = serializers.CharField(max_length=100)
    model_name = serializers.CharField(max_length=100)
    serial = serializers.CharField(max_length=100)
    body_site = serializers.ChoiceField(choices=BodySite.choices)
    expected_interval_seconds = serializers.IntegerField(min_value=10, max_value=86400, default=120)
    temperature_offset_c = serializers.DecimalField(
        max_digits=3, decimal_places=1, min_value=-3, max_value=3, default=Decimal(0),
        help_text="Center policy, default 0: added to this device's temperatures when graded; readings stay raw.")


class AssignInputSerializer(StrictSerializer):
    started_at = BoundedDateTimeField(help_text="Readings measured from this time land on this patient.")


class EndInputSerializer(StrictSerializer):
    ended_at = BoundedDateTimeField(required=False, allow_null=True, help_text="Default: now.")


class NoInputSerializer(StrictSerializer):
    """An empty JSON object (or no body)."""


# The key actions read their (empty) body to refuse anything in it, so a body that is not JSON is refused too.
NOT_JSON = {415: OpenApiResponse(response=ErrorSerializer, description="A body that is not JSON.")}


def _no_input(request) -> None:
    NoInputSerializer(data=request.data).is_valid(raise_exception=True)


class DeviceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = Device
        fields = ["id", *DEVICE_FIELDS, "retired_at"]


class CredentialSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceCredential
        fields = ["prefix", "created_at", "revoked_at", "last_used_at"]


class AssignmentSerializer(serializers.ModelSerializer):
    device = DeviceSerializer()
    keys = serializers.SerializerMethodField()

    class Meta:
        model = DeviceAssignment
        fields = ["device", "started_at", "ended_at", "last_measured_at", "last_received_at", "keys"]

    def get_keys(self, obj) -> list[dict]:
        return list(CredentialSerializer(self.context.get("keys", {}).get(obj.device_id, []), many=True).data)


class PatientDevicesSerializer(serializers.Serializer):
    assignments = AssignmentSerializer(many=True)
    available = DeviceSerializer(many=True)


class IssuedKeySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Shown once: the device sends it as `Authorization: Device <key>`.")
    prefix = serializers.CharField()


def _patient(request, patient_id, *, action: str) -> Patient:
    patient = get_object_or_404(selectors.patients_visible_to(request.user), uuid=patient_id)
    audit(request, action, patient=patient)
    return patient


def _worn_device(patient: Patient, device_id) -> Device:
    """A device this patient wears or wore."""
    device = Device.objects.filter(center_id=patient.center_id, uuid=device_id, assignments__patient=patient).first()
    if device is None:
        raise Http404
    return device


def devices_data(patient: Patient) -> dict:
    devices = patient_devices(patient)
    keys = {a.device_id: credentials for a, credentials in devices["assignments"]}
    return PatientDevicesSerializer({"assignments": [a for a, _ in devices["assignments"]],
                                     "available": devices["available"]}, context={"keys": keys}).data


class PatientDevicesView(APIView):
    """GET: the patient's device assignments, newest first, with each device's keys (prefixes), and the center's
    devices free to assign. POST: register a device for the patient's center (the serial is unique per maker)."""

    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: PatientDevicesSerializer, 403: None, **ERROR_RESPONSES})
    def get(self, request, id):
        return Response(devices_data(_patient(request, id, action="view")))

    @extend_schema(request=DeviceInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: DeviceSerializer, 403: None, **ERROR_RESPONSES})
    @idempotent()
    def post(self, request, id):
        patient = _patient(request, id, action="register_device")
        data = DeviceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = device_register(patient=patient, values=dict(data.validated_data), by=request.user)
        return Response(DeviceSerializer(device).data, status=status.HTTP_201_CREATED)


class DeviceAssignView(APIView):
    """Assign a device of the patient's center to the patient from `started_at`; refused naming `started_at` when
    the device is with a patient (this one or another) at or after that time."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=AssignInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: PatientDevicesSerializer, 403: None, **ERROR_RESPONSES})
    @idempotent()
    def post(self, request, id, device_id):
        patient = _patient(request, id, action="assign_device")
        device = get_object_or_404(Device.objects.filter(center_id=patient.center_id), uuid=device_id)
        data = AssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device_assign(patient=patient, device=device, started_at=data.validated_data["started_at"], by=request.user)
        return Response(devices_data(patient), status=status.HTTP_201_CREATED)


class DeviceEndView(APIView):
    """End the device's assignment to the patient (at `ended_at`, default now)."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=EndInputSerializer, parameters=[IDEMPOTENCY_KEY_PARAMETER],
                   responses={200: PatientDevicesSerializer, 403: None, 409: None, **ERROR_RESPONSES})
    @idempotent()
    def post(self, request, id, device_id):
        patient = _patient(request, id, action="unassign_device")
        device = _worn_device(patient, device_id)
        data = EndInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device_unassign(patient=patient, device=device, ended_at=data.validated_data.get("ended_at"), by=request.user)
        return Response(devices_data(patient))


class DeviceKeyIssueView(APIView):
    """Issue a key for a device the patient wears now. The key is in this answer only."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=NoInputSerializer,
                   responses={201: IssuedKeySerializer, 403: None, **ERROR_RESPONSES, **NOT_JSON})
    def post(self, request, id, device_id):
        patient = _patient(request, id, action="issue_device_key")
        _no_input(request)
        credential, key = device_credential_issue(patient=patient, device=_worn_device(patient, device_id),
                                                  by=request.user)
        return Response({"key": key, "prefix": credential.prefix}, status=status.HTTP_201_CREATED)


class DeviceKeyRevokeView(APIView):
    """Revoke a device key at once (again: no change)."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=NoInputSerializer,
                   responses={200: CredentialSerializer, 403: None, **ERROR_RESPONSES, **NOT_JSON})
    def post(self, request, id, device_id, prefix):
        patient = _patient(request, id, action="revoke_device_key")
        _no_input(request)
        device = _worn_device(patient, device_id)
        credential = (DeviceCredential.objects.select_related("device").filter(device=device, prefix=prefix)
                      .order_by("-created_at").first())
        if credential is None:
            raise Http404
        credential = device_credential_revoke(patient=patient, credential=credential, by=request.user)
        return Response(CredentialSerializer(credential).data)
