"""Queries compiled once (tracker.compiled) give what the queryset itself gives, with each call's values,
on each thread's own connection; `insert_row` stores what `save()` would."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import connections
from django.db.models import Count
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from monitoring.models import CheckinAssessment
from tests.factories import CheckInFactory
from tracker.compiled import CompiledQuery, insert_row
from tracker.models import AuditEvent, CheckIn, Patient, TreatmentCourse

SENTINEL_ID = -1_000_001
SENTINEL_FROM = dt.datetime(1901, 1, 1, tzinfo=dt.UTC)
SENTINEL_UUID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def build_patients(patient_id, patient_uuid):
    return (Patient.objects.filter(pk__gte=patient_id).exclude(uuid=patient_uuid).select_related("center")
            .annotate(courses_count=Count("courses")).order_by("pk"))


PATIENTS = CompiledQuery(build_patients, patient_id=SENTINEL_ID, patient_uuid=SENTINEL_UUID)
RECENT = CompiledQuery(
    lambda patient_id, since: CheckIn.objects.filter(patient_id=patient_id, recorded_at__gte=since)
    .order_by("-recorded_at").values("uuid", "recorded_at", "temperature_c")[:5],
    patient_id=SENTINEL_ID, since=SENTINEL_FROM,
)


@pytest.mark.django_db
def test_model_rows_match_the_queryset_with_related_objects_and_annotations(patient, other_patient):
    first = min(patient.pk, other_patient.pk)
    plain = list(build_patients(first, other_patient.uuid))
    compiled = PATIENTS.fetch(patient_id=first, patient_uuid=other_patient.uuid)
    assert [p.pk for p in compiled] == [p.pk for p in plain] == [patient.pk]
    assert compiled[0].center == patient.center and compiled[0].courses_count == plain[0].courses_count == 1
    assert compiled[0]._state.adding is False
    # Other values, same compiled SQL: both patients, then none.
    assert {p.pk for p in PATIENTS.fetch(patient_id=first, patient_uuid=uuid.uuid4())} == {patient.pk,
                                                                                           other_patient.pk}
    assert PATIENTS.fetch(patient_id=max(patient.pk, other_patient.pk) + 1, patient_uuid=uuid.uuid4()) == []


@pytest.mark.django_db
def test_values_rows_are_converted_like_the_queryset(patient):
    now = timezone.now()
    for hours, temperature in ((1, "37.1"), (5, "38.4"), (30, "36.9")):
        CheckInFactory(patient=patient, recorded_at=now - dt.timedelta(hours=hours), temperature_c=temperature)
    since = now - dt.timedelta(hours=24)
    plain = list(CheckIn.objects.filter(patient_id=patient.pk, recorded_at__gte=since).order_by("-recorded_at")
                 .values("uuid", "recorded_at", "temperature_c")[:5])
    rows = RECENT.fetch(patient_id=patient.pk, since=since)
    assert rows == plain and len(rows) == 2
    assert isinstance(rows[0]["uuid"], uuid.UUID) and rows[0]["recorded_at"].tzinfo is not None


@pytest.mark.django_db
def test_another_thread_runs_it_on_its_own_connection(patient):
    PATIENTS.fetch(patient_id=patient.pk, patient_uuid=uuid.uuid4())  # compiled on this thread
    seen = {}

    def other():
        theirs = connections["default"]
        # The patient is not committed (this test's transaction): the other connection does not see it.
        seen["rows"] = PATIENTS.fetch(patient_id=patient.pk, patient_uuid=uuid.uuid4())
        seen["connection"] = id(theirs)
        theirs.close()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen["rows"] == [] and seen["connection"] != id(connections["default"])
    assert [p.pk for p in PATIENTS.fetch(patient_id=patient.pk, patient_uuid=uuid.uuid4())] == [patient.pk]


def test_a_sentinel_missing_from_the_query_is_refused():
    query = CompiledQuery(lambda patient_id: Patient.objects.all(), patient_id=SENTINEL_ID)
    with pytest.raises(ValueError, match="patient_id"):
        query._compile("default")


@pytest.mark.django_db
def test_insert_row_stores_what_save_would(patient, nurse):
    row = CheckIn(patient=patient, entered_by=nurse, recorded_at=timezone.now(), local_date=timezone.now().date(),
                  temperature_c="37.4", is_complete=False)
    insert_row(row)
    assert row.pk is not None and row._state.adding is False
    stored = CheckIn.objects.get(pk=row.pk)
    assert stored.uuid == row.uuid and str(stored.temperature_c) == "37.4"
    assert stored.submitted_at is not None and stored.submitted_at == row.submitted_at  # auto_now_add applied


def test_nothing_listens_to_the_saves_insert_row_skips():
    """insert_row sends no pre_save/post_save: it is used only for rows nothing listens to."""
    for model in (CheckIn, CheckinAssessment, AuditEvent):
        assert not pre_save.has_listeners(model) and not post_save.has_listeners(model), model
    assert post_save.has_listeners(TreatmentCourse)  # the check itself sees receivers where they are
