"""Corrections are new rows: POST /api/v1/checkins/<id>/amend/, and check-ins never change or disappear."""

from decimal import Decimal

import pytest
from django.test import Client

from monitoring.services.intake import checkin_submit
from tracker.models import CheckIn
from tracker.questions import CLINICAL_FIELDS

URL = "/api/v1/checkins/"

ORIGINAL = {
    "temperature": "100.4", "temperature_unit": "F", "heart_rate": 82, "systolic_bp": 118, "diastolic_bp": 76,
    "spo2": 97, "consciousness": "alert", "chills": True, "short_of_breath": False, "tremor": False,
    "ice_orientation": 4, "ice_naming": 3, "ice_command": 1, "ice_writing": 1, "ice_counting": 0,
    "note": "Felt cold after lunch",
}


def row_values(checkin: CheckIn) -> dict:
    """Every stored column of a check-in."""
    return {f.attname: getattr(checkin, f.attname) for f in CheckIn._meta.concrete_fields}


@pytest.fixture
def client(as_user, caregiver):
    return as_user(caregiver)


@pytest.fixture
def original(client, patient):
    response = client.post(URL, {"patient": str(patient.uuid), **ORIGINAL}, format="json")
    assert response.status_code == 201, response.json()
    return CheckIn.objects.get(uuid=response.json()["id"])


def amend(client, checkin, **payload):
    return client.post(f"{URL}{checkin.uuid}/amend/", payload, format="json")


def test_amendment_is_a_new_row_pointing_at_the_original(client, original):
    response = amend(client, original, reason="Wrong pulse typed", heart_rate=88)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] != str(original.uuid)
    assert body["amends"] == str(original.uuid)
    assert body["amendment_reason"] == "Wrong pulse typed"
    assert body["heart_rate"] == 88
    new = CheckIn.objects.get(uuid=body["id"])
    assert new.amends_id == original.pk
    assert new.patient_id == original.patient_id
    assert CheckIn.objects.count() == 2


def test_original_row_is_unchanged_in_the_database_after_amending(client, original):
    before = row_values(CheckIn.objects.get(pk=original.pk))
    response = amend(
        client, original, reason="Re-measured", temperature="37.0", temperature_unit="C", chills=False, note="",
        heart_rate=70, systolic_bp=120, diastolic_bp=80, ice_orientation=4, ice_naming=3, ice_command=1,
        ice_writing=1, ice_counting=1,
    )
    assert response.status_code == 201, response.json()
    after = row_values(CheckIn.objects.get(pk=original.pk))
    assert after == before


def test_fields_not_sent_with_the_amendment_are_copied_from_the_original(client, original):
    response = amend(client, original, reason="Pulse was 88", heart_rate=88)
    assert response.status_code == 201
    new = CheckIn.objects.get(uuid=response.json()["id"])
    old, fresh = row_values(original), row_values(new)
    clinical = [name for name in CLINICAL_FIELDS if name != "heart_rate"]
    assert {name: fresh[name] for name in clinical} == {name: old[name] for name in clinical}
    assert new.temperature_c == Decimal("38.0")
    assert new.temperature_unit == "F"
    assert new.chills is True
    assert new.ice_score == 9
    assert new.note == "Felt cold after lunch"
    assert new.heart_rate == 88
    assert new.recorded_at == original.recorded_at
    assert new.local_date == original.local_date


def test_amended_temperature_replaces_value_unit_and_entered_reading_together(client, original):
    response = amend(client, original, reason="Thermometer was in °C", temperature="37.9", temperature_unit="C")
    assert response.status_code == 201, response.json()
    new = CheckIn.objects.get(uuid=response.json()["id"])
    assert (new.temperature_c, new.temperature_entered, new.temperature_unit) == (
        Decimal("37.9"), Decimal("37.9"), "C",
    )


def test_amending_one_ice_part_recomputes_the_score(client, original):
    response = amend(
        client, original, reason="Counted correctly after all", ice_orientation=4, ice_naming=3, ice_command=1,
        ice_writing=1, ice_counting=1,
    )
    assert response.status_code == 201, response.json()
    assert response.json()["ice_score"] == 10


def test_a_yes_no_answer_can_be_withdrawn_by_sending_null(client, original):
    response = amend(client, original, reason="Did not mean to tick chills", chills=None)
    assert response.status_code == 201
    assert CheckIn.objects.get(uuid=response.json()["id"]).chills is None


def test_entered_by_and_role_of_the_amendment_are_whoever_corrected_it(as_user, nurse, original):
    response = amend(as_user(nurse), original, reason="Phone call: pulse 90", heart_rate=90)
    assert response.status_code == 201
    new = CheckIn.objects.get(uuid=response.json()["id"])
    assert new.entered_by == nurse
    assert new.entered_role == "staff"
    assert original.entered_role == "caregiver"


def test_list_shows_only_the_current_version_by_default(client, original):
    new_id = amend(client, original, reason="Pulse 88", heart_rate=88).json()["id"]
    rows = client.get(URL).json()["results"]
    assert [row["id"] for row in rows] == [new_id]
    assert rows[0]["superseded_by"] is None
    assert rows[0]["amends"] == str(original.uuid)


@pytest.mark.parametrize("flag", ["true", "1"])
def test_list_with_include_superseded_shows_both_versions_and_links_them(client, original, flag):
    new_id = amend(client, original, reason="Pulse 88", heart_rate=88).json()["id"]
    rows = {row["id"]: row for row in client.get(URL, {"include_superseded": flag}).json()["results"]}
    assert set(rows) == {new_id, str(original.uuid)}
    assert rows[str(original.uuid)]["superseded_by"] == new_id
    assert rows[str(original.uuid)]["amends"] is None
    assert rows[new_id]["superseded_by"] is None
    assert rows[new_id]["amends"] == str(original.uuid)


