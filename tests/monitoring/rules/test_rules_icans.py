"""ICANS (clinical-rules §2 ASTCT) and Carvykti late neurotoxicity (§2)."""

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.rules import CheckinInput, EvaluationContext, Policy, TherapyContext, Urgency, evaluate
from monitoring.rules.icans import ice_grade

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
E, U, N = Urgency.EMERGENCY, Urgency.URGENT, Urgency.NONE


def ci(**kw):
    return CheckinInput(recorded_at=NOW, **kw)


def ctx(**kw):
    kw.setdefault("therapies", (TherapyContext("yescarta", "car_t", 6),))
    return EvaluationContext(**kw)


def finding(checkin, context=None, condition="icans"):
    found = [f for f in evaluate(checkin, context or ctx()) if f.condition == condition]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize(
    ("ice", "grade"),
    [
        pytest.param(10, 0, id="§2 ICE 10 grade 0"),
        pytest.param(9, 1, id="§2 ICE 9 grade 1"),
        pytest.param(7, 1, id="§2 ICE 7 grade 1"),
        pytest.param(6, 2, id="§2 ICE 6 grade 2"),
        pytest.param(3, 2, id="§2 ICE 3 grade 2"),
        pytest.param(2, 3, id="§2 ICE 2 grade 3"),
        pytest.param(0, 3, id="§2 ICE 0 grade 3"),
    ],
)
def test_ice_grade_mapping(ice, grade):
    assert ice_grade(ice) == grade


ADULT_CASES = [
    pytest.param(dict(ice_score=10), N, None, id="§2 ICE 10 at baseline: nothing"),
    pytest.param(dict(ice_score=9), U, 1, id="§2 ICE 9 drop from baseline: urgent grade 1"),
    pytest.param(dict(ice_score=7), U, 1, id="§2 ICE 7: urgent grade 1"),
    pytest.param(dict(ice_score=6), E, 2, id="§2 ICE 6: emergency grade 2"),
    pytest.param(dict(ice_score=3), E, 2, id="§2 ICE 3: emergency grade 2"),
    pytest.param(dict(ice_score=2), E, 3, id="§2 ICE 2: emergency grade 3"),
    pytest.param(dict(consciousness="alert"), N, None, id="§2 alert: nothing"),
    pytest.param(dict(consciousness="drowsy_wakes_on_own"), U, 1, id="§2 drowsy: urgent grade 1"),
    pytest.param(dict(consciousness="wakes_to_voice"), E, 2, id="§2 wakes to voice: emergency grade 2"),
    pytest.param(dict(consciousness="wakes_to_touch"), E, 3, id="§2 wakes to touch: emergency grade 3"),
    pytest.param(dict(consciousness="unrousable"), E, 4, id="§2 unrousable: emergency grade 4"),
    pytest.param(dict(consciousness="something_else"), N, None, id="§2 unknown level ignored, no crash"),
    pytest.param(dict(seizure=True), E, 3, id="§2 seizure resolving quickly: emergency grade 3"),
    pytest.param(dict(seizure=True, seizure_prolonged=True), E, 4, id="§2 prolonged seizure: emergency grade 4"),
    pytest.param(dict(seizure_prolonged=True), E, 4, id="§2 prolonged seizure implies seizure"),
    pytest.param(dict(focal_weakness=True), E, 4, id="§2 focal weakness: emergency grade 4"),
    pytest.param(dict(confusion=True), U, None, id="§2 new confusion: urgent"),
    pytest.param(dict(agitation=True), U, None, id="§2 agitation: urgent"),
    pytest.param(dict(speech_trouble=True), U, None, id="§2 trouble speaking: urgent"),
    pytest.param(dict(balance_loss=True), U, None, id="§2 loss of balance: urgent"),
    pytest.param(dict(tremor=True), U, None, id="§2 new tremor: urgent (CTCAE)"),
    pytest.param(dict(ice_score=8, consciousness="wakes_to_touch"), E, 3, id="§2 worst domain sets grade"),
    pytest.param(
        dict(ice_orientation=3, ice_naming=3, ice_command=1, ice_writing=1, ice_counting=1),
        U,
        1,
        id="§2 ICE components summing to 9: urgent",
    ),
    pytest.param(dict(ice_orientation=1), U, 1, id="§2 partial ICE orientation 1 (at most 7): urgent"),
    pytest.param(dict(ice_orientation=0, ice_naming=0), E, 2, id="§2 partial ICE at most 5: emergency"),
    pytest.param(dict(ice_score=10, ice_writing=0), U, 1, id="§2 score and components disagree: worse wins"),
]


@pytest.mark.parametrize(("fields", "urgency", "grade"), ADULT_CASES)
def test_icans_urgency_and_grade_for_adults(fields, urgency, grade):
    """§2 ASTCT ICANS table for adults."""
    f = finding(ci(**fields))
    if urgency is N:
        assert f is None
    else:
        assert (f.urgency, f.min_grade) == (urgency, grade)
        assert "§2" in f.source


def test_tremor_is_graded_by_ctcae_not_icans():
    """§2: tremor and myoclonus are graded by CTCAE."""
    f = finding(ci(tremor=True))
    assert f.grading_system == "CTCAE v5" and f.min_grade is None


