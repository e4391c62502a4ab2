"""Engine: merging, urgency, patient instruction (clinical-rules "Urgency levels"), follow-ups, types."""

import ast
import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitoring.rules import (
    POLICY_FIELDS,
    CheckinInput,
    EvaluationContext,
    Finding,
    Policy,
    TherapyContext,
    Urgency,
    c_to_f,
    evaluate,
    f_to_c,
    followups,
    highest_urgency,
    merge_findings,
    patient_instruction,
)

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
CAR_T = EvaluationContext(therapies=(TherapyContext("yescarta", "car_t", 5),))
ICI = EvaluationContext(therapies=(TherapyContext("pembrolizumab", "checkpoint", 50, 1),))
RULES_DIR = Path(__file__).resolve().parents[3] / "monitoring" / "rules"


def ci(**kw):
    return CheckinInput(recorded_at=NOW, **kw)


def mk(condition, urgency, grade=None, rule="r", evidence=None, rationale="why"):
    return Finding(
        condition,
        f"title {condition}",
        grade,
        "policy",
        urgency,
        f"do {rule}",
        rationale,
        rule,
        f"src {rule}",
        evidence or {},
    )


# --- Urgency and temperature conversion ---


@pytest.mark.parametrize(
    ("member", "label"),
    [
        (Urgency.NONE, "none"),
        (Urgency.ROUTINE, "routine"),
        (Urgency.SAME_DAY, "same-day"),
        (Urgency.URGENT, "urgent"),
        (Urgency.EMERGENCY, "emergency"),
    ],
)
def test_urgency_labels_round_trip(member, label):
    """Urgency levels table."""
    assert member.label == label
    assert Urgency.from_label(label) is member
    assert Urgency.from_label(member.name) is member


def test_urgency_from_unknown_label_raises():
    """Urgency levels: only the five labels exist."""
    with pytest.raises(ValueError):
        Urgency.from_label("soon")


def test_urgency_levels_are_ordered():
    """Urgency levels: emergency > urgent > same-day > routine > none."""
    assert Urgency.NONE < Urgency.ROUTINE < Urgency.SAME_DAY < Urgency.URGENT < Urgency.EMERGENCY


@pytest.mark.parametrize(
    ("fahrenheit", "celsius"),
    [
        pytest.param(100.4, 38.0, id="§1 100.4 °F == 38.0 °C"),
        pytest.param(100.3, 37.9, id="§1 100.3 °F"),
        pytest.param(98.6, 37.0, id="98.6 °F"),
        pytest.param(104.0, 40.0, id="104 °F"),
    ],
)
def test_fahrenheit_to_celsius_rounds_to_a_tenth(fahrenheit, celsius):
    assert f_to_c(fahrenheit) == celsius


@pytest.mark.parametrize(
    ("celsius", "fahrenheit"),
    [
        pytest.param(38.0, 100.4, id="§1 38.0 °C == 100.4 °F"),
        pytest.param(37.9, 100.2, id="§1 37.9 °C"),
        pytest.param(37.0, 98.6, id="37 °C"),
    ],
)
def test_celsius_to_fahrenheit_rounds_to_a_tenth(celsius, fahrenheit):
    assert c_to_f(celsius) == fahrenheit


# --- merging ---


def test_merge_keeps_one_finding_per_condition_with_highest_urgency():
    """Urgency levels: one open alert per condition; nothing lost."""
    merged = merge_findings(
        [
            mk("crs", Urgency.URGENT, 1, "a", {"temperature_c": 38.2}, "fever"),
            mk("crs", Urgency.EMERGENCY, 2, "b", {"spo2": 88}, "low spo2"),
            mk("rash", Urgency.ROUTINE, 1, "c", {"rash_percent": 5}),
        ]
    )
    assert [f.condition for f in merged] == ["crs", "rash"]
    crs = merged[0]
    assert crs.urgency == Urgency.EMERGENCY and crs.rule_id == "b"
    assert crs.evidence == {"temperature_c": 38.2, "spo2": 88}
    assert crs.staff_rationale.startswith("low spo2") and "fever [a, urgent]" in crs.staff_rationale
    assert "src a" in crs.source and "src b" in crs.source


def test_merge_keeps_highest_grade_and_retitles():
    """§1/§2: the worst domain sets the grade after merging."""
    merged = merge_findings(
        [
            mk("icans", Urgency.EMERGENCY, 2, "a"),
            mk("icans", Urgency.URGENT, 3, "b"),
        ]
    )
    (f,) = merged
    assert f.min_grade == 3 and f.title == "Possible ICANS, signs of at least grade 3"