def test_detail_of_a_superseded_checkin_names_its_successor(client, original):
    new_id = amend(client, original, reason="Pulse 88", heart_rate=88).json()["id"]
    body = client.get(f"{URL}{original.uuid}/").json()
    assert body["superseded_by"] == new_id
    assert body["heart_rate"] == 82


def test_amending_an_already_amended_checkin_is_a_conflict(client, original):
    first = amend(client, original, reason="Pulse 88", heart_rate=88)
    assert first.status_code == 201
    response = amend(client, original, reason="Pulse 86", heart_rate=86)
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "conflict"
    assert set(body) == {"type", "detail", "fields"}
    assert first.json()["id"] in " ".join(body["fields"]["id"])
    assert CheckIn.objects.count() == 2


def test_the_latest_version_can_be_amended_again(client, original):
    second = amend(client, original, reason="Pulse 88", heart_rate=88).json()
    third = amend(client, CheckIn.objects.get(uuid=second["id"]), reason="Pulse 86", heart_rate=86)
    assert third.status_code == 201
    assert third.json()["amends"] == second["id"]
    assert [row["id"] for row in client.get(URL).json()["results"]] == [third.json()["id"]]


@pytest.mark.parametrize("payload", [{"heart_rate": 88}, {"reason": "", "heart_rate": 88}, {"reason": "   "}])
def test_reason_is_required(client, original, payload):
    response = amend(client, original, **payload)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert "reason" in body["fields"]
    assert "reason" in body["detail"]
    assert CheckIn.objects.count() == 1


def test_amendment_refuses_unknown_fields_and_a_new_patient(client, original, other_patient):
    response = amend(client, original, reason="Wrong patient", patient=str(other_patient.uuid))
    assert response.status_code == 400
    assert "patient" in response.json()["fields"]
    assert CheckIn.objects.count() == 1


def test_amendment_values_are_validated_like_a_new_checkin(client, original):
    response = amend(client, original, reason="Re-measured", temperature="50", spo2=101)
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"temperature", "spo2"}
    assert CheckIn.objects.count() == 1


def test_amending_a_checkin_of_an_unknown_id_is_404(client, db):
    response = client.post(f"{URL}00000000-0000-0000-0000-000000000000/amend/", {"reason": "x"}, format="json")
    assert response.status_code == 404


# --- Rows are never changed or deleted ------------------------------------------------------------------------

def test_saving_an_existing_checkin_raises(patient, nurse):
    checkin = checkin_submit(patient=patient, entered_by=nurse, channel="api",
                             values={"temperature_c": Decimal("37.0")}).checkin
    checkin.temperature_c = Decimal("39.0")
    with pytest.raises(ValueError, match="never changed"):
        checkin.save()
    assert CheckIn.objects.get(pk=checkin.pk).temperature_c == Decimal("37.0")


def test_deleting_a_checkin_raises(patient, nurse):
    checkin = checkin_submit(patient=patient, entered_by=nurse, channel="api",
                             values={"temperature_c": Decimal("37.0")}).checkin
    with pytest.raises(ValueError, match="never deleted"):
        checkin.delete()
    assert CheckIn.objects.filter(pk=checkin.pk).exists()


@pytest.fixture
def admin_client_(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_admin_can_view_but_not_change_a_checkin(admin_client_, original):
    url = f"/admin/tracker/checkin/{original.pk}/change/"
    assert admin_client_.get(url).status_code == 200
    before = row_values(CheckIn.objects.get(pk=original.pk))
    response = admin_client_.post(url, {"heart_rate": "150", "note": "edited", "amendment_reason": "x"})
    assert response.status_code == 403
    assert row_values(CheckIn.objects.get(pk=original.pk)) == before


def test_admin_cannot_delete_a_checkin(admin_client_, original):
    url = f"/admin/tracker/checkin/{original.pk}/delete/"
    assert admin_client_.get(url).status_code == 403
    assert admin_client_.post(url, {"post": "yes"}).status_code == 403
    assert CheckIn.objects.filter(pk=original.pk).exists()


def test_admin_bulk_delete_action_does_not_delete_checkins(admin_client_, original):
    response = admin_client_.post(
        "/admin/tracker/checkin/", {"action": "delete_selected", "_selected_action": [original.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302, 403)
    assert CheckIn.objects.filter(pk=original.pk).exists()


def test_admin_cannot_add_a_checkin(admin_client_, db):
    assert admin_client_.get("/admin/tracker/checkin/add/").status_code == 403


@pytest.mark.parametrize("count", [2, 15])
def test_list_with_superseded_versions_query_count_does_not_grow(
    as_user, patient, nurse, django_assert_max_num_queries, count
):
    from monitoring.services.intake import checkin_amend

    for _ in range(count):
        first = checkin_submit(patient=patient, entered_by=nurse, channel="api",
                               values={"temperature_c": Decimal("37.0")}).checkin
        checkin_amend(original=first, entered_by=nurse, channel="api", changes={"heart_rate": 80}, reason="Pulse")
    client = as_user(nurse)
    with django_assert_max_num_queries(4):  # +1: the audit row
        response = client.get(URL, {"include_superseded": "true"})
    rows = response.json()["results"]
    assert len(rows) == 2 * count
    assert sum(1 for row in rows if row["superseded_by"]) == count
