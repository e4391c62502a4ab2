"""How often a check-in is expected (pure): daily through the CAR T daily period (clinical-rules §3:
daily monitoring for at least the first 7 days; the tracker keeps it through the peak-risk window), then
every `checkin_interval_days` (center policy), which also applies to checkpoint inhibitors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from .policy import Policy


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
