"""Plain words for clinicians: what an alert is about, why it fired and what happened to it, without rule
ids, "[crs.fever, urgent]" tags, status codes or ISO timestamps. The rule ids and clinical-rules sources stay
available behind a "Why" disclosure on the pages (`why_rules`).

The phrases name what the rules in monitoring/rules/ look for; the numbers in them are those of
../shared/clinical-rules.md (fever is 38.0 °C or more, §1 and §4)."""

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring.rules import Urgency
from monitoring.rules.messages import render_history, render_rationale
from monitoring.staff import format_time
from monitoring.urgency import urgency_word

# Signs of possible grade >= 2 CRS (clinical-rules §1; monitoring/rules/crs.py `grade2_signs`), by rule suffix.
CRS_SIGNS = {
    "dizziness": gettext_lazy("dizziness or fainting"),
    "shortness_of_breath": gettext_lazy("new shortness of breath"),
    "low_blood_pressure": gettext_lazy("low blood pressure"),
    "low_oxygen": gettext_lazy("low oxygen"),
    "on_oxygen": gettext_lazy("using oxygen"),
    "persistent_fast_pulse": gettext_lazy("a fast pulse that persists"),
}

RULE_PHRASES = {
    "crs.fever": gettext_lazy("Fever ≥ 38 °C after CAR T"),  # §1
    "crs.call_now_symptom": gettext_lazy("A call-now symptom from the CAR T wallet card"),  # §1
    "icans.ice_6_or_less": gettext_lazy("ICE screen 6/10 or lower"),  # §2
    "icans.ice_drop": gettext_lazy("ICE screen below the patient's baseline"),
    "icans.ice_falling": gettext_lazy("ICE screen falling since the last check-in"),
    "icans.capd_9_or_more": gettext_lazy("Child's delirium score (CAPD) 9 or more"),
    "icans.capd_1_to_8": gettext_lazy("Child's delirium score (CAPD) 1 to 8"),
    "icans.consciousness": gettext_lazy("Hard to wake"),
    "icans.drowsiness": gettext_lazy("New drowsiness"),
    "icans.seizure": gettext_lazy("Seizure"),
    "icans.seizure_prolonged": gettext_lazy("Seizure over 5 minutes or repeated"),
    "icans.focal_weakness": gettext_lazy("Weakness of one side of the body or both legs"),
    "icans.neuro_symptom": gettext_lazy("New confusion, agitation, trouble speaking or loss of balance"),
    "icans.tremor": gettext_lazy("New tremor after CAR T"),
    "carvykti.late_neuro_sign": gettext_lazy("New movement, handwriting, mood or face change after Carvykti"),
    "irae.diarrhea_colitis": gettext_lazy("Diarrhea on a checkpoint inhibitor"),
    "irae.rash": gettext_lazy("Rash on a checkpoint inhibitor"),
    "irae.rash_blisters": gettext_lazy("Rash with blisters, peeling or sores on a checkpoint inhibitor"),
    "irae.pneumonitis": gettext_lazy("New cough or breathlessness on a checkpoint inhibitor"),
    "irae.pneumonitis_emergency": gettext_lazy("Breathless at rest, chest pain or low oxygen on a checkpoint inhibitor"),
    "irae.liver": gettext_lazy("Signs of liver inflammation on a checkpoint inhibitor"),
    "irae.endocrine": gettext_lazy("Signs of hormone-gland inflammation on a checkpoint inhibitor"),
    "irae.endocrine_urgent": gettext_lazy("Hormone-gland signs with confusion or fainting on a checkpoint inhibitor"),
    "irae.heart_muscle": gettext_lazy("Racing heart, chest pain or muscle weakness on a checkpoint inhibitor"),
    "irae.fever": gettext_lazy("Fever ≥ 38 °C on a checkpoint inhibitor"),  # §4
    "irae.infusion_reaction": gettext_lazy("Reaction within a day of an infusion"),
    "irae.infusion_reaction_breathing": gettext_lazy("Trouble breathing within a day of an infusion"),
    "trend.temperature_rising": gettext_lazy("Temperature rising over several check-ins"),
    "trend.heart_rate_climbing": gettext_lazy("Heart rate climbing over several check-ins"),
    "trend.symptom_worsening": gettext_lazy("A symptom worse day after day"),
    "driving.drove_in_window": gettext_lazy("Drove during the no-driving window"),
    # Device readings (clinical-rules §10): the two conditions only devices raise.
    "stream.spo2_below_90": gettext_lazy("Low oxygen on a pulse oximeter: below 90 %"),
    "stream.spo2_low": gettext_lazy("Low oxygen on a pulse oximeter"),
    "stream.device_silence_urgent": gettext_lazy("A monitoring device has sent no readings for a long time"),
    "stream.device_silence": gettext_lazy("A monitoring device stopped sending readings"),
}

