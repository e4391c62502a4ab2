"""Trend rules (center policy; the ICE trend is §2 and tested with ICANS)."""

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.rules import CheckinInput, EvaluationContext, Policy, TherapyContext, Urgency, evaluate

NOW = datetime(2025, 7, 3, 9, 0, tzinfo=UTC)
CAR_T = (TherapyContext("breyanzi", "car_t", 6),)
ICI = (TherapyContext("atezolizumab", "checkpoint", 80, 9),)


def earlier(hours, **kw):
    return CheckinInput(recorded_at=NOW - timedelta(hours=hours), **kw)


def trend(condition, checkin, recent, therapies=CAR_T, **ctx_kw):
    context = EvaluationContext(therapies=therapies, recent=recent, **ctx_kw)
    found = [f for f in evaluate(checkin, context) if f.condition == condition]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("now_t", "history", "fires"),
    [
        pytest.param(37.8, (37.5, 37.2), True, id="policy temperature 37.2→37.5→37.8 rising: fires"),
        pytest.param(37.6, (37.4, 37.3), False, id="policy rise 0.3 °C below 0.5: no trend"),
        pytest.param(37.4, (37.0, 36.6), False, id="policy below the 37.5 °C floor: no trend"),
        pytest.param(37.8, (37.8, 37.2), False, id="policy not strictly rising: no trend"),
        pytest.param(37.8, (37.5,), False, id="policy needs 3 readings"),
    ],
)
def test_temperature_trend_toward_fever(now_t, history, fires):
    recent = tuple(earlier(6 * (i + 1), temperature_c=t) for i, t in enumerate(history))
    f = trend("trend_temperature", CheckinInput(recorded_at=NOW, temperature_c=now_t), recent)
    assert (f is not None) == fires
    if fires:
        assert f.urgency == Urgency.SAME_DAY and f.grading_system == "policy"
        assert "policy" in f.source and "37.2 → 37.5 → 37.8" in f.staff_rationale


def test_temperature_trend_ignores_readings_outside_the_window():
    """policy trend window 72 h."""
    recent = (earlier(6, temperature_c=37.5), earlier(80, temperature_c=37.0))
    assert trend("trend_temperature", CheckinInput(recorded_at=NOW, temperature_c=37.8), recent) is None


def test_trend_urgency_follows_center_policy():
    """Center policy: trend urgency."""
    recent = (earlier(6, temperature_c=37.5), earlier(12, temperature_c=37.2))
    f = trend(
        "trend_temperature",
        CheckinInput(recorded_at=NOW, temperature_c=37.8),
        recent,
        policy=Policy(trend_urgency="urgent"),
    )
    assert f.urgency == Urgency.URGENT


def test_trend_urgency_none_disables_trends():
    """Center policy: trends can be switched off."""
    recent = (earlier(6, temperature_c=37.5), earlier(12, temperature_c=37.2))
    assert (
        trend(
            "trend_temperature",
            CheckinInput(recorded_at=NOW, temperature_c=37.8),
            recent,
            policy=Policy(trend_urgency="none"),
        )
        is None
    )


@pytest.mark.parametrize(
    ("now_hr", "history", "fires"),
    [
        pytest.param(96, (88, 80), True, id="policy heart rate 80→88→96 climbing: fires"),
        pytest.param(92, (88, 84), False, id="policy rise 8 below 15: no trend"),
        pytest.param(85, (75, 60), False, id="policy below the 90/min floor"),
    ],
)
def test_heart_rate_trend(now_hr, history, fires):
    recent = tuple(earlier(4 * (i + 1), heart_rate=h) for i, h in enumerate(history))
    f = trend("trend_heart_rate", CheckinInput(recorded_at=NOW, heart_rate=now_hr), recent)
    assert (f is not None) == fires


def daily(attr, values):
    """Newest first, one per day before NOW."""
    return tuple(earlier(24 * (i + 1), **{attr: v}) for i, v in enumerate(values))


@pytest.mark.parametrize(
    ("attr", "now_v", "history", "fires"),
    [
        pytest.param("extra_stools", 3, (2, 1), True, id="policy stools 1→2→3 on consecutive days: fires"),
        pytest.param("extra_stools", 3, (3, 1), False, id="policy stools not rising every day"),
        pytest.param("extra_stools", 2, (1,), False, id="policy one rise is not enough (2 days)"),
        pytest.param("rash_percent", 12, (8, 5), True, id="policy rash 5→8→12 %: fires"),
        pytest.param("rash_percent", 0, (0, 0), False, id="policy no rash"),
    ],
)
def test_symptom_worsening_day_over_day(attr, now_v, history, fires):
    f = trend("trend_symptom", CheckinInput(recorded_at=NOW, **{attr: now_v}), daily(attr, history), ICI)
    assert (f is not None) == fires


def test_symptom_trend_needs_consecutive_days():
    """Center policy trend on a §4 symptom: consecutive days only."""
    recent = (earlier(24, extra_stools=2), earlier(72, extra_stools=1))
    assert trend("trend_symptom", CheckinInput(recorded_at=NOW, extra_stools=3), recent, ICI) is None


def test_symptom_trend_uses_the_latest_reading_of_each_day():
    """Center policy trend on a §4 symptom: latest reading per day."""
    recent = (
        earlier(2, extra_stools=1),
        earlier(24, extra_stools=2),
        earlier(26, extra_stools=9),
        earlier(48, extra_stools=1),
    )
    assert trend("trend_symptom", CheckinInput(recorded_at=NOW, extra_stools=3), recent, ICI) is not None


def test_trends_need_timestamps():
    """Center policy trends need dated readings."""
    recent = (CheckinInput(temperature_c=37.5), CheckinInput(temperature_c=37.2))
    assert trend("trend_temperature", CheckinInput(recorded_at=NOW, temperature_c=37.8), recent) is None
    assert trend("trend_temperature", CheckinInput(temperature_c=37.8), recent) is None
