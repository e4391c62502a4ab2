"""The check-in page's own work between the browser's form and the API's input serializer (so the page and the
API give the same answer for the same values): reading the form (ticked boxes, the yes/no items of the ICE
screen, either decimal mark, the "I feel the same as usual" check-in), naming every error with its question in
plain words, and the summary of everything recorded that the result page shows.

The API stays strict (JSON numbers, sub-scores of the ICE screen); the page is forgiving with what people type.
"""

from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tracker.api.serializers import CheckInInputSerializer
from tracker.models.checkins import TEMPERATURE_C_MAX as C_MAX
from tracker.models.checkins import TEMPERATURE_C_MIN as C_MIN
from tracker.models.checkins import AbdominalPain, Consciousness
from tracker.questions import (
    CAR_T,
    CETUXIMAB,
    CHECKPOINT,
    CHOICE_FIELDS,
    FIELD_NAMES,
    ICE_ITEMS,
    ICE_PARTS,
    SECTIONS,
    SECTIONS_ABOUT,
    VITAL_SIGN_FIELDS,
    YES_NO_FIELDS,
    YES_NO_QUESTIONS,
    Question,
    celsius_to_fahrenheit,
    parse_decimal_text,
    questions_for,
)

NUMBER_FIELDS = (*VITAL_SIGN_FIELDS, "extra_stools", "rash_percent", "weight_kg", "weight_lb",
                 "flu_like_hours")  # typed (ICE: its items)
TEXT_FIELDS = (*CHOICE_FIELDS, "note", "recorded_at")
# What a typed number looks like, in the error that asks for one.
EXAMPLES = {"heart_rate": "72", "systolic_bp": "120", "diastolic_bp": "80", "spo2": "97", "extra_stools": "2",
            "rash_percent": "3", "weight_kg": "70.5", "weight_lb": "155", "flu_like_hours": "24"}
F_LOW, F_HIGH = celsius_to_fahrenheit(Decimal(str(C_MIN))), celsius_to_fahrenheit(Decimal(str(C_MAX)))
SAME_AS_USUAL = "same_as_usual"


@dataclass
class FormReading:
    values: dict  # the API's input
    shown: dict  # what to put back in the form if it comes back with errors (as typed)
    ice: dict  # ICE item -> "1" / "0", as answered
    errors: dict  # what is wrong before the serializer looks (the ICE screen, the short check-in)
    same_as_usual: bool


def read_form(post, question_groups: set[str], *, waiting: frozenset[str] = frozenset()) -> FormReading:
    """Turn the page's form into the API's input: ticked boxes are yes, unticked are no; the ICE items become
    its sub-scores; "37,2" is 37.2. The short "I feel the same as usual" form answers every warning sign no
    and the other required questions with their usual values; it still needs the temperature, and the answers
    a pending follow-up is `waiting` on (the stools of a re-asked diarrhea), asked on it and never assumed."""
    values: dict = {}
    shown: dict = {}
    errors: dict[str, list[str]] = {}
    for name in ("temperature", *NUMBER_FIELDS, *TEXT_FIELDS):
        value = post.get(name, "").strip()
        if value != "":
            shown[name] = value
            values[name] = parse_decimal_text(value) if name == "temperature" or name in NUMBER_FIELDS else value
    asked = set(post.getlist("asked"))
    for name in YES_NO_FIELDS:
        if name in asked:
            values[name] = name in post.getlist("yes")

    ice = {item.field: post.get(item.field) for item in ICE_ITEMS if post.get(item.field) in ("0", "1")}
    if ice:
        missing = [item for item in ICE_ITEMS if item.field not in ice]
        if missing:
            # One line in the list at the top; beside each item left, its own.
            errors["ice"] = [_("%(question)s: %(problem)s") % {
                "question": _("Word and memory screen"),
                "problem": ngettext(
                    "%(count)s question has no answer yet. Tap Yes or No for it, or leave the whole screen empty.",
                    "%(count)s questions have no answer yet. Tap Yes or No for each, or leave the whole screen "
                    "empty.", len(missing)) % {"count": len(missing)}}]
        for item in missing:
            errors[item.field] = [_("%(question)s: %(problem)s") % {
                "question": item.text, "problem": _("tap Yes or No, or leave the whole screen empty.")}]
        if not missing:
            for part in ICE_PARTS:
                values[part] = sum(int(ice[item.field]) for item in ICE_ITEMS if item.part == part)

    same = post.get(SAME_AS_USUAL) == "1"
    if same:
        _read_waiting(post, waiting, values, shown, errors)
        usual: dict[str, object] = {q.field: False for q in questions_for(question_groups) if q.warning_sign}
        if CAR_T in question_groups:
            usual["consciousness"] = Consciousness.ALERT
        if CHECKPOINT in question_groups:
            usual.update(extra_stools=0, abdominal_pain=AbdominalPain.NONE, rash_percent=0)
        if CETUXIMAB in question_groups:  # clinical-rules §9: cetuximab's rash, as the §4 rash
            usual.update(rash_percent=0)
        for name, value in usual.items():
            if name not in waiting:
                values.setdefault(name, value)
        if "temperature" not in values:
            errors["temperature"] = [_("%(question)s: %(problem)s") % {
                "question": _("Temperature"),
                "problem": _("please take it and type it in; the short check-in needs it. If you cannot take "
                             "it, answer all the questions instead.")}]
    return FormReading(values=values, shown=shown, ice=ice, errors=errors, same_as_usual=same)


