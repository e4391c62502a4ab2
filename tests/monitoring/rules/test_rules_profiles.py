"""Monitoring profiles of clinical-rules §8 (T-cell engagers, TCR/TIL) and §9 (antibodies, interleukin-2,
interferon, immunomodulatory drugs, T-VEC, bladder BCG, sipuleucel-T): each threshold at its edges, pure rules."""

import pytest

from monitoring.rules import CheckinInput, EvaluationContext, Policy, TherapyContext, Urgency, evaluate
from monitoring.rules.engine import instruction_messages, patient_instruction

RITUXIMAB = TherapyContext("rituximab", "antibody", 30, 0)
RITUXIMAB_LATE = TherapyContext("rituximab", "antibody", 30, 2)
CETUXIMAB = TherapyContext("cetuximab", "antibody", 30, 7)
BEVACIZUMAB = TherapyContext("bevacizumab", "antibody", 30, 7)
IL2 = TherapyContext("aldesleukin", "cytokine", 2, 0)
INTERFERON = TherapyContext("interferon_alfa_2b", "cytokine", 60, 3)
LENALIDOMIDE = TherapyContext("lenalidomide", "immunomodulator", 40, 0)
TVEC = TherapyContext("talimogene_laherparepvec", "oncolytic_virus", 10, 3)
BCG = TherapyContext("bcg", "intravesical_bcg", 5, 2)
SIPULEUCEL = TherapyContext("sipuleucel_t", "cell_vaccine", 14, 1)
SIPULEUCEL_LATE = TherapyContext("sipuleucel_t", "cell_vaccine", 14, 2)
TECLISTAMAB = TherapyContext("teclistamab", "t_cell_engager", 60, 1)
LIFILEUCEL = TherapyContext("lifileucel", "tcr_til", 40, 40)


def _grade(therapies, baseline_weight_kg=None, policy=None, **values):
    ctx = EvaluationContext(therapies=tuple(therapies), baseline_weight_kg=baseline_weight_kg,
                            policy=policy or Policy())
    return evaluate(CheckinInput(**values), ctx)


def _by_condition(findings):
    return {f.condition: f for f in findings}


