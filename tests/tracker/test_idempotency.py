"""Idempotent writes (tracker/idempotency.py): a retry with the same Idempotency-Key, or a check-in sent again
with its client-made id, gets the first answer and changes nothing; the same key with another body answers 422."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring.models import Alert, Window
from tests.monitoring.support import CAR_T_NORMAL, CHECKINS
from tracker.idempotency import idempotency_purge
from tracker.models import CheckIn, IdempotencyRecord

FEVER = {**CAR_T_NORMAL, "temperature": "38.6"}


def post(client, body, key=None, url=CHECKINS):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, body, format="json", **headers)


def test_a_check_in_retried_with_the_same_key_is_stored_once_and_answered_as_the_first_time(as_user, patient):
    client = as_user(patient.user)
    key = str(uuid.uuid4())
    first = post(client, FEVER, key)
    again = post(client, FEVER, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert first.json()["urgency"] != "none"  # the replay carries the grading too
    assert CheckIn.objects.filter(patient=patient).count() == 1
    assert Alert.objects.filter(patient=patient).count() == 1


def test_the_same_key_with_a_different_body_answers_422_naming_the_header(as_user, patient):
    client = as_user(patient.user)
    key = str(uuid.uuid4())
    assert post(client, CAR_T_NORMAL, key).status_code == 201
    response = post(client, FEVER, key)
    assert response.status_code == 422
    assert response.json()["type"] == "idempotency_key_reused"
    assert "Idempotency-Key" in response.json()["fields"]
    assert CheckIn.objects.filter(patient=patient).count() == 1


def test_a_check_in_with_its_own_id_sent_twice_without_a_header_is_stored_once_under_that_id(as_user, patient):
    client = as_user(patient.user)
    checkin_id = str(uuid.uuid4())
    first = post(client, {**FEVER, "id": checkin_id})
    again = post(client, {**FEVER, "id": checkin_id})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == checkin_id == again.json()["id"]
    assert list(CheckIn.objects.values_list("uuid", flat=True)) == [uuid.UUID(checkin_id)]


def test_a_heart_rate_sent_twice_is_one_reading_and_does_not_count_as_persisting(as_user, patient):
    """The duplicate used to count as a second reading: 112/min twice raised "fast pulse on 2 readings"."""
    client = as_user(patient.user)
    body = {**CAR_T_NORMAL, "heart_rate": 112, "id": str(uuid.uuid4())}
    post(client, body)
    again = post(client, body)
    assert again.status_code == 201
    assert CheckIn.objects.filter(patient=patient).count() == 1
    assert not any("persist" in rule for alert in Alert.objects.filter(patient=patient)
                   for rule in alert.rule_ids)


def test_a_known_check_in_id_whose_key_has_expired_is_still_stored_once_and_answers_409(as_user, patient):
    client = as_user(patient.user)
    checkin_id = str(uuid.uuid4())
    post(client, {**CAR_T_NORMAL, "id": checkin_id})
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=49))
    assert idempotency_purge() == 1
    response = post(client, {**CAR_T_NORMAL, "id": checkin_id})
    assert response.status_code == 409
    assert response.json()["fields"]["id"] == [f"Stored as check-in {checkin_id}."]
    assert CheckIn.objects.count() == 1


def test_another_patients_check_in_id_is_refused_not_attached(as_user, patient, other_patient):
    checkin_id = str(uuid.uuid4())
    post(as_user(patient.user), {**CAR_T_NORMAL, "id": checkin_id})
    response = post(as_user(other_patient.user), {"temperature": "37.0", "id": checkin_id})
    assert response.status_code == 409
    assert CheckIn.objects.get().patient == patient


def test_a_refused_request_leaves_no_key_so_the_corrected_one_goes_through(as_user, patient):
    client = as_user(patient.user)
    key = str(uuid.uuid4())
    assert post(client, {**CAR_T_NORMAL, "spo2": 150}, key).status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert post(client, CAR_T_NORMAL, key).status_code == 201


def test_keys_belong_to_their_user(as_user, patient, other_patient):
    key = str(uuid.uuid4())
    assert post(as_user(patient.user), CAR_T_NORMAL, key).status_code == 201
    assert post(as_user(other_patient.user), {"temperature": "37.0"}, key).status_code == 201
    assert CheckIn.objects.count() == 2


def test_a_key_used_on_another_endpoint_answers_422(as_user, patient, nurse):
    key = str(uuid.uuid4())
    client = as_user(nurse)
    assert post(client, {**CAR_T_NORMAL, "patient": str(patient.uuid)}, key).status_code == 201
    alert_checkin = post(as_user(patient.user), FEVER)
    alert = Alert.objects.get(patient=patient)
    assert alert_checkin.status_code == 201
    response = post(client, {}, key, url=f"/api/v1/alerts/{alert.uuid}/acknowledge/")
    assert response.status_code == 422


@pytest.mark.parametrize("key", ["x" * 201, "line\nbreak"])
def test_a_malformed_key_is_refused_with_400_naming_the_header(as_user, patient, key):
    response = as_user(patient.user).post(CHECKINS, CAR_T_NORMAL, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert not CheckIn.objects.exists()


def test_acknowledge_retried_with_its_key_answers_the_first_answer_not_409(as_user, patient, nurse):
    post(as_user(patient.user), FEVER)
    alert = Alert.objects.get()
    client, key = as_user(nurse), str(uuid.uuid4())
    url = f"/api/v1/alerts/{alert.uuid}/acknowledge/"
    first = post(client, {"note": "calling"}, key, url=url)
    again = post(client, {"note": "calling"}, key, url=url)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert post(client, {"note": "calling"}, url=url).status_code == 409  # without the key: a second acknowledge
    assert alert.events.filter(kind="acknowledged").count() == 1


def test_resolve_and_amend_retried_with_their_keys_change_nothing_twice(as_user, patient, nurse):
    first_checkin = post(as_user(patient.user), FEVER).json()
    alert = Alert.objects.get()
    client = as_user(nurse)
    resolve_key, amend_key = str(uuid.uuid4()), str(uuid.uuid4())
    url = f"/api/v1/alerts/{alert.uuid}/resolve/"
    assert post(client, {"note": "called, fine"}, resolve_key, url=url).status_code == 200
    assert post(client, {"note": "called, fine"}, resolve_key, url=url).status_code == 200
    assert alert.events.filter(kind="resolved").count() == 1
    amend_url = f"/api/v1/checkins/{first_checkin['id']}/amend/"
    patient_client = as_user(patient.user)
    body = {"temperature": "37.2", "reason": "misread the thermometer"}
    assert post(patient_client, body, amend_key, url=amend_url).status_code == 201
    again = post(patient_client, body, amend_key, url=amend_url)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert CheckIn.objects.count() == 2


def test_window_clearance_retried_with_its_key_is_one_clearance(as_user, patient, physician):
    window = Window.objects.filter(course__patient=patient).first()
    assert window is not None
    client, key = as_user(physician), str(uuid.uuid4())
    url = f"/api/v1/windows/{window.uuid}/clear/"
    first = post(client, {"reason": "recovered, cleared in clinic"}, key, url=url)
    again = post(client, {"reason": "recovered, cleared in clinic"}, key, url=url)
    assert first.status_code == again.status_code == 200
    assert window.events.filter(kind="cleared").count() == 1


def test_a_replay_costs_three_queries(as_user, patient):
    """The stored answer, not the check-in path again: the record's insert (refused), its read, the savepoints."""
    client = as_user(patient.user)
    key = str(uuid.uuid4())
    post(client, CAR_T_NORMAL, key)
    with CaptureQueriesContext(connection) as queries:
        assert post(client, CAR_T_NORMAL, key).status_code == 201
    writes = [q["sql"] for q in queries.captured_queries if "idempotency" in q["sql"].lower()]
    assert len(writes) == 2  # INSERT (conflict), SELECT
    assert not any("tracker_checkin" in q["sql"] for q in queries.captured_queries)


