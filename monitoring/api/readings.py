"""POST /api/v1/readings/: a device (or the phone gateway it pairs with) sends a batch of readings
(clinical-rules §10), signed in with its own credential, `Authorization: Device <key>`.

The body's parser is chosen by Content-Type here, in `parser_classes`: `application/json` is the plain batch
`{"readings": [...]}`; `application/fhir+json` is an R4 Bundle of Observations (monitoring.api.fhir_readings),
mapped to the same items. Each reading is checked on its own: one that fails is refused by its index, naming the
field, and the rest of the batch is stored. Only a body that is not a batch at all (not an object, no list of
1 to 1000 readings, a `device` that is not the credential's) is refused whole (400 naming the field; 403 for
another device). The answer is 202: `{"received", "stored", "duplicates", "refused": [{"index", "field",
"reason"}]}`; a batch sent again stores nothing twice (stored 0, duplicates n). Grading happens after the answer
(monitoring.signals.readings_stored)."""

import math

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.api.fhir_readings import BundleShapeError, bundle_items
from monitoring.services.readings import readings_ingest
from tracker.api.parsers import DepthLimitedJSONParser
from tracker.api.schema import ErrorSerializer
from tracker.errors import NotAllowedError
from tracker.models import DeviceCredential, ReadingType, ReadingUnit
from tracker.models.users import hash_key
from tracker.readings import MAX_BATCH, ReadingInput, Refusal
from tracker.security import RateThrottle

MAX_BODY_BYTES = 1024 * 1024  # 1000 plain readings are about 110 kB; a FHIR Bundle of 1000 about 500 kB
TYPES = {"temperature": ReadingType.TEMPERATURE, "heart_rate": ReadingType.HEART_RATE, "spo2": ReadingType.SPO2,
         "systolic": ReadingType.SYSTOLIC, "diastolic": ReadingType.DIASTOLIC}
UNITS = {unit.label: unit for unit in ReadingUnit}


# --- Signing in as a device ------------------------------------------------------------------------------------

class DeviceAuthentication(BaseAuthentication):
    """`Authorization: Device <key>`: the device's credential (tracker.models.DeviceCredential). Unknown, revoked
    or retired → 401. The request has no user; `request.auth` is the credential."""

    keyword = "Device"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2 or len(header[1]) > 100:
            raise exceptions.AuthenticationFailed("Send one device key: Authorization: Device <key>.")
        credential = (DeviceCredential.objects.select_related("device").filter(key_hash=hash_key(header[1]))
                      .first())
        if credential is None:
            raise exceptions.AuthenticationFailed("Unknown device key.")
        if credential.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This device key was revoked.")
        if credential.device.retired_at is not None:
            raise exceptions.AuthenticationFailed("This device was retired.")
        now = timezone.now()
        if credential.last_used_at is None or (now - credential.last_used_at).total_seconds() > 60:
            DeviceCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
        return AnonymousUser(), credential

    def authenticate_header(self, request):
        return f'{self.keyword} realm="readings"'


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    target_class = "monitoring.api.readings.DeviceAuthentication"
    name = "deviceKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Device <key>`: the key staff issued for the device (shown once)."}


class IsDevice(BasePermission):
    message = "Sign in with a device key: Authorization: Device <key>."

    def has_permission(self, request, view):
        return isinstance(request.auth, DeviceCredential)


class DeviceRateThrottle(RateThrottle):
    """Batches per device credential (RATE_LIMIT_READINGS)."""

    scope = "readings"

    def get_cache_key(self, request, view):
        ident = request.auth.pk if isinstance(request.auth, DeviceCredential) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- Parsing -----------------------------------------------------------------------------------------------------

class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The body is larger than {MAX_BODY_BYTES} bytes: send fewer readings per batch."
    default_code = "too_large"


class _Bounded:
    """The request stream, read no further than MAX_BODY_BYTES."""

    def __init__(self, stream):
        self.stream = stream

    def read(self, *args):
        data = self.stream.read(MAX_BODY_BYTES + 1) if self.stream is not None else b""
        if len(data) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        return data


class ReadingsJSONParser(DepthLimitedJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(_Bounded(stream), media_type, parser_context)


class FhirBody(dict):
    """A parsed application/fhir+json body (told apart from the plain batch by its type)."""


class FhirJSONParser(ReadingsJSONParser):
    media_type = "application/fhir+json"

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"resourceType": ["Send a FHIR Bundle of Observations."]})
        return FhirBody(data)


def _item(index: int, raw) -> ReadingInput | Refusal:
    """One reading of the batch, or why it is refused (naming the field)."""
    if not isinstance(raw, dict):
        return Refusal(index, "readings", "Each reading is an object.")
    type_ = raw.get("type")
    if not isinstance(type_, str) or type_ not in TYPES:
        return Refusal(index, "type", f"One of: {', '.join(TYPES)}.")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Refusal(index, "value", "A number.")
    try:
        value = float(value)
    except OverflowError:
        return Refusal(index, "value", "A number of ordinary size.")
    if not math.isfinite(value):
        return Refusal(index, "value", "A finite number.")
    unit = raw.get("unit")
    if not isinstance(unit, str) or unit not in UNITS:
        return Refusal(index, "unit", f"A UCUM code: one of {', '.join(UNITS)}.")
    measured_at = raw.get("measured_at")
    parsed = None
    if isinstance(measured_at, str) and len(measured_at) <= 64 and measured_at.isascii() and measured_at.isprintable():
        try:
            parsed = parse_datetime(measured_at)
        except ValueError:
            parsed = None
    if parsed is None:
        return Refusal(index, "measured_at", "A date and time in ISO 8601, with its UTC offset.")
    if parsed.utcoffset() is None:
        return Refusal(index, "measured_at", "Give the UTC offset (such as -05:00 or Z).")
    return ReadingInput(index=index, type=TYPES[type_], value=value, unit=UNITS[unit], measured_at=parsed)