CASES = [
    # (therapies, values, baseline weight, condition, urgency or None when nothing fires)
    # §9 interleukin-2: weight gain >= 2 kg over the baseline (center policy, lower end of 2-4.5 kg)
    ([IL2], {"weight_kg": 71.9}, 70.0, "capillary_leak", None),
    ([IL2], {"weight_kg": 72.0}, 70.0, "capillary_leak", Urgency.URGENT),
    ([IL2], {"weight_kg": 72.0}, None, "capillary_leak", None),
    # §9 interleukin-2: SBP < 90 or SpO2 < 90 % -> emergency
    ([IL2], {"systolic_bp": 90, "diastolic_bp": 60}, None, "capillary_leak", None),
    ([IL2], {"systolic_bp": 89, "diastolic_bp": 60}, None, "capillary_leak", Urgency.EMERGENCY),
    ([IL2], {"spo2": 90}, None, "capillary_leak", None),
    ([IL2], {"spo2": 89}, None, "capillary_leak", Urgency.EMERGENCY),
    ([IL2], {"less_urine": True}, None, "capillary_leak", Urgency.URGENT),
    ([IL2], {"short_of_breath": True}, None, "capillary_leak", Urgency.URGENT),
    ([IL2], {"confusion": True}, None, "capillary_leak", Urgency.URGENT),
    ([IL2], {"very_drowsy": True}, None, "capillary_leak", Urgency.URGENT),
    # not on interleukin-2: the same answers do nothing
    ([INTERFERON], {"less_urine": True, "spo2": 85}, None, "capillary_leak", None),
    # §9 interferon
    ([INTERFERON], {"low_mood": True}, None, "depression", Urgency.URGENT),
    ([INTERFERON], {"harm_thoughts": True}, None, "self_harm_thoughts", Urgency.URGENT),
    ([IL2], {"harm_thoughts": True}, None, "self_harm_thoughts", None),
    # §9 lenalidomide, pomalidomide, thalidomide
    ([LENALIDOMIDE], {"swollen_painful_limb": True}, None, "blood_clot", Urgency.SAME_DAY),
    ([LENALIDOMIDE], {"short_of_breath": True}, None, "blood_clot", Urgency.EMERGENCY),
    ([LENALIDOMIDE], {"chest_pain": True}, None, "blood_clot", Urgency.EMERGENCY),
    ([LENALIDOMIDE], {"hands_feet_numbness": True}, None, "neuropathy", Urgency.ROUTINE),
    # §9 T-VEC
    ([TVEC], {"painful_blisters": True}, None, "tvec_herpes", Urgency.URGENT),
    ([TVEC], {"eye_pain_light": True}, None, "tvec_herpes", Urgency.URGENT),
    ([TVEC], {"confusion": True}, None, "tvec_herpes", Urgency.URGENT),
    ([TVEC], {"very_drowsy": True}, None, "tvec_herpes", Urgency.URGENT),
    # §9 BCG: fever >= 39.4 °C, flu-like symptoms lasting more than 72 h
    ([BCG], {"temperature_c": 38.9}, None, "bcg_infection", None),
    ([BCG], {"temperature_c": 39.3}, None, "bcg_infection", None),
    ([BCG], {"temperature_c": 39.4}, None, "bcg_infection", Urgency.URGENT),
    ([BCG], {"flu_like": True, "flu_like_hours": 72}, None, "bcg_infection", None),
    ([BCG], {"flu_like": True, "flu_like_hours": 73}, None, "bcg_infection", Urgency.URGENT),
    ([BCG], {"flu_like": True}, None, "bcg_infection", None),  # expected for 1-3 days: no duration, no alert
    # §9 antibodies: infusion reaction within a day of the infusion, as §4
    ([RITUXIMAB], {"chills": True}, None, "infusion_reaction", Urgency.URGENT),
    ([RITUXIMAB], {"temperature_c": 38.0}, None, "infusion_reaction", Urgency.URGENT),
    ([RITUXIMAB], {"temperature_c": 37.9}, None, "infusion_reaction", None),
    ([RITUXIMAB], {"breathless": True, "breathless_at_rest": True}, None, "infusion_reaction", Urgency.EMERGENCY),
    ([RITUXIMAB_LATE], {"chills": True}, None, "infusion_reaction", None),
    # §9 cetuximab rash as the §4 rash: < 10 % grade 1, 10-30 % grade 2, > 30 % grade 3, blisters urgent
    ([CETUXIMAB], {"rash_percent": 9}, None, "rash", Urgency.ROUTINE),
    ([CETUXIMAB], {"rash_percent": 10}, None, "rash", Urgency.SAME_DAY),
    ([CETUXIMAB], {"rash_percent": 30}, None, "rash", Urgency.SAME_DAY),
    ([CETUXIMAB], {"rash_percent": 31}, None, "rash", Urgency.URGENT),
    ([CETUXIMAB], {"rash_blisters_or_sores": True}, None, "rash", Urgency.URGENT),
    ([RITUXIMAB_LATE], {"rash_percent": 40}, None, "rash", None),
    # §9 bevacizumab (policy)
    ([BEVACIZUMAB], {"unusual_bleeding": True}, None, "bevacizumab_warning", Urgency.URGENT),
    ([BEVACIZUMAB], {"chest_pain": True}, None, "bevacizumab_warning", Urgency.URGENT),
    ([BEVACIZUMAB], {"severe_headache": True}, None, "bevacizumab_warning", Urgency.URGENT),
    # §9 sipuleucel-T: within a day of each infusion, as §4
    ([SIPULEUCEL], {"dizzy_or_fainting": True}, None, "infusion_reaction", Urgency.URGENT),
    ([SIPULEUCEL], {"breathless": True, "breathless_at_rest": True}, None, "infusion_reaction", Urgency.EMERGENCY),
    ([SIPULEUCEL_LATE], {"chills": True}, None, "infusion_reaction", None),
]


@pytest.mark.parametrize(("therapies", "values", "baseline", "condition", "urgency"), CASES)
def test_profile_thresholds(therapies, values, baseline, condition, urgency):
    found = _by_condition(_grade(therapies, baseline, **values))
    if urgency is None:
        assert condition not in found, found
    else:
        assert condition in found, found
        assert found[condition].urgency == urgency
        assert "clinical-rules §" in found[condition].source