def test_merge_sorts_most_urgent_first():
    """Urgency levels ordering."""
    merged = merge_findings(
        [mk("rash", Urgency.ROUTINE), mk("pneumonitis", Urgency.EMERGENCY), mk("hepatitis", Urgency.SAME_DAY)]
    )
    assert [f.urgency for f in merged] == [Urgency.EMERGENCY, Urgency.SAME_DAY, Urgency.ROUTINE]


def test_evaluate_returns_at_most_one_finding_per_condition():
    """§1+§2: many signs at once."""
    c = ci(
        temperature_c=39.0,
        spo2=85,
        systolic_bp=80,
        dizzy_or_fainting=True,
        chills=True,
        ice_score=5,
        confusion=True,
        seizure=True,
        consciousness="wakes_to_touch",
    )
    findings = evaluate(c, CAR_T)
    conditions = [f.condition for f in findings]
    assert sorted(conditions) == ["crs", "icans"]
    icans = next(f for f in findings if f.condition == "icans")
    assert icans.min_grade == 3 and {"ice_score", "seizure", "consciousness", "confusion"} <= set(icans.evidence)


def test_highest_urgency_of_nothing_is_none():
    """Urgency levels: none."""
    assert highest_urgency([]) is Urgency.NONE


# --- patient instruction ---


@pytest.mark.parametrize(
    ("checkin", "context", "must_contain"),
    [
        pytest.param(
            ci(temperature_c=38.5, spo2=88),
            CAR_T,
            "Call 911 or go to the emergency department now",
            id="Urgency levels: emergency",
        ),
        pytest.param(ci(temperature_c=38.1), CAR_T, "Call your care team now at 555-0100", id="Urgency levels: urgent"),
        pytest.param(ci(cough=True), ICI, "will call you today", id="Urgency levels: same-day"),
        pytest.param(ci(extra_stools=1), ICI, "next visit", id="Urgency levels: routine"),
        pytest.param(
            ci(temperature_c=37.0), CAR_T, "nothing in this check-in needs action now", id="Urgency levels: none"
        ),
    ],
)
def test_patient_instruction_per_urgency(checkin, context, must_contain):
    """Urgency levels table: what the patient is told."""
    text = patient_instruction(evaluate(checkin, context), "555-0100")
    assert must_contain in text and "555-0100" in text


def test_emergency_instruction_mentions_the_care_team_after_911():
    """Urgency levels: 911 first, then the care team."""
    text = patient_instruction(evaluate(ci(seizure=True), CAR_T), "555-0100")
    assert text.index("911") < text.index("care team at 555-0100")


JARGON = (
    "CRS",
    "ICANS",
    "ICE",
    "CTCAE",
    "CAPD",
    "SpO2",
    "grade",
    "irAE",
    "pneumonitis",
    "colitis",
    "hepatitis",
    "myocarditis",
    "hypophysitis",
)

EVERYTHING = ci(
    temperature_c=39.0,
    heart_rate=130,
    systolic_bp=80,
    spo2=85,
    on_oxygen=True,
    chills=True,
    short_of_breath=True,
    dizzy_or_fainting=True,
    severe_nausea_vomiting_diarrhea=True,
    fast_heartbeat=True,
    severe_fatigue=True,
    severe_muscle_joint_pain=True,
    confusion=True,
    agitation=True,
    speech_trouble=True,
    balance_loss=True,
    tremor=True,
    consciousness="unrousable",
    seizure=True,
    focal_weakness=True,
    ice_score=2,
    capd_score=10,
    handwriting_change=True,
    extra_stools=9,
    stool_blood_mucus=True,
    abdominal_pain="severe",
    rash_percent=40,
    rash_blisters_or_sores=True,
    cough=True,
    breathless=True,
    breathless_at_rest=True,
    chest_pain=True,
    yellow_skin_or_dark_urine=True,
    severe_headache=True,
    extreme_thirst_urination=True,
    muscle_weakness=True,
    flushing_itching=True,
    wheezing=True,
    drove_since_last=True,
)


@pytest.mark.parametrize("urgency", list(Urgency))
def test_patient_texts_use_plain_words(urgency):
    """§6 / Urgency levels: no jargon in anything the patient reads."""
    context = EvaluationContext(
        therapies=(TherapyContext("carvykti", "car_t", 30), TherapyContext("nivolumab", "checkpoint", 40, 0)),
        driving_window_active=True,
    )
    findings = evaluate(EVERYTHING, context)
    for f in findings + [mk("x", urgency)]:
        text = f.patient_instruction if f.condition != "x" else patient_instruction([f], "1")
        for word in JARGON:
            assert word not in text.split() and word + "," not in text, (f.rule_id, word)