def batch_items(data) -> list[tuple[int, object]]:
    """(index, raw reading) of each reading in the body; a body that is not a batch raises 400 naming the field."""
    if isinstance(data, FhirBody):
        try:
            return list(bundle_items(data))
        except BundleShapeError as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from None
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"readings": ["Send an object: {\"readings\": [...]}."]})
    readings = data.get("readings")
    if not isinstance(readings, list):
        raise exceptions.ValidationError({"readings": ["A list of readings."]})
    if not 1 <= len(readings) <= MAX_BATCH:
        raise exceptions.ValidationError({"readings": [f"Send 1 to {MAX_BATCH} readings in a batch."]})
    return list(enumerate(readings))


def _check_device(data, credential: DeviceCredential) -> None:
    device = data.get("device") if isinstance(data, dict) and not isinstance(data, FhirBody) else None
    if device is None:
        return
    if not isinstance(device, str) or device.strip().lower() != str(credential.device.uuid):
        raise NotAllowedError("This key sends only its own device's readings.",
                              fields={"device": ["Not the device this key belongs to."]})


# --- The endpoint ------------------------------------------------------------------------------------------------

class ReadingInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=list(TYPES))
    value = serializers.FloatField(help_text="In `unit`; °F ([degF]) is stored converted to °C, the unit kept.")
    unit = serializers.ChoiceField(choices=list(UNITS), help_text="UCUM: Cel or [degF], /min, %, mm[Hg].")
    measured_at = serializers.DateTimeField(help_text="ISO 8601 with its UTC offset (required). More than 5 "
                                                      "minutes after the request arrives: refused.")


class ReadingBatchInputSerializer(serializers.Serializer):
    device = serializers.UUIDField(required=False, help_text="If given, the credential's device.")
    readings = ReadingInputSerializer(many=True, help_text=f"1 to {MAX_BATCH} readings.")


class RefusalSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The reading's place in `readings` (for FHIR: the Bundle entry).")
    field = serializers.CharField()
    reason = serializers.CharField()


class ReadingBatchOutputSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    stored = serializers.IntegerField(help_text="New readings stored.")
    duplicates = serializers.IntegerField(help_text="Readings stored before (same type, time and device).")
    refused = RefusalSerializer(many=True)


class ReadingBatchView(APIView):
    authentication_classes = [DeviceAuthentication]
    permission_classes = [IsDevice]
    throttle_classes = [DeviceRateThrottle]
    parser_classes = [ReadingsJSONParser, FhirJSONParser]

    @extend_schema(
        summary="Send a batch of device readings",
        description=(
            "Signed in with the device's key (`Authorization: Device <key>`; unknown or revoked: 401). "
            "`application/json`: `{\"readings\": [...]}`, 1 to 1000 readings. `application/fhir+json`: an R4 "
            "Bundle of Observations (LOINC 8310-5, 8867-4, 59408-5/2708-6, 85354-9 with 8480-6/8462-4; "
            "valueQuantity with its UCUM code; effectiveDateTime). **Each reading is checked on its own: one "
            "that fails (a field, more than 5 minutes in the future, outside the device's assignment, outside "
            "what a body can give) is listed in `refused` by index with the field and the reason, and the rest "
            "of the batch is stored.** A reading stored before counts as a duplicate: sending a batch again "
            "stores nothing twice. Each reading lands on the patient whose assignment of the device covers its "
            "measured_at. The body as a whole is refused (400 naming the field) only when it is not a batch."),
        request={"application/json": ReadingBatchInputSerializer, "application/fhir+json": {"type": "object"}},
        responses={202: ReadingBatchOutputSerializer,
                   413: OpenApiResponse(response=ErrorSerializer,
                                        description=f"Body larger than {MAX_BODY_BYTES} bytes."),
                   415: OpenApiResponse(response=ErrorSerializer,
                                        description="Content-Type neither application/json nor "
                                                    "application/fhir+json.")},
        examples=[OpenApiExample("A batch", request_only=True, value={"readings": [
            {"type": "temperature", "value": 38.2, "unit": "Cel", "measured_at": "2026-12-02T10:00:00-05:00"}]}),
                  OpenApiExample("The answer", response_only=True, status_codes=["202"], value={
                      "received": 2, "stored": 1, "duplicates": 0, "refused": [
                          {"index": 1, "field": "measured_at",
                           "reason": "Give the UTC offset (such as -05:00 or Z)."}]})],
    )
    def post(self, request):
        received_at = timezone.now()
        credential: DeviceCredential = request.auth
        data = request.data
        _check_device(data, credential)
        items: list[ReadingInput] = []
        refused: list[Refusal] = []
        raw_items = batch_items(data)
        for index, raw in raw_items:
            parsed = raw if isinstance(raw, Refusal) else _item(index, raw)
            if isinstance(parsed, Refusal):
                refused.append(parsed)
            else:
                items.append(parsed)
        result = readings_ingest(credential=credential, items=items, refused=refused, received=len(raw_items),
                                 received_at=received_at)
        return Response({"received": result.received, "stored": result.stored, "duplicates": result.duplicates,
                         "refused": [{"index": r.index, "field": r.field, "reason": r.reason}
                                     for r in result.refused]}, status=status.HTTP_202_ACCEPTED)