def test_il2_weight_gain_limit_is_a_center_policy():
    assert _by_condition(_grade([IL2], 70.0, policy=Policy(il2_weight_gain_kg=4.5), weight_kg=74.0)) == {}
    finding = _by_condition(_grade([IL2], 70.0, policy=Policy(il2_weight_gain_kg=4.5), weight_kg=74.5))["capillary_leak"]
    assert finding.evidence == {"weight_kg": 74.5, "baseline_weight_kg": 70.0}
    assert "policy" in finding.source


def test_interferon_crisis_line_is_in_the_patient_instruction_and_is_a_center_policy():
    findings = _grade([INTERFERON], policy=Policy(crisis_line="0800 123 456"), harm_thoughts=True)
    text = patient_instruction(findings, "(555) 010-0199")
    assert "0800 123 456" in text and "{crisis_line}" not in text
    assert ["Call your care team now" in m[0] for m in instruction_messages(findings, "x")][0]
    default = patient_instruction(_grade([INTERFERON], low_mood=True), "(555) 010-0199")
    assert "988" in default
    stored = findings[0].to_dict()
    assert stored["instruction_params"] == {"crisis_line": "0800 123 456"}


# --- §8 T-cell engagers and TCR/TIL: §1/§2 as after CAR T, from the most recent dose -------------------------

def test_engager_fever_alone_is_urgent_crs():
    found = _by_condition(_grade([TECLISTAMAB], temperature_c=38.0))
    assert found["crs"].urgency == Urgency.URGENT
    assert found["crs"].evidence["days_since_infusion"] == 1  # the most recent dose, not the start
    assert _by_condition(_grade([TECLISTAMAB], temperature_c=37.9)) == {}


def test_engager_fever_with_low_blood_pressure_is_an_emergency():
    found = _by_condition(_grade([TECLISTAMAB], temperature_c=38.4, systolic_bp=85, diastolic_bp=50))
    assert list(found) == ["crs"]
    assert found["crs"].urgency == Urgency.EMERGENCY


@pytest.mark.parametrize(("values", "urgency"), [
    ({"temperature_c": 38.2, "confusion": True}, Urgency.EMERGENCY),  # §8 Crombie 2024
    ({"temperature_c": 38.2, "muscle_weakness": True}, Urgency.EMERGENCY),
    ({"temperature_c": 38.2, "spo2": 89}, Urgency.EMERGENCY),
    ({"temperature_c": 38.2, "spo2": 93}, Urgency.URGENT),
])
def test_engager_fever_with_crombie_signs(values, urgency):
    assert _by_condition(_grade([TECLISTAMAB], **values))["crs"].urgency == urgency


def test_engager_confusion_is_graded_as_icans():
    found = _by_condition(_grade([TECLISTAMAB], confusion=True))
    assert found["icans"].urgency == Urgency.URGENT
    assert _by_condition(_grade([TECLISTAMAB], ice_score=5))["icans"].urgency == Urgency.EMERGENCY


def test_lifileucel_any_fever_is_urgent_even_late():
    found = _by_condition(_grade([LIFILEUCEL], temperature_c=38.1))
    assert found["crs"].urgency == Urgency.URGENT
    assert "profile.lifileucel_fever" in found["crs"].staff_rationale or found["crs"].rule_id == "profile.lifileucel_fever"


# --- Several courses: the union ------------------------------------------------------------------------------

def test_lenalidomide_with_rituximab_gives_the_union_one_finding_per_condition():
    findings = _grade([LENALIDOMIDE, RITUXIMAB], chills=True, swollen_painful_limb=True, hands_feet_numbness=True)
    found = _by_condition(findings)
    assert set(found) == {"infusion_reaction", "blood_clot", "neuropathy"}
    assert [f.urgency for f in findings] == [Urgency.URGENT, Urgency.SAME_DAY, Urgency.ROUTINE]


def test_shortness_of_breath_on_lenalidomide_and_rituximab_is_one_emergency_per_condition():
    found = _by_condition(_grade([LENALIDOMIDE, RITUXIMAB], breathless=True, breathless_at_rest=True))
    assert found["blood_clot"].urgency == Urgency.EMERGENCY
    assert found["infusion_reaction"].urgency == Urgency.EMERGENCY
    assert len(found) == 2
