"""Every message of the rules engine is marked for translation, so a Spanish-speaking patient is never told
what to do in English, and a Spanish-speaking nurse reads why a rule fired in Spanish."""

import itertools
import pathlib

from django.utils import translation

from monitoring.rules import CheckinInput, EvaluationContext, TherapyContext, evaluate
from monitoring.rules.messages import NOTE, TIME
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


# --- Device readings (clinical-rules §10) ---------------------------------------------------------------------------

def _device_findings():
    """What the stream rules can say: a patch fever, both low-SpO2 rules, a cuff reading, a silence (both stages)."""
    from datetime import UTC, datetime, timedelta

    from monitoring.rules import Policy
    from monitoring.rules.streams import SPO2, SYSTOLIC, TEMPERATURE, Point, Series, device_silence, evaluate_streams

    start = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)

    def series(kind, values, *, streams=True, offset=0.0):
        points = tuple(Point(start + timedelta(minutes=i), float(v)) for i, v in enumerate(values))
        return Series(kind, "Acme Patch #1", points, expected_interval_seconds=60, temperature_offset_c=offset,
                      streams=streams)

    lenalidomide = EvaluationContext(therapies=(TherapyContext("lenalidomide", "immunomodulator", 40, 0),))
    found = [
        *evaluate_streams([series(SPO2, [88] * 6)], lenalidomide),
        *evaluate_streams([series(SPO2, [91] * 11)], lenalidomide),
        *evaluate_streams([series(TEMPERATURE, [38.2] * 11, offset=0.3)], CONTEXTS[0]),
        *evaluate_streams([series(SYSTOLIC, [85], streams=False)], CONTEXTS[0]),
    ]
    for minutes in (30, 120):
        found.append(device_silence("Acme Patch #1", start, start + timedelta(minutes=minutes), Policy()))
    return found


def test_every_instruction_and_rationale_of_device_readings_is_translated():
    """A Spanish-speaking patient is told what to do about a device alert in Spanish, and a nurse reads why it
    fired in Spanish: the stream rules' instructions and rationale keys are in the catalogues, translated."""
    found = _device_findings()
    assert {f.condition for f in found} >= {"low_oxygen", "device_silence", "crs"}
    instructions = {f.patient_instruction for f in found}
    assert len(instructions) >= 4
    with translation.override("es"):
        for text in instructions:
            assert text in MESSAGES and translation.gettext(text) != text, text
        for finding in found:
            for key in _keys(finding.to_dict()["rationale_messages"]):
                if key in (NOTE, TIME):
                    continue
                assert key in STAFF_MESSAGES and translation.gettext(key) != key, (finding.rule_id, key)


def test_a_moment_in_a_rationale_is_put_on_the_readers_clock_when_rendered_and_stored_as_iso():
    """The rules stay pure: a moment is data (`at_time`); the page puts it on the center's clock, the English
    record reads UTC, and the JSON stored keeps ISO text that renders the same."""
    import json
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from monitoring.rules.messages import at_time, message, render_rationale
    from monitoring.rules.types import _jsonable

    moment = datetime(2025, 2, 12, 19, 5, tzinfo=UTC)
    why = (message("No reading from {device} since {since} ({minutes} min; center limit {limit} min)",
                   device="patch #1", since=at_time(moment), minutes=30, limit=30),)
    assert render_rationale(why) == "No reading from patch #1 since 2025-02-12 19:05 UTC (30 min; center limit 30 min)"
    stored = json.loads(json.dumps(_jsonable(why)))
    assert stored[0][1]["since"] == ["{time}", {"time": "2025-02-12T19:05:00+00:00"}]

    def new_york(at: datetime) -> str:
        return f"{at.astimezone(ZoneInfo('America/New_York')):%H:%M} EST"

    with translation.override("es"):
        shown = render_rationale(stored, translation.gettext, new_york)
    assert shown == "Ninguna lectura de patch #1 desde el 14:05 EST (30 min; límite del centro 30 min)"