def _read_waiting(post, waiting, values: dict, shown: dict, errors: dict) -> None:
    """The short check-in's answers to what a pending follow-up waits on: each must be given (a yes/no as "1"
    or "0", a count typed), since the usual answer would close the follow-up without asking."""
    questions = {q.field: q for q in YES_NO_QUESTIONS}
    for name in sorted(waiting):
        if name in questions:
            answer = post.get(name)
            if answer in ("1", "0"):
                values[name], shown[name] = answer == "1", answer
                continue
            question, problem = questions[name].text, _("tap Yes or No. The care team asked about this again.")
        elif name in values:
            continue
        else:
            question = FIELD_NAMES.get(name, name)
            problem = _("please type how many, 0 if none. The care team asked about this again.")
        errors[name] = [_("%(question)s: %(problem)s") % {"question": question, "problem": problem}]


def _temperature_problem(values: dict) -> str | None:
    """A temperature outside the body's range in the unit chosen, said with how to switch the unit."""
    try:
        value = Decimal(values.get("temperature", ""))
    except (InvalidOperation, TypeError):
        return None
    unit = values.get("temperature_unit") or "C"
    if unit == "F":
        if F_LOW <= value <= F_HIGH:
            return None
        if Decimal(str(C_MIN)) <= value <= Decimal(str(C_MAX)):
            return _("%(value)s °F cannot be a body temperature, but %(value)s °C can. If the thermometer shows "
                     "°C, choose °C beside the temperature box and send again.") % {"value": number_format(value)}
        return _("please type a temperature from %(low)s to %(high)s °F (or choose °C beside the box if the "
                 "thermometer shows °C).") % {"low": number_format(F_LOW), "high": number_format(F_HIGH)}
    low, high = Decimal(str(C_MIN)), Decimal(str(C_MAX))
    if low <= value <= high:
        return None
    if F_LOW <= value <= F_HIGH:
        return _("%(value)s °C cannot be a body temperature, but %(value)s °F can. If the thermometer shows "
                 "°F, choose °F beside the temperature box and send again.") % {"value": number_format(value)}
    return _("please type a temperature from %(low)s to %(high)s °C (or choose °F beside the box if the "
             "thermometer shows °F).") % {"low": number_format(low, 1), "high": number_format(high, 1)}


def page_errors(detail: dict, codes: dict, values: dict, questions: dict[str, str]) -> dict[str, list[str]]:
    """Every error names its question in plain words, in the reader's language ("Pulse: please type a whole
    number, for example 72."), instead of the API's "A valid integer is required."."""
    fields = CheckInInputSerializer().fields
    errors: dict[str, list[str]] = {}
    for name, messages in detail.items():
        if name == "non_field_errors":
            errors[name] = [str(m) for m in messages]
            continue
        question = questions.get(name) or FIELD_NAMES.get(name) or name
        field_codes = codes.get(name, [])
        plain = []
        for index, message in enumerate(messages):
            code = field_codes[index] if index < len(field_codes) else ""
            problem = _problem(name, code, str(message), fields.get(name), values)
            plain.append(_("%(question)s: %(problem)s") % {"question": question, "problem": problem})
        errors[name] = list(dict.fromkeys(plain))
    return errors


def _problem(name: str, code: str, message: str, field, values: dict) -> str:
    if name == "temperature":
        special = _temperature_problem(values)
        if special:
            return special
        if code in ("invalid", "max_digits", "max_decimal_places", "max_whole_digits"):
            return _("please type the number the thermometer shows, for example 37.2 or 37,2.")
    if name == "weight_kg" and code in ("invalid", "max_digits", "max_decimal_places", "max_whole_digits"):
        return _("please type your weight in kilograms, for example 70.5 or 70,5.")
    if name == "weight_lb" and code in ("invalid", "max_digits", "max_decimal_places", "max_whole_digits"):
        return _("please type your weight in pounds, for example 155.")
    if name in NUMBER_FIELDS:
        low, high = getattr(field, "min_value", None), getattr(field, "max_value", None)
        if code == "invalid":
            return _("please type a whole number, for example %(example)s.") % {"example": EXAMPLES[name]}
        if code in ("min_value", "max_value", "max_string_length") and low is not None and high is not None:
            return _("please type a number from %(low)s to %(high)s.") % {"low": low, "high": high}
    if code == "invalid_choice":
        return _("please choose one of the answers.")
    if code == "max_length":
        return _("please make it shorter.")
    if code in ("invalid", "date") and name == "recorded_at":
        return _("please give the date and the time.")
    if message[:2].isupper():  # starts with an abbreviation
        return message
    return message[:1].lower() + message[1:]


