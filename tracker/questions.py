"""The check-in questionnaire: one definition drives the model's completeness rule, the patient
page and the API documentation.

The wording is our own plain language (clinical-rules §6: PRO-CTCAE items are not copied). Each
question maps to a sign that the rules grade (clinical-rules §1-§4).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a str, or gettext_lazy's promise of one

# Question groups: which questions a patient is asked. Every patient gets ALL; each active therapy adds its class
# (CAR_T, CHECKPOINT); monitoring adds DRIVING (an active no-driving window) and CARVYKTI (the late-neurotoxicity
# period) through `register_question_group_provider`.
ALL = "all"
CAR_T = "car_t"
CHECKPOINT = "checkpoint"
CARVYKTI = "carvykti"
DRIVING = "driving"
# Monitoring profiles of clinical-rules §8 and §9. T-cell engagers and TCR/TIL therapies are asked the CAR T
# questions too (§8: CRS and ICANS graded as after CAR T). The group of a §9 profile is its therapy class, except
# for the two cytokines (interleukin-2 and interferon, chosen by product code) and the two antibodies with their
# own signs (bevacizumab, cetuximab: added to the antibody group).
T_CELL_ENGAGER = "t_cell_engager"
TCR_TIL = "tcr_til"
CYTOKINE = "cytokine"
IL2 = "il2"
INTERFERON = "interferon"
IMMUNOMODULATOR = "immunomodulator"
ONCOLYTIC_VIRUS = "oncolytic_virus"
INTRAVESICAL_BCG = "intravesical_bcg"
ANTIBODY = "antibody"
BEVACIZUMAB = "bevacizumab"
CETUXIMAB = "cetuximab"
CELL_VACCINE = "cell_vaccine"
# Products by code whose profile is more than their class (clinical-rules §9). The rules tell the cytokines apart
# the same way (monitoring/rules/engine.py IL2_PRODUCTS, INTERFERON_PRODUCTS; a test keeps them equal).
IL2_CODES = frozenset({"aldesleukin"})
INTERFERON_CODES = frozenset({"interferon_alfa_2b"})
PRODUCT_GROUPS = {"bevacizumab": BEVACIZUMAB, "cetuximab": CETUXIMAB}


@dataclass(frozen=True)
class Question:
    field: str
    text: StrOrPromise
    section: str
    applies_to: str  # its question group: ALL, CAR_T, CHECKPOINT, CARVYKTI or DRIVING
    required: bool = False  # needed for the check-in to count as complete for that therapy
    # The wording for someone answering about the patient (a caregiver, staff on the phone), where the
    # patient's own wording says "you"; %(name)s is the patient's first name.
    about_text: StrOrPromise | None = None
    # A warning sign: the "I feel the same as usual" check-in answers it "no". Facts that are not signs
    # (home oxygen, driving) stay unanswered there.
    warning_sign: bool = True
    # Other question groups that ask it too (a §4 infusion-reaction question asked on a §9 antibody).
    also_for: tuple[str, ...] = ()

    def asked_in(self, question_groups: set[str]) -> bool:
        """Whether a patient with these question groups is asked it."""
        return self.applies_to in question_groups or any(group in question_groups for group in self.also_for)

    def text_for(self, *, about: str | None = None) -> str:
        """The question as shown: to the patient, or `about` the patient named (to a caregiver)."""
        if about and self.about_text:
            return self.about_text % {"name": about}
        return str(self.text)


SECTIONS = {
    "vitals": _("Temperature and readings"),
    "crs": _("How your body feels"),
    "neuro": _("Thinking, speech and alertness"),
    "ice": _("Caregiver word and memory screen"),
    "carvykti": _("Movement and handwriting"),
    "checkpoint": _("Stomach, skin, breathing and more"),
    "driving": _("Driving"),
    "profile": _("Signs to watch for with your treatment"),
    "more": _("Anything else"),
}
# Section titles for someone answering about the patient (%(name)s: the patient's first name).
SECTIONS_ABOUT = {
    "crs": _("How %(name)s's body feels"),
    "profile": _("Signs to watch for with %(name)s's treatment"),
}

YES_NO_QUESTIONS: tuple[Question, ...] = (
    Question("on_oxygen", _("Are you using oxygen at home?"), "vitals", CAR_T,
             about_text=_("Is %(name)s using oxygen at home?"), warning_sign=False),
    Question("chills", _("Chills or shaking"), "crs", CAR_T, True, also_for=(ANTIBODY, CELL_VACCINE)),
    Question("short_of_breath", _("New shortness of breath"), "crs", CAR_T, True, also_for=(IL2, IMMUNOMODULATOR)),
    Question("dizzy_or_fainting", _("Dizzy or lightheaded when standing, or fainted"), "crs", ALL, True),
    Question("severe_nausea_vomiting_diarrhea", _("Bad nausea, vomiting or diarrhea"), "crs", CAR_T, True),
    Question("fast_heartbeat", _("Heart racing, pounding or skipping"), "crs", ALL, True),
    Question("severe_fatigue", _("So tired you can hardly get out of bed"), "crs", ALL, True,
             about_text=_("So tired %(name)s can hardly get out of bed")),
    Question("severe_muscle_joint_pain", _("Bad muscle or joint pain"), "crs", CAR_T, True),
    Question("confusion", _("Confused, or not making sense"), "neuro", ALL, True),
    Question("agitation", _("Restless or agitated"), "neuro", CAR_T, True),
    Question("speech_trouble", _("Trouble speaking, finding words or understanding"), "neuro", CAR_T, True),
    Question("balance_loss", _("Losing balance or unsteady walking"), "neuro", CAR_T, True),
    Question("tremor", _("New shaking of the hands (tremor)"), "neuro", CAR_T, True),
    Question("seizure", _("A seizure (fit)"), "neuro", CAR_T, True),
    Question("seizure_prolonged", _("The seizure lasted over 5 minutes, or came back before waking up"), "neuro", CAR_T),
    Question("focal_weakness", _("Weakness on one side of the body, or in both legs"), "neuro", CAR_T, True),
    Question("handwriting_change", _("Handwriting smaller or harder than usual"), "carvykti", CARVYKTI),
    Question("slowed_movement", _("Moving more slowly than usual"), "carvykti", CARVYKTI),
    Question("personality_change", _("Personality or mood change others noticed"), "carvykti", CARVYKTI),
    Question("coordination_loss", _("Clumsy, or trouble with coordination"), "carvykti", CARVYKTI),
    Question("facial_numbness_droop", _("Numbness or drooping of the face"), "carvykti", CARVYKTI),
    Question("leg_numbness_weakness", _("Numbness or weakness in the legs"), "carvykti", CARVYKTI),
    Question("stool_blood_mucus", _("Blood or mucus in the stool"), "checkpoint", CHECKPOINT, True),
    Question("diarrhea_limits_selfcare", _("Diarrhea stops you washing or dressing, or you cannot hold it"), "checkpoint", CHECKPOINT,
             about_text=_("Diarrhea stops %(name)s washing or dressing, or %(name)s cannot hold it")),
    Question("rash_blisters_or_sores", _("Blisters, peeling skin, or sores in the mouth or eyes"), "checkpoint", CHECKPOINT, True,
             also_for=(CETUXIMAB,)),
    Question("cough", _("A new cough, or a cough that got worse"), "checkpoint", CHECKPOINT, True),
    Question("breathless", _("Short of breath"), "checkpoint", CHECKPOINT, True, also_for=(ANTIBODY, CELL_VACCINE)),
    Question("breathless_at_rest", _("Short of breath even when resting"), "checkpoint", CHECKPOINT,
             also_for=(ANTIBODY, CELL_VACCINE)),
    Question("chest_pain", _("Chest pain"), "checkpoint", CHECKPOINT, True, also_for=(IMMUNOMODULATOR, BEVACIZUMAB)),
    Question("yellow_skin_or_dark_urine", _("Yellow skin or eyes, or dark urine"), "checkpoint", CHECKPOINT, True),
    Question("right_belly_pain", _("Pain on the right side of the belly"), "checkpoint", CHECKPOINT),
    Question("easy_bruising", _("Bruising or bleeding easily"), "checkpoint", CHECKPOINT),
    Question("severe_headache", _("A bad or unusual headache"), "checkpoint", CHECKPOINT, True, also_for=(BEVACIZUMAB,)),
    Question("vision_change", _("Changes in your eyesight"), "checkpoint", CHECKPOINT, True,
             about_text=_("Changes in %(name)s's eyesight")),
    Question("extreme_thirst_urination", _("Very thirsty, or passing much more urine"), "checkpoint", CHECKPOINT, True),
    Question("muscle_weakness", _("Muscle weakness or muscle aches"), "checkpoint", CHECKPOINT, True),
    Question("flushing_itching", _("Flushing or itching"), "checkpoint", CHECKPOINT, also_for=(ANTIBODY, CELL_VACCINE)),
    Question("wheezing", _("Wheezing"), "checkpoint", CHECKPOINT, also_for=(ANTIBODY, CELL_VACCINE)),
    # §9 monitoring profiles (our own wording, clinical-rules §6).
    Question("less_urine", _("Passing much less urine than usual"), "profile", IL2, True),
    Question("very_drowsy", _("Very drowsy, or hard to keep awake"), "profile", IL2, True,
             also_for=(ONCOLYTIC_VIRUS,)),
    Question("low_mood", _("Feeling low or hopeless, or lost interest in things you usually enjoy"), "profile",
             INTERFERON, True,
             about_text=_("%(name)s seems low or hopeless, or has lost interest in things they usually enjoy")),
    Question("harm_thoughts", _("Thoughts of harming yourself or someone else"), "profile", INTERFERON, True,
             about_text=_("%(name)s has spoken of harming themselves or someone else")),
    Question("swollen_painful_limb", _("A leg or arm that is swollen and painful"), "profile", IMMUNOMODULATOR, True),
    Question("hands_feet_numbness", _("Numbness or tingling in the hands or feet"), "profile", IMMUNOMODULATOR, True),
    Question("painful_blisters", _("Painful blisters on the skin or around the mouth"), "profile", ONCOLYTIC_VIRUS,
             True),
    Question("eye_pain_light", _("Eye pain, or eyes that hurt in bright light"), "profile", ONCOLYTIC_VIRUS, True),
    Question("flu_like", _("Flu-like symptoms: feverish, chills, aches or heavy tiredness"), "profile",
             INTRAVESICAL_BCG, True),
    Question("unusual_bleeding", _("Bleeding that is unusual or will not stop (nose, gums, urine, stool, vomit)"),
             "profile", BEVACIZUMAB, True),
    Question("drove_since_last", _("Have you driven or used heavy machinery since your last check-in?"), "driving", DRIVING,
             about_text=_("Has %(name)s driven or used heavy machinery since the last check-in?"), warning_sign=False),
)

YES_NO_FIELDS: tuple[str, ...] = tuple(q.field for q in YES_NO_QUESTIONS)


@dataclass(frozen=True)
class IceItem:
    """One yes/no item of the caregiver-run ICE screen (clinical-rules §2, ASTCT ICE): the page asks each item
    and the server adds them up into the API's sub-scores (`part`), so no one has to count points."""

    field: str
    part: str  # ice_orientation (4 items), ice_naming (3), ice_command, ice_writing, ice_counting (1 each)
    text: StrOrPromise