# What merge_findings (monitoring/rules/engine.py) appends to a folded-in finding's rationale.
_RULE_TAG = re.compile(r"\s*\[([a-z0-9_]+\.[a-z0-9_]+), (" + "|".join(level.label for level in Urgency) + r")\]")
_ESCALATION_STEP = re.compile(r"\((primary_nurse|charge_nurse|physician)\)")
ESCALATED_TO = {
    "primary_nurse": gettext_lazy("the nurse on call"), "charge_nurse": gettext_lazy("the charge nurse"),
    "physician": gettext_lazy("the physician on call"),
}


def tagged_rules(text: str) -> list[str]:
    return [m.group(1) for m in _RULE_TAG.finditer(text or "")]


def plain_rationale(text: str) -> str:
    """The stored rationale without the rules engine's "[rule.id, urgency]" tags."""
    return _RULE_TAG.sub("", text or "").strip()


def _clock(zone=None):
    """How a rationale's moments read (device readings' times, clinical-rules §10): the center's clock (the
    active time zone unless `zone` is given) with the zone's abbreviation, date parts in the active language,
    "12 Feb 14:05 EST", as every other time staff read."""
    return lambda moment: format_time(moment, "datetime", zone)


def alert_rationale(alert, zone=None) -> str:
    """Why the alert fired, latest finding first, in the reader's language (the active one) and on the center's
    clock: its message keys translated, or its stored English text for an alert stored before the keys existed
    (kept as the earliest entry when later findings added keys). Without the rules' tags either way."""
    if alert.rationale_messages:
        return plain_rationale(render_history(alert.rationale_messages, translate=_, format_time=_clock(zone)))
    return plain_rationale(alert.rationale)


def finding_rationale(stored: dict, zone=None) -> str:
    """Why one finding (an alert's evidence entry, or an assessment's finding) fired, in the reader's language
    and on the center's clock; its stored text when it has no message keys."""
    messages = stored.get("rationale_messages")
    if messages:
        return plain_rationale(render_rationale(messages, translate=_, format_time=_clock(zone)))
    return plain_rationale(stored.get("rationale") or stored.get("staff_rationale") or "")


def _signs(rule_ids, prefix: str) -> list:
    return [CRS_SIGNS[r.removeprefix(prefix)] for r in rule_ids
            if r.startswith(prefix) and r.removeprefix(prefix) in CRS_SIGNS]


def _rule_phrase(rule_ids: list[str]) -> str:
    """Words for one rule, or for the CRS fever-with-sign rules together (clinical-rules §1)."""
    with_fever = _signs(rule_ids, "crs.fever_with_")
    if with_fever:
        return _("Fever ≥ 38 °C with %(signs)s after CAR T") % {"signs": _join(with_fever)}
    after_toci = _signs(rule_ids, "crs.after_tocilizumab_")
    if after_toci:
        return _("%(signs)s after tocilizumab or steroids (fever no longer required)") % {
            "signs": _capital(_join(after_toci))}
    without_fever = _signs(rule_ids, "crs.sign_without_fever_")
    if without_fever:
        return _("%(signs)s without fever after CAR T") % {"signs": _capital(_join(without_fever))}
    phrases = [str(RULE_PHRASES[r]) for r in rule_ids if r in RULE_PHRASES]
    return phrases[0] if phrases else ""


def _join(items) -> str:
    items = [str(i) for i in items]
    if len(items) < 2:
        return "".join(items)
    return _("%(first)s and %(last)s") % {"first": ", ".join(items[:-1]), "last": items[-1]}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def grade_phrase(condition: str, grading_system: str, min_grade) -> str:
    if not min_grade:
        return ""
    if condition == "crs" or grading_system == "ASTCT CRS":
        return _("signs of at least grade %(grade)s CRS") % {"grade": min_grade}
    if grading_system == "ASTCT ICANS":
        return _("signs of at least grade %(grade)s ICANS") % {"grade": min_grade}
    return _("signs of at least CTCAE grade %(grade)s") % {"grade": min_grade}


