"""The §8/§9 monitoring profiles through the API: a patient on several therapies is asked the union of their
questions (completeness) and graded by the union of their rules (clinical-rules §9); interleukin-2's weight
baseline is the first weight reported in the course; the crisis line is shown in the patient's language."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from monitoring.models import Alert, CheckinAssessment
from tests.factories import CourseFactory
from tests.monitoring.support import new_patient, post_checkin
from tracker import selectors
from tracker.models import CheckIn, Therapy
from tracker.questions import YES_NO_FIELDS, question_groups_for, required_fields

LENALIDOMIDE_QUESTIONS = {"swollen_painful_limb", "hands_feet_numbness", "short_of_breath", "chest_pain"}
ANTIBODY_QUESTIONS = {"chills", "breathless", "dizzy_or_fainting"}


@pytest.fixture
def len_and_rituximab(team_a):
    """Lenalidomide for 40 days, and a rituximab infusion today (within a day: §4 infusion reaction)."""
    today = timezone.localtime(timezone.now(), ZoneInfo("America/New_York")).date()  # the patient's day
    patient = new_patient(team_a, "lenalidomide", start=today - dt.timedelta(days=40))
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code="rituximab"),
                  start_date=today - dt.timedelta(days=21), last_dose_date=today)
    return patient


def _all_no(groups: set[str]) -> dict:
    return {name: False for name in required_fields(groups) if name in YES_NO_FIELDS}


def test_lenalidomide_and_rituximab_ask_the_union_of_both_profiles(len_and_rituximab):
    groups = selectors.patient_question_groups(len_and_rituximab)
    assert {"all", "immunomodulator", "antibody"} <= groups
    assert "car_t" not in groups and "checkpoint" not in groups
    required = set(required_fields(groups))
    assert LENALIDOMIDE_QUESTIONS | ANTIBODY_QUESTIONS | {"temperature_c"} <= required
    assert "consciousness" not in required and "extra_stools" not in required


def test_the_union_answered_is_complete_and_quiet(as_user, len_and_rituximab):
    groups = selectors.patient_question_groups(len_and_rituximab)
    response = post_checkin(as_user(len_and_rituximab.user), temperature="36.8", **_all_no(groups))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["is_complete"] is True
    assert body["urgency"] == "none" and body["findings"] == []


def test_leaving_out_one_profile_question_is_incomplete(as_user, len_and_rituximab):
    answers = _all_no(selectors.patient_question_groups(len_and_rituximab))
    answers.pop("swollen_painful_limb")
    response = post_checkin(as_user(len_and_rituximab.user), temperature="36.8", **answers)
    assert response.status_code == 201, response.json()
    assert response.json()["is_complete"] is False


def test_lenalidomide_and_rituximab_findings_are_the_union(as_user, len_and_rituximab):
    answers = {**_all_no(selectors.patient_question_groups(len_and_rituximab)), "chills": True,
               "swollen_painful_limb": True, "hands_feet_numbness": True}
    response = post_checkin(as_user(len_and_rituximab.user), temperature="37.2", **answers)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == "urgent"
    assert [(f["condition"], f["urgency"]) for f in body["findings"]] == [
        ("infusion_reaction", "urgent"), ("blood_clot", "same-day"), ("neuropathy", "routine")]
    sources = {f["condition"]: f["source"] for f in body["findings"]}
    assert sources["infusion_reaction"].startswith("clinical-rules §9")
    assert sources["blood_clot"].startswith("clinical-rules §9")
    assert set(Alert.objects.filter(patient=len_and_rituximab).values_list("condition", flat=True)) == {
        "infusion_reaction", "blood_clot", "neuropathy"}


def test_sudden_breathlessness_on_lenalidomide_is_an_emergency(as_user, len_and_rituximab):
    response = post_checkin(as_user(len_and_rituximab.user), temperature="37.0", short_of_breath=True)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == "emergency"
    assert "911" in body["instruction"]


def test_il2_weight_gain_counts_from_the_first_weight_of_the_course(as_user, team_a):
    patient = new_patient(team_a, "aldesleukin", start=timezone.localdate() - dt.timedelta(days=3))
    client = as_user(patient.user)
    now = timezone.now()
    first = post_checkin(client, temperature="36.9", weight_kg="70.0",
                         recorded_at=(now - dt.timedelta(hours=30)).isoformat())
    assert first.status_code == 201, first.json()
    assert first.json()["findings"] == []
    below = post_checkin(client, temperature="36.9", weight_kg="71.9",
                         recorded_at=(now - dt.timedelta(hours=10)).isoformat())
    assert below.json()["findings"] == []
    gained = post_checkin(client, temperature="36.9", weight_kg="72.0").json()
    assert [(f["rule_id"], f["urgency"]) for f in gained["findings"]] == [("profile.il2_weight_gain", "urgent")]
    assert gained["findings"][0]["evidence"] == {"weight_kg": 72.0, "baseline_weight_kg": 70.0}


def test_a_bad_weight_is_a_400_naming_the_field_and_nothing_is_saved(as_user, team_a):
    patient = new_patient(team_a, "aldesleukin")
    response = post_checkin(as_user(patient.user), temperature="36.9", weight_kg="7000")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["weight_kg"]
    assert not CheckIn.objects.filter(patient=patient).exists()


def test_interferon_self_harm_thoughts_show_the_crisis_line_in_spanish(as_user, team_a):
    patient = new_patient(team_a, "interferon_alfa_2b")
    patient.preferred_language = "es"
    patient.save(update_fields=["preferred_language"])
    response = post_checkin(as_user(patient.user), temperature="36.9", harm_thoughts=True)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == "urgent"
    assert "línea de crisis" in body["instruction"] and "988" in body["instruction"]
    assessment = CheckinAssessment.objects.get(checkin__uuid=body["id"])
    assert ["Thoughts of harming yourself" in key and params == {"crisis_line": "988"}
            for key, params in assessment.instruction_messages][1]
    assert "988" in Alert.objects.get(patient=patient, condition="self_harm_thoughts").patient_instruction


def test_question_groups_by_class_and_code():
    assert question_groups_for([("aldesleukin", "cytokine")]) == {"all", "cytokine", "il2"}
    assert question_groups_for([("interferon_alfa_2b", "cytokine")]) == {"all", "cytokine", "interferon"}
    assert question_groups_for([("teclistamab", "t_cell_engager")]) == {"all", "t_cell_engager", "car_t"}
    assert question_groups_for([("lifileucel", "tcr_til")]) == {"all", "tcr_til", "car_t"}
    assert question_groups_for([("bevacizumab", "antibody")]) == {"all", "antibody", "bevacizumab"}
    assert "rash_percent" in required_fields(question_groups_for([("cetuximab", "antibody")]))
    assert "weight_kg" in required_fields(question_groups_for([("aldesleukin", "cytokine")]))


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries
            if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]


def test_a_quiet_checkin_on_two_profile_courses_costs_what_a_car_t_one_does(as_user, len_and_rituximab):
    """No more than tests/monitoring/test_intake.py's quiet CAR T check-in: the patient locked, the courses,
    the check-in INSERT, the recent check-ins, the assessment INSERT, the audit row (no token read: this client
    is forced-authenticated; no driving windows: no CAR T course). The profiles read nothing more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(len_and_rituximab.user)
    answers = _all_no(selectors.patient_question_groups(len_and_rituximab))
    with CaptureQueriesContext(connection) as ctx:
        response = post_checkin(client, temperature="36.8", **answers)
    assert response.status_code == 201, response.json()
    assert len(_statements(ctx)) <= 6, "\n".join(_statements(ctx))