ICE_ITEMS: tuple[IceItem, ...] = (
    IceItem("ice_year", "ice_orientation", _("Says what year it is")),
    IceItem("ice_month", "ice_orientation", _("Says what month it is")),
    IceItem("ice_city", "ice_orientation", _("Says what city they are in")),
    IceItem("ice_hospital", "ice_orientation", _("Says the name of their hospital")),
    IceItem("ice_object_1", "ice_naming", _("Names a first object you point to, such as a clock")),
    IceItem("ice_object_2", "ice_naming", _("Names a second object, such as a pen")),
    IceItem("ice_object_3", "ice_naming", _("Names a third object, such as a button")),
    IceItem("ice_follows_request", "ice_command",
            _("Does what you ask, such as “Show me two fingers” or “Close your eyes and stick out "
              "your tongue”")),
    IceItem("ice_writes_sentence", "ice_writing", _("Writes a simple, whole sentence")),
    IceItem("ice_counts_back", "ice_counting", _("Counts back from 100 by tens (100, 90, 80 … down to 10)")),
)
ICE_PARTS: tuple[str, ...] = tuple(dict.fromkeys(item.part for item in ICE_ITEMS))
# Points of each sub-score: one per item (orientation 4, naming 3, the others 1; 10 in all).
ICE_PART_MAXIMA: dict[str, int] = {part: sum(1 for item in ICE_ITEMS if item.part == part) for part in ICE_PARTS}