def test_expired_keys_are_purged_and_fresh_ones_kept(as_user, patient):
    client = as_user(patient.user)
    post(client, CAR_T_NORMAL, "old-key")
    post(client, CAR_T_NORMAL, "new-key")
    IdempotencyRecord.objects.filter(key="old-key").update(created_at=timezone.now() - dt.timedelta(hours=49))
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new-key"]


@pytest.mark.django_db(transaction=True)
def test_two_copies_sent_at_the_same_moment_store_one_check_in_and_both_get_its_answer(team_a):
    """The second copy waits at the key's unique index until the first commits, then answers what it answered."""
    from tests.factories import CourseFactory, PatientFactory
    from tracker.catalogue import sync_catalogue
    from tracker.models import Therapy

    sync_catalogue(Therapy)  # a transactional test may follow one that emptied the tables
    patient = PatientFactory(care_team=team_a)
    CourseFactory(patient=patient)
    key = str(uuid.uuid4())
    answers, barrier = [], threading.Barrier(2)

    def send():
        client = APIClient()
        client.force_authenticate(patient.user)
        barrier.wait()
        try:
            response = post(client, FEVER, key)
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 2
    assert answers[0] == answers[1] and answers[0][0] == 201
    assert CheckIn.objects.count() == 1
    assert Alert.objects.count() == 1
