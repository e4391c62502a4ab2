"""The benchmarks' URL configuration: the product's URLs plus `/bench/bare-checkins/`, the floor a check-in
is measured against (bench/ingest.py). Only bench/ingest_settings.py points ROOT_URLCONF here; the product
never serves this endpoint."""

import zoneinfo
from decimal import Decimal

from django.urls import path
from django.utils import timezone
from rest_framework import status
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


urlpatterns = [
    path("bench/bare-checkins/", BareCheckInCreate.as_view(), name="bench-bare-checkins"),
    *product_urlpatterns,
]
