"""Every message of the rules engine is marked for translation, so a Spanish-speaking patient is never told
what to do in English, and a Spanish-speaking nurse reads why a rule fired in Spanish."""

import itertools
import pathlib

from django.utils import translation

from monitoring.rules import CheckinInput, EvaluationContext, TherapyContext, evaluate
from monitoring.rules.messages import NOTE
from monitoring.rules_messages import MESSAGES, STAFF_MESSAGES
from scripts.rules_messages import TARGET, render

SIGNS = [name for name in CheckinInput.__dataclass_fields__ if name not in (
    "recorded_at", "temperature_c", "heart_rate", "systolic_bp", "diastolic_bp", "spo2", "consciousness",
    "ice_orientation", "ice_naming", "ice_command", "ice_writing", "ice_counting", "ice_score", "capd_score",
    "extra_stools", "abdominal_pain", "rash_percent", "weight_kg", "flu_like_hours")]
CONTEXTS = [
    EvaluationContext(therapies=(TherapyContext("yescarta", "car_t", 3),), driving_window_active=True),
    EvaluationContext(therapies=(TherapyContext("carvykti", "car_t", 30),)),
    EvaluationContext(therapies=(TherapyContext("pembrolizumab", "checkpoint", 80, 0),)),
    # clinical-rules §8 and §9 monitoring profiles
    EvaluationContext(therapies=(TherapyContext("teclistamab", "t_cell_engager", 4, 0),
                                 TherapyContext("lifileucel", "tcr_til", 30, 30))),
    EvaluationContext(therapies=(TherapyContext("cetuximab", "antibody", 20, 1),
                                 TherapyContext("bevacizumab", "antibody", 20, 0),
                                 TherapyContext("sipuleucel_t", "cell_vaccine", 2, 0))),
    EvaluationContext(therapies=(TherapyContext("aldesleukin", "cytokine", 2, 0),
                                 TherapyContext("interferon_alfa_2b", "cytokine", 40, 2)), baseline_weight_kg=70.0),
    EvaluationContext(therapies=(TherapyContext("lenalidomide", "immunomodulator", 40, 0),
                                 TherapyContext("talimogene_laherparepvec", "oncolytic_virus", 8, 8),
                                 TherapyContext("bcg", "intravesical_bcg", 3, 3))),
]
VALUES = [
    {"temperature_c": 38.4}, {"temperature_c": 38.4, "dizzy_or_fainting": True}, {"spo2": 88}, {"systolic_bp": 85},
    {"heart_rate": 130}, {"ice_score": 8}, {"ice_score": 5}, {"ice_score": 1}, {"consciousness": "wakes_to_voice"},
    {"consciousness": "unrousable"}, {"extra_stools": 2}, {"extra_stools": 5}, {"extra_stools": 8},
    {"abdominal_pain": "severe"}, {"rash_percent": 5}, {"rash_percent": 20}, {"rash_percent": 40},
    {"seizure": True, "seizure_prolonged": True},
    {"temperature_c": 39.6}, {"flu_like": True, "flu_like_hours": 80}, {"weight_kg": 73.0},
    {"temperature_c": 38.5, "confusion": True},
]


def test_generated_message_catalogue_is_up_to_date():
    assert pathlib.Path(TARGET).read_text() == render(), "run scripts/rules_messages.py"


def test_every_instruction_the_rules_give_is_in_the_translation_catalogue():
    seen = set()
    cases = [{name: True} for name in SIGNS] + VALUES
    for ctx, values in itertools.product(CONTEXTS, cases):
        for finding in evaluate(CheckinInput(**values), ctx):
            seen.add(finding.patient_instruction)
            assert finding.patient_instruction in MESSAGES, (values, finding.rule_id)
    assert len(seen) >= 15


def _keys(value):
    """Every message key and label inside a stored rationale (messages within parameters too)."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], dict):
        yield value[0]
        for param in value[1].values():
            yield from _keys(param)
    elif isinstance(value, list):
        for item in value:
            yield from (_keys(item) if isinstance(item, list) else [item])


def test_every_rationale_the_rules_give_staff_is_in_the_translation_catalogue():
    seen = set()
    cases = [{name: True} for name in SIGNS] + VALUES
    for ctx, values in itertools.product(CONTEXTS, cases):
        for finding in evaluate(CheckinInput(**values), ctx):
            for key in _keys(finding.to_dict()["rationale_messages"]):
                if key == NOTE:  # " | " between a rationale and its guideline context: no words
                    continue
                seen.add(key)
                assert key in STAFF_MESSAGES, (values, finding.rule_id, key)
    assert len(seen) >= 40


def test_every_staff_rationale_message_has_a_spanish_translation():
    with translation.override("es"):
        untranslated = [key for key in STAFF_MESSAGES if translation.gettext(key) == key]
    assert untranslated == []
