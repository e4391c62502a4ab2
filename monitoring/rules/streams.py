"""Readings from connected devices (clinical-rules §10): a continuous temperature patch, a worn pulse oximeter,
a cuff. Pure Python.

The input is a time-ordered window of points per device and type (``Series``), with the device's expected
interval and temperature offset (center policy, §10 "apply an offset only if the device profile sets one",
default 0). A streaming device's value counts only when it is *sustained*: every reading over at least the
policy minutes beyond the limit, with at least the policy share of the expected readings present in the last
of those minutes (``sustained_run``), so a single spike or a short rise never alerts and a real fever alerts
within minutes. A device used now and then by hand (a thermometer, a cuff) is a measurement like a typed one:
one reading is enough (§10 "A single typed reading keeps the §1 rule").

What a sustained value means is what the same value typed into a check-in means for that patient: each
sub-rule grades it with the check-in rules (``engine.evaluate``) together with the other sustained values at the
same time, so the condition, urgency and patient instruction are a typed fever's (after CAR T or a T-cell
engager: urgent CRS, emergency with a low SpO2 or systolic BP, §1 and §8; on a checkpoint inhibitor: urgent, §4)
and the alert is the one a typed fever opens (one open alert per patient and condition). §10 adds two SpO2
rules of its own: < 90 % sustained 5 minutes is an emergency, and below the center limit (< 92 %) is graded as
§4 pneumonitis (an emergency) whatever the therapy.

Skin temperature kept as a change from a baseline is never graded (§10): the ingest accepts only absolute
temperatures, so every temperature here is absolute; °F readings arrive converted to °C.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .engine import evaluate, merge_findings
from .messages import Message, Param, at_time, message, render_rationale
from .policy import Policy
from .types import (
    EPS,
    FEVER_C,
    CheckinInput,
    EvaluationContext,
    Finding,
    RuleResult,
    Urgency,
    collect,
)

SRC_STREAM = "clinical-rules §10 readings from connected devices"
SRC_STREAM_FEVER = "clinical-rules §10: fever >= 38.0 °C (§1) sustained (minutes and coverage are center policy)"
SRC_SPO2_EMERGENCY = "clinical-rules §10: SpO2 < 90 % sustained 5 minutes → emergency"
SRC_SPO2_LOW = "clinical-rules §10: SpO2 < 92 % → as §4 pneumonitis (minutes are center policy)"

# Reading types as the rules name them (the values of the typed check-in's fields).
TEMPERATURE = "temperature_c"
HEART_RATE = "heart_rate"
SPO2 = "spo2"
SYSTOLIC = "systolic_bp"
DIASTOLIC = "diastolic_bp"

# The condition of the alert a streaming device's silence opens (closed by the "device back" event).
DEVICE_SILENCE = "device_silence"
SRC_SILENCE = "clinical-rules §10 silence: 30 min same-day, 2 h urgent (center policy)"

SPO2_EMERGENCY_BELOW = 90  # clinical-rules §10 "SpO2 < 90 % sustained 5 minutes → emergency"

_I_LOW_OXYGEN = (
    "Your oxygen monitor has shown a low oxygen level for several minutes. Call 911 or go to the emergency "
    "department now, then call your care team."
)


_I_SILENCE = (
    "Your monitoring device has stopped sending readings. Check that it is on your skin and switched on, and "
    "that your phone is near you with Bluetooth on. Your care team will call you today."
)
_I_SILENCE_URGENT = (
    "Your monitoring device has sent no readings for a long time. Check that it is on and that your phone is "
    "near you, and call your care team now, day or night."
)


@dataclass(frozen=True, slots=True)
class Point:
    measured_at: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    """One device's readings of one type, oldest first, in the type's canonical unit (°C, /min, %, mmHg), raw:
    the temperature offset is applied here."""

    type: str
    device: str  # how the evidence names the device
    points: tuple[Point, ...]
    expected_interval_seconds: int = 120
    temperature_offset_c: float = 0.0
    streams: bool = True  # a patch or worn oximeter; False for a thermometer or cuff used by hand

    def values(self) -> list[tuple[datetime, float]]:
        offset = self.temperature_offset_c if self.type == TEMPERATURE else 0.0
        return [(point.measured_at, point.value + offset) for point in self.points]


@dataclass(frozen=True, slots=True)
class Run:
    """Readings of one series beyond a limit without a break, sustained long enough: from the first to the last
    qualifying reading, how many, the share of expected readings in the minutes that made it sustained, the
    value held throughout (the least extreme reading) and the most extreme one."""

    type: str
    device: str
    first: datetime
    last: datetime
    count: int
    coverage_percent: int
    level: float
    extreme: float
    offset_c: float = 0.0
    streams: bool = True

    def overlaps(self, other: Run) -> bool:
        return self.first <= other.last and other.first <= self.last

    def evidence(self, rule: str) -> dict[str, object]:
        return {
            "stream_rule": rule, "reading_type": self.type, "device": self.device,
            "first_measured_at": self.first, "last_measured_at": self.last, "readings": self.count,
            "coverage_percent": self.coverage_percent, "sustained_value": self.level, "extreme_value": self.extreme,
            **({"temperature_offset_c": self.offset_c} if self.offset_c else {}),
        }


def sustained_run(series: Series, beyond: Callable[[float], bool], minutes: int, coverage_percent: int,
                  *, high: bool = True) -> Run | None:
    """The latest run of readings that are all ``beyond`` the limit for at least ``minutes`` (last minus first
    measured_at), with at least ``coverage_percent`` of the expected readings (``minutes`` × 60 / the device's
    interval) present in the last ``minutes`` of it. The run then goes on while readings stay beyond the limit.
    The latest, not the first: a fever that came back after one a nurse dealt with is the one to report.
    For a device used by hand, the first reading beyond the limit is enough (and its neighbours beyond it join
    it). ``high``: the limit is an upper one (the level held is the run's lowest reading), else a lower one."""
    values = series.values()
    span = minutes * 60
    interval = max(1, series.expected_interval_seconds)
    found: Run | None = None
    start = 0
    while start < len(values):
        if not beyond(values[start][1]):
            start += 1
            continue
        end = start
        while end + 1 < len(values) and beyond(values[end + 1][1]):
            end += 1
        coverage = _sustained_coverage(values, start, end, span, interval, coverage_percent, series.streams)
        if coverage is not None:
            held = [value for _, value in values[start:end + 1]]
            found = Run(series.type, series.device, values[start][0], values[end][0], end - start + 1, coverage,
                        level=min(held) if high else max(held), extreme=max(held) if high else min(held),
                        offset_c=series.temperature_offset_c if series.type == TEMPERATURE else 0.0,
                        streams=series.streams)
        start = end + 1
    return found


def _sustained_coverage(values: list[tuple[datetime, float]], start: int, end: int, span: int, interval: int,
                        coverage_percent: int, streams: bool) -> int | None:
    """The coverage (percent, at most 100) of the first window that makes readings start..end sustained, or
    None. A window is the ``span`` seconds up to one reading (excluded at its start, included at its end)."""
    if not streams:
        return 100
    onset = values[start][0]
    left = start
    for right in range(start, end + 1):
        moment = values[right][0]
        if (moment - onset).total_seconds() < span:
            continue
        while (moment - values[left][0]).total_seconds() >= span:
            left += 1
        present = right - left + 1
        if present * interval * 100 >= coverage_percent * span:  # exact in integers: 80 of 100 is 80 %
            return min(100, present * interval * 100 // span)
    return None


# --- Sustained values per type ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Runs:
    """The latest sustained run of each kind in the window (None: none)."""

    fever: Run | None = None
    spo2_emergency: Run | None = None
    spo2_low: Run | None = None
    fast_heart_rate: Run | None = None
    low_systolic: Run | None = None

    def all(self) -> tuple[Run, ...]:
        return tuple(run for run in (self.fever, self.spo2_low, self.spo2_emergency, self.fast_heart_rate,
                                     self.low_systolic) if run is not None)


def _latest(series: Iterable[Series], kind: str, beyond: Callable[[float], bool], minutes: int,
              coverage: int, *, high: bool = True) -> Run | None:
    found = [run for s in series if s.type == kind
             if (run := sustained_run(s, beyond, minutes, coverage, high=high)) is not None]
    return max(found, key=lambda run: run.last, default=None)


def find_runs(series: Sequence[Series], ctx: EvaluationContext) -> Runs:
    """Each sustained value of clinical-rules §10 (fever) and §1/§4 (the home limits) in the window."""
    policy = ctx.policy
    coverage = policy.stream_coverage_percent
    return Runs(
        fever=_latest(series, TEMPERATURE, lambda v: v >= FEVER_C - EPS, policy.stream_fever_minutes, coverage),
        spo2_emergency=_latest(series, SPO2, lambda v: v < SPO2_EMERGENCY_BELOW,
                                 policy.stream_spo2_emergency_minutes, coverage, high=False),
        spo2_low=_latest(series, SPO2, lambda v: v < policy.spo2_min, policy.stream_spo2_low_minutes, coverage,
                           high=False),
        fast_heart_rate=_latest(series, HEART_RATE, lambda v: v > policy.heart_rate_max,
                                  policy.stream_vitals_minutes, coverage),
        low_systolic=_latest(series, SYSTOLIC, lambda v: v < policy.systolic_bp_min, policy.stream_vitals_minutes,
                               coverage, high=False),
    )


def beyond_limit(kind: str, value: float, policy: Policy, *, temperature_offset_c: float = 0.0) -> bool:
    """One reading past a limit a stream rule grades: temperature >= 38.0 °C (§1, §10; the device's offset
    applied), SpO2 below the center limit or 90 % (§4, §10), heart rate above and systolic BP below the center's
    limits (§1). Not a finding (the rules want it sustained), but the grading of a batch that holds one goes
    ahead of the ordinary readings: it may be the batch that completes a fever."""
    if kind == TEMPERATURE:
        return value + temperature_offset_c >= FEVER_C - EPS
    if kind == SPO2:
        return value < max(policy.spo2_min, SPO2_EMERGENCY_BELOW)
    if kind == HEART_RATE:
        return value > policy.heart_rate_max
    if kind == SYSTOLIC:
        return value < policy.systolic_bp_min
    return False


def _why(run: Run) -> Message:
    """What the readings showed: the value held, from when to when, how many readings and their coverage. The
    times are moments (``at_time``): a page shows them on the center's clock, the English record in UTC."""
    params: dict[str, Param] = {
        "device": run.device, "first": at_time(run.first), "last": at_time(run.last), "readings": run.count,
        "coverage": run.coverage_percent}
    if not run.streams:
        return message("Device reading at {last} from {device}", last=at_time(run.last), device=run.device)
    if run.offset_c:
        return message("Device readings from {first} to {last} ({readings} readings, coverage "
                       "{coverage} %) from {device}, its offset of {offset:+.1f} °C applied",
                       offset=run.offset_c, **params)
    return message("Device readings from {first} to {last} ({readings} readings, coverage {coverage} %) from "
                   "{device}", **params)


def _typed_value(run: Run) -> float | int:
    return round(run.level, 1) if run.type == TEMPERATURE else int(round(run.level))


def _as_typed(main: Run, runs: Runs, ctx: EvaluationContext) -> list[Finding]:
    """What the check-in rules find in the sustained values at the time of ``main`` (it, and every other
    sustained run that overlaps it), as if they had been typed in one check-in dated at its last reading. A
    sustained heart rate is "persisting" (§1): it stands for the consecutive readings the rule asks for."""
    values: dict[str, float | int] = {}
    for run in (main, *runs.all()):
        if run is main or run.overlaps(main):
            values.setdefault(run.type, _typed_value(run))
    recent: tuple[CheckinInput, ...] = ()
    if HEART_RATE in values:
        earlier = CheckinInput(recorded_at=main.last, heart_rate=int(values[HEART_RATE]))
        recent = (earlier,) * max(0, ctx.policy.hr_persist_readings - 1)
    checkin = CheckinInput(recorded_at=main.last, **values)  # type: ignore[arg-type]
    return evaluate(checkin, replace(ctx, recent=recent))


def _from_stream(finding: Finding, run: Run, rule: str, source: str, *, urgency: Urgency | None = None,
                 instruction: str | None = None) -> Finding:
    """A check-in rule's finding as found in device readings: the readings first in its rationale and evidence."""
    rationale = (_why(run), *finding.rationale)
    return replace(finding, urgency=max(finding.urgency, urgency or Urgency.NONE),
                   patient_instruction=instruction if urgency and urgency > finding.urgency and instruction
                   else finding.patient_instruction,
                   staff_rationale=render_rationale(rationale), rationale_messages=rationale,
                   source=f"{finding.source}; {source}", evidence={**finding.evidence, **run.evidence(rule)})


# --- Sub-rules ----------------------------------------------------------------------------------------------


def stream_fever(runs: Runs, ctx: EvaluationContext) -> RuleResult:
    """§10 "Fever from a continuous stream: >= 38.0 °C (§1) sustained for at least 10 minutes with at least
    80 % of the expected readings present (policy)"; graded as the same fever typed in a check-in (§1 "any fever
    after CAR T → urgent", with a possible-grade-2 sign → emergency; §4 fever → urgent; §8 as after CAR T)."""
    run = runs.fever
    if run is None:
        return None
    return tuple(_from_stream(f, run, "stream.fever", SRC_STREAM_FEVER) for f in _as_typed(run, runs, ctx))


def stream_spo2_below_90(runs: Runs, ctx: EvaluationContext) -> RuleResult:
    """§10 "SpO2 < 90 % sustained 5 minutes → emergency" (whatever else the check-in rules make of it)."""
    run = runs.spo2_emergency
    if run is None:
        return None
    found = _as_typed(run, runs, ctx)
    if not found:
        return _low_oxygen(run, "stream.spo2_below_90", SRC_SPO2_EMERGENCY,
                           message("SpO2 {spo2} % < {limit} %, sustained {minutes} min", spo2=_typed_value(run),
                                   limit=SPO2_EMERGENCY_BELOW, minutes=ctx.policy.stream_spo2_emergency_minutes))
    return tuple(_from_stream(f, run, "stream.spo2_below_90", SRC_SPO2_EMERGENCY, urgency=Urgency.EMERGENCY,
                              instruction=_I_LOW_OXYGEN) for f in found)


def stream_spo2_low(runs: Runs, ctx: EvaluationContext) -> RuleResult:
    """§10 "SpO2 < 92 % → as §4 pneumonitis (policy minutes)": §4 "SpO2 < 92 % (policy) → emergency"; the
    check-in rules' finding for the same value (after CAR T a possible-grade-2 sign, §1) is raised to it."""
    run = runs.spo2_low
    if run is None:
        return None
    found = _as_typed(run, runs, ctx)
    if not found:
        return _low_oxygen(run, "stream.spo2_low", SRC_SPO2_LOW,
                           message("SpO2 {spo2} % < {limit} % (center limit), sustained {minutes} min",
                                   spo2=_typed_value(run), limit=ctx.policy.spo2_min,
                                   minutes=ctx.policy.stream_spo2_low_minutes))
    return tuple(_from_stream(f, run, "stream.spo2_low", SRC_SPO2_LOW, urgency=Urgency.EMERGENCY,
                              instruction=_I_LOW_OXYGEN) for f in found)


def stream_fast_heart_rate(runs: Runs, ctx: EvaluationContext) -> RuleResult:
    """§1 "heart rate > 100/min persisting (policy)": sustained over the policy minutes, graded as typed."""
    run = runs.fast_heart_rate
    if run is None:
        return None
    return tuple(_from_stream(f, run, "stream.heart_rate", SRC_STREAM) for f in _as_typed(run, runs, ctx))


def stream_low_systolic(runs: Runs, ctx: EvaluationContext) -> RuleResult:
    """§1 "systolic BP < 90 mmHg (policy)": sustained over the policy minutes (one cuff reading is enough),
    graded as typed."""
    run = runs.low_systolic
    if run is None:
        return None
    return tuple(_from_stream(f, run, "stream.systolic_bp", SRC_STREAM) for f in _as_typed(run, runs, ctx))


def _low_oxygen(run: Run, rule: str, source: str, why: Message) -> Finding:
    rationale = (_why(run), why)
    return Finding(
        condition="low_oxygen",
        title="Low oxygen on a pulse oximeter",
        min_grade=None,
        grading_system="clinical-rules §10",
        urgency=Urgency.EMERGENCY,
        patient_instruction=_I_LOW_OXYGEN,
        staff_rationale=render_rationale(rationale),
        rule_id=rule,
        source=source,
        evidence={"spo2": _typed_value(run), **run.evidence(rule)},
        rationale_messages=rationale,
    )


STREAM_RULES: tuple[Callable[[Runs, EvaluationContext], RuleResult], ...] = (
    stream_fever,
    stream_spo2_below_90,
    stream_spo2_low,
    stream_fast_heart_rate,
    stream_low_systolic,
)


def evaluate_streams(series: Sequence[Series], ctx: EvaluationContext) -> list[Finding]:
    """Findings of a window of device readings, at most one per condition, most urgent first."""
    runs = find_runs(series, ctx)
    if not runs.all():
        return []
    return merge_findings(collect(rule(runs, ctx) for rule in STREAM_RULES))


def device_silence(device: str, silent_since: datetime, now: datetime, policy: Policy) -> Finding | None:
    """§10 "Silence: a device expected to stream (during the post-dose or post-infusion risk period) that sends
    nothing for 30 minutes → same-day task for the nurse and a reminder to the patient; 2 h → urgent (policy)".
    Whether the device streams and the patient is in a risk period is the caller's to say."""
    minutes = int((now - silent_since).total_seconds() // 60)
    if minutes < policy.device_silence_minutes:
        return None
    urgent = minutes >= policy.device_silence_urgent_minutes
    limit = policy.device_silence_urgent_minutes if urgent else policy.device_silence_minutes
    rationale = (message("No reading from {device} since {since} ({minutes} min; center limit {limit} min)",
                         device=device, since=at_time(silent_since), minutes=minutes, limit=limit),)
    return Finding(
        condition=DEVICE_SILENCE,
        title="A monitoring device stopped sending readings",
        min_grade=None,
        grading_system="clinical-rules §10",
        urgency=Urgency.URGENT if urgent else Urgency.SAME_DAY,
        patient_instruction=_I_SILENCE_URGENT if urgent else _I_SILENCE,
        staff_rationale=render_rationale(rationale),
        rule_id="stream.device_silence_urgent" if urgent else "stream.device_silence",
        source=SRC_SILENCE,
        evidence={"device": device, "silent_since": silent_since, "silent_minutes": minutes},
        rationale_messages=rationale,
    )
