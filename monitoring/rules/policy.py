"""Per-center settings of the rules engine.

Every value clinical-rules marks **policy** (no published number) or **unverified** lives here, with the
default the document gives. Where the document needs a number but gives none (trend rules, "persisting"
heart rate), the default is a conservative choice of ours, marked as center policy.

The Django side builds ``Policy(**values)`` from a per-center row and shows ``POLICY_FIELDS`` next to each
setting ("published default", source, marker). Markers:

- ``"policy"``: no published number; the default is a center policy (shown to staff as such).
- ``"unverified"``: a published number whose current validity is not confirmed.
- ``"guideline"``: a number taken from a guideline or trial the document cites; configurable all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TypeVar

from .urgency import Urgency

T = TypeVar("T")

POLICY = "policy"
UNVERIFIED = "unverified"
GUIDELINE = "guideline"


def _setting(default: T, source: str, marker: str) -> T:
    """A policy field: its published default, where the number comes from, and its marker."""
    return field(default=default, metadata={"source": source, "marker": marker})


@dataclass(frozen=True)
class Policy:
    # --- §1 home limits for "possible grade >= 2" CRS signs (also used by §4 pneumonitis) ---
    systolic_bp_min: int = _setting(
        90, "clinical-rules §1: systolic BP < 90 mmHg (center policy; Chinese lymphoma consensus)", POLICY
    )
    spo2_min: int = _setting(92, "clinical-rules §1 and §4: SpO2 < 92 % (center policy)", POLICY)
    heart_rate_max: int = _setting(100, "clinical-rules §1: heart rate > 100/min persisting (center policy)", POLICY)
    hr_persist_readings: int = _setting(
        2,
        "center policy: 'persisting' = this many consecutive readings above the limit, this one included "
        "(clinical-rules §1 gives no number)",
        POLICY,
    )
    hr_persist_window_hours: int = _setting(
        24,
        "center policy: earlier readings count toward 'persisting' if taken within this many hours "
        "(clinical-rules §1 gives no number)",
        POLICY,
    )
    crs_peak_window_days: int = _setting(
        14, "clinical-rules §1 timing: peak-risk window days 0-14 (real-world series)", GUIDELINE
    )

    # --- Urgency levels table: staff targets ---
    escalation_emergency_minutes: int = _setting(
        5, "clinical-rules Urgency levels: escalate emergency if not acknowledged in 5 min (center policy)", POLICY
    )
    escalation_urgent_minutes: int = _setting(
        15, "clinical-rules Urgency levels: escalate urgent in 15 min (center policy)", POLICY
    )
    same_day_review_hours: int = _setting(
        4, "clinical-rules Urgency levels: nurse review of same-day alerts within 4 h (center policy)", POLICY
    )

    # --- §2 Carvykti late neurotoxicity questions ---
    carvykti_late_neuro_days: int = _setting(
        100, "clinical-rules §2 Carvykti late neurotoxicity: ask through day 100 (trial monitoring)", GUIDELINE
    )
    carvykti_late_neuro_interval_days: int = _setting(
        7, "clinical-rules §2 Carvykti late neurotoxicity: ask weekly", GUIDELINE
    )

    # --- §3 driving and proximity ---
    neuro_driving_extension_weeks: int = _setting(
        8,
        "clinical-rules §3: a neurologic event extends the no-driving window to at least 8 weeks after it "
        "(center policy)",
        POLICY,
    )
    center_driving_days: int | None = _setting(
        None,
        "clinical-rules §3: center may lengthen the label's no-driving period, never shorten it (None = label value)",
        POLICY,
    )
    center_proximity_days: int | None = _setting(
        None,
        "clinical-rules §3: center may lengthen the label's stay-nearby period, never shorten it (None = label value)",
        POLICY,
    )
    proximity_max_travel_hours: int = _setting(
        2, "clinical-rules §3: REMS-era 'within 2 hours' travel' (unverified for current labels)", UNVERIFIED
    )

    # --- §8 T-cell engagers: windows keyed to each dose ---
    step_up_driving_hours: int = _setting(
        48,
        "clinical-rules §8: no driving during the step-up schedule and for 48 h after its last dose; a center may "
        "lengthen it, never shorten it (unverified for each product's current label)",
        UNVERIFIED,
    )

    dose_checkin_interval_hours: int = _setting(
        12,
        "clinical-rules §8: check-ins due most often in the first 72 h after each step-up or first full dose, "
        "every 12 h (center policy)",
        POLICY,
    )
    dose_checkin_period_hours: int = _setting(
        72, "clinical-rules §8: the 12-hourly check-ins last 72 h after each step-up or first full dose", POLICY
    )

    # --- §4 checkpoint inhibitors ---
    irae_diarrhea_reask_days: int = _setting(
        3, "clinical-rules §4: grade 1 diarrhea, re-ask every 3 days (ASCO 2021)", GUIDELINE
    )

    # --- §9 monitoring profiles ---
    il2_weight_gain_kg: float = _setting(
        2.0,
        "clinical-rules §9 interleukin-2: weight gain of 5-10 lb (2-4.5 kg) or more is urgent; the center "
        "limit defaults to the lower end (conservative, center policy)",
        POLICY,
    )
    interferon_watch_days: int = _setting(
        183,
        "clinical-rules §9 interferon alfa: mood questions and alerts during treatment and up to 6 months "
        "(183 days) after the last dose",
        GUIDELINE,
    )
    crisis_line: str = _setting(
        "988",
        "clinical-rules §9 interferon alfa: the crisis line shown with a mood alert (988 in the US, center policy)",
        POLICY,
    )

    # --- Trends: clinical-rules gives no numbers; conservative center-policy defaults ---
    trend_window_hours: int = _setting(
        72, "center policy: earlier check-ins within this many hours count toward a trend", POLICY
    )
    trend_temp_readings: int = _setting(
        3, "center policy: temperature trend needs this many readings, each higher than the one before", POLICY
    )
    trend_temp_rise_c: float = _setting(
        0.5, "center policy: temperature trend needs a total rise of at least this many °C", POLICY
    )
    trend_temp_floor_c: float = _setting(
        37.5, "center policy: temperature trend fires only from this °C upward (toward 38.0 °C, §1)", POLICY
    )
    trend_hr_readings: int = _setting(
        3, "center policy: heart-rate trend needs this many readings, each higher than the one before", POLICY
    )
    trend_hr_rise: int = _setting(
        15, "center policy: heart-rate trend needs a total rise of at least this many beats/min", POLICY
    )
    trend_hr_floor: int = _setting(
        90, "center policy: heart-rate trend fires only from this rate upward (toward the §1 limit)", POLICY
    )
    trend_symptom_days: int = _setting(
        2,
        "center policy: a symptom (extra stools, rash extent) worse than the day before on this many consecutive days",
        POLICY,
    )
    trend_urgency: str | int = _setting(
        "same-day", "center policy: urgency of trend alerts (none/routine/same-day/urgent/emergency)", POLICY
    )

    # --- §10 readings from connected devices ---
    stream_fever_minutes: int = _setting(
        10,
        "clinical-rules §10: a fever from a continuous stream must last at least 10 minutes (center policy)",
        POLICY,
    )
    stream_coverage_percent: int = _setting(
        80,
        "clinical-rules §10: at least 80 % of a device's expected readings present over the sustained minutes "
        "(center policy)",
        POLICY,
    )
    stream_spo2_emergency_minutes: int = _setting(
        5, "clinical-rules §10: SpO2 < 90 % sustained 5 minutes is an emergency", GUIDELINE
    )
    stream_spo2_low_minutes: int = _setting(
        10,
        "clinical-rules §10: SpO2 below the center limit (< 92 %) graded as §4 pneumonitis after this many "
        "minutes (center policy; the document gives no number)",
        POLICY,
    )
    stream_vitals_minutes: int = _setting(
        10,
        "center policy: a streamed heart rate above, or systolic BP below, the §1 limits counts after this many "
        "sustained minutes (clinical-rules gives no number)",
        POLICY,
    )
    device_silence_minutes: int = _setting(
        30,
        "clinical-rules §10: a streaming device silent this long in a risk period: same-day task for the nurse "
        "and a reminder to the patient (center policy)",
        POLICY,
    )
    device_silence_urgent_minutes: int = _setting(
        120, "clinical-rules §10: a streaming device silent this long in a risk period is urgent (center policy)",
        POLICY,
    )

    # --- Check-in times: how far back a reported reading may be dated ---
    checkin_max_age_hours: int = _setting(
        72,
        "center policy: a check-in (or a correction) may be dated at most this many hours back; older readings "
        "are reported to the care team by phone (clinical-rules gives no number)",
        POLICY,
    )

    # --- Check-in reminders and staff notices (notifications) ---

    car_t_daily_checkin_days: int = _setting(
        14,
        "clinical-rules §3: daily monitoring for at least the first 7 days; the tracker asks daily through "
        "the peak-risk window (days 0-14, §1)",
        GUIDELINE,
    )
    checkin_interval_days: int = _setting(
        7,
        "center policy: after the daily period, and on checkpoint inhibitors, a check-in is expected this "
        "often (weekly reporting as in Basch et al., clinical-rules §7)",
        POLICY,
    )
    reminder_local_time: str = _setting(
        "20:00", "center policy: local time of the patient's check-in reminder when the day is not logged", POLICY
    )
    second_reminder_minutes: int = _setting(
        60, "center policy: second reminder this many minutes after the first", POLICY
    )
    missed_checkin_nurse_minutes: int = _setting(
        60, "center policy: the team's nurse is told this many minutes after the second reminder", POLICY
    )
    digest_local_time: str = _setting("07:00", "center policy: local time of each care team's morning digest", POLICY)
    window_ending_notice_days: int = _setting(
        2, "center policy: the digest lists windows ending within this many days", POLICY
    )

    def __post_init__(self) -> None:
        urgency_level(self.trend_urgency)  # ValueError for an unknown urgency
        for name in ("reminder_local_time", "digest_local_time"):
            parse_local_time(getattr(self, name))

    @property
    def trend_urgency_level(self) -> int:
        """The trend urgency as a number (the order of the Urgency levels, 0 none ... 4 emergency)."""
        return urgency_level(self.trend_urgency)


def urgency_level(value: str | int) -> int:
    """An urgency given as its number, label or name ("same-day", "SAME_DAY") -> 0..4; ValueError otherwise."""
    if isinstance(value, int):
        return int(Urgency(value))
    return int(Urgency.from_label(value))


def parse_local_time(value: str) -> tuple[int, int]:
    """'HH:MM' (24-hour) -> (hour, minute); ValueError otherwise."""
    hours, sep, minutes = str(value).strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"{value!r} is not a time like 20:00")
    hour, minute = int(hours), int(minutes)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{value!r} is not a time like 20:00")
    return hour, minute


POLICY_FIELDS: dict[str, tuple[object, str, str]] = {
    setting.name: (setting.default, setting.metadata["source"], setting.metadata["marker"])
    for setting in fields(Policy)
}
"""name -> (published default, source text, marker "policy" / "unverified" / "guideline")."""