# The check-in's other answers, as CheckIn stores them, by kind. With YES_NO_FIELDS these are all its clinical
# fields: the services, the API, the check-in page and the rules' input take their lists from here, and
# tests/tracker/test_questions.py checks that the model has exactly these.
TEMPERATURE_FIELDS: tuple[str, ...] = ("temperature_c", "temperature_entered", "temperature_unit")
VITAL_SIGN_FIELDS: tuple[str, ...] = ("heart_rate", "systolic_bp", "diastolic_bp", "spo2")
NEURO_SCORE_FIELDS: tuple[str, ...] = (*ICE_PARTS, "ice_score", "capd_score")  # ICE and CAPD (clinical-rules §2)
CHECKPOINT_FIELDS: tuple[str, ...] = ("extra_stools", "abdominal_pain", "rash_percent")  # clinical-rules §4
# §9 profiles: the weight (interleukin-2 capillary leak) and how long flu-like symptoms have lasted (BCG).
PROFILE_FIELDS: tuple[str, ...] = ("weight_kg", "flu_like_hours")
CHOICE_FIELDS: tuple[str, ...] = ("temperature_unit", "consciousness", "abdominal_pain")  # "" when unanswered
WHOLE_NUMBER_FIELDS: tuple[str, ...] = (*VITAL_SIGN_FIELDS, *NEURO_SCORE_FIELDS, "extra_stools", "rash_percent",
                                        "flu_like_hours")
