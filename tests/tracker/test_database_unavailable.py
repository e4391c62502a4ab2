"""A request that loses its database connection (a restart or failover) answers 503 with Retry-After in the
common error shape, saying nothing was saved, never a bare 500."""

import pytest
from django import db
from django.test import Client
from rest_framework.test import APIClient

from monitoring.services import intake
from tests.monitoring.support import CAR_T_NORMAL, CHECKINS
from tracker.models import CheckIn


@pytest.fixture
def database_drops(monkeypatch):
    def lost(**kwargs):
        raise db.OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(intake, "checkin_submit", lost)  # the page
    monkeypatch.setattr(intake, "checkin_submit_for_user", lost)  # the API


def test_api_check_in_answers_503_retryable_when_the_connection_drops(patient, database_drops):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(patient.user)
    response = client.post(CHECKINS, CAR_T_NORMAL, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["type"] == "service_unavailable" and body["fields"] == {}
    assert "nothing was saved" in body["detail"] and "911" in body["detail"]
    assert not CheckIn.objects.exists()


def test_check_in_page_answers_503_with_the_emergency_number(patient, database_drops):
    client = Client(raise_request_exception=False)
    client.force_login(patient.user)
    response = client.post(f"/patients/{patient.uuid}/checkin/", {"temperature": "37.0", "temperature_unit": "C"})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b'href="tel:911"' in response.content


def test_other_server_errors_stay_500(patient, monkeypatch):
    def broken(**kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(intake, "checkin_submit_for_user", broken)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(patient.user)
    response = client.post(CHECKINS, CAR_T_NORMAL, format="json")
    assert response.status_code == 500
    assert response.json()["type"] == "server_error"