def test_an_il2_checkin_reads_the_baseline_weight_in_one_more_query(as_user, team_a):
    """clinical-rules §9: the first weight of the interleukin-2 course, read only for such a course."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    patient = new_patient(team_a, "aldesleukin")
    client = as_user(patient.user)
    with CaptureQueriesContext(connection) as ctx:
        response = post_checkin(client, temperature="36.8", weight_kg="70.0")
    assert response.status_code == 201, response.json()
    assert len(_statements(ctx)) <= 7, "\n".join(_statements(ctx))


def test_the_weight_may_be_sent_in_pounds_but_not_in_both_units(as_user, team_a):
    patient = new_patient(team_a, "aldesleukin")
    client = as_user(patient.user)
    both = post_checkin(client, temperature="36.9", weight_kg="70.0", weight_lb="154.3")
    assert both.status_code == 400 and list(both.json()["fields"]) == ["weight_lb"]
    response = post_checkin(client, temperature="36.9", weight_lb="154.3")
    assert response.status_code == 201, response.json()
    assert response.json()["weight_kg"] == "70.0"


@pytest.mark.parametrize(("days_after", "asked"), [(0, True), (183, True), (184, False)])
def test_interferon_mood_is_watched_up_to_6_months_after_the_last_dose(as_user, team_a, days_after, asked):
    """clinical-rules §9: "during treatment and up to 6 months after the last dose" (183 days, a setting): a
    finished interferon course keeps its mood questions and rules that long."""
    from tracker.models.therapies import CourseStatus

    today = timezone.localtime(timezone.now(), ZoneInfo("America/New_York")).date()
    patient = new_patient(team_a, "lenalidomide", start=today - dt.timedelta(days=300))
    CourseFactory(patient=patient, therapy=Therapy.objects.get(code="interferon_alfa_2b"),
                  start_date=today - dt.timedelta(days=days_after + 90),
                  last_dose_date=today - dt.timedelta(days=days_after), status=CourseStatus.COMPLETED)
    groups = selectors.patient_question_groups(patient)
    assert ("interferon" in groups) is asked
    assert ("harm_thoughts" in required_fields(groups)) is asked
    body = post_checkin(as_user(patient.user), temperature="36.9", harm_thoughts=True).json()
    conditions = [f["condition"] for f in body["findings"]]
    assert conditions == (["self_harm_thoughts"] if asked else [])


def test_a_correction_of_the_weight_in_pounds_regrades_against_the_course_baseline(as_user, team_a):
    """An amendment sent in lb replaces the weight (stored in kg); the corrected check-in stands in for the
    original, so the baseline (the first weight of the course) is the one still current."""
    patient = new_patient(team_a, "aldesleukin", start=timezone.localdate() - dt.timedelta(days=3))
    client = as_user(patient.user)
    first = post_checkin(client, temperature="36.9", weight_kg="70.0",
                         recorded_at=(timezone.now() - dt.timedelta(hours=20)).isoformat()).json()
    later = post_checkin(client, temperature="36.9", weight_kg="70.5").json()
    assert later["findings"] == []
    response = client.post(f"/api/v1/checkins/{later['id']}/amend/", {"reason": "Read the scale wrong",
                                                                      "weight_lb": "158.8"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["weight_kg"] == "72.0" and body["temperature_c"] == "36.9"
    assert [f["rule_id"] for f in body["findings"]] == ["profile.il2_weight_gain"]
    assert first["id"] != body["id"]


def test_questions_and_rules_tell_the_cytokines_apart_by_the_same_codes(db):
    from monitoring.rules.engine import IL2_PRODUCTS, INTERFERON_PRODUCTS
    from tracker.questions import IL2_CODES, INTERFERON_CODES

    assert (IL2_CODES, INTERFERON_CODES) == (IL2_PRODUCTS, INTERFERON_PRODUCTS)
    codes = set(Therapy.objects.filter(therapy_class="cytokine").values_list("code", flat=True))
    assert codes == IL2_CODES | INTERFERON_CODES
