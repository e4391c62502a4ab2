"""The installable patient app, server side: the service worker at the site root, the manifest, the offline
page with this patient's emergency signs, and the check-in page's own id (client_id) that makes a resend
from the phone's queue harmless. The browser side is tests/browser/test_offline_checkin.py."""

import datetime as dt
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from tests.factories import CourseFactory, PatientFactory, UserFactory
from tracker.models import CheckIn, Role, Therapy

QUEUE = {"HTTP_X_CHECKIN_QUEUE": "1"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def checkin_url(patient) -> str:
    return f"/patients/{patient.uuid}/checkin/"


def form_post(html: str, **values) -> dict:
    asked = re.findall(r'<input type="hidden" name="asked" value="(\w+)">', html)
    client_id = re.search(r'<input type="hidden" name="client_id" value="([0-9a-f-]{36})">', html).group(1)
    return {"asked": asked, "yes": values.pop("ticked", []), "client_id": client_id, **values}


# --- Service worker and manifest ------------------------------------------------------------------------------

def test_service_worker_is_served_from_the_root_with_its_configuration(db):
    response = Client().get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    assert "Content-Security-Policy" in response
    body = response.content.decode()
    config = json.loads(re.match(r"self\.SW_CONFIG = (\{.*?\});\n", body).group(1))
    assert "/static/css/site.css" in config["precache"]
    assert "/static/js/offline.js" in config["precache"]
    assert config["loginPath"] == "/accounts/login/"
    assert config["logoutPath"] == "/accounts/logout/"
    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    assert 'addEventListener("fetch"' in body


def test_manifest_names_the_app_its_icons_and_start_page(db):
    response = Client().get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["name"] == "CAR T Tracker"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon["src"]


def test_patient_pages_link_the_manifest_and_the_offline_script_and_staff_pages_do_not(patient, nurse):
    html = signed_in(patient.user).get(f"/patients/{patient.uuid}/").content.decode()
    assert 'rel="manifest" href="/manifest.webmanifest"' in html
    assert "/static/js/offline.js" in html
    assert 'data-sw="/sw.js"' in html
    assert f"/patients/{patient.uuid}/offline/?saved=1" in html  # the pages the worker keeps for this patient
    staff_html = signed_in(nurse).get("/staff/patients/").content.decode()
    assert "offline.js" not in staff_html
    assert 'rel="manifest"' not in staff_html


# --- The offline page -----------------------------------------------------------------------------------------

def test_offline_page_shows_the_car_t_emergency_signs_with_911_and_the_24_7_number(patient):
    response = signed_in(patient.user).get(f"/patients/{patient.uuid}/offline/?saved=1")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved on this phone, not sent yet" in html
    assert "data-offline-saved" in html
    assert 'href="tel:911"' in html
    digits = "".join(ch for ch in patient.center.phone_24_7 if ch.isdigit())
    assert f'href="tel:{digits}"' in html
    assert f'<span class="phone-number">{patient.center.phone_24_7}</span>' in html
    assert "A seizure (fit)" in html
    assert "or higher with dizziness or fainting, new shortness of breath" in html
    assert "A temperature of 38.0 °C (100.4 °F) or higher, even once" in html
    assert "Short of breath even when resting" not in html  # a checkpoint-inhibitor sign


def test_offline_page_without_a_saved_checkin_offers_the_form(patient):
    html = signed_in(patient.user).get(f"/patients/{patient.uuid}/offline/").content.decode()
    assert "No connection" in html
    assert "data-offline-saved" not in html
    assert f'href="{checkin_url(patient)}"' in html


def test_offline_page_for_a_checkpoint_patient_in_spanish(team_b):
    patient = PatientFactory(care_team=team_b, preferred_language="es",
                             user=UserFactory(role=Role.PATIENT, preferred_language="es"))
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code="pembrolizumab"))
    html = signed_in(patient.user).get(f"/patients/{patient.uuid}/offline/").content.decode()
    assert 'lang="es"' in html
    assert "Llame al 911 ahora si tiene cualquiera de estos signos:" in html
    assert "Falta de aire incluso en reposo" in html
    assert "Dolor en el pecho" in html
    assert "Una convulsión (ataque)" not in html  # a CAR T sign


def test_offline_page_of_another_patient_is_not_found(patient, other_patient):
    assert signed_in(patient.user).get(f"/patients/{other_patient.uuid}/offline/").status_code == 404


# --- The check-in's own id ------------------------------------------------------------------------------------

def test_checkin_is_stored_under_the_id_made_with_the_page_and_a_resend_stores_nothing_more(patient):
    client = signed_in(patient.user)
    html = client.get(checkin_url(patient)).content.decode()
    data = form_post(html, temperature="38.6", temperature_unit="C")
    first = client.post(checkin_url(patient), data)
    assert first.status_code == 302
    stored = CheckIn.objects.get()
    assert str(stored.uuid) == data["client_id"]
    assert first["Location"] == f"/patients/{patient.uuid}/checkins/{stored.uuid}/"
    again = client.post(checkin_url(patient), data, **QUEUE)
    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    assert CheckIn.objects.count() == 1


def test_each_view_of_the_form_gets_a_new_id(patient):
    client = signed_in(patient.user)
    ids = {form_post(client.get(checkin_url(patient)).content.decode())["client_id"] for _ in range(2)}
    assert len(ids) == 2


def test_a_malformed_client_id_is_ignored(patient):
    client = signed_in(patient.user)
    data = form_post(client.get(checkin_url(patient)).content.decode(), temperature="37.0", temperature_unit="C")
    data["client_id"] = "not-a-uuid"
    assert client.post(checkin_url(patient), data).status_code == 302
    assert CheckIn.objects.count() == 1


def test_a_queued_time_with_an_offset_is_taken_as_that_instant(patient):
    """The phone sends when the check-in was made as ISO 8601 with an offset; the patient's zone (New York)
    must not be applied on top."""
    client = signed_in(patient.user)
    made = (timezone.now() - dt.timedelta(hours=5)).replace(microsecond=0)
    data = form_post(client.get(checkin_url(patient)).content.decode(), temperature="38.6", temperature_unit="C",
                     recorded_at=made.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    assert client.post(checkin_url(patient), data, **QUEUE).status_code == 302
    assert CheckIn.objects.get().recorded_at == made
    other = made - dt.timedelta(hours=1)
    data = form_post(client.get(checkin_url(patient)).content.decode(), temperature="37.0", temperature_unit="C",
                     recorded_at=other.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat())
    assert client.post(checkin_url(patient), data, **QUEUE).status_code == 302
    assert CheckIn.objects.filter(recorded_at=other).count() == 1


def test_a_queued_checkin_that_is_refused_gets_the_reasons_as_json(patient):
    client = signed_in(patient.user)
    too_old = timezone.now() - dt.timedelta(hours=80)
    data = form_post(client.get(checkin_url(patient)).content.decode(), temperature="38.6", temperature_unit="C",
                     recorded_at=too_old.isoformat())
    response = client.post(checkin_url(patient), data, **QUEUE)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert "72 hours" in " ".join(body["fields"]["recorded_at"])
    bad = form_post(client.get(checkin_url(patient)).content.decode(), temperature="52", temperature_unit="C")
    assert "temperature" in client.post(checkin_url(patient), bad, **QUEUE).json()["fields"]
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize("path", ["/sw.js", "/manifest.webmanifest"])
def test_app_files_need_no_sign_in(db, path):
    assert Client().get(path).status_code == 200
