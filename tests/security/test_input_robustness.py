"""Nothing a request sends may produce a 500: deeply nested JSON, dates at the ends of the calendar, a broken
`since` on the dashboard. And corrections are rate-limited like check-ins."""

import datetime as dt
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import CheckInFactory
from tests.monitoring.support import CAR_T_NORMAL
from tests.security.authz_support import token_client
from tracker.api.parsers import MAX_DEPTH, json_depth_exceeds
from tracker.models import CheckIn


def nested(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


def raw_post(client, path: str, body: str):
    return client.post(path, body, content_type="application/json")


def assert_parse_error(response):
    assert response.status_code == 400, response.content[:200]
    body = response.json()
    assert set(body) == {"type", "detail", "fields"} and body["type"] == "parse_error"
    assert "nested deeper" in body["detail"]


def test_deeply_nested_json_to_the_token_endpoint_is_400_without_signing_in(db):
    assert_parse_error(raw_post(Client(), "/api/v1/auth/token/", nested(100_000)))


@pytest.mark.parametrize("body", [
    nested(100_000),
    '{"patient": ' + nested(5_000) + "}",
    '{"note": {"a": ' * 3_000 + "1" + "}" * 3_001,
    nested(MAX_DEPTH + 1),
])
def test_deeply_nested_json_is_400_on_every_endpoint_that_reads_a_body(patient, nurse, body):
    checkin = token_client(patient.user).post("/api/v1/checkins/", CAR_T_NORMAL, format="json").json()["id"]
    for client, path in ((token_client(patient.user), "/api/v1/checkins/"),
                         (token_client(patient.user), f"/api/v1/checkins/{checkin}/amend/"),
                         (token_client(nurse), "/api/v1/alerts/00000000-0000-0000-0000-000000000000/resolve/")):
        response = raw_post(client, path, body)
        if response.status_code == 404:
            continue  # the alert lookup came first: nothing was parsed
        assert_parse_error(response)
    assert CheckIn.objects.count() == 1


def test_json_up_to_the_depth_limit_is_read_as_usual(patient):
    response = raw_post(token_client(patient.user), "/api/v1/checkins/", '{"note": ' + nested(MAX_DEPTH - 1) + "}")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error" and "note" in response.json()["fields"]


def test_brackets_inside_strings_do_not_count():
    assert not json_depth_exceeds('{"note": "' + "[" * 500 + '"}')
    assert not json_depth_exceeds('{"note": "\\"' + "{" * 500 + '"}')
    assert json_depth_exceeds(nested(MAX_DEPTH + 1))
    assert not json_depth_exceeds(nested(MAX_DEPTH))


@pytest.mark.parametrize("recorded_at", [
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00-05:00", "0001-01-01T00:00:00",
    "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59+14:00", "1899-12-31T12:00:00Z",
])
def test_recorded_at_at_the_ends_of_the_calendar_is_400_naming_it(patient, recorded_at):
    client = token_client(patient.user)
    response = client.post("/api/v1/checkins/", {**CAR_T_NORMAL, "recorded_at": recorded_at}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert list(response.json()["fields"]) == ["recorded_at"]
    original = CheckInFactory(patient=patient, recorded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    response = client.post(f"/api/v1/checkins/{original.uuid}/amend/", {"reason": "Wrong time",
                                                                          "recorded_at": recorded_at}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert list(response.json()["fields"]) == ["recorded_at"]
    assert CheckIn.objects.count() == 1


@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "9999-12-31T23:59", "0001-01-01T00:00:00+05:00"])
def test_recorded_at_at_the_ends_of_the_calendar_on_the_page_is_400(patient, typed):
    client = Client()
    client.force_login(patient.user)
    response = client.post(f"/patients/{patient.uuid}/checkin/", {"temperature": "39.6", "temperature_unit": "C",
                                                                  "recorded_at": typed})
    assert response.status_code == 400
    assert 'href="#f-recorded_at"' in response.content.decode()  # the form's list of what to fix
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("since", [
    "garbage", "0001-01-01T00:00:00", "0001-01-01T00:00:00+05:00", "0001-01-01", "9999-12-31T23:59:59-05:00",
    "2026-13-45T00:00:00", "2026-02-30T10:00:00Z", "'; DROP TABLE x; --", "\x00",
])
def test_a_bad_since_on_the_dashboard_is_ignored(patient, nurse, since):
    token_client(patient.user).post("/api/v1/checkins/", {**CAR_T_NORMAL, "temperature": "38.2"}, format="json")
    client = Client(raise_request_exception=True)
    client.force_login(nurse)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/staff/", {"since": since}, headers=headers)
        assert response.status_code == 200, since
        assert patient.last_name in response.content.decode()


# --- Corrections are rate-limited --------------------------------------------------------------------------------

RATES = {"login": "10/min", "checkin": "30/min", "amend": "2/min"}


@pytest.fixture
def low_amend_rate(settings, monkeypatch):
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)


def test_the_third_correction_within_a_minute_is_429_in_the_common_shape(low_amend_rate, patient, caregiver):
    client = token_client(patient.user)
    original = client.post("/api/v1/checkins/", CAR_T_NORMAL, format="json").json()["id"]
    for n in range(2):
        response = client.post(f"/api/v1/checkins/{original}/amend/", {"reason": "typo", "heart_rate": 80 + n},
                               format="json")
        assert response.status_code == 201
        original = response.json()["id"]
    response = client.post(f"/api/v1/checkins/{original}/amend/", {"reason": "typo", "heart_rate": 90},
                           format="json")
    assert response.status_code == 429
    body = response.json()
    assert body["type"] == "throttled" and body["fields"] == {}
    assert re.search(r"\d+ seconds?", body["detail"]) and int(response["Retry-After"]) > 0
    assert CheckIn.objects.count() == 3
    # Counted per person: the caregiver corrects; check-ins have their own count.
    assert token_client(caregiver).post(f"/api/v1/checkins/{original}/amend/", {"reason": "typo", "heart_rate": 91},
                                        format="json").status_code == 201
    assert client.post("/api/v1/checkins/", CAR_T_NORMAL, format="json").status_code == 201


def test_without_an_amend_rate_the_checkin_rate_applies(settings, monkeypatch, patient):
    rates = {"login": "10/min", "checkin": "1/min"}
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    client = token_client(patient.user)
    original = CheckInFactory(patient=patient, recorded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert client.post(f"/api/v1/checkins/{original.uuid}/amend/", {"reason": "a", "heart_rate": 80},
                       format="json").status_code == 201
    newest = CheckIn.objects.latest("submitted_at")
    assert client.post(f"/api/v1/checkins/{newest.uuid}/amend/", {"reason": "b", "heart_rate": 81},
                       format="json").status_code == 429


def test_an_anonymous_nested_body_is_not_a_500_either(db):
    response = APIClient().post("/api/v1/checkins/", nested(100_000), content_type="application/json")
    assert response.status_code in (400, 401)
