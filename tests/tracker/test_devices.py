"""Staff manage a patient's connected devices (clinical-rules §10) on the staff patient page: register, assign
from a time, end, issue a key (shown once) and revoke it; audited; only for patients of their care teams; a
device is never with two patients at once."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.utils import timezone

from tests.factories import DeviceAssignmentFactory, DeviceFactory, PatientFactory, UserFactory
from tracker.device_services import device_assign, device_credential_issue, device_unassign
from tracker.errors import InputError, NotAllowedError
from tracker.models import AuditEvent, Device, DeviceAssignment, DeviceCredential, Role
from tracker.models.users import hash_key

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
pytestmark = pytest.mark.django_db


def local(moment: dt.datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def nurse_client(client, nurse):
    client.force_login(nurse)
    return client


def hours_ago(hours: float) -> dt.datetime:
    return (timezone.now() - dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


REGISTER = {"register-kind": "temperature_patch", "register-maker": "BlueSpark", "register-model_name": "TempTraq",
            "register-serial": "TT-100", "register-body_site": "axillary",
            "register-expected_interval_seconds": "120", "register-temperature_offset_c": ""}


def test_register_assign_issue_a_key_revoke_and_end_through_the_patient_page(nurse_client, nurse, patient):
    base = f"/staff/patients/{patient.uuid}/devices/"
    response = nurse_client.post(base, REGISTER)
    assert response.status_code == 302 and response["Location"].endswith(f"/staff/patients/{patient.uuid}/#devices")
    device = Device.objects.get(serial="TT-100")
    assert device.center == patient.center and device.temperature_offset_c == 0

    page = nurse_client.get(f"/staff/patients/{patient.uuid}/").content.decode()
    assert 'id="devices"' in page and "Center policy, default 0" in page
    assert f'value="{device.uuid}"' in page  # offered in the assign form

    started = hours_ago(3)
    response = nurse_client.post(base + "assign/", {"assign-device": str(device.uuid),
                                                    "assign-started_at": local(started)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assignment = DeviceAssignment.objects.get(device=device)
    assert assignment.patient == patient and assignment.started_at == started and assignment.assigned_by == nurse

    response = nurse_client.post(f"{base}{device.uuid}/keys/")
    assert response.status_code == 200
    key = re.search(r'id="device-key">([^<]+)<', response.content.decode()).group(1)
    credential = DeviceCredential.objects.get(device=device)
    assert credential.key_hash == hash_key(key) and key not in credential.key_hash  # only the hash is kept
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    page = nurse_client.get(f"/staff/patients/{patient.uuid}/").content.decode()
    assert key not in page and f"{credential.prefix}…" in page  # shown once

    response = nurse_client.post(f"{base}{device.uuid}/keys/{credential.prefix}/revoke/")
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.revoked_at is not None and credential.revoked_by == nurse

    response = nurse_client.post(f"{base}{device.uuid}/end/", {"end-ended_at": ""})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.ended_at is not None and assignment.ended_by == nurse

    actions = list(AuditEvent.objects.filter(patient_id=patient.pk, method="POST").order_by("pk")
                   .values_list("action", flat=True))
    assert actions == ["register_device", "assign_device", "issue_device_key", "revoke_device_key",
                       "unassign_device"]


def test_an_overlapping_assignment_is_refused_naming_the_field(nurse_client, nurse, patient):
    other = PatientFactory(care_team=patient.care_team)
    worn = DeviceAssignmentFactory(patient=other, assigned_by=nurse, started_at=hours_ago(24))
    response = nurse_client.post(f"/staff/patients/{patient.uuid}/devices/assign/",
                                 {"assign-device": str(worn.device.uuid), "assign-started_at": local(hours_ago(1))})
    assert response.status_code == 400  # not offered: a device worn by someone else is not a choice
    assert "assign-device" in response.content.decode()
    with pytest.raises(InputError) as refused:
        device_assign(patient=patient, device=worn.device, started_at=hours_ago(1), by=nurse)
    assert "started_at" in refused.value.fields and "another patient" in refused.value.detail
    # Ended at 10:00: a start before that still overlaps; from 10:00 on it does not.
    device_unassign(patient=other, device=worn.device, ended_at=hours_ago(2), by=nurse)
    with pytest.raises(InputError) as refused:
        device_assign(patient=patient, device=worn.device, started_at=hours_ago(3), by=nurse)
    assert "started_at" in refused.value.fields
    assert device_assign(patient=patient, device=worn.device, started_at=hours_ago(2), by=nurse).patient == patient


def test_the_overlap_error_shows_beside_the_field_on_the_page(nurse_client, nurse, patient):
    worn = DeviceAssignmentFactory(patient=patient, assigned_by=nurse, started_at=hours_ago(2))
    device_unassign(patient=patient, device=worn.device, ended_at=hours_ago(1), by=nurse)
    response = nurse_client.post(f"/staff/patients/{patient.uuid}/devices/assign/",
                                 {"assign-device": str(worn.device.uuid), "assign-started_at": local(hours_ago(3))})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_assign-started_at_error"' in html and "already assigned to this patient" in text_of(html)
    assert DeviceAssignment.objects.filter(device=worn.device).count() == 1


def test_a_serial_registered_twice_is_refused_naming_the_field(nurse_client, patient):
    nurse_client.post(f"/staff/patients/{patient.uuid}/devices/", REGISTER)
    response = nurse_client.post(f"/staff/patients/{patient.uuid}/devices/", REGISTER)
    assert response.status_code == 400 and 'id="id_register-serial_error"' in response.content.decode()
    assert Device.objects.count() == 1


def test_a_nurse_of_another_team_gets_404_and_changes_nothing(client, other_nurse, patient, nurse):
    worn = DeviceAssignmentFactory(patient=patient, assigned_by=nurse, started_at=hours_ago(2))
    credential, _ = DeviceCredential.issue(worn.device, created_by=nurse)
    client.force_login(other_nurse)
    base = f"/staff/patients/{patient.uuid}/devices/"
    assert client.get(base).status_code == 404
    assert client.post(base, REGISTER).status_code == 404
    assert client.post(base + "assign/", {"assign-device": str(worn.device.uuid),
                                          "assign-started_at": local(hours_ago(1))}).status_code == 404
    assert client.post(f"{base}{worn.device.uuid}/keys/").status_code == 404
    assert client.post(f"{base}{worn.device.uuid}/keys/{credential.prefix}/revoke/").status_code == 404
    assert client.post(f"{base}{worn.device.uuid}/end/").status_code == 404
    assert not Device.objects.filter(serial="TT-100").exists()
    assert DeviceCredential.objects.get().revoked_at is None and DeviceAssignment.objects.get().ended_at is None
    assert AuditEvent.objects.filter(user=other_nurse, patient_id=patient.pk, status_code=404).count() == 6


def test_another_patients_device_is_not_found_from_this_patients_page(nurse_client, nurse, patient):
    other = PatientFactory(care_team=patient.care_team)
    worn = DeviceAssignmentFactory(patient=other, assigned_by=nurse, started_at=hours_ago(2))
    credential, _ = DeviceCredential.issue(worn.device, created_by=nurse)
    base = f"/staff/patients/{patient.uuid}/devices/{worn.device.uuid}/"
    assert nurse_client.post(base + "keys/").status_code == 404
    assert nurse_client.post(base + f"keys/{credential.prefix}/revoke/").status_code == 404
    assert nurse_client.post(base + "end/").status_code == 404


def test_patients_and_caregivers_cannot_manage_devices(client, patient, caregiver):
    for user in (patient.user, caregiver):
        client.force_login(user)
        assert client.post(f"/staff/patients/{patient.uuid}/devices/", REGISTER).status_code == 404
    with pytest.raises(NotAllowedError):
        device_assign(patient=patient, device=DeviceFactory(center=patient.center), started_at=hours_ago(1),
                      by=patient.user)


def test_a_key_is_issued_only_for_a_device_worn_now_by_this_patient(nurse, patient):
    worn = DeviceAssignmentFactory(patient=patient, assigned_by=nurse, started_at=hours_ago(2))
    device_unassign(patient=patient, device=worn.device, by=nurse)
    with pytest.raises(InputError) as refused:
        device_credential_issue(patient=patient, device=worn.device, by=nurse)
    assert "device" in refused.value.fields


def test_a_device_of_another_center_cannot_be_assigned(nurse, patient):
    from tests.factories import CenterFactory

    elsewhere = DeviceFactory(center=CenterFactory(name="Lakeside Hospital"))
    with pytest.raises(InputError) as refused:
        device_assign(patient=patient, device=elsewhere, started_at=hours_ago(1), by=nurse)
    assert "device" in refused.value.fields


def test_an_assignment_cannot_start_in_the_future_or_end_before_it_starts(nurse, patient):
    device = DeviceFactory(center=patient.center)
    with pytest.raises(InputError) as refused:
        device_assign(patient=patient, device=device, started_at=timezone.now() + dt.timedelta(hours=1), by=nurse)
    assert "started_at" in refused.value.fields
    device_assign(patient=patient, device=device, started_at=hours_ago(1), by=nurse)
    with pytest.raises(InputError) as refused:
        device_unassign(patient=patient, device=device, ended_at=hours_ago(2), by=nurse)
    assert "ended_at" in refused.value.fields


def test_the_devices_section_is_in_spanish_for_a_spanish_reader(client, team_a, patient):
    nurse = UserFactory(role=Role.NURSE, teams=[team_a], preferred_language="es")
    client.force_login(nurse)
    page = client.get(f"/staff/patients/{patient.uuid}/").content.decode()
    section = text_of(page.split('id="devices"', 1)[1].split("</section>", 1)[0])
    assert "Dispositivos" in page and "Registrar un dispositivo para el centro" in section


# --- The same actions through the API ---------------------------------------------------------------------------

def test_the_api_registers_assigns_keys_revokes_and_ends(as_user, nurse, patient):
    api = as_user(nurse)
    base = f"/api/v1/patients/{patient.uuid}/devices/"
    created = api.post(base, {"kind": "pulse_oximeter", "maker": "Masimo", "model_name": "MightySat",
                              "serial": "MS-1", "body_site": "finger"}, format="json")
    assert created.status_code == 201, created.content
    device_id = created.json()["id"]
    assert created.json()["temperature_offset_c"] == "0.0"
    assert [d["id"] for d in api.get(base).json()["available"]] == [device_id]

    started = hours_ago(2).isoformat()
    assigned = api.post(f"{base}{device_id}/assign/", {"started_at": started}, format="json")
    assert assigned.status_code == 201 and assigned.json()["assignments"][0]["device"]["id"] == device_id
    again = api.post(f"{base}{device_id}/assign/", {"started_at": started}, format="json")
    assert again.status_code == 400 and "started_at" in again.json()["fields"]

    issued = api.post(f"{base}{device_id}/keys/")
    assert issued.status_code == 201
    key, prefix = issued.json()["key"], issued.json()["prefix"]
    assert DeviceCredential.objects.get().key_hash == hash_key(key)
    listed = api.get(base).json()["assignments"][0]["keys"]
    assert listed[0]["prefix"] == prefix and "key" not in listed[0]
    revoked = api.post(f"{base}{device_id}/keys/{prefix}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]

    ended = api.post(f"{base}{device_id}/end/", {}, format="json")
    assert ended.status_code == 200 and ended.json()["assignments"][0]["ended_at"]
    assert list(AuditEvent.objects.filter(patient_id=patient.pk, method="POST").order_by("pk")
                .values_list("action", flat=True)) == [
        "register_device", "assign_device", "assign_device", "issue_device_key", "revoke_device_key",
        "unassign_device"]


def test_the_api_is_for_staff_of_the_patients_teams(as_user, other_nurse, nurse, patient):
    worn = DeviceAssignmentFactory(patient=patient, assigned_by=nurse, started_at=hours_ago(2))
    base = f"/api/v1/patients/{patient.uuid}/devices/"
    assert as_user(other_nurse).get(base).status_code == 404
    assert as_user(other_nurse).post(f"{base}{worn.device.uuid}/keys/").status_code == 404
    assert as_user(patient.user).get(base).status_code == 403
    assert as_user(None).get(base).status_code == 401
    assert not DeviceCredential.objects.exists()


@pytest.mark.parametrize("body", [{"kind": "toaster"}, {"serial": ""}, {"expected_interval_seconds": "x"},
                                  {"temperature_offset_c": "NaN"}, {"temperature_offset_c": 99}, {"extra": 1}])
def test_bad_device_fields_are_400_naming_the_field(as_user, nurse, patient, body):
    values = {"kind": "thermometer", "maker": "Braun", "model_name": "ThermoScan", "serial": "B-1",
              "body_site": "tympanic", **body}
    response = as_user(nurse).post(f"/api/v1/patients/{patient.uuid}/devices/", values, format="json")
    assert response.status_code == 400 and set(body) <= set(response.json()["fields"])
