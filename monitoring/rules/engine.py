"""Entry points: evaluate a check-in, merge findings per condition, compose the patient instruction."""

from __future__ import annotations

from collections.abc import Iterable

from .crs import evaluate_crs
from .driving import driving_finding
from .icans import evaluate_carvykti_late, evaluate_icans
from .irae import INFUSION_REACTION_DAYS, diarrhea_grade, evaluate_irae
from .trends import evaluate_trends
from .types import CAR_T, CHECKPOINT, CheckinInput, EvaluationContext, Finding, FollowUp, Urgency, graded_title

SRC_URGENCY = "clinical-rules Urgency levels"


def evaluate(checkin: CheckinInput, ctx: EvaluationContext) -> list[Finding]:
    """All findings of one check-in, at most one per condition, most urgent first."""
    car_t_days = None
    carvykti_days = None
    checkpoint = False
    infusion_window = False
    for th in ctx.therapies:
        cls = th.therapy_class
        if cls == CAR_T:
            d = th.days_since_start
            if car_t_days is None or d < car_t_days:
                car_t_days = d
            if th.product == "carvykti" and (carvykti_days is None or d < carvykti_days):
                carvykti_days = d
        elif cls == CHECKPOINT:
            checkpoint = True
            last = th.days_since_last_dose
            if last is not None and 0 <= last <= INFUSION_REACTION_DAYS:  # §4 within a day of an infusion
                infusion_window = True

    out: list[Finding] = []
    if car_t_days is not None:
        evaluate_crs(checkin, ctx, out, car_t_days)
        evaluate_icans(checkin, ctx, out)
        if carvykti_days is not None:
            evaluate_carvykti_late(checkin, ctx, out, carvykti_days)
    if checkpoint:
        evaluate_irae(checkin, ctx, out, car_t=car_t_days is not None, infusion_window=infusion_window)
    if ctx.recent:
        evaluate_trends(checkin, ctx, out)
    if checkin.drove_since_last and ctx.driving_window_active:
        f = driving_finding(checkin, ctx)
        if f is not None:
            out.append(f)
    if len(out) < 2:
        return out
    return merge_findings(out)


def _rank(f: Finding) -> tuple[int, int]:
    return (f.urgency, f.min_grade or 0)


def merge_findings(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per condition: the most urgent (then highest grade) wins; the others' rationale and
    evidence are folded into it so nothing is lost. Result sorted most urgent first (stable)."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        g = groups.get(f.condition)
        if g is None:
            groups[f.condition] = [f]
        else:
            g.append(f)
    merged: list[Finding] = []
    for cond, group in groups.items():
        if len(group) == 1:
            merged.append(group[0])
            continue
        win = max(group, key=_rank)
        grade = win.min_grade
        evidence: dict[str, object] = {}
        notes = [win.staff_rationale]
        sources = [win.source]
        for f in group:
            if f is win:
                continue
            if f.min_grade is not None and (grade is None or f.min_grade > grade):
                grade = f.min_grade
            evidence.update(f.evidence)
            note = f"{f.staff_rationale} [{f.rule_id}, {Urgency(f.urgency).label}]"
            if note not in notes:
                notes.append(note)
            if f.source not in sources:
                sources.append(f.source)
        evidence.update(win.evidence)
        title = win.title if grade == win.min_grade else graded_title(cond, grade)
        merged.append(
            Finding(
                condition=cond,
                title=title,
                min_grade=grade,
                grading_system=win.grading_system,
                urgency=win.urgency,
                patient_instruction=win.patient_instruction,
                staff_rationale=notes[0] + "; also: " + "; ".join(notes[1:]),
                rule_id=win.rule_id,
                source="; ".join(sources),
                evidence=evidence,
            )
        )
    merged.sort(key=lambda f: -f.urgency)
    return merged


def highest_urgency(findings: Iterable[Finding]) -> Urgency:
    top = 0
    for f in findings:
        if f.urgency > top:
            top = f.urgency
    return Urgency(top)


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
    return _messages(highest_urgency(findings), [(f.urgency, f.patient_instruction) for f in findings],
                     center_phone)


def instruction_messages_from_stored(urgency: int, findings: Iterable[dict], center_phone: str,
                                     ) -> list[tuple[str, dict[str, str]]]:
    """The same from a stored assessment: its urgency and its findings as `Finding.to_dict()` wrote them."""
    return _messages(Urgency(urgency), [(Urgency.from_label(f["urgency"]), f["patient_instruction"])
                                        for f in findings], center_phone)


def _messages(top: Urgency, instructions: list[tuple[int, str]], center_phone: str,
              ) -> list[tuple[str, dict[str, str]]]:
    parts: list[tuple[str, dict[str, str]]] = [(_HEADLINES[top], {"phone": center_phone})]
    if top > Urgency.NONE:
        seen = {_HEADLINES[top]}
        for urgency, text in instructions:
            if urgency == top and text not in seen:
                seen.add(text)
                parts.append((text, {}))
    return parts


def render_instruction(messages: Iterable[tuple[str, dict[str, str]]], translate=None) -> list[str]:
    """The paragraphs of an instruction: each message translated (e.g. with Django's gettext, in the
    language active when it is shown), then its parameters filled in."""
    tr = translate or (lambda text: text)
    paragraphs: list[str] = []
    for key, params in messages:
        text = tr(key).format(**params) if params else tr(key)
        if text not in paragraphs:
            paragraphs.append(text)
    return paragraphs


def patient_instruction(findings: Iterable[Finding], center_phone: str, translate=None) -> str:
    """Top-level plain-language instruction as one text (paragraphs separated by a blank line). `translate`
    (e.g. Django's gettext) maps each English message to the patient's language; the engine itself stays
    free of any framework."""
    return "\n\n".join(render_instruction(instruction_messages(findings, center_phone), translate))


HEADLINES = _HEADLINES


def followups(checkin: CheckinInput, ctx: EvaluationContext) -> list[FollowUp]:
    """Scheduled re-asks triggered by this check-in."""
    p = ctx.policy
    out: list[FollowUp] = []
    checkpoint = False
    carvykti_days = None
    for th in ctx.therapies:
        if th.therapy_class == CHECKPOINT:
            checkpoint = True
        elif th.therapy_class == CAR_T and th.product == "carvykti":
            if carvykti_days is None or th.days_since_start < carvykti_days:
                carvykti_days = th.days_since_start
    if checkpoint:
        grade, _ = diarrhea_grade(checkin)
        if grade == 1:  # §4: grade 1 diarrhea -> re-ask every 3 days (ASCO 2021)
            out.append(
                FollowUp(
                    kind="irae_diarrhea_reask",
                    due_in_days=p.irae_diarrhea_reask_days,
                    reason=f"Grade 1 diarrhea ({checkin.extra_stools} stools/day above usual) on a checkpoint "
                    "inhibitor: ask again",
                    source="clinical-rules §4 (ASCO 2021)",
                )
            )
    if carvykti_days is not None:
        limit = p.carvykti_late_neuro_days
        if carvykti_days < limit:  # §2: weekly late-neurotoxicity questions through day 100
            out.append(
                FollowUp(
                    kind="carvykti_late_neuro_questions",
                    due_in_days=max(1, min(p.carvykti_late_neuro_interval_days, limit - carvykti_days)),
                    reason=f"Carvykti day {carvykti_days}: weekly late-neurotoxicity questions through day {limit}",
                    source="clinical-rules §2 Carvykti late neurotoxicity",
                )
            )
    return out
