"""The demo simulator's readings (tracker/device_simulation.py): bounded noise around 36.8 °C, the fever's climb to
about 38.6 °C and its plateau, timestamps on the interval's grid with the patient's UTC offset, and the same readings
for the same moments (so a resend is deduplicated by the server)."""

import datetime as dt

import pytest

from tracker.device_simulation import (
    BASELINE_C,
    FEVER_C,
    FEVER_CLIMB,
    FEVER_NOISE_C,
    HEART_RATE,
    HEART_RATE_NOISE,
    TEMPERATURE_NOISE_C,
    Wearer,
    fever_profile,
    grid,
    readings_for,
)

START = dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York (EST, -05:00)
TWO_MINUTES = dt.timedelta(minutes=2)


def day_of_moments(step=TWO_MINUTES, hours=24):
    return grid(START, START + dt.timedelta(hours=hours), step)


def values(readings, kind):
    return [r["value"] for r in readings if r["type"] == kind]


def test_grid_takes_the_interval_multiples_after_start_up_to_end():
    moments = grid(START + dt.timedelta(seconds=30), START + dt.timedelta(minutes=10), TWO_MINUTES)
    assert moments == [START + TWO_MINUTES * n for n in range(1, 6)]
    assert grid(START, START, TWO_MINUTES) == []
    with pytest.raises(ValueError):
        grid(START, START + TWO_MINUTES, dt.timedelta(0))


def test_temperatures_stay_within_the_noise_of_36_8_and_are_not_all_the_same():
    temperatures = values(readings_for(Wearer("maria", "America/New_York"), day_of_moments())["patch"], "temperature")
    assert len(temperatures) == 720
    assert all(abs(t - BASELINE_C) <= TEMPERATURE_NOISE_C + 0.005 for t in temperatures)
    assert len(set(temperatures)) > 20
    assert abs(sum(temperatures) / len(temperatures) - BASELINE_C) < 0.03
    assert max(temperatures) < 38.0  # never a fever without one


def test_timestamps_are_spaced_by_the_interval_and_carry_the_patients_offset():
    readings = readings_for(Wearer("maria", "America/New_York"), day_of_moments(hours=1))["patch"]
    stamps = [dt.datetime.fromisoformat(r["measured_at"]) for r in readings]
    assert all(stamp.utcoffset() == dt.timedelta(hours=-5) for stamp in stamps)
    assert readings[0]["measured_at"] == "2026-02-10T10:02:00-05:00"
    assert {b - a for a, b in zip(stamps, stamps[1:], strict=False)} == {TWO_MINUTES}
    assert {r["unit"] for r in readings} == {"Cel"}
    chicago = readings_for(Wearer("robert", "America/Chicago"), day_of_moments(hours=1))["patch"]
    assert chicago[0]["measured_at"] == "2026-02-10T09:02:00-06:00"


def test_the_fever_climbs_linearly_to_38_6_and_stays_there():
    fever_from = START + dt.timedelta(hours=1)
    assert fever_profile(fever_from, fever_from) == BASELINE_C
    assert fever_profile(fever_from + FEVER_CLIMB / 2, fever_from) == pytest.approx((BASELINE_C + FEVER_C) / 2)
    assert fever_profile(fever_from + FEVER_CLIMB, fever_from) == pytest.approx(FEVER_C)
    assert fever_profile(fever_from + dt.timedelta(hours=5), fever_from) == pytest.approx(FEVER_C)
    assert fever_profile(fever_from - TWO_MINUTES, fever_from) == BASELINE_C
    assert fever_profile(fever_from + dt.timedelta(minutes=1), fever_from, dt.timedelta(0)) == FEVER_C


def test_a_fever_patient_reads_38_or_more_for_well_over_ten_minutes_after_the_climb():
    """So the sustained-fever rule (clinical-rules §10: >= 38.0 °C for 10 minutes) fires in the demo."""
    fever_from = START + dt.timedelta(hours=1)
    wearer = Wearer("maria", "America/New_York", oximeter=True, fever_from=fever_from)
    batch = readings_for(wearer, day_of_moments(hours=3))
    temperatures = values(batch["patch"], "temperature")
    before = temperatures[:30]  # the first hour
    plateau = temperatures[30 + FEVER_CLIMB // TWO_MINUTES:]
    assert all(t < 38.0 for t in before)
    assert len(plateau) >= 40 and all(abs(t - FEVER_C) <= FEVER_NOISE_C + 0.005 for t in plateau)
    # The pulse follows the fever (about 10/min per °C), SpO2 stays normal.
    pulses = values(batch["oximeter"], "heart_rate")
    assert max(pulses[:30]) <= HEART_RATE + HEART_RATE_NOISE + 1
    assert min(pulses[-30:]) >= HEART_RATE + 10 * (FEVER_C - BASELINE_C) - HEART_RATE_NOISE - 1
    assert all(94 <= s <= 100 for s in values(batch["oximeter"], "spo2"))


def test_only_worn_devices_send_and_the_same_moments_give_the_same_readings():
    moments = day_of_moments(hours=1)
    patch_only = readings_for(Wearer("grace", "America/New_York", seed=1), moments)
    assert set(patch_only) == {"patch"}
    both = readings_for(Wearer("maria", "America/New_York", oximeter=True), moments)
    assert set(both) == {"patch", "oximeter"}
    assert {r["type"] for r in both["oximeter"]} == {"heart_rate", "spo2"}
    assert readings_for(Wearer("maria", "America/New_York", oximeter=True), moments[10:20])["patch"] == \
        both["patch"][10:20]
    assert patch_only["patch"] != readings_for(Wearer("grace", "America/New_York", seed=2), moments)["patch"]
