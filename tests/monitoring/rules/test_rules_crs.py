"""CRS rules after CAR T (clinical-rules §1; fever after day 14 from §3)."""

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.rules import (
    CheckinInput,
    EvaluationContext,
    Policy,
    TherapyContext,
    Urgency,
    evaluate,
    f_to_c,
    highest_urgency,
)

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
YESCARTA_DAY5 = (TherapyContext("yescarta", "car_t", 5),)
E, U, N = Urgency.EMERGENCY, Urgency.URGENT, Urgency.NONE


def ci(**kw):
    return CheckinInput(recorded_at=NOW, **kw)


def ctx(**kw):
    kw.setdefault("therapies", YESCARTA_DAY5)
    return EvaluationContext(**kw)


def crs_finding(checkin, context=None):
    found = [f for f in evaluate(checkin, context or ctx()) if f.condition == "crs"]
    assert len(found) <= 1, "at most one finding per condition"
    return found[0] if found else None


# (check-in fields, expected CRS urgency, expected min_grade)
DEFAULT_POLICY_CASES = [
    pytest.param(dict(temperature_c=37.9), N, None, id="§1 37.9 °C is below fever"),
    pytest.param(dict(temperature_c=38.0), U, 1, id="§1 38.0 °C is fever: urgent, grade>=1"),
    pytest.param(dict(temperature_c=f_to_c(100.4)), U, 1, id="§1 100.4 °F converted is fever"),
    pytest.param(dict(temperature_c=f_to_c(100.3)), N, None, id="§1 100.3 °F converted is not fever"),
    pytest.param(dict(temperature_c=38.0, dizzy_or_fainting=True), E, 2, id="§1 fever+dizziness emergency"),
    pytest.param(dict(temperature_c=38.0, short_of_breath=True), E, 2, id="§1 fever+new breathlessness emergency"),
    pytest.param(dict(temperature_c=38.0, systolic_bp=89), E, 2, id="§1 fever+systolic 89 emergency"),
    pytest.param(dict(temperature_c=38.0, systolic_bp=90), U, 1, id="§1 fever+systolic 90 stays urgent"),
    pytest.param(dict(temperature_c=38.0, spo2=91), E, 2, id="§1 fever+SpO2 91 emergency"),
    pytest.param(dict(temperature_c=38.0, spo2=92), U, 1, id="§1 fever+SpO2 92 stays urgent"),
    pytest.param(dict(temperature_c=38.0, on_oxygen=True), E, 2, id="§1 fever+oxygen emergency"),
    pytest.param(dict(temperature_c=38.0, heart_rate=101), U, 1, id="§1 fever+single HR 101 not persisting"),
    pytest.param(dict(temperature_c=37.9, systolic_bp=85), U, None, id="§1 grade-2 sign without fever urgent"),
    pytest.param(dict(spo2=91), U, None, id="§1 SpO2 91 without fever urgent"),
    pytest.param(dict(spo2=92), N, None, id="§1 SpO2 92 without fever nothing"),
    pytest.param(dict(systolic_bp=89), U, None, id="§1 systolic 89 without fever urgent"),
    pytest.param(dict(systolic_bp=90), N, None, id="§1 systolic 90 without fever nothing"),
    pytest.param(dict(dizzy_or_fainting=True), U, None, id="§1 dizziness without fever urgent"),
    pytest.param(dict(heart_rate=100), N, None, id="§1 HR 100 is not above the limit"),
    pytest.param(dict(heart_rate=101), U, None, id="§1 HR 101 measured fast heartbeat urgent"),
    pytest.param(dict(chills=True), U, None, id="§1 wallet card chills urgent"),
    pytest.param(dict(severe_nausea_vomiting_diarrhea=True), U, None, id="§1 wallet card severe n/v/d urgent"),
    pytest.param(dict(fast_heartbeat=True), U, None, id="§1 wallet card fast heartbeat urgent"),
    pytest.param(dict(severe_fatigue=True), U, None, id="§1 wallet card severe fatigue urgent"),
    pytest.param(dict(severe_muscle_joint_pain=True), U, None, id="§1 wallet card muscle/joint pain urgent"),
    pytest.param(dict(chills=False, on_oxygen=False, temperature_c=37.0), N, None, id="§1 quiet check-in"),
]


@pytest.mark.parametrize(("fields", "urgency", "grade"), DEFAULT_POLICY_CASES)
def test_crs_urgency_and_grade_at_default_policy(fields, urgency, grade):
    """§1 ASTCT CRS table at the default center limits."""
    f = crs_finding(ci(**fields))
    if urgency is N:
        assert f is None
    else:
        assert f.urgency == urgency
        assert f.min_grade == grade
        assert f.grading_system == "ASTCT CRS"
        assert "§1" in f.source


CHANGED = Policy(systolic_bp_min=100, spo2_min=94, heart_rate_max=110)
CHANGED_POLICY_CASES = [
    pytest.param(dict(temperature_c=38.2, systolic_bp=99), E, id="§1 policy systolic<100: 99 emergency"),
    pytest.param(dict(temperature_c=38.2, systolic_bp=100), U, id="§1 policy systolic<100: 100 urgent"),
    pytest.param(dict(temperature_c=38.2, spo2=93), E, id="§1 policy SpO2<94: 93 emergency"),
    pytest.param(dict(temperature_c=38.2, spo2=94), U, id="§1 policy SpO2<94: 94 urgent"),
    pytest.param(dict(heart_rate=110), N, id="§1 policy HR>110: 110 nothing"),
    pytest.param(dict(heart_rate=111), U, id="§1 policy HR>110: 111 urgent"),
]


