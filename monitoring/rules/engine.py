"""Entry points: evaluate a check-in, merge findings per condition, compose the patient instruction, and say when
the next check-in is expected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .crs import evaluate_crs
from .driving import driving_finding
from .icans import evaluate_carvykti_late, evaluate_icans
from .irae import INFUSION_REACTION_DAYS, diarrhea_grade, evaluate_irae
from .messages import ALSO, Message, Translate, render_message
from .policy import Policy
from .profiles import Profiles, evaluate_profiles
from .trends import evaluate_trends
from .types import (
    ANTIBODY,
    CAR_T,
    CELL_VACCINE,
    CHECKPOINT,
    CYTOKINE,
    IMMUNOMODULATOR,
    INTRAVESICAL_BCG,
    ONCOLYTIC_VIRUS,
    T_CELL_ENGAGER,
    TCR_TIL,
    CheckinInput,
    EvaluationContext,
    Finding,
    FollowUp,
    Urgency,
    collect,
    graded_title,
)

SRC_URGENCY = "clinical-rules Urgency levels"


@dataclass(frozen=True, slots=True)
class Therapies:
    """What the rules need of a patient's therapies: the days since the most recent CAR T infusion (and
    Carvykti's), whether a checkpoint inhibitor is given, whether a dose was within a day (§4), and which §8/§9
    monitoring profiles apply (``profiles``)."""

    car_t_days: int | None = None
    carvykti_days: int | None = None
    checkpoint: bool = False
    infusion_window: bool = False
    # The §8/§9 monitoring profiles (monitoring/rules/profiles.py).
    profiles: Profiles = Profiles()


def _earliest(current: int | None, days: int) -> int:
    return days if current is None or days < current else current


# §9: the two cytokines, told apart by product code (an unknown cytokine gets both profiles); the questions
# do the same (tracker.questions IL2_CODES, INTERFERON_CODES; a test keeps them equal).
IL2_PRODUCTS = frozenset({"aldesleukin"})
INTERFERON_PRODUCTS = frozenset({"interferon_alfa_2b"})
LIFILEUCEL = "lifileucel"


def _within_a_day(days_since_last_dose: int | None) -> bool:
    """§4 "during or within a day of an infusion"."""
    return days_since_last_dose is not None and 0 <= days_since_last_dose <= INFUSION_REACTION_DAYS


def therapies_of(ctx: EvaluationContext) -> Therapies:
    car_t_days: int | None = None
    carvykti_days: int | None = None
    engager_days: int | None = None
    checkpoint = infusion_window = False
    flags: dict[str, bool] = {}
    for therapy in ctx.therapies:
        klass, product, last = therapy.therapy_class, therapy.product, therapy.days_since_last_dose
        if klass == CAR_T:
            car_t_days = _earliest(car_t_days, therapy.days_since_start)
            if product == "carvykti":
                carvykti_days = _earliest(carvykti_days, therapy.days_since_start)
        elif klass == CHECKPOINT:
            checkpoint = True
            if _within_a_day(last):  # §4 within a day of an infusion
                infusion_window = True
        elif klass in (T_CELL_ENGAGER, TCR_TIL):
            # §8: CRS and ICANS as after CAR T, days counted from the most recent dose
            engager_days = _earliest(engager_days, therapy.days_since_start if last is None else last)
            if klass == T_CELL_ENGAGER:
                flags["t_cell_engager"] = True
            elif product == LIFILEUCEL:
                flags["lifileucel"] = True
        elif klass == ANTIBODY:
            flags["antibody_infusion_window"] = flags.get("antibody_infusion_window", False) or _within_a_day(last)
            if product in ("cetuximab", "bevacizumab"):
                flags[product] = True
        elif klass == CELL_VACCINE:
            flags["sipuleucel_infusion_window"] = (flags.get("sipuleucel_infusion_window", False)
                                                   or _within_a_day(last))
        elif klass == CYTOKINE:
            if product not in INTERFERON_PRODUCTS:
                flags["il2"] = True
            if product not in IL2_PRODUCTS:
                # §9: "during treatment and up to 6 months after the last dose": the course stays active
                # (and its questions asked) until 6 months after the last dose
                flags["interferon"] = True
        elif klass == IMMUNOMODULATOR:
            flags["immunomodulator"] = True
        elif klass == ONCOLYTIC_VIRUS:
            flags["tvec"] = True
        elif klass == INTRAVESICAL_BCG:
            flags["bcg"] = True
    return Therapies(car_t_days, carvykti_days, checkpoint, infusion_window,
                     Profiles(engager_days=engager_days, **flags))


def evaluate(checkin: CheckinInput, ctx: EvaluationContext) -> list[Finding]:
    """All findings of one check-in, at most one per condition, most urgent first."""
    therapies = therapies_of(ctx)
    found: list[Finding] = []
    cell_days = therapies.car_t_days
    engager_days = therapies.profiles.engager_days
    if engager_days is not None:  # §8: graded by §1/§2 exactly as after CAR T, from the most recent dose
        cell_days = _earliest(cell_days, engager_days)
    if cell_days is not None:
        found += evaluate_crs(checkin, ctx, cell_days)
        found += evaluate_icans(checkin, ctx)
        if therapies.carvykti_days is not None:
            found += collect((evaluate_carvykti_late(checkin, ctx, therapies.carvykti_days),))
    if therapies.checkpoint:
        found += evaluate_irae(checkin, ctx, car_t=cell_days is not None,
                               infusion_window=therapies.infusion_window)
    found += evaluate_profiles(checkin, ctx, therapies.profiles)
    found += evaluate_trends(checkin, ctx)
    found += collect((driving_finding(checkin, ctx),))
    if len(found) < 2:
        return found
    return merge_findings(found)


def _rank(finding: Finding) -> tuple[int, int]:
    return (finding.urgency, finding.min_grade or 0)


def _merge(condition: str, group: list[Finding]) -> Finding:
    """The most urgent (then highest grade) finding of a condition, with the others' rationale (tagged with
    their rule and urgency), evidence, grade and sources folded in."""
    winner = max(group, key=_rank)
    grade = winner.min_grade
    evidence: dict[str, object] = {}
    notes = [winner.staff_rationale]
    rationale: tuple[Message, ...] = (*winner.rationale, (ALSO, {}))
    sources = [winner.source]
    for finding in group:
        if finding is winner:
            continue
        if finding.min_grade is not None and (grade is None or finding.min_grade > grade):
            grade = finding.min_grade
        evidence.update(finding.evidence)
        note = f"{finding.staff_rationale} [{finding.rule_id}, {Urgency(finding.urgency).label}]"
        if note not in notes:
            notes.append(note)
            rationale += finding.rationale
        if finding.source not in sources:
            sources.append(finding.source)
    evidence.update(winner.evidence)
    return Finding(
        condition=condition,
        title=winner.title if grade == winner.min_grade else graded_title(condition, grade),
        min_grade=grade,
        grading_system=winner.grading_system,
        urgency=winner.urgency,
        patient_instruction=winner.patient_instruction,
        staff_rationale=notes[0] + "; also: " + "; ".join(notes[1:]),
        rule_id=winner.rule_id,
        source="; ".join(sources),
        evidence=evidence,
        rationale_messages=rationale,
        instruction_params=winner.instruction_params,
    )


def merge_findings(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per condition: the most urgent (then highest grade) wins; the others' rationale and
    evidence are folded into it so nothing is lost. Result sorted most urgent first (stable)."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.condition, []).append(finding)
    merged = [group[0] if len(group) == 1 else _merge(condition, group) for condition, group in groups.items()]
    merged.sort(key=lambda finding: -finding.urgency)
    return merged


def highest_urgency(findings: Iterable[Finding]) -> Urgency:
    return Urgency(max((finding.urgency for finding in findings), default=Urgency.NONE))


# clinical-rules "Urgency levels" table: what the patient is told.
_HEADLINES = {
    Urgency.EMERGENCY: "Call 911 or go to the emergency department now, then call your care team at {phone}.",
    Urgency.URGENT: "Call your care team now at {phone}. This number is answered 24 hours a day, 7 days a week.",
    Urgency.SAME_DAY: "Your care team will call you today. If you feel worse before then, call them sooner at {phone}.",
    Urgency.ROUTINE: "Thank you. Your answers are saved and your care team will review them at your next visit. "
    "If anything gets worse, call {phone}.",
    Urgency.NONE: "Thank you, nothing in this check-in needs action now. If you feel unwell or something "
    "changes, call your care team at {phone}.",
}


def instruction_messages(findings: Iterable[Finding], center_phone: str) -> list[tuple[str, dict[str, str]]]:
    """What the patient is told, as message keys with their parameters, so it can be shown in whatever
    language the reader has chosen: the headline for the highest urgency (with the center's 24/7 number),
    then the distinct instructions of the findings at that level. The keys are the English texts, which
    monitoring/rules_messages.py lists for translation."""
    findings = list(findings)
    return _messages(highest_urgency(findings), [(finding.urgency, finding.patient_instruction,
                                                  finding.instruction_params) for finding in findings],
                     center_phone)


def instruction_messages_from_stored(urgency: int, findings: Iterable[Mapping[str, str]], center_phone: str,
                                     ) -> list[tuple[str, dict[str, str]]]:
    """The same from a stored assessment: its urgency and its findings as `Finding.to_dict()` wrote them."""
    return _messages(Urgency(urgency), [(Urgency.from_label(finding["urgency"]), finding["patient_instruction"],
                                         _stored_params(finding)) for finding in findings],
                     center_phone)


def _stored_params(finding: Mapping[str, object]) -> dict[str, str]:
    params = finding.get("instruction_params")
    return {str(name): str(value) for name, value in params.items()} if isinstance(params, Mapping) else {}


def _messages(top: Urgency, instructions: list[tuple[int, str, Mapping[str, str]]], center_phone: str,
              ) -> list[tuple[str, dict[str, str]]]:
    parts: list[tuple[str, dict[str, str]]] = [(_HEADLINES[top], {"phone": center_phone})]
    if top > Urgency.NONE:
        seen = {_HEADLINES[top]}
        for urgency, text, params in instructions:
            if urgency == top and text not in seen:
                seen.add(text)
                parts.append((text, dict(params)))
    return parts


def _unchanged(text: str) -> str:
    return text


def render_instruction(messages: Iterable[Sequence[object]], translate: Translate | None = None) -> list[str]:
    """The paragraphs of an instruction: each message translated (e.g. with Django's gettext, in the
    language active when it is shown), then its parameters filled in."""
    paragraphs: list[str] = []
    for msg in messages:
        text = render_message(msg, translate or _unchanged)
        if text not in paragraphs:
            paragraphs.append(text)
    return paragraphs


def patient_instruction(findings: Iterable[Finding], center_phone: str, translate: Translate | None = None) -> str:
    """Top-level plain-language instruction as one text (paragraphs separated by a blank line). `translate`
    (e.g. Django's gettext) maps each English message to the patient's language; the engine itself stays
    free of any framework."""
    return "\n\n".join(render_instruction(instruction_messages(findings, center_phone), translate))


HEADLINES = _HEADLINES


def followups(checkin: CheckinInput, ctx: EvaluationContext) -> list[FollowUp]:
    """Scheduled re-asks triggered by this check-in."""
    policy = ctx.policy
    therapies = therapies_of(ctx)
    found: list[FollowUp] = []
    if therapies.checkpoint and diarrhea_grade(checkin)[0] == 1:
        # §4: grade 1 diarrhea -> re-ask every 3 days (ASCO 2021)
        found.append(
            FollowUp(
                kind="irae_diarrhea_reask",
                due_in_days=policy.irae_diarrhea_reask_days,
                reason=f"Grade 1 diarrhea ({checkin.extra_stools} stools/day above usual) on a checkpoint "
                "inhibitor: ask again",
                source="clinical-rules §4 (ASCO 2021)",
            )
        )
    days = therapies.carvykti_days
    limit = policy.carvykti_late_neuro_days
    if days is not None and days < limit:
        # §2: weekly late-neurotoxicity questions through day 100
        found.append(
            FollowUp(
                kind="carvykti_late_neuro_questions",
                due_in_days=max(1, min(policy.carvykti_late_neuro_interval_days, limit - days)),
                reason=f"Carvykti day {days}: weekly late-neurotoxicity questions through day {limit}",
                source="clinical-rules §2 Carvykti late neurotoxicity",
            )
        )
    return found


# --- How often a check-in is expected (pure): daily through the CAR T daily period (clinical-rules §3:
# daily monitoring for at least the first 7 days; the tracker keeps it through the peak-risk window), then
# every `checkin_interval_days` (center policy), which also applies to checkpoint inhibitors.


def checkin_interval_days(car_t_days_since_infusion: Iterable[int], has_active_course: bool,
                          policy: Policy) -> int | None:
    """1 during the CAR T daily period, the policy interval otherwise; None without an active course."""
    if not has_active_course:
        return None
    if any(0 <= days < policy.car_t_daily_checkin_days for days in car_t_days_since_infusion):
        return 1
    return policy.checkin_interval_days


def next_expected_date(last_logged: date | None, today: date, interval_days: int) -> date:
    """The local date the next check-in is expected: today when none is recent enough, else after the
    interval from the last complete one (a day already logged moves the expectation on)."""
    if last_logged is None or last_logged + timedelta(days=interval_days) <= today:
        return today if last_logged != today else today + timedelta(days=interval_days)
    return last_logged + timedelta(days=interval_days)
