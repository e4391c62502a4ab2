"""Trends across check-ins (center policy: clinical-rules gives no numbers for these).

The falling-ICE trend is an ICANS rule (§2) and lives in icans.py.
"""

from __future__ import annotations

from .types import EPS, POLICY_SYSTEM, CheckinInput, EvaluationContext, Finding, Urgency, graded_title

SRC_TREND = "center policy (trend rule; clinical-rules gives no number)"
SRC_TREND_TEMP = "center policy (trend toward the 38.0 °C fever of clinical-rules §1)"
SRC_TREND_HR = "center policy (trend toward the heart-rate limit of clinical-rules §1)"
SRC_TREND_SYMPTOM = "center policy (day-over-day worsening of a clinical-rules §4 symptom)"

_I_TEMP = (
    "Your temperature has gone up at each of your last check-ins. Please check it again in an hour, and call "
    "your care team at once if it reaches 38.0 °C (100.4 °F)."
)
_I_HR = (
    "Your pulse has gone up at each of your last check-ins. Rest, check it again in an hour, and call your "
    "care team if it stays high or you feel unwell."
)
_I_SYMPTOM = (
    "This symptom has been getting worse day by day. Your care team will look at it; call them sooner if it "
    "gets worse quickly."
)


def _hours(a, b) -> float | None:
    try:
        return (a - b).total_seconds() / 3600.0
    except TypeError:
        return None


def _rising_series(checkin: CheckinInput, ctx: EvaluationContext, attr: str, n: int) -> list | None:
    """The current value and the n-1 previous readings within the window, newest first, if strictly rising."""
    cur = getattr(checkin, attr)
    if cur is None:
        return None
    now = checkin.recorded_at
    window = ctx.policy.trend_window_hours
    seq = [cur]
    last = cur
    for r in ctx.recent:
        if len(seq) >= n:
            break
        v = getattr(r, attr)
        if v is None:
            continue
        h = _hours(now, r.recorded_at) if r.recorded_at is not None else None
        if h is None or h > window:
            return None  # undated or outside the window: no trend
        if not v < last:
            return None
        seq.append(v)
        last = v
    return seq if len(seq) >= n else None


def _finding(condition, rule, ctx, instr, why, ev, src) -> Finding:
    return Finding(
        condition=condition,
        title=graded_title(condition, None),
        min_grade=None,
        grading_system=POLICY_SYSTEM,
        urgency=Urgency(ctx.policy.trend_urgency_level),
        patient_instruction=instr,
        staff_rationale=why,
        rule_id=rule,
        source=src,
        evidence=ev,
    )


def evaluate_trends(checkin: CheckinInput, ctx: EvaluationContext, out: list) -> None:
    if not ctx.recent or checkin.recorded_at is None:
        return
    p = ctx.policy
    if Urgency(p.trend_urgency_level) == Urgency.NONE:
        return

    t = checkin.temperature_c
    if t is not None and t >= p.trend_temp_floor_c - EPS:
        seq = _rising_series(checkin, ctx, "temperature_c", max(2, p.trend_temp_readings))
        if seq is not None and seq[0] - seq[-1] >= p.trend_temp_rise_c - EPS:
            series = " → ".join(f"{v:.1f}" for v in reversed(seq))
            out.append(
                _finding(
                    "trend_temperature",
                    "trend.temperature_rising",
                    ctx,
                    _I_TEMP,
                    f"Temperature rising over {len(seq)} readings: {series} °C (center trend rule: rise ≥ "
                    f"{p.trend_temp_rise_c} °C, now ≥ {p.trend_temp_floor_c} °C)",
                    {"temperature_c": list(reversed(seq))},
                    SRC_TREND_TEMP,
                )
            )

    hr = checkin.heart_rate
    if hr is not None and hr >= p.trend_hr_floor:
        seq = _rising_series(checkin, ctx, "heart_rate", max(2, p.trend_hr_readings))
        if seq is not None and seq[0] - seq[-1] >= p.trend_hr_rise:
            series = " → ".join(str(v) for v in reversed(seq))
            out.append(
                _finding(
                    "trend_heart_rate",
                    "trend.heart_rate_climbing",
                    ctx,
                    _I_HR,
                    f"Heart rate climbing over {len(seq)} readings: {series}/min (center trend rule: rise ≥ "
                    f"{p.trend_hr_rise}/min, now ≥ {p.trend_hr_floor}/min)",
                    {"heart_rate": list(reversed(seq))},
                    SRC_TREND_HR,
                )
            )

    for attr, label in _SYMPTOMS:
        v = getattr(checkin, attr)
        if v is None or v <= 0:
            continue
        days = _daily_rising(checkin, ctx, attr, p.trend_symptom_days)
        if days is not None:
            series = " → ".join(str(x) for x in reversed(days))
            out.append(
                _finding(
                    "trend_symptom",
                    "trend.symptom_worsening",
                    ctx,
                    _I_SYMPTOM,
                    f"{label} worse each day for {len(days) - 1} days: {series} (center trend rule)",
                    {attr: list(reversed(days))},
                    SRC_TREND_SYMPTOM,
                )
            )


_SYMPTOMS = (("extra_stools", "Extra stools per day"), ("rash_percent", "Rash % of body surface"))


def _daily_rising(checkin: CheckinInput, ctx: EvaluationContext, attr: str, rises: int) -> list | None:
    """Newest-first daily values (the latest reading of each day) over rises+1 consecutive days, strictly rising
    toward today; None otherwise."""
    rises = max(1, rises)
    day = checkin.recorded_at.date()
    values = [getattr(checkin, attr)]
    for r in ctx.recent:
        if r.recorded_at is None:
            continue
        v = getattr(r, attr)
        if v is None:
            continue
        try:
            d = r.recorded_at.date()
            gap = (day - d).days
        except (TypeError, AttributeError):
            return None
        if gap == 0:
            continue  # same day as the value already taken (newest wins)
        if gap != 1 or not v < values[-1]:
            return None
        values.append(v)
        day = d
        if len(values) > rises:
            return values
    return None