def alert_headline(*, condition: str, rule_ids, min_grade, grading_system: str, title: str,
                   rationale: str = "") -> str:
    """"Fever ≥ 38 °C after CAR T — signs of at least grade 1 CRS": what was found, in words, and the grade.
    The most specific rule decides the words: a fever with a grade-2 sign over the fever alone."""
    rules = [*(rule_ids or []), *tagged_rules(rationale)]
    rules = sorted(set(rules), key=_specificity)
    what = ""
    for rule in rules:
        same_kind = [r for r in rules if r.startswith("crs.fever_with_")] if rule.startswith("crs.fever_with_") \
            else [rule]
        what = _rule_phrase(same_kind)
        if what:
            break
    if not what:
        return title
    grade = grade_phrase(condition, grading_system, min_grade)
    return f"{what} — {grade}" if grade else what


def _specificity(rule: str) -> tuple[int, str]:
    order = ("crs.fever_with_", "crs.after_tocilizumab_", "icans.seizure_prolonged", "icans.seizure",
             "icans.focal_weakness", "icans.consciousness", "icans.ice_6", "icans.capd_9", "irae.pneumonitis_emergency",
             "irae.infusion_reaction_breathing", "irae.endocrine_urgent", "irae.rash_blisters", "crs.fever",
             "irae.fever", "stream.spo2_below_90", "stream.device_silence_urgent")
    for n, prefix in enumerate(order):
        if rule.startswith(prefix):
            return (n, rule)
    return (len(order), rule)


def alert_headline_of(alert) -> str:
    return alert_headline(condition=alert.condition, rule_ids=alert.rule_ids, min_grade=alert.min_grade,
                          grading_system=alert.grading_system, title=alert.title, rationale=alert.rationale)


def why_rules(alert) -> list[str]:
    """Every rule id behind an alert: its own and those folded into its rationale."""
    return sorted({*(alert.rule_ids or []), *tagged_rules(alert.rationale)})


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def call_sentence(event, *, with_time: bool = True) -> str:
    """"Nora Quinn called the caregiver at 03:12 EST: advised to call 911 or go to the emergency department"."""
    params = {"name": _name(event.actor) or _("Someone"), "whom": event.get_call_with_display(),
              "outcome": event.get_call_outcome_display(), "time": format_time(event.at)}
    if with_time:
        return _("%(name)s called %(whom)s at %(time)s: %(outcome)s") % params
    return _("%(name)s called %(whom)s: %(outcome)s") % params


def event_sentence(event, *, with_time: bool = True) -> str:
    """One line of an alert's history, e.g. "Opened by the rules at 14:05 EST", "Acknowledged by Ana Ruiz at
    14:09 EST". Times on the active (center's) clock; `with_time=False` where the time stands beside it."""
    kind, name = event.kind, _name(event.actor)
    params: dict[str, object] = {"name": name, "time": format_time(event.at), "old": urgency_word(event.old_urgency),
              "new": urgency_word(event.new_urgency)}
    if kind == "opened":
        text = _("Opened by the rules at %(time)s") if with_time else _("Opened by the rules")
    elif kind == "evidence":
        text = _("Another check-in added to it at %(time)s") if with_time else _("Another check-in added to it")
    elif kind == "urgency_raised":
        text = (_("Raised from %(old)s to %(new)s by a check-in at %(time)s") if with_time
                else _("Raised from %(old)s to %(new)s by a check-in"))
    elif kind == "reopened":
        text = (_("Reopened at %(time)s: now %(new)s, worse than when it was acknowledged") if with_time
                else _("Reopened: now %(new)s, worse than when it was acknowledged"))
    elif kind == "escalated":
        step = _ESCALATION_STEP.search(event.note or "")
        params["whom"] = ESCALATED_TO[step.group(1)] if step else _("the next person on call")
        text = (_("Not acknowledged in time: escalated to %(whom)s at %(time)s") if with_time
                else _("Not acknowledged in time: escalated to %(whom)s"))
    elif kind == "acknowledged":
        text = _("Acknowledged by %(name)s at %(time)s") if with_time else _("Acknowledged by %(name)s")
    elif kind == "resolved":
        text = _("Resolved by %(name)s at %(time)s") if with_time else _("Resolved by %(name)s")
    elif kind == "call":
        return call_sentence(event, with_time=with_time)
    else:
        text = "%(kind)s at %(time)s" if with_time else "%(kind)s"
        params["kind"] = event.get_kind_display()
    return text % params


def event_note(event) -> str:
    """The note worth showing under an event: what a person wrote. The rules' own events carry the finding's
    words, which the page shows once, with the check-ins behind the alert; an escalation's sentence says it all."""
    if event.actor_id is None:
        return ""
    return plain_rationale(event.note)
