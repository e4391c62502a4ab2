"""Shared by the authorization matrix and the API fuzzer: the roles, and team A's records (Maria's fever
check-in, the alert it raised, her no-driving window, the temperature patch she wears and its key) that fill the
URLs' path parameters."""

import datetime as dt
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring.models import Alert, DoseWindow, Window
from tests.monitoring.support import CAR_T_NORMAL
from tracker.models import (
    ApiToken,
    CheckIn,
    Device,
    DeviceAssignment,
    DeviceCredential,
    DoseAdministration,
    Patient,
    TreatmentCourse,
    User,
)

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
FEVER = {**CAR_T_NORMAL, "temperature": "38.2"}  # clinical-rules §1: fever after CAR T → an urgent alert

# The roles of the matrix, in its column order.
ROLES = ("anonymous", "patient", "other_patient", "caregiver", "nurse", "other_nurse", "physician", "admin")


def user_for(request, role):
    """The user signing in for a role name (None for anonymous), from tests/conftest.py's fixtures."""
    if role == "anonymous":
        return None
    if role in ("patient", "other_patient"):
        return request.getfixturevalue(role).user
    if role == "admin":
        return request.getfixturevalue("admin_user")
    return request.getfixturevalue(role)


def token_client(user) -> APIClient:
    """An API client signed in the way the apps are: with an issued token (anonymous: no header)."""
    client = APIClient()
    if user is not None:
        _token, raw = ApiToken.issue(user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@dataclass
class TeamARecords:
    patient: Patient
    checkin: CheckIn
    alert: Alert
    window: Window
    course: TreatmentCourse
    dose: DoseAdministration
    dose_window: DoseWindow
    device: Device  # worn by Maria since yesterday, with a key
    device_key: str
    device_key_prefix: str
    free_device: Device  # of her center, worn by nobody


def team_a_records(patient) -> TeamARecords:
    """Maria checks in with a fever through the API (as the app does): one check-in, one open alert."""
    response = token_client(patient.user).post("/api/v1/checkins/", FEVER, format="json")
    assert response.status_code == 201, response.content
    checkin = CheckIn.objects.get(uuid=response.json()["id"])
    course = patient.courses.get()
    # Her CAR T infusion, as the team recorded it (a product without a schedule template: a free dose name).
    recorder = User.objects.filter(care_teams=patient.care_team).first() or patient.user
    dose = DoseAdministration.objects.create(
        course=course, step_code="infusion", setting="inpatient", recorded_by=recorder,
        started_at=dt.datetime.combine(course.start_date, dt.time(10), tzinfo=patient.tz),
        ended_at=min(timezone.now(), dt.datetime.combine(course.start_date, dt.time(10, 30), tzinfo=patient.tz)))
    # Her temperature patch (clinical-rules §10), worn since yesterday, and a spare one of the center.
    device = Device.objects.create(center=patient.center, kind="temperature_patch", maker="BlueSpark",
                                   model_name="TempTraq", serial="TT-MARIA", body_site="axillary")
    DeviceAssignment.objects.create(device=device, patient=patient, started_at=timezone.now() - dt.timedelta(days=1),
                                    assigned_by=recorder)
    credential, device_key = DeviceCredential.issue(device, created_by=recorder)
    free_device = Device.objects.create(center=patient.center, kind="pulse_oximeter", maker="Masimo",
                                        model_name="MightySat", serial="MS-SPARE", body_site="finger")
    return TeamARecords(
        patient=patient,
        checkin=checkin,
        alert=Alert.objects.get(patient=patient, status="open"),
        window=Window.objects.get(course__patient=patient, kind="driving"),
        course=course,
        dose=dose,
        # A no-driving window a neurologic finding opened (clinical-rules §8), for the clearance URL.
        dose_window=DoseWindow.objects.create(course=course, kind="dose_driving", checkin=checkin,
                                              reason="driving_neuro_finding", opens_at=checkin.recorded_at),
        device=device,
        device_key=device_key,
        device_key_prefix=credential.prefix,
        free_device=free_device,
    )


@dataclass(frozen=True)
class Route:
    name: str  # the URL name, or the route itself for an unnamed pattern
    route: str  # e.g. "api/v1/checkins/<uuid:id>/"
    namespace: str | None
    pattern: URLPattern


def all_routes(patterns=None, prefix: str = "", namespace: str | None = None):
    """Every URL pattern of the project, with its full route, walking includes recursively."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace) if n) or None
            yield from all_routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            route = prefix + str(entry.pattern)
            yield Route(name=entry.name or route, route=route, namespace=namespace, pattern=entry)