def test_seizure_tells_the_patient_to_call_911():
    """§2: any seizure -> emergency (call 911)."""
    f = finding(ci(seizure=True))
    assert "911" in f.patient_instruction


@pytest.mark.parametrize(
    ("baseline", "ice", "urgency"),
    [
        pytest.param(8, 8, N, id="§2 ICE equal to a lower baseline: no drop"),
        pytest.param(8, 7, U, id="§2 ICE 7 below baseline 8: urgent"),
        pytest.param(None, 9, U, id="§2 baseline unknown defaults to 10"),
        pytest.param(7, 6, E, id="§2 ICE 6 is emergency whatever the baseline"),
    ],
)
def test_ice_compared_with_patient_baseline(baseline, ice, urgency):
    f = finding(ci(ice_score=ice), ctx(baseline_ice=baseline))
    assert (f.urgency if f else N) == urgency


def test_ice_falling_across_checkins_is_urgent():
    """§2 ICE falling from check-in to check-in, even while not below a low baseline."""
    recent = (CheckinInput(recorded_at=NOW - timedelta(hours=8), ice_score=9),)
    f = finding(ci(ice_score=8), ctx(baseline_ice=8, recent=recent))
    assert f.urgency == U and f.rule_id == "icans.ice_falling"
    assert f.evidence["previous_ice"] == 9


def test_ice_drop_rationale_names_previous_score():
    """§2: staff see the baseline and previous ICE."""
    recent = (CheckinInput(recorded_at=NOW - timedelta(hours=8), ice_score=9),)
    f = finding(ci(ice_score=8), ctx(recent=recent))
    assert "previous 9" in f.staff_rationale and "baseline 10" in f.staff_rationale


CHILD_CASES = [
    pytest.param(dict(capd_score=0), N, None, id="§2 child CAPD 0: nothing"),
    pytest.param(dict(capd_score=1), U, 1, id="§2 child CAPD 1: urgent grade 1-2"),
    pytest.param(dict(capd_score=8), U, 1, id="§2 child CAPD 8: urgent grade 1-2"),
    pytest.param(dict(capd_score=9), E, 3, id="§2 child CAPD 9: emergency grade 3"),
    pytest.param(dict(ice_score=3), N, None, id="§2 child: ICE not applied"),
    pytest.param(dict(capd_score=12, consciousness="unrousable"), E, 4, id="§2 child unrousable grade 4"),
]


@pytest.mark.parametrize(("fields", "urgency", "grade"), CHILD_CASES)
def test_children_12_and_under_use_capd(fields, urgency, grade):
    """§2: CAPD for children 12 and under."""
    f = finding(ci(**fields), ctx(patient_age_years=12))
    if urgency is N:
        assert f is None
    else:
        assert (f.urgency, f.min_grade) == (urgency, grade)


def test_capd_not_applied_to_a_13_year_old():
    """§2: CAPD is for children 12 and under; a 13-year-old gets the ICE."""
    assert finding(ci(capd_score=12), ctx(patient_age_years=13)) is None
    assert finding(ci(ice_score=6), ctx(patient_age_years=13)).urgency == E


def test_icans_rules_do_not_apply_to_checkpoint_only_patients():
    """§2 rules apply after CAR T."""
    only_ici = ctx(therapies=(TherapyContext("nivolumab", "checkpoint", 30, 10),))
    assert finding(ci(ice_score=4), only_ici) is None


@pytest.mark.parametrize(
    ("product", "day", "fires"),
    [
        pytest.param("carvykti", 20, True, id="§2 Carvykti day 20: late neuro question fires"),
        pytest.param("carvykti", 100, True, id="§2 Carvykti day 100: still asked"),
        pytest.param("carvykti", 101, False, id="§2 Carvykti day 101: past the window"),
        pytest.param("abecma", 50, False, id="§2 late neuro rule is Carvykti only"),
    ],
)
def test_carvykti_late_neuro_window(product, day, fires):
    context = ctx(therapies=(TherapyContext(product, "car_t", day),))
    f = finding(ci(handwriting_change=True), context, "carvykti_late_neuro")
    assert (f is not None) == fires
    if fires:
        assert f.urgency == U and "§2" in f.source


@pytest.mark.parametrize(
    "sign",
    [
        "handwriting_change",
        "slowed_movement",
        "personality_change",
        "coordination_loss",
        "facial_numbness_droop",
        "leg_numbness_weakness",
        "tremor",
    ],
)
def test_each_carvykti_late_sign_is_urgent(sign):
    """§2 Carvykti late neurotoxicity list."""
    context = ctx(therapies=(TherapyContext("carvykti", "car_t", 45),))
    f = finding(ci(**{sign: True}), context, "carvykti_late_neuro")
    assert f.urgency == U and f.evidence[sign] is True


def test_carvykti_window_follows_center_policy():
    """§2 day 100 is configurable."""
    context = ctx(therapies=(TherapyContext("carvykti", "car_t", 110),), policy=Policy(carvykti_late_neuro_days=120))
    assert finding(ci(slowed_movement=True), context, "carvykti_late_neuro") is not None
