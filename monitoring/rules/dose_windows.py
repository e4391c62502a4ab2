"""Windows keyed to each recorded dose of a T-cell engager (clinical-rules §8). Pure Python: no Django, no
project imports. The service (monitoring/services/dose_windows.py) turns the course's current doses into
`DoseFact`s, asks `dose_windows()` which windows they open, and syncs the stored rows with the answer.

Kinds (each remembers the dose that opened it and a reason key, monitoring/dose_window_messages.py):
- MONITORING: the step's §8 monitoring hours, from the dose's start or end (template `monitor_from`). If the
  dose was given inpatient or the patient was kept for monitoring, `supervised`: the care team watches then.
- DRIVING: no driving from the first dose of a step-up run until `driving_hours` (§8, 48 h, **unverified**;
  a center may lengthen it, never shorten) after its last dose; open-ended (`closes_at` None) while the run is
  incomplete (its last dose is not the template's last step-up step). Continuous infusions (blinatumomab,
  §8): no driving while the infusion runs (started, no end yet), instead.
- NEARBY: tarlatamab, stay within 1 hour of care with a caregiver for the step's `nearby_hours` (48 h, §8)
  from the start of the infusion.
- REMONITOR: after a grade 2 CRS or any ICANS (§8), the next dose started after the finding gets the step-up
  monitoring again: `REMONITOR_HOURS` from its start.
- Continuous infusions (blinatumomab, §8: monitored "again after any interruption of 4 h or more"): a dose
  (infusion start) that begins `INTERRUPTION_HOURS` or more after the previous one stopped gets MONITORING for
  `restart_monitor_hours` from its start (the template's restart step: how long is not in §8, policy 48 h), unless
  its own step has monitoring hours (a cycle 1 or 2 start). Staff no longer need to record the restart step for it;
  one recorded as such keeps its own monitoring whatever the gap (the more monitoring).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

MONITORING = "dose_monitoring"
DRIVING = "dose_driving"
NEARBY = "dose_nearby"
REMONITOR = "dose_remonitor"

FROM_END = "end"

# clinical-rules §8: no driving for 48 h after the last step-up-schedule dose (**unverified** per product; the
# center policy step_up_driving_hours may lengthen it, never shorten it).
STEP_UP_DRIVING_HOURS = 48
# clinical-rules §8: after a grade 2 CRS or any ICANS the next dose gets the step-up monitoring again (Elrexfio:
# 48 h near a facility after the next dose; Tecvayli: 48 h in hospital after grade 2 ICANS).
REMONITOR_HOURS = 48
REMONITOR_CRS_MIN_GRADE = 2  # clinical-rules §8: "grade 2 CRS or any ICANS"
# clinical-rules §8 (blinatumomab): monitored again after any interruption of 4 h or more.
INTERRUPTION_HOURS = 4

# Reason keys (rendered in the reader's language by monitoring/dose_window_messages.py).
R_MONITOR_AFTER_DOSE = "monitor_after_dose"
R_MONITOR_AFTER_END = "monitor_after_end"
R_MONITOR_AFTER_INTERRUPTION = "monitor_after_interruption"
R_DRIVING_STEP_UP = "driving_step_up"
R_DRIVING_INFUSION = "driving_infusion_runs"
R_NEARBY = "nearby_caregiver"
R_REMONITOR = "remonitor_after_finding"
R_DRIVING_NEURO = "driving_neuro_finding"


@dataclass(frozen=True)
class DoseFact:
    """A current dose of the course with what its schedule step says."""

    key: int  # the dose row id
    step_code: str
    started_at: dt.datetime  # aware
    ended_at: dt.datetime | None
    step_up: bool = False
    monitor_hours: int | None = 0
    monitor_from: str = "start"
    nearby_hours: int | None = None
    supervised: bool = False  # inpatient or kept for monitoring
    in_template: bool = True


@dataclass(frozen=True)
class WindowSpec:
    kind: str
    dose_key: int
    opens_at: dt.datetime
    closes_at: dt.datetime | None  # None: until an event (the infusion ends, the step-up run ends)
    reason: str
    supervised: bool = False


def is_remonitor_finding(condition: str, min_grade: int | None) -> bool:
    """§8: a grade 2 (or higher) CRS, or any ICANS, sends the next dose back to step-up monitoring."""
    if condition == "icans":
        return True
    return condition == "crs" and min_grade is not None and min_grade >= REMONITOR_CRS_MIN_GRADE


def _after(moment: dt.datetime, hours: int) -> dt.datetime:
    """`hours` real hours after `moment` (in UTC: adding to a zoned time would count wall-clock hours)."""
    return moment.astimezone(dt.UTC) + dt.timedelta(hours=hours)


def _driving_runs(doses: Sequence[DoseFact]) -> list[list[DoseFact]]:
    """Runs of step-up-schedule doses; a step-up dose after a treatment dose (a restart) starts a new run."""
    runs: list[list[DoseFact]] = []
    current: list[DoseFact] = []
    for dose in doses:
        if dose.step_up:
            current.append(dose)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def dose_windows(doses: Sequence[DoseFact], *, last_step_up_code: str | None, continuous_infusion: bool,
                 driving_hours: int = STEP_UP_DRIVING_HOURS,
                 remonitor_after: Sequence[dt.datetime] = (),
                 restart_monitor_hours: int | None = None) -> list[WindowSpec]:
    """The windows the course's current doses (in time order) open. `remonitor_after`: times of the pending
    grade >= 2 CRS / ICANS findings; each one's next dose gets REMONITOR_HOURS. `restart_monitor_hours`: for a
    continuous infusion, the monitoring after an interruption of INTERRUPTION_HOURS or more."""
    hours = max(driving_hours, STEP_UP_DRIVING_HOURS)  # a center may lengthen, never shorten (§8)
    doses = sorted(doses, key=lambda d: d.started_at)
    specs: list[WindowSpec] = []
    for dose in doses:
        if dose.monitor_hours:
            from_end = dose.monitor_from == FROM_END
            anchor = dose.ended_at if from_end else dose.started_at
            specs.append(WindowSpec(
                MONITORING, dose.key, dose.started_at,
                None if anchor is None else _after(anchor, dose.monitor_hours),
                R_MONITOR_AFTER_END if from_end else R_MONITOR_AFTER_DOSE, dose.supervised))
        if dose.nearby_hours:
            specs.append(WindowSpec(NEARBY, dose.key, dose.started_at,
                                    _after(dose.started_at, dose.nearby_hours), R_NEARBY))
        if continuous_infusion:
            specs.append(WindowSpec(DRIVING, dose.key, dose.started_at, dose.ended_at, R_DRIVING_INFUSION))
    if continuous_infusion and restart_monitor_hours:
        for before, dose in zip(doses, doses[1:], strict=False):
            if dose.monitor_hours or before.ended_at is None:
                continue  # its own monitoring; or no stop recorded before it
            if dose.started_at - before.ended_at >= dt.timedelta(hours=INTERRUPTION_HOURS):
                specs.append(WindowSpec(MONITORING, dose.key, dose.started_at,
                                        _after(dose.started_at, restart_monitor_hours),
                                        R_MONITOR_AFTER_INTERRUPTION, dose.supervised))
    if not continuous_infusion:
        for run in _driving_runs([d for d in doses if d.in_template]):
            last = run[-1]
            complete = last_step_up_code is None or last.step_code == last_step_up_code or any(
                not d.step_up and d.started_at > last.started_at for d in doses)
            end = last.ended_at or last.started_at
            specs.append(WindowSpec(DRIVING, run[0].key, run[0].started_at,
                                    _after(end, hours) if complete else None, R_DRIVING_STEP_UP))
    taken: set[int] = set()
    for raised in sorted(remonitor_after):
        nxt = next((d for d in doses if d.started_at > raised), None)
        if nxt is None or nxt.key in taken:  # two findings before the same dose: one window
            continue
        taken.add(nxt.key)
        specs.append(WindowSpec(REMONITOR, nxt.key, nxt.started_at,
                                _after(nxt.started_at, REMONITOR_HOURS), R_REMONITOR, nxt.supervised))
    return specs


def is_open(opens_at: dt.datetime, closes_at: dt.datetime | None, now: dt.datetime) -> bool:
    return opens_at <= now and (closes_at is None or now < closes_at)


FIRST_FULL_CODES = frozenset({"first_treatment", "first_full"})


def dose_checkin_due(doses: Sequence[DoseFact], last_checkin_at: dt.datetime | None, now: dt.datetime, *,
                     interval_hours: int, period_hours: int) -> tuple[dt.datetime, dt.datetime] | None:
    """§8 (policy): check-ins every `interval_hours` for `period_hours` after each step-up or first full dose.
    Returns (next check-in due by, the 12-hourly period's end) while such a period runs at `now`, else None.
    Due `interval_hours` after the later of the dose's start and the last complete check-in (never after the
    period's end; in the past when overdue)."""
    running = [d for d in doses if (d.step_up or d.step_code in FIRST_FULL_CODES)
               and d.started_at <= now < _after(d.started_at, period_hours)]
    if not running:
        return None
    dose = max(running, key=lambda d: d.started_at)
    end = _after(dose.started_at, period_hours)
    since = max(dose.started_at, last_checkin_at) if last_checkin_at else dose.started_at
    return min(_after(since, interval_hours), end), end


def dose_checkin_slot(doses: Sequence[DoseFact], last_checkin_at: dt.datetime | None, now: dt.datetime, *,
                      interval_hours: int, period_hours: int,
                      after: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime] | None:
    """The next 12-hourly check-in slot to remind of (§8, policy), as (a check-in recorded after this answers it,
    due by). Slots fall every `interval_hours` from the later of the dose's start and the last complete check-in,
    within `period_hours` of the latest step-up or first full dose started by `now`; `after`: a slot already
    handled (reminded or skipped while the patient was watched): the next one after it. None when no slot is
    left in the period (the usual daily schedule applies again)."""
    running = [d for d in doses if (d.step_up or d.step_code in FIRST_FULL_CODES)
               and d.started_at <= now < _after(d.started_at, period_hours)]
    if not running:
        return None
    dose = max(running, key=lambda d: d.started_at)
    end = _after(dose.started_at, period_hours)
    since = max(dose.started_at, last_checkin_at) if last_checkin_at else dose.started_at
    since = since.astimezone(dt.UTC)
    due = _after(since, interval_hours)
    if after is not None:
        while due <= after:
            since, due = due, _after(due, interval_hours)
    return (since, due) if due <= end else None
