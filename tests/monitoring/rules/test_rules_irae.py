"""Checkpoint-inhibitor side effects (clinical-rules §4, CTCAE v5)."""

from datetime import UTC, datetime

import pytest

from monitoring.rules import CheckinInput, EvaluationContext, Policy, TherapyContext, Urgency, evaluate

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
E, U, S, R, N = Urgency.EMERGENCY, Urgency.URGENT, Urgency.SAME_DAY, Urgency.ROUTINE, Urgency.NONE
PEMBRO = (TherapyContext("pembrolizumab", "checkpoint", 60, 10),)


def ci(**kw):
    return CheckinInput(recorded_at=NOW, **kw)


def ctx(**kw):
    kw.setdefault("therapies", PEMBRO)
    return EvaluationContext(**kw)


def finding(checkin, condition, context=None):
    found = [f for f in evaluate(checkin, context or ctx()) if f.condition == condition]
    assert len(found) <= 1
    return found[0] if found else None


CASES = [
    # diarrhea / colitis
    pytest.param("diarrhea_colitis", dict(extra_stools=0), N, None, id="§4 no extra stools: nothing"),
    pytest.param("diarrhea_colitis", dict(extra_stools=1), R, 1, id="§4 1 extra stool: grade 1 routine"),
    pytest.param("diarrhea_colitis", dict(extra_stools=3), R, 1, id="§4 3 extra stools: grade 1 routine"),
    pytest.param("diarrhea_colitis", dict(extra_stools=4), S, 2, id="§4 4 extra stools: grade 2 same-day"),
    pytest.param("diarrhea_colitis", dict(extra_stools=6), S, 2, id="§4 6 extra stools: grade 2 same-day"),
    pytest.param("diarrhea_colitis", dict(extra_stools=7), U, 3, id="§4 7 extra stools: grade 3 urgent"),
    pytest.param("diarrhea_colitis", dict(diarrhea_limits_selfcare=True), U, 3, id="§4 limits self-care: grade 3"),
    pytest.param(
        "diarrhea_colitis",
        dict(extra_stools=1, stool_blood_mucus=True),
        S,
        2,
        id="§4 blood or mucus: at least grade 2 same-day",
    ),
    pytest.param("diarrhea_colitis", dict(abdominal_pain="mild"), S, 2, id="§4 abdominal pain: grade 2 same-day"),
    pytest.param("diarrhea_colitis", dict(abdominal_pain="severe"), U, 2, id="§4 severe pain: urgent"),
    pytest.param("diarrhea_colitis", dict(abdominal_pain="none"), N, None, id="§4 no pain: nothing"),
    # rash
    pytest.param("rash", dict(rash_percent=0), N, None, id="§4 no rash"),
    pytest.param("rash", dict(rash_percent=9), R, 1, id="§4 rash 9 %: grade 1 routine"),
    pytest.param("rash", dict(rash_percent=10), S, 2, id="§4 rash 10 %: grade 2 same-day"),
    pytest.param("rash", dict(rash_percent=30), S, 2, id="§4 rash 30 %: grade 2 same-day"),
    pytest.param("rash", dict(rash_percent=31), U, 3, id="§4 rash 31 %: grade 3 urgent"),
    pytest.param("rash", dict(rash_blisters_or_sores=True), U, None, id="§4 blisters or sores: urgent"),
    pytest.param("rash", dict(rash_percent=5, rash_blisters_or_sores=True), U, 1, id="§4 small rash with blisters"),
    # lungs
    pytest.param("pneumonitis", dict(cough=True), S, None, id="§4 new cough: same-day"),
    pytest.param("pneumonitis", dict(breathless=True), S, None, id="§4 breathless: same-day"),
    pytest.param("pneumonitis", dict(breathless_at_rest=True), E, None, id="§4 breathless at rest: emergency"),
    pytest.param("pneumonitis", dict(chest_pain=True), E, None, id="§4 chest pain: emergency"),
    pytest.param("pneumonitis", dict(spo2=91), E, None, id="§4 SpO2 91: emergency"),
    pytest.param("pneumonitis", dict(spo2=92), N, None, id="§4 SpO2 92: nothing"),
    # liver
    pytest.param("hepatitis", dict(yellow_skin_or_dark_urine=True), S, None, id="§4 yellow skin: same-day"),
    pytest.param("hepatitis", dict(right_belly_pain=True), S, None, id="§4 right belly pain: same-day"),
    pytest.param("hepatitis", dict(easy_bruising=True), S, None, id="§4 easy bruising: same-day"),
    # hormones
    pytest.param("endocrine", dict(severe_headache=True), S, None, id="§4 severe headache: same-day"),
    pytest.param("endocrine", dict(vision_change=True), S, None, id="§4 vision change: same-day"),
    pytest.param("endocrine", dict(severe_fatigue=True), S, None, id="§4 extreme fatigue: same-day"),
    pytest.param("endocrine", dict(extreme_thirst_urination=True), S, None, id="§4 extreme thirst: same-day"),
    pytest.param("endocrine", dict(severe_headache=True, confusion=True), U, None, id="§4 with confusion: urgent"),
    pytest.param("endocrine", dict(dizzy_or_fainting=True), U, None, id="§4 fainting: urgent"),
    # heart / muscle
    pytest.param("myocarditis_myositis", dict(fast_heartbeat=True), U, None, id="§4 heart racing: urgent"),
    pytest.param("myocarditis_myositis", dict(muscle_weakness=True), U, None, id="§4 muscle weakness: urgent"),
    pytest.param("myocarditis_myositis", dict(chest_pain=True), U, None, id="§4 chest pain: myocarditis urgent"),
    pytest.param("myocarditis_myositis", dict(heart_rate=101), U, None, id="§4 measured HR 101: urgent"),
    pytest.param("myocarditis_myositis", dict(heart_rate=100), N, None, id="§4 measured HR 100: nothing"),
    # fever
    pytest.param("fever", dict(temperature_c=37.9), N, None, id="§4 37.9 °C: nothing"),
    pytest.param("fever", dict(temperature_c=38.0), U, None, id="§4 fever 38.0 °C once: urgent"),
]


