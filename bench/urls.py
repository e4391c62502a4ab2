"""The benchmarks' URL configuration: the product's URLs plus the two creates a check-in is measured against
(bench/ingest.py): `/bench/drf-checkins/`, DRF's generic create with a ModelSerializer, and
`/bench/bare-checkins/`, a hand-written floor with no serializer at all. Only bench/ingest_settings.py points ROOT_URLCONF here; the product
never serves this endpoint."""

import zoneinfo
from decimal import Decimal

from django.urls import path
from django.utils import timezone
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns
from tracker.models import CheckIn, Patient
from tracker.questions import CLINICAL_FIELDS


class BareCheckInCreate(APIView):
    """A bare DRF create of the same CheckIn row a check-in stores: token authentication (the product's
    authentication classes, through the product's middleware), the JSON body parsed, the patient's id and time
    zone read, one INSERT. No validation beyond that, no throttle, no grading, no audit row, no idempotency."""

    def post(self, request):
        data = request.data
        patient_id, time_zone = Patient.objects.filter(user=request.user).values_list("pk", "time_zone").get()
        now = timezone.now()
        values = {name: data[name] for name in CLINICAL_FIELDS if name in data}
        if "temperature" in data:
            values["temperature_c"] = values["temperature_entered"] = Decimal(str(data["temperature"]))
            values["temperature_unit"] = data.get("temperature_unit", "C")
        checkin = CheckIn.objects.create(
            patient_id=patient_id, entered_by=request.user, entered_role="patient", channel="api", recorded_at=now,
            local_date=timezone.localtime(now, zoneinfo.ZoneInfo(time_zone)).date(),
            **values)
        return Response({"id": str(checkin.uuid)}, status=status.HTTP_201_CREATED)


class CheckInModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer over the check-in's clinical fields (the `temperature` sent is the Celsius value):
    every field built from the model and validated by DRF, as a plain DRF app would write it."""

    temperature = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, allow_null=True,
                                           write_only=True)

    class Meta:
        model = CheckIn
        fields = ["uuid", "temperature", *(name for name in CLINICAL_FIELDS if name != "temperature_c")]
        read_only_fields = ["uuid"]


class DrfCheckInCreate(generics.CreateAPIView):
    """The textbook DRF create of the same CheckIn row: token authentication through the product's middleware,
    a ModelSerializer validating the body, `perform_create` setting the patient and the times, one INSERT. No
    throttle, no grading, no audit row, no idempotency."""

    serializer_class = CheckInModelSerializer

    def perform_create(self, serializer):
        patient_id, time_zone = Patient.objects.filter(user=self.request.user).values_list("pk", "time_zone").get()
        now = timezone.now()
        values = dict(serializer.validated_data)
        temperature = values.pop("temperature", None)
        if temperature is not None:
            values.update(temperature_c=temperature, temperature_entered=temperature, temperature_unit="C")
        serializer.instance = CheckIn.objects.create(
            patient_id=patient_id, entered_by=self.request.user, entered_role="patient", channel="api",
            recorded_at=now, local_date=timezone.localtime(now, zoneinfo.ZoneInfo(time_zone)).date(), **values)


urlpatterns = [
    path("bench/bare-checkins/", BareCheckInCreate.as_view(), name="bench-bare-checkins"),
    path("bench/drf-checkins/", DrfCheckInCreate.as_view(), name="bench-drf-checkins"),
    *product_urlpatterns,
]
