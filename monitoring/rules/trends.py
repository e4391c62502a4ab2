"""Trends across check-ins (center policy: clinical-rules gives no numbers for these).

The falling-ICE trend is an ICANS rule (§2) and lives in icans.py. Each sub-rule is one function that
returns its finding or None; ``evaluate_trends`` runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .messages import message
from .types import EPS, POLICY_SYSTEM, CheckinInput, EvaluationContext, Finding, Outcome, RuleResult, Urgency, collect

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


# The "%" is a parameter so that no translation catalogue mistakes "% of" for a printf placeholder.
_SYMPTOMS = (
    ("extra_stools", message("Extra stools per day")),
    ("rash_percent", message("Rash {unit} of body surface", unit="%")),
)


def _hours(later: datetime | None, earlier: datetime) -> float | None:
    if later is None:
        return None
    try:
        return (later - earlier).total_seconds() / 3600.0
    except TypeError:
        return None


def _value(checkin: CheckinInput, name: str) -> float | None:
    value: float | None = getattr(checkin, name)
    return value


def _rising_series(checkin: CheckinInput, ctx: EvaluationContext, name: str, readings: int) -> list[float] | None:
    """The current value and the readings-1 previous ones within the window, newest first, if strictly rising."""
    current = _value(checkin, name)
    if current is None:
        return None
    series = [current]
    for earlier in ctx.recent:
        if len(series) >= readings:
            break
        value = _value(earlier, name)
        if value is None:
            continue
        hours = _hours(checkin.recorded_at, earlier.recorded_at) if earlier.recorded_at is not None else None
        if hours is None or hours > ctx.policy.trend_window_hours:
            return None  # undated or outside the window: no trend
        if not value < series[-1]:
            return None
        series.append(value)
    return series if len(series) >= readings else None


def _daily_rising(checkin: CheckinInput, ctx: EvaluationContext, name: str, rises: int) -> list[float] | None:
    """Newest-first daily values (the latest reading of each day) over rises+1 consecutive days, strictly rising
    toward today; None otherwise."""
    rises = max(1, rises)
    current = _value(checkin, name)
    if checkin.recorded_at is None or current is None:
        return None
    day = checkin.recorded_at.date()
    values = [current]
    for earlier in ctx.recent:
        value = _value(earlier, name)
        if earlier.recorded_at is None or value is None:
            continue
        earlier_day = earlier.recorded_at.date()
        gap = (day - earlier_day).days
        if gap == 0:
            continue  # same day as the value already taken (newest wins)
        if gap != 1 or not value < values[-1]:
            return None
        values.append(value)
        day = earlier_day
        if len(values) > rises:
            return values
    return None


def _outcome(condition: str, rule_id: str, ctx: EvaluationContext, instruction: str) -> Outcome:
    source = {"trend_temperature": SRC_TREND_TEMP, "trend_heart_rate": SRC_TREND_HR}.get(condition, SRC_TREND_SYMPTOM)
    return Outcome(condition=condition, rule_id=rule_id, urgency=Urgency(ctx.policy.trend_urgency_level),
                   instruction=instruction, source=source, grading_system=POLICY_SYSTEM)


# --- Sub-rules ----------------------------------------------------------------------------------------------


def trend_temperature(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """Center policy toward §1 "Fever is a temperature of at least 38.0 °C": a temperature rising at each of the
    last readings (policy count and total rise) from the policy floor upward."""
    policy = ctx.policy
    temperature = checkin.temperature_c
    if temperature is None or temperature < policy.trend_temp_floor_c - EPS:
        return None
    series = _rising_series(checkin, ctx, "temperature_c", max(2, policy.trend_temp_readings))
    if series is None or series[0] - series[-1] < policy.trend_temp_rise_c - EPS:
        return None
    oldest_first = list(reversed(series))
    why = message("Temperature rising over {readings} readings: {series} °C (center trend rule: rise ≥ {rise} °C, "
                  "now ≥ {floor} °C)", readings=len(series), series=" → ".join(f"{value:.1f}" for value in oldest_first),
                  rise=policy.trend_temp_rise_c, floor=policy.trend_temp_floor_c)
    outcome = _outcome("trend_temperature", "trend.temperature_rising", ctx, _I_TEMP)
    return outcome.finding((why,), {"temperature_c": oldest_first})


def trend_heart_rate(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """Center policy toward §1 "heart rate > 100/min persisting (policy)": a heart rate climbing at each of the
    last readings (policy count and total rise) from the policy floor upward."""
    policy = ctx.policy
    heart_rate = checkin.heart_rate
    if heart_rate is None or heart_rate < policy.trend_hr_floor:
        return None
    series = _rising_series(checkin, ctx, "heart_rate", max(2, policy.trend_hr_readings))
    if series is None or series[0] - series[-1] < policy.trend_hr_rise:
        return None
    oldest_first = list(reversed(series))
    why = message("Heart rate climbing over {readings} readings: {series}/min (center trend rule: rise ≥ {rise}/min, "
                  "now ≥ {floor}/min)", readings=len(series), series=" → ".join(str(value) for value in oldest_first),
                  rise=policy.trend_hr_rise, floor=policy.trend_hr_floor)
    outcome = _outcome("trend_heart_rate", "trend.heart_rate_climbing", ctx, _I_HR)
    return outcome.finding((why,), {"heart_rate": oldest_first})


def trend_symptoms(checkin: CheckinInput, ctx: EvaluationContext) -> RuleResult:
    """Center policy on §4 diarrhea and rash: a symptom worse than the day before on the policy's number of
    consecutive days. One finding per symptom."""
    found: list[Finding] = []
    for name, label in _SYMPTOMS:
        value = _value(checkin, name)
        if value is None or value <= 0:
            continue
        days = _daily_rising(checkin, ctx, name, ctx.policy.trend_symptom_days)
        if days is None:
            continue
        oldest_first = list(reversed(days))
        why = message("{symptom} worse each day for {days} days: {series} (center trend rule)", symptom=label,
                      days=len(days) - 1, series=" → ".join(str(value) for value in oldest_first))
        found.append(_outcome("trend_symptom", "trend.symptom_worsening", ctx, _I_SYMPTOM).finding(
            (why,), {name: oldest_first}))
    return tuple(found)


TREND_RULES: tuple[Callable[[CheckinInput, EvaluationContext], RuleResult], ...] = (
    trend_temperature,
    trend_heart_rate,
    trend_symptoms,
)


def evaluate_trends(checkin: CheckinInput, ctx: EvaluationContext) -> list[Finding]:
    """Trend findings (center policy), in the order of ``TREND_RULES``; none without earlier check-ins, a time
    or a trend urgency."""
    if not ctx.recent or checkin.recorded_at is None or Urgency(ctx.policy.trend_urgency_level) == Urgency.NONE:
        return []
    return collect(rule(checkin, ctx) for rule in TREND_RULES)
