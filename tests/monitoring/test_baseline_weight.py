"""The weight before interleukin-2 (clinical-rules §9 capillary leak: a gain of 2 kg or more, the center's limit,
is urgent): staff enter it on the patient's page (audited, who and when kept; bad input is a 400 naming the
field), and the weight-gain rule counts from it when present, else from the first weight the patient reported."""

import datetime as dt

import pytest
from django.utils import timezone

from monitoring.services.policy import policy_set
from tests.monitoring.support import new_patient, post_checkin, signed_in
from tracker.models import AuditEvent


def set_baseline(client, course, value):
    return client.post(f"/staff/courses/{course.uuid}/baseline-weight/", {"weight_kg": value})


@pytest.fixture
def il2(team_a):
    return new_patient(team_a, "aldesleukin", start=timezone.localdate() - dt.timedelta(days=3))


def test_a_nurse_enters_the_baseline_weight_on_the_patient_page(il2, nurse):
    client = signed_in(nurse)
    course = il2.courses.get()
    page = client.get(f"/staff/patients/{il2.uuid}/").content.decode()
    assert f'action="/staff/courses/{course.uuid}/baseline-weight/"' in page
    assert "Not entered: the first weight the patient reports is used." in page
    response = set_baseline(client, course, "68,5")  # either decimal mark
    assert response.status_code == 302
    assert response["Location"] == f"/staff/patients/{il2.uuid}/#course-{course.uuid}"
    course.refresh_from_db()
    assert str(course.baseline_weight_kg) == "68.5" and course.baseline_weight_by == nurse
    assert course.baseline_weight_at is not None
    assert AuditEvent.objects.filter(action="set_baseline_weight", user=nurse, patient=il2, status_code=302).exists()
    page = client.get(f"/staff/patients/{il2.uuid}/").content.decode()
    assert 'value="68.5"' in page and "Entered by" in page


@pytest.mark.parametrize("value", ["", "heavy", "19.9", "350.1", "NaN"])
def test_bad_input_is_a_400_naming_the_field(il2, nurse, value):
    response = set_baseline(signed_in(nurse), il2.courses.get(), value)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'aria-invalid="true"' in body and "Type the weight in kilograms, between 20 and 350" in body
    assert il2.courses.get().baseline_weight_kg is None


def test_not_for_another_therapy_nor_for_another_team_nor_a_patient(team_a, nurse, other_nurse, il2):
    car_t = new_patient(team_a, "yescarta")
    assert set_baseline(signed_in(nurse), car_t.courses.get(), "70").status_code == 400
    assert set_baseline(signed_in(other_nurse), il2.courses.get(), "70").status_code == 404
    assert set_baseline(signed_in(il2.user), il2.courses.get(), "70").status_code == 404
    assert il2.courses.get().baseline_weight_kg is None


# clinical-rules §9: "Weight gain of 5-10 lb (2-4.5 kg) or more ... → urgent"; the center limit (policy) defaults to
# 2.0 kg. Staff baseline 70.0; the first weight the patient reported 71.0 (the baseline without the staff's).
@pytest.mark.parametrize(("staff_baseline", "limit", "weight", "urgent"), [
    ("70.0", None, "71.9", False),  # 1.9 above the staff baseline
    ("70.0", None, "72.0", True),   # 2.0: at the limit
    (None, None, "72.9", False),    # 1.9 above the first weight reported
    (None, None, "73.0", True),
    ("70.0", "2.5", "72.4", False),  # a center limit of 2.5 kg
    ("70.0", "2.5", "72.5", True),
])
def test_the_weight_gain_counts_from_the_staff_baseline_when_present(il2, nurse, as_user, staff_baseline, limit,
                                                                     weight, urgent):
    if limit is not None:
        policy_set(center=il2.center, name="il2_weight_gain_kg", value=limit, user=None, reason="test")
    client = as_user(il2.user)
    post_checkin(client, temperature="36.9", weight_kg="71.0",
                 recorded_at=(timezone.now() - dt.timedelta(hours=20)).isoformat())
    if staff_baseline is not None:
        assert set_baseline(signed_in(nurse), il2.courses.get(), staff_baseline).status_code == 302
    body = post_checkin(client, temperature="36.9", weight_kg=weight).json()
    rules = [f["rule_id"] for f in body["findings"]]
    assert ("profile.il2_weight_gain" in rules) is urgent
    if urgent:
        assert body["urgency"] == "urgent"
