"""Value types of the rules engine (standard library only)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from .messages import Message, literal, render_rationale
from .policy import Policy
from .urgency import Urgency as Urgency  # defined there (policy.py reads it too); the rule modules import it here

# clinical-rules §1 ASTCT CRS: fever is a temperature of at least 38.0 °C (100.4 °F).
FEVER_C = 38.0
FEVER_F = 100.4
# Float slack for readings converted from °F (never widens the threshold by a clinically visible amount).
EPS = 1e-9


def f_to_c(fahrenheit: float, ndigits: int = 1) -> float:
    """°F -> °C rounded to 0.1 °C; 100.4 °F gives exactly 38.0 (clinical-rules §1)."""
    return round((fahrenheit - 32.0) * 5.0 / 9.0, ndigits)


def c_to_f(celsius: float, ndigits: int = 1) -> float:
    """°C -> °F rounded to 0.1 °F; 38.0 °C gives exactly 100.4."""
    return round(celsius * 9.0 / 5.0 + 32.0, ndigits)


def has_fever(temperature_c: float | None) -> bool:
    """clinical-rules §1: fever is >= 38.0 °C."""
    return temperature_c is not None and temperature_c >= FEVER_C - EPS


CONSCIOUSNESS_LEVELS = ("alert", "drowsy_wakes_on_own", "wakes_to_voice", "wakes_to_touch", "unrousable")
ABDOMINAL_PAIN_LEVELS = ("none", "mild", "severe")


@dataclass(frozen=True, slots=True)
class CheckinInput:
    """One home check-in. Every field is optional: None means not asked or not answered."""

    recorded_at: datetime | None = None
    # vitals
    temperature_c: float | None = None
    heart_rate: int | None = None
    systolic_bp: int | None = None
    diastolic_bp: int | None = None
    spo2: int | None = None
    on_oxygen: bool | None = None
    # CAR T / CRS signs (§1)
    chills: bool | None = None
    short_of_breath: bool | None = None
    dizzy_or_fainting: bool | None = None
    severe_nausea_vomiting_diarrhea: bool | None = None
    fast_heartbeat: bool | None = None
    severe_fatigue: bool | None = None
    severe_muscle_joint_pain: bool | None = None
    # neuro (§2)
    confusion: bool | None = None
    agitation: bool | None = None
    speech_trouble: bool | None = None
    balance_loss: bool | None = None
    tremor: bool | None = None
    consciousness: str | None = None
    seizure: bool | None = None
    seizure_prolonged: bool | None = None
    focal_weakness: bool | None = None
    # ICE screen (§2)
    ice_orientation: int | None = None
    ice_naming: int | None = None
    ice_command: int | None = None
    ice_writing: int | None = None
    ice_counting: int | None = None
    ice_score: int | None = None
    capd_score: int | None = None
    # Carvykti late neuro (§2)
    handwriting_change: bool | None = None
    slowed_movement: bool | None = None
    personality_change: bool | None = None
    coordination_loss: bool | None = None
    facial_numbness_droop: bool | None = None
    leg_numbness_weakness: bool | None = None
    # checkpoint inhibitors (§4)
    extra_stools: int | None = None
    stool_blood_mucus: bool | None = None
    abdominal_pain: str | None = None
    diarrhea_limits_selfcare: bool | None = None
    rash_percent: int | None = None
    rash_blisters_or_sores: bool | None = None
    cough: bool | None = None
    breathless: bool | None = None
    breathless_at_rest: bool | None = None
    chest_pain: bool | None = None
    yellow_skin_or_dark_urine: bool | None = None
    right_belly_pain: bool | None = None
    easy_bruising: bool | None = None
    severe_headache: bool | None = None
    vision_change: bool | None = None
    extreme_thirst_urination: bool | None = None
    muscle_weakness: bool | None = None
    flushing_itching: bool | None = None
    wheezing: bool | None = None
    # monitoring profiles (§9)
    less_urine: bool | None = None
    very_drowsy: bool | None = None
    low_mood: bool | None = None
    harm_thoughts: bool | None = None
    swollen_painful_limb: bool | None = None
    hands_feet_numbness: bool | None = None
    painful_blisters: bool | None = None
    eye_pain_light: bool | None = None
    flu_like: bool | None = None
    unusual_bleeding: bool | None = None
    weight_kg: float | None = None
    flu_like_hours: int | None = None
    # driving (§3)
    drove_since_last: bool | None = None


@dataclass(frozen=True, slots=True)
class TherapyContext:
    product: str
    therapy_class: str  # one of the therapy classes below
    days_since_start: int
    days_since_last_dose: int | None = None


# Therapy classes (the values of tracker's TherapyClass).
CAR_T = "car_t"
CHECKPOINT = "checkpoint"
T_CELL_ENGAGER = "t_cell_engager"
TCR_TIL = "tcr_til"
CYTOKINE = "cytokine"
IMMUNOMODULATOR = "immunomodulator"
ONCOLYTIC_VIRUS = "oncolytic_virus"
INTRAVESICAL_BCG = "intravesical_bcg"
ANTIBODY = "antibody"
CELL_VACCINE = "cell_vaccine"


@dataclass(frozen=True)
class EvaluationContext:
    therapies: tuple[TherapyContext, ...] = ()
    baseline_ice: int | None = 10  # clinical-rules §2: baseline is 10
    patient_age_years: int | None = None
    received_tocilizumab_or_steroids: bool = False
    recent: tuple[CheckinInput, ...] = ()  # earlier check-ins, newest first
    policy: Policy = Policy()
    driving_window_active: bool = False
    # clinical-rules §9 interleukin-2: the first weight reported on or after the start of the course (kg).
    baseline_weight_kg: float | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    condition: str
    title: str
    min_grade: int | None
    grading_system: str
    urgency: Urgency
    patient_instruction: str
    staff_rationale: str
    rule_id: str
    source: str
    evidence: dict[str, object] = field(default_factory=dict)
    # The rationale as message keys with parameters (messages.py), for the reader's language; a finding made
    # with text only is one literal message.
    rationale_messages: tuple[Message, ...] = ()
    # Parameters of the patient instruction (a center's crisis line, clinical-rules §9), filled in after it is
    # translated; most instructions have none.
    instruction_params: dict[str, str] = field(default_factory=dict)

    @property
    def rationale(self) -> tuple[Message, ...]:
        return self.rationale_messages or (literal(self.staff_rationale),)

    def to_dict(self) -> dict[str, object]:
        return {
            "condition": self.condition,
            "title": self.title,
            "min_grade": self.min_grade,
            "grading_system": self.grading_system,
            "urgency": Urgency(self.urgency).label,
            "patient_instruction": self.patient_instruction,
            "staff_rationale": self.staff_rationale,
            "rule_id": self.rule_id,
            "source": self.source,
            "evidence": {name: _jsonable(value) for name, value in self.evidence.items()},
            "rationale_messages": _jsonable(self.rationale),
            **({"instruction_params": dict(self.instruction_params)} if self.instruction_params else {}),
        }


@dataclass(frozen=True, slots=True)
class FollowUp:
    kind: str
    due_in_days: int
    reason: str
    source: str


def _jsonable(value: object) -> object:
    """JSON-ready copy: dates as ISO text, enums by name, tuples as lists, mappings with text keys."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)