@pytest.mark.parametrize(("condition", "fields", "urgency", "grade"), CASES)
def test_checkpoint_rules(condition, fields, urgency, grade):
    """§4 CTCAE v5 table."""
    f = finding(ci(**fields), condition)
    if urgency is N:
        assert f is None
    else:
        assert (f.urgency, f.min_grade) == (urgency, grade)
        assert "§4" in f.source
        assert f.grading_system == "CTCAE v5"


@pytest.mark.parametrize(
    ("last_dose", "fields", "urgency"),
    [
        pytest.param(0, dict(chills=True), U, id="§4 infusion day 0 chills: urgent"),
        pytest.param(1, dict(chills=True), U, id="§4 infusion day 1 chills: urgent"),
        pytest.param(2, dict(chills=True), N, id="§4 infusion day 2: not an infusion reaction"),
        pytest.param(None, dict(chills=True), N, id="§4 unknown last dose: no infusion rule"),
        pytest.param(1, dict(flushing_itching=True), U, id="§4 flushing or itching: urgent"),
        pytest.param(1, dict(wheezing=True), U, id="§4 wheezing: urgent"),
        pytest.param(1, dict(dizzy_or_fainting=True), U, id="§4 dizziness: urgent"),
        pytest.param(1, dict(rash_percent=5), U, id="§4 rash after infusion: urgent"),
        pytest.param(1, dict(temperature_c=38.0), U, id="§4 fever after infusion: urgent"),
        pytest.param(1, dict(breathless=True), U, id="§4 breathlessness after infusion: urgent"),
        pytest.param(1, dict(breathless_at_rest=True), E, id="§4 trouble breathing after infusion: emergency"),
    ],
)
def test_infusion_reaction_within_a_day_of_infusion(last_dose, fields, urgency):
    context = ctx(therapies=(TherapyContext("nivolumab", "checkpoint", 30, last_dose),))
    f = finding(ci(**fields), "infusion_reaction", context)
    assert (f.urgency if f else N) == urgency


def test_pneumonitis_spo2_follows_center_policy():
    """§4 SpO2 < 92 % is policy: a center limit of 94 % fires at 93."""
    f = finding(ci(spo2=93), "pneumonitis", ctx(policy=Policy(spo2_min=94)))
    assert f.urgency == E and "center policy" in f.source


@pytest.mark.parametrize(
    ("stools", "action"),
    [
        pytest.param(2, "continue and watch", id="§4 grade 1: continue and watch"),
        pytest.param(5, "hold, steroids", id="§4 grade 2: hold, steroids"),
        pytest.param(8, "hold, high-dose steroids", id="§4 grade 3: hold, high-dose steroids"),
    ],
)
def test_guideline_action_by_grade_is_in_staff_rationale(stools, action):
    f = finding(ci(extra_stools=stools), "diarrhea_colitis")
    assert f"grade {f.min_grade}: {action}" in f.staff_rationale
    assert "never changes therapy" in f.staff_rationale


def test_diarrhea_rationale_names_the_values():
    """§4 / §7: every alert says why it fired."""
    f = finding(ci(extra_stools=5, stool_blood_mucus=True), "diarrhea_colitis")
    assert "5 stools/day" in f.staff_rationale and "blood or mucus" in f.staff_rationale
    assert f.evidence == {"extra_stools": 5, "stool_blood_mucus": True}


def test_fever_on_car_t_and_checkpoint_is_one_crs_finding():
    """§1 owns a fever after CAR T; no separate checkpoint fever alert."""
    both = ctx(therapies=(TherapyContext("yescarta", "car_t", 5), PEMBRO[0]))
    conditions = [f.condition for f in evaluate(ci(temperature_c=38.4), both)]
    assert "crs" in conditions and "fever" not in conditions


def test_checkpoint_rules_do_not_apply_after_car_t_only():
    """§4 rules apply to checkpoint inhibitors."""
    car_t = ctx(therapies=(TherapyContext("yescarta", "car_t", 5),))
    assert finding(ci(extra_stools=8), "diarrhea_colitis", car_t) is None
    assert finding(ci(rash_percent=40), "rash", car_t) is None


def test_chest_pain_on_checkpoint_is_emergency_overall():
    """§4: chest pain is both a lung emergency and a heart urgent sign."""
    findings = evaluate(ci(chest_pain=True), ctx())
    assert {f.condition for f in findings} == {"pneumonitis", "myocarditis_myositis"}
    assert findings[0].urgency == E