def asked_questions(question_groups: set[str], *, about: str | None) -> list[Question]:
    """The yes/no questions of these question groups, worded for whoever answers (the patient, or `about` her)."""
    return [replace(q, text=q.text_for(about=about)) for q in questions_for(question_groups)]


def form_sections(questions: list[Question], question_groups: set[str], *, about: str | None) -> list[dict]:
    """The form's parts in order, numbered ("Part 2 of 6"): each with its title and yes/no questions. Parts
    with nothing to ask are left out; readings and "anything else" are always there, the word and memory
    screen for CAR T."""
    parts: list[dict[str, Any]] = []
    for key, title in SECTIONS.items():
        these = [q for q in questions if q.section == key]
        if key in ("vitals", "more") or these or (key == "ice" and CAR_T in question_groups):
            heading = SECTIONS_ABOUT[key] % {"name": about} if about and key in SECTIONS_ABOUT else title
            parts.append({"key": key, "title": str(heading), "questions": these})
    for number, part in enumerate(parts, start=1):
        part["number"], part["total"] = number, len(parts)
    return parts


# --- What was recorded, for the result page ----------------------------------------------------------------

def temperature_text(celsius, unit: str) -> str:
    """"38.6 °C (101.5 °F)", the reader's unit first, with the reader's decimal mark."""
    if celsius is None:
        return ""
    c = Decimal(celsius)
    f = celsius_to_fahrenheit(c)
    if unit == "F":
        return f"{number_format(f, 1)} °F ({number_format(c, 1)} °C)"
    return f"{number_format(c, 1)} °C ({number_format(f, 1)} °F)"


def recorded_summary(checkin, questions: list[Question], *, unit: str, flagged: set[str]) -> dict:
    """Every answer of the check-in, with units, in the reader's language: the readings and other answers
    (rows of label and value; `flag` marks those that led to the instruction), then the yes/no questions
    answered yes and no. Nothing that was recorded is left out."""
    rows = []

    def row(label, value, *fields):
        rows.append({"label": label, "value": value, "flag": any(f in flagged for f in fields)})

    if checkin.temperature_c is not None:
        row(_("Temperature"), temperature_text(checkin.temperature_c, unit), "temperature_c")
    if checkin.heart_rate is not None:
        row(_("Pulse"), _("%(count)s beats per minute") % {"count": checkin.heart_rate}, "heart_rate")
    if checkin.systolic_bp is not None:
        row(_("Blood pressure"), f"{checkin.systolic_bp}/{checkin.diastolic_bp} mmHg", "systolic_bp", "diastolic_bp")
    if checkin.spo2 is not None:
        row(_("Oxygen level"), f"{checkin.spo2} %", "spo2")
    if checkin.consciousness:
        row(_("How awake"), checkin.get_consciousness_display(), "consciousness")
    if checkin.ice_score is not None:
        row(_("Word and memory screen"), _("%(score)s of 10 (a screen, not a diagnosis)") % {"score": checkin.ice_score},
            "ice_score", *ICE_PARTS)
    if checkin.extra_stools is not None:
        row(_("Extra stools"), _("%(count)s more than usual today") % {"count": checkin.extra_stools} if checkin.extra_stools
            else _("none more than usual"), "extra_stools")
    if checkin.abdominal_pain:
        row(_("Belly pain"), checkin.get_abdominal_pain_display(), "abdominal_pain")
    if checkin.rash_percent is not None:
        row(_("Rash"), _("about %(count)s palms (about %(count)s %% of the skin)") % {"count": checkin.rash_percent}
            if checkin.rash_percent else _("no rash"), "rash_percent")
    if checkin.weight_kg is not None:
        pounds = (checkin.weight_kg * Decimal("2.20462")).quantize(Decimal("1"))
        row(_("Weight"), _("%(weight)s kg (%(pounds)s lb)") % {"weight": number_format(checkin.weight_kg, 1),
                                                               "pounds": pounds}, "weight_kg")
    if checkin.flu_like_hours is not None:
        row(_("Hours with flu-like symptoms"), str(checkin.flu_like_hours), "flu_like_hours")
    by_field = {q.field: q for q in questions}
    for q in YES_NO_QUESTIONS:  # asked then, not now (a window that has ended): still shown
        by_field.setdefault(q.field, q)
    yes = [{"text": by_field[name].text, "flag": name in flagged} for name in YES_NO_FIELDS
           if getattr(checkin, name) is True]
    no = [by_field[name].text for name in YES_NO_FIELDS if getattr(checkin, name) is False]
    return {"rows": rows, "yes": yes, "no": no}