# Grading systems named in findings.
ASTCT_CRS = "ASTCT CRS"
ASTCT_ICANS = "ASTCT ICANS"
CTCAE = "CTCAE v5"
POLICY_SYSTEM = "policy"

# Staff-facing base titles per condition (used when merged findings change the grade).
CONDITION_TITLES = {
    "crs": "Possible CRS",
    "fever": "Fever on a checkpoint inhibitor",
    "icans": "Possible ICANS",
    "carvykti_late_neuro": "Possible late neurotoxicity after Carvykti",
    "diarrhea_colitis": "Possible diarrhea/colitis",
    "rash": "Possible skin reaction",
    "pneumonitis": "Possible pneumonitis",
    "hepatitis": "Possible hepatitis",
    "endocrine": "Possible hormone-gland inflammation",
    "myocarditis_myositis": "Possible myocarditis or myositis",
    "infusion_reaction": "Possible infusion reaction",
    "driving": "Drove during the no-driving window",
    "trend_temperature": "Temperature rising across check-ins",
    "trend_heart_rate": "Heart rate climbing across check-ins",
    "trend_symptom": "Symptom worsening day over day",
    "bevacizumab_warning": "Bleeding, chest pain or sudden headache on bevacizumab",
    "capillary_leak": "Possible capillary leak on interleukin-2",
    "depression": "Low mood on interferon",
    "self_harm_thoughts": "Thoughts of self-harm or of harming others on interferon",
    "blood_clot": "Possible blood clot on an immunomodulatory drug",
    "neuropathy": "Numbness or tingling on an immunomodulatory drug",
    "tvec_herpes": "Possible herpes virus infection after T-VEC",
    "bcg_infection": "Possible BCG infection after bladder BCG",
    "low_oxygen": "Low oxygen on a pulse oximeter",
    "device_silence": "A monitoring device stopped sending readings",
}


def graded_title(condition: str, min_grade: int | None) -> str:
    base = CONDITION_TITLES.get(condition, condition)
    if min_grade:
        return f"{base}, signs of at least grade {min_grade}"
    return base


# What one sub-rule gives: nothing, a finding, or (rarely) several.
RuleResult = Finding | tuple[Finding, ...] | None


def collect(results: Iterable[RuleResult]) -> list[Finding]:
    """The findings of sub-rules, in their order."""
    found: list[Finding] = []
    for result in results:
        if isinstance(result, Finding):
            found.append(result)
        elif result:
            found.extend(result)
    return found


def flagged(checkin: CheckinInput, labels: Iterable[tuple[str, str]]) -> tuple[dict[str, object], tuple[str, ...]]:
    """The yes-answers among ``(field, label)`` pairs: their evidence ``{field: True}`` and their labels."""
    evidence: dict[str, object] = {}
    names: list[str] = []
    for name, label in labels:
        if getattr(checkin, name):
            evidence[name] = True
            names.append(label)
    return evidence, tuple(names)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a sub-rule concludes, apart from why: its condition, rule id, urgency, grade and what the patient
    is told. ``finding`` adds the why (the rationale messages) and the values behind it."""

    condition: str
    rule_id: str
    urgency: Urgency
    instruction: str
    source: str
    grading_system: str
    min_grade: int | None = None
    title: str | None = None

    def finding(self, rationale: tuple[Message, ...], evidence: dict[str, object]) -> Finding:
        return Finding(
            condition=self.condition,
            title=self.title or graded_title(self.condition, self.min_grade),
            min_grade=self.min_grade,
            grading_system=self.grading_system,
            urgency=self.urgency,
            patient_instruction=self.instruction,
            staff_rationale=render_rationale(rationale),
            rule_id=self.rule_id,
            source=self.source,
            evidence=evidence,
            rationale_messages=rationale,
        )
