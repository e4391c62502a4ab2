"""No-driving and stay-nearby windows (clinical-rules §3)."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from monitoring.rules import CheckinInput, EvaluationContext, Finding, TherapyContext, Urgency, evaluate
from monitoring.rules.driving import (
    LABEL_DEFAULTS,
    driving_finding,
    driving_status,
    driving_window_end,
    is_neurologic,
    label_for,
    proximity_status,
    proximity_window_end,
    window_status,
)

INFUSION = date(2025, 7, 1)


@pytest.mark.parametrize("product", ["abecma", "breyanzi", "carvykti", "kymriah", "tecartus", "yescarta"])
def test_label_defaults_after_june_2025_are_two_weeks(product):
    """§3: 2 weeks no driving, 2 weeks nearby."""
    label = label_for(product)
    assert (label.driving_days, label.proximity_days, label.verified) == (14, 14, True)


def test_aucatzyl_label_is_8_and_4_weeks_unverified():
    """§3 Aucatzyl launch materials (unverified)."""
    label = LABEL_DEFAULTS["aucatzyl"]
    assert (label.driving_days, label.proximity_days, label.verified) == (56, 28, False)


def test_checkpoint_products_have_no_driving_label():
    """§3 covers CAR T labels only."""
    assert label_for("pembrolizumab") is None
    assert driving_status("nivolumab", INFUSION, INFUSION) is None


@pytest.mark.parametrize(
    ("center_days", "expected_end"),
    [
        pytest.param(None, date(2025, 7, 15), id="§3 label default: infusion + 14 days"),
        pytest.param(56, date(2025, 8, 26), id="§3 center lengthens to 8 weeks"),
        pytest.param(7, date(2025, 7, 15), id="§3 shorter center value ignored"),
    ],
)
def test_driving_window_end(center_days, expected_end):
    assert driving_window_end(INFUSION, 14, center_days) == expected_end


def test_neurologic_event_extends_window_to_eight_weeks_after_it():
    """§3 (policy): neuro event -> at least event + 8 weeks."""
    event = date(2025, 7, 9)
    assert driving_window_end(INFUSION, 14, None, [event]) == date(2025, 9, 3)


def test_neurologic_event_never_shortens_a_longer_window():
    """§3: extension is 'at least' 8 weeks; a longer center window stands."""
    assert driving_window_end(INFUSION, 14, 120, [date(2025, 7, 2)]) == date(2025, 10, 29)


def test_latest_neurologic_event_wins():
    """§3: every neurologic event extends the window."""
    events = [date(2025, 7, 5), date(2025, 8, 1), date(2025, 7, 20)]
    assert driving_window_end(INFUSION, 14, None, events) == date(2025, 9, 26)


def test_clinician_may_lengthen_but_not_shorten():
    """§3: clinician may lengthen; shortening only by explicit clearance."""
    assert driving_window_end(INFUSION, 14, clinician_end=date(2025, 12, 1)) == date(2025, 12, 1)
    assert driving_window_end(INFUSION, 14, clinician_end=date(2025, 7, 3)) == date(2025, 7, 15)


@pytest.mark.parametrize(
    ("today", "active", "days_left"),
    [
        pytest.param(date(2025, 7, 1), True, 14, id="§3 infusion day: 14 days left"),
        pytest.param(date(2025, 7, 14), True, 1, id="§3 last restricted day"),
        pytest.param(date(2025, 7, 15), False, 0, id="§3 end date: window over"),
        pytest.param(date(2025, 8, 1), False, 0, id="§3 long after"),
    ],
)
def test_window_status_boundaries(today, active, days_left):
    status = window_status(date(2025, 7, 15), today)
    assert (status.active, status.days_left, status.end) == (active, days_left, date(2025, 7, 15))


def test_physician_clearance_ends_the_window():
    """§3: explicit clearance ends the window."""
    status = window_status(date(2025, 8, 26), date(2025, 7, 20), cleared_on=date(2025, 7, 18))
    assert (status.active, status.days_left) == (False, 0)


def test_future_clearance_takes_effect_on_its_date():
    """§3 clearance."""
    status = window_status(date(2025, 8, 26), date(2025, 7, 20), cleared_on=date(2025, 7, 25))
    assert status.active


def test_proximity_window_default_and_center_lengthening():
    """§3: stay near the treating facility for 2 weeks; centers may keep 4 weeks."""
    assert proximity_window_end(INFUSION, 14) == date(2025, 7, 15)
    assert proximity_window_end(INFUSION, 14, 28) == date(2025, 7, 29)
    assert proximity_window_end(INFUSION, 14, 10) == date(2025, 7, 15)
    assert proximity_status(date(2025, 7, 15), date(2025, 7, 10)).days_left == 5


@time_machine.travel(datetime(2025, 7, 10, 15, 0, tzinfo=UTC), tick=False)
def test_driving_status_today_with_time_machine():
    """§3 label default: 14 days after a July 1 infusion."""
    status = driving_status("yescarta", INFUSION, date.today())
    assert status.active and status.days_left == 5


@time_machine.travel(datetime(2025, 7, 15, 0, 1, tzinfo=UTC), tick=False)
def test_driving_status_lifts_on_day_14_with_time_machine():
    """§3: the window ends 2 weeks after infusion."""
    assert not driving_status("kymriah", INFUSION, date.today()).active


@time_machine.travel(datetime(2025, 8, 20, 9, 0, tzinfo=UTC), tick=False)
def test_driving_status_with_neuro_event_and_center_weeks():
    """§3 neuro extension with a center value of 10 weeks."""
    status = driving_status(
        "carvykti", INFUSION, date.today(), neuro_event_dates=[date(2025, 7, 8)], extension_weeks=10
    )
    assert status.end == date(2025, 9, 16) and status.active


def ci(**kw):
    return CheckinInput(recorded_at=datetime(2025, 7, 5, tzinfo=UTC), **kw)


def test_driving_in_active_window_raises_urgent_finding():
    """§3: drove while the no-driving window is active -> urgent, with a plain explanation."""
    context = EvaluationContext(therapies=(TherapyContext("yescarta", "car_t", 4),), driving_window_active=True)
    (f,) = evaluate(ci(drove_since_last=True), context)
    assert f.condition == "driving" and f.urgency == Urgency.URGENT
    assert "§3" in f.source and "seizure" in f.patient_instruction


def test_driving_after_window_is_fine():
    """§3: driving after the window is not an alert."""
    context = EvaluationContext(therapies=(TherapyContext("yescarta", "car_t", 40),), driving_window_active=False)
    assert driving_finding(ci(drove_since_last=True), context) is None
    assert evaluate(ci(drove_since_last=True), context) == []


def _finding(condition):
    return Finding(condition, "t", None, "policy", Urgency.URGENT, "i", "r", "x", "s", {})


@pytest.mark.parametrize(
    ("condition", "neuro"),
    [
        pytest.param("icans", True, id="§3 ICANS extends the window"),
        pytest.param("carvykti_late_neuro", True, id="§3 Carvykti late finding extends"),
        pytest.param("crs", False, id="§3 CRS does not extend"),
        pytest.param("driving", False, id="§3 driving does not extend"),
    ],
)
def test_is_neurologic(condition, neuro):
    assert is_neurologic(_finding(condition)) is neuro


def test_seizure_finding_is_neurologic():
    """§3: a seizure (§2) extends the driving window."""
    context = EvaluationContext(therapies=(TherapyContext("tecartus", "car_t", 9),))
    (f,) = evaluate(ci(seizure=True), context)
    assert is_neurologic(f)


def test_catalogue_label_periods_match_the_rules_label_defaults():
    """clinical-rules §3: the windows use the catalogue's label days; the rules' own table must agree."""
    from monitoring.rules.driving import LABEL_DEFAULTS
    from tracker.catalogue import THERAPIES

    car_t = {t["code"]: t for t in THERAPIES if t["therapy_class"] == "car_t"}
    assert set(car_t) == set(LABEL_DEFAULTS)
    for code, label in LABEL_DEFAULTS.items():
        assert (car_t[code]["driving_restriction_days"], car_t[code]["proximity_days"]) == (
            label.driving_days, label.proximity_days), code
        assert car_t[code]["label_facts_unverified"] is (not label.verified), code