def test_every_finding_cites_a_clinical_rules_section_or_policy():
    """Every alert must say why it fired and cite its source (§7)."""
    context = EvaluationContext(
        therapies=(TherapyContext("carvykti", "car_t", 30), TherapyContext("nivolumab", "checkpoint", 40, 0)),
        driving_window_active=True,
    )
    for f in evaluate(EVERYTHING, context):
        assert "clinical-rules §" in f.source or "center policy" in f.source, f.rule_id
        assert f.staff_rationale and f.patient_instruction and f.title


def test_to_dict_is_json_serialisable_with_urgency_label():
    """Urgency levels: urgency exported by its label."""
    f = evaluate(ci(temperature_c=38.5, spo2=88), CAR_T)[0]
    data = json.loads(json.dumps(f.to_dict()))
    assert data["urgency"] == "emergency" and data["condition"] == "crs" and data["evidence"]["spo2"] == 88


def test_findings_are_immutable():
    """§7: the reasons recorded with an alert cannot change afterwards."""
    f = evaluate(ci(temperature_c=38.5), CAR_T)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.urgency = Urgency.NONE


# --- follow-ups ---


@pytest.mark.parametrize(
    ("fields", "due"),
    [
        pytest.param(dict(extra_stools=2), 3, id="§4 grade 1 diarrhea: re-ask in 3 days (ASCO 2021)"),
        pytest.param(dict(extra_stools=5), None, id="§4 grade 2: no re-ask, same-day review instead"),
        pytest.param(dict(extra_stools=2, stool_blood_mucus=True), None, id="§4 blood makes it grade 2"),
        pytest.param(dict(extra_stools=0), None, id="§4 no diarrhea: no re-ask"),
    ],
)
def test_diarrhea_reask_followup(fields, due):
    ups = [u for u in followups(ci(**fields), ICI) if u.kind == "irae_diarrhea_reask"]
    assert [u.due_in_days for u in ups] == ([due] if due else [])


def test_diarrhea_reask_days_follow_policy():
    """§4 re-ask interval is configurable."""
    context = dataclasses.replace(ICI, policy=Policy(irae_diarrhea_reask_days=2))
    (u,) = followups(ci(extra_stools=1), context)
    assert u.due_in_days == 2 and "§4" in u.source


@pytest.mark.parametrize(
    ("day", "due"),
    [
        pytest.param(10, 7, id="§2 Carvykti day 10: weekly questions in 7 days"),
        pytest.param(97, 3, id="§2 Carvykti day 97: last ask on day 100"),
        pytest.param(100, None, id="§2 Carvykti day 100: questions end"),
        pytest.param(101, None, id="§2 Carvykti day 101: none"),
    ],
)
def test_carvykti_weekly_late_neuro_followup(day, due):
    context = EvaluationContext(therapies=(TherapyContext("carvykti", "car_t", day),))
    ups = [u.due_in_days for u in followups(ci(), context) if u.kind == "carvykti_late_neuro_questions"]
    assert ups == ([due] if due else [])


def test_no_followups_for_other_car_t_products():
    """§2 weekly questions are Carvykti only; §4 re-ask is checkpoint only."""
    assert followups(ci(extra_stools=2), CAR_T) == []


# --- policy ---


def test_policy_fields_describe_every_policy_value():
    """Preamble: policy/unverified values are per-center settings shown with their default."""
    names = {f.name for f in dataclasses.fields(Policy)}
    assert set(POLICY_FIELDS) == names
    for name, (default, source, marker) in POLICY_FIELDS.items():
        assert marker in {"policy", "unverified", "guideline"}, name
        assert source, name
        assert getattr(Policy(), name) == default


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("systolic_bp_min", 90),
        ("spo2_min", 92),
        ("heart_rate_max", 100),
        ("escalation_emergency_minutes", 5),
        ("escalation_urgent_minutes", 15),
        ("same_day_review_hours", 4),
        ("neuro_driving_extension_weeks", 8),
        ("irae_diarrhea_reask_days", 3),
        ("carvykti_late_neuro_days", 100),
        ("carvykti_late_neuro_interval_days", 7),
    ],
)
def test_published_policy_defaults(name, default):
    """Urgency levels, §1, §2, §3, §4 defaults."""
    assert POLICY_FIELDS[name][0] == default


def test_policy_round_trips_from_a_center_row():
    """Preamble: Policy(**values) from a center row."""
    values = {name: default for name, (default, _, _) in POLICY_FIELDS.items()}
    assert Policy(**values) == Policy()


def test_policy_rejects_unknown_trend_urgency():
    """Urgency levels: trend urgency must be one of the five labels."""
    with pytest.raises(ValueError):
        Policy(trend_urgency="whenever")


# --- architecture ---


def test_rules_package_imports_only_the_standard_library():
    """conventions: monitoring/rules imports nothing of the project nor Django."""
    for path in RULES_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    continue
                mods = [node.module]
            else:
                continue
            for m in mods:
                top = m.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, m)