CLINICAL_FIELDS: tuple[str, ...] = (
    *TEMPERATURE_FIELDS, *VITAL_SIGN_FIELDS, *YES_NO_FIELDS, "consciousness", *NEURO_SCORE_FIELDS,
    *CHECKPOINT_FIELDS, *PROFILE_FIELDS, "note",
)

# Plain names of the answers that are not yes/no questions, for the page's error messages ("Pulse: ...").
FIELD_NAMES = {
    "temperature": _("Temperature"),
    "temperature_unit": _("Temperature unit"),
    "heart_rate": _("Pulse"),
    "systolic_bp": _("Blood pressure, top number"),
    "diastolic_bp": _("Blood pressure, bottom number"),
    "spo2": _("Oxygen level"),
    "consciousness": _("How awake"),
    **{part: _("Word and memory screen") for part in ICE_PARTS},
    "extra_stools": _("Extra stools"),
    "abdominal_pain": _("Belly pain"),
    "rash_percent": _("Rash"),
    "weight_kg": _("Weight"),
    "weight_lb": _("Weight"),
    "flu_like_hours": _("Hours with flu-like symptoms"),
    "note": _("Note for the care team"),
    "recorded_at": _("Time of the readings"),
}

# Questions that are not yes/no but count toward completeness.
OTHER_REQUIRED: dict[str, str] = {
    "temperature_c": ALL,
    "consciousness": CAR_T,
    "extra_stools": CHECKPOINT,
    "abdominal_pain": CHECKPOINT,
    "rash_percent": CHECKPOINT,
    "weight_kg": IL2,
}
# The same, asked in more groups (clinical-rules §9: cetuximab's rash graded as the §4 rash).
OTHER_REQUIRED_ALSO: dict[str, tuple[str, ...]] = {"rash_percent": (CETUXIMAB,)}


# Higher layers add question groups that depend on what they track (monitoring: an active no-driving
# window, the Carvykti late-neurotoxicity period). Each provider takes a patient, returns a set of groups.
_question_group_providers: list = []


def register_question_group_provider(provider) -> None:
    if provider not in _question_group_providers:
        _question_group_providers.append(provider)


def question_groups_for(therapy_codes_and_classes: list[tuple[str, str]]) -> set[str]:
    """Which question groups apply, from (therapy code, therapy class) of the patient's active courses."""
    groups = {ALL}
    for code, klass in therapy_codes_and_classes:
        groups.add(klass)
        if klass in (T_CELL_ENGAGER, TCR_TIL):  # clinical-rules §8: CRS and ICANS as after CAR T
            groups.add(CAR_T)
        elif klass == CYTOKINE:  # §9: interleukin-2 and interferon have different signs; unknown: both
            if code in IL2_CODES:
                groups.add(IL2)
            elif code in INTERFERON_CODES:
                groups.add(INTERFERON)
            else:
                groups |= {IL2, INTERFERON}
        if code in PRODUCT_GROUPS:
            groups.add(PRODUCT_GROUPS[code])
    return groups


def extra_question_groups(patient) -> set[str]:
    extra: set[str] = set()
    for provider in _question_group_providers:
        extra |= provider(patient)
    return extra


def required_fields(question_groups: set[str]) -> list[str]:
    fields = [q.field for q in YES_NO_QUESTIONS if q.required and q.asked_in(question_groups)]
    fields += [f for f, group in OTHER_REQUIRED.items()
               if group in question_groups or any(g in question_groups for g in OTHER_REQUIRED_ALSO.get(f, ()))]
    return fields


def questions_for(question_groups: set[str]) -> list[Question]:
    return [q for q in YES_NO_QUESTIONS if q.asked_in(question_groups)]


# --- Reading the answers: temperature units and typed numbers. Temperatures are stored in °C to one decimal:
# 100.4 °F is exactly 38.0 °C (clinical-rules §1).
ONE_DECIMAL = Decimal("0.1")


def fahrenheit_to_celsius(value: Decimal) -> Decimal:
    return ((Decimal(value) - 32) * 5 / 9).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def celsius_to_fahrenheit(value: Decimal) -> Decimal:
    return (Decimal(value) * 9 / 5 + 32).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def default_temperature_unit(center_time_zone: str, language: str) -> str:
    """The unit a patient who has not chosen one sees first: °F for English readers at a center in the
    Americas (US thermometers), otherwise °C (Spanish-speaking patients mostly read °C). The patient's choice
    on the check-in page overrides it (Patient.temperature_unit)."""
    return "F" if center_time_zone.startswith("America/") and language == "en" else "C"


def parse_decimal_text(value: str) -> str:
    """A number typed on a page, with either decimal mark: "37,2" and "37.2" are both 37.2 (Spanish pages
    show "38,6"). Anything else is returned unchanged, for the validator to refuse."""
    text = value.strip().replace(" ", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return text