@pytest.mark.parametrize(("fields", "urgency"), CHANGED_POLICY_CASES)
def test_crs_limits_follow_center_policy(fields, urgency):
    """§1: BP, SpO2 and heart-rate limits are center policy."""
    f = crs_finding(ci(**fields), ctx(policy=CHANGED))
    assert (f.urgency if f else N) == urgency


def test_fever_with_low_blood_pressure_raises_emergency():
    """§1: fever plus systolic below the center limit is a possible grade 2 sign."""
    f = crs_finding(ci(temperature_c=38.5, systolic_bp=84))
    assert f.urgency == E
    assert f.min_grade == 2
    assert "84 mmHg" in f.staff_rationale and "38.5 °C" in f.staff_rationale
    assert f.evidence["systolic_bp"] == 84 and f.evidence["temperature_c"] == 38.5
    assert "center policy" in f.source


def test_fever_with_persistent_fast_pulse_raises_emergency():
    """§1: HR > 100 persisting (policy: 2 readings within 24 h) with fever."""
    earlier = CheckinInput(recorded_at=NOW - timedelta(hours=2), heart_rate=108)
    f = crs_finding(ci(temperature_c=38.1, heart_rate=112), ctx(recent=(earlier,)))
    assert f.urgency == E and f.min_grade == 2
    assert "persistent_fast_pulse" in f.rule_id or "112/min" in f.staff_rationale


def test_fast_pulse_not_persisting_when_earlier_reading_is_outside_window():
    """§1 persisting (policy window 24 h): a reading 30 h earlier does not count."""
    earlier = CheckinInput(recorded_at=NOW - timedelta(hours=30), heart_rate=108)
    f = crs_finding(ci(temperature_c=38.1, heart_rate=112), ctx(recent=(earlier,)))
    assert f.urgency == U


def test_fast_pulse_persistence_skips_checkins_without_heart_rate():
    """§1 persisting: a temperature-only check-in in between does not break the run."""
    recent = (
        CheckinInput(recorded_at=NOW - timedelta(hours=1), temperature_c=37.6),
        CheckinInput(recorded_at=NOW - timedelta(hours=3), heart_rate=104),
    )
    assert crs_finding(ci(temperature_c=38.0, heart_rate=103), ctx(recent=recent)).urgency == E


def test_single_reading_counts_as_persisting_when_policy_asks_for_one():
    """§1 persisting is policy: a center may set 1 reading."""
    f = crs_finding(ci(temperature_c=38.0, heart_rate=101), ctx(policy=Policy(hr_persist_readings=1)))
    assert f.urgency == E


def test_grade2_sign_after_tocilizumab_is_emergency_without_fever():
    """§1: after tocilizumab or steroids fever is no longer required."""
    f = crs_finding(ci(temperature_c=37.2, spo2=89), ctx(received_tocilizumab_or_steroids=True))
    assert f.urgency == E and f.min_grade == 2
    assert "tocilizumab" in f.staff_rationale


def test_fever_after_day_14_mentions_infection_risk():
    """§1 timing + §3: fever after the peak window stays urgent; staff see the infection risk."""
    late = ctx(therapies=(TherapyContext("kymriah", "car_t", 40),))
    f = crs_finding(ci(temperature_c=38.3), late)
    assert f.urgency == U
    assert "infection" in f.staff_rationale and "§3" in f.source


def test_fever_on_day_14_is_inside_peak_window():
    """§1 timing: days 0-14 are the peak-risk window."""
    f = crs_finding(ci(temperature_c=38.3), ctx(therapies=(TherapyContext("kymriah", "car_t", 14),)))
    assert "infection" not in f.staff_rationale


def test_several_emergency_signs_merge_into_one_crs_finding():
    """§1: fever + dizziness + low BP + low SpO2 + oxygen -> ONE crs finding with all evidence."""
    findings = evaluate(
        ci(temperature_c=38.9, dizzy_or_fainting=True, systolic_bp=82, spo2=88, on_oxygen=True, chills=True), ctx()
    )
    crs = [f for f in findings if f.condition == "crs"]
    assert len(crs) == 1
    f = crs[0]
    assert f.urgency == E and f.min_grade == 2
    for key in ("temperature_c", "dizzy_or_fainting", "systolic_bp", "spo2", "on_oxygen", "chills"):
        assert key in f.evidence
    for text in ("82 mmHg", "SpO2 88", "oxygen", "dizziness", "chills"):
        assert text in f.staff_rationale


def test_crs_rules_do_not_apply_to_checkpoint_only_patients():
    """§1 rules apply after CAR T only."""
    only_ici = ctx(therapies=(TherapyContext("pembrolizumab", "checkpoint", 30, 10),))
    assert crs_finding(ci(temperature_c=38.5, systolic_bp=80), only_ici) is None


def test_fever_with_no_therapy_yields_nothing():
    """§1 and §4 apply only to a patient on a known therapy."""
    assert evaluate(ci(temperature_c=39.0), EvaluationContext(therapies=())) == []


def test_crs_patient_instruction_avoids_jargon():
    """Urgency levels: patient text in plain words."""
    f = crs_finding(ci(temperature_c=38.5, systolic_bp=80))
    assert "CRS" not in f.patient_instruction and "911" in f.patient_instruction
    assert highest_urgency([f]) == E
