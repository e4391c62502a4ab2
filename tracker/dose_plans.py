"""Dose schedule templates, planned doses and the restart rule of clinical-rules §8 (T-cell engagers and other
T-cell therapies: risk follows each dose of the step-up schedule). Pure Python: no Django, no project imports.

A template is an ordered list of steps (`DoseStep`): step-up doses, the first treatment dose, then an optional
repeating treatment step. Day offsets count from the first dose (day 1 of the label is offset 0). Planned dates
are in the patient's local calendar: a planned dose keeps the wall-clock time of the first dose on its own
local date, whatever the daylight-saving changes in between.

Restart after a delay (§8): Tecvayli's label rule is in the document ("a weekly dose 29-56 days late restarts
at SU2, more than 56 days at SU1"). The label's own table counts the days since the last dose given, and that
reading restarts sooner than counting from the planned date, so it is the one used here (the safer reading).
Every other product has no rule in the document: the center policy RESTART_POLICY_GRACE_DAYS applies (a dose
more than that many days after its planned date restarts the step-up schedule at step-up dose 1), marked
"policy" wherever it is shown.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

LABEL = "label"
UNVERIFIED = "unverified"
POLICY = "policy"

# Monitoring hours count from the start of the dose (infusion or injection), or from the end of the infusion.
FROM_START = "start"
FROM_END = "end"

# Restart rules.
RESTART_TECVAYLI = "tecvayli"  # clinical-rules §8, label
RESTART_POLICY = "policy"  # no rule in clinical-rules §8: center policy (conservative default below)
RESTART_NONE = "none"  # one infusion (TCR/TIL) or continuous infusion cycles (blinatumomab)

# clinical-rules §8 (Tecvayli): a weekly dose 29-56 days after the last dose restarts at SU2, more than 56 at SU1.
TECVAYLI_RESTART_SU2_FROM_DAYS = 29
TECVAYLI_RESTART_SU1_AFTER_DAYS = 56
# clinical-rules §8 gives no restart rule for the other products: center policy, conservative default. A dose
# more than 7 days after its planned date restarts the step-up schedule at step-up dose 1 (the most monitoring).
RESTART_POLICY_GRACE_DAYS = 7  # policy


@dataclass(frozen=True)
class DoseStep:
    code: str
    name: str  # English; shown through gettext
    day_offset: int | None  # typical days after the first dose; None: set by the care team (not in §8)
    step_up: bool  # part of the step-up schedule (§8 driving and monitoring rules key to these)
    monitor_hours: int | None  # §8 "monitored after"; 0: none required; None: in hospital until discharge
    monitor_from: str = FROM_START
    monitor_status: str = LABEL  # label | unverified | policy
    repeats_every_days: int | None = None  # a repeating step (weekly treatment doses); None: given once per cycle
    repeats: bool = False  # given again and again (its interval may be unknown: then no planned dates)
    nearby_hours: int | None = None  # after monitoring: stay within 1 hour of care with a caregiver (tarlatamab)
    label: str = ""  # the dose (e.g. "2.5 mg"), as the §8 table gives it

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DoseSchedule:
    steps: tuple[DoseStep, ...]
    restart_rule: str = RESTART_POLICY
    continuous_infusion: bool = False
    route: str = ""  # the route to record ("iv"; "" when the product has one route)
    note: str = ""

    def step(self, code: str) -> DoseStep | None:
        return next((s for s in self.steps if s.code == code), None)

    @property
    def codes(self) -> list[str]:
        return [s.code for s in self.steps]

    def as_json(self) -> dict:
        return {"steps": [s.as_json() for s in self.steps], "restart_rule": self.restart_rule,
                "continuous_infusion": self.continuous_infusion, "route": self.route, "note": self.note}

    @classmethod
    def from_json(cls, data: dict | None) -> DoseSchedule | None:
        """The template stored on a Therapy row; None when the product has none."""
        if not data or not data.get("steps"):
            return None
        known = set(DoseStep.__dataclass_fields__)
        return cls(
            steps=tuple(DoseStep(**{k: v for k, v in step.items() if k in known}) for step in data["steps"]),
            restart_rule=data.get("restart_rule", RESTART_POLICY),
            continuous_infusion=bool(data.get("continuous_infusion")),
            route=data.get("route", ""), note=data.get("note", ""),
        )


@dataclass(frozen=True)
class GivenDose:
    """A recorded dose, as the plans need it: its step and when it started."""

    step_code: str
    started_at: dt.datetime  # timezone-aware


@dataclass(frozen=True)
class PlannedDose:
    step_code: str
    name: str
    date: dt.date  # the patient's local date
    planned_start: dt.datetime  # aware, at the first dose's local wall-clock time
    step_up: bool
    monitor_hours: int | None
    monitor_status: str


@dataclass(frozen=True)
class RestartProposal:
    restart_at: str  # the step code the schedule starts again from
    days_since_last: int
    days_late: int
    rule: str  # RESTART_TECVAYLI or RESTART_POLICY
    status: str  # label or policy
    reason: str  # English; why, with the clinical-rules section
    planned: list[PlannedDose] = field(default_factory=list)


def local_date(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    if moment.tzinfo is None:
        raise ValueError("Dose times must be timezone-aware.")
    return moment.astimezone(zone).date()


def _at_wall_clock(day: dt.date, clock: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The aware time of `clock` on local `day` (a time skipped by a DST change lands after the gap)."""
    naive = dt.datetime.combine(day, clock)
    aware = naive.replace(tzinfo=zone)
    # Round-trip through UTC: a wall time inside the spring-forward gap moves to the real time after it.
    return aware.astimezone(dt.UTC).astimezone(zone)


def planned_doses(schedule: DoseSchedule, first_dose: dt.datetime, zone: zoneinfo.ZoneInfo, *,
                  from_step: str | None = None, repeats: int = 0) -> list[PlannedDose]:
    """The template's doses planned from `first_dose` (the dose of `from_step`, by default the first step), in
    the patient's local calendar. Steps without a typical day in §8 are left out (the care team dates them);
    a repeating step with an interval is planned `repeats` times."""
    start_local = first_dose.astimezone(zone)
    steps = list(schedule.steps)
    if from_step is not None:
        index = next(i for i, s in enumerate(steps) if s.code == from_step)
        steps = steps[index:]
    base = steps[0].day_offset if steps and steps[0].day_offset is not None else 0
    clock = start_local.time().replace(tzinfo=None)
    plans: list[PlannedDose] = []
    for step in steps:
        if step.day_offset is None:
            continue
        count = max(repeats, 1) if step.repeats_every_days else 1
        for n in range(count):
            offset = step.day_offset - base + n * (step.repeats_every_days or 0)
            day = start_local.date() + dt.timedelta(days=offset)
            plans.append(PlannedDose(step.code, step.name, day, _at_wall_clock(day, clock, zone), step.step_up,
                                     step.monitor_hours, step.monitor_status))
    return plans


def _expected_gap_days(schedule: DoseSchedule, last: DoseStep) -> int | None:
    """Days from the last step to the next one in the template (its repeat interval for a repeating step)."""
    if last.repeats_every_days:
        return last.repeats_every_days
    codes = schedule.codes
    index = codes.index(last.code)
    for nxt in schedule.steps[index + 1:]:
        if nxt.day_offset is not None and last.day_offset is not None:
            return nxt.day_offset - last.day_offset
        return None
    return None


def restart_proposal(schedule: DoseSchedule, given: Sequence[GivenDose], new_dose_date: dt.date,
                     zone: zoneinfo.ZoneInfo, *, grace_days: int = RESTART_POLICY_GRACE_DAYS,
                     new_dose_time: dt.time | None = None) -> RestartProposal | None:
    """Whether a dose on `new_dose_date` (the patient's local date) restarts the step-up schedule, given the
    doses recorded so far; None when it does not (or the product has no restart rule, or nothing was given).
    Days are counted on the patient's local calendar."""
    if schedule.restart_rule == RESTART_NONE or not given:
        return None
    last = max(given, key=lambda d: d.started_at)
    last_step = schedule.step(last.step_code)
    if last_step is None:
        return None
    days_since = (new_dose_date - local_date(last.started_at, zone)).days
    gap = _expected_gap_days(schedule, last_step)
    days_late = days_since - gap if gap is not None else 0
    restart_at: str | None = None
    reason = ""
    rule, status = RESTART_POLICY, POLICY
    treatment_dose = not last_step.step_up or last_step.code == "first_treatment"
    if schedule.restart_rule == RESTART_TECVAYLI and treatment_dose:
        # clinical-rules §8, Tecvayli label: counted from the last treatment dose given.
        rule, status = RESTART_TECVAYLI, LABEL
        if days_since > TECVAYLI_RESTART_SU1_AFTER_DAYS:
            restart_at = "su1"
            reason = (f"{days_since} days since the last treatment dose (more than "
                      f"{TECVAYLI_RESTART_SU1_AFTER_DAYS}): restart at step-up dose 1 (clinical-rules §8, label).")
        elif days_since >= TECVAYLI_RESTART_SU2_FROM_DAYS:
            restart_at = "su2"
            reason = (f"{days_since} days since the last treatment dose ({TECVAYLI_RESTART_SU2_FROM_DAYS}-"
                      f"{TECVAYLI_RESTART_SU1_AFTER_DAYS}): restart at step-up dose 2 (clinical-rules §8, label).")
    elif gap is not None and days_late > grace_days:
        restart_at = schedule.steps[0].code if schedule.steps[0].step_up else next(
            (s.code for s in schedule.steps if s.step_up), schedule.steps[0].code)
        reason = (f"{days_late} days later than planned (more than {grace_days}): restart the step-up schedule at "
                  "its first dose. Center policy: clinical-rules §8 gives no restart rule for this product.")
    if restart_at is None:
        return None
    clock = new_dose_time or local_date_time(last.started_at, zone)
    start = _at_wall_clock(new_dose_date, clock, zone)
    return RestartProposal(restart_at=restart_at, days_since_last=days_since, days_late=max(days_late, 0),
                           rule=rule, status=status, reason=reason,
                           planned=planned_doses(schedule, start, zone, from_step=restart_at))


def local_date_time(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.time:
    return moment.astimezone(zone).time().replace(tzinfo=None)


def monitoring_ends(step: DoseStep, started_at: dt.datetime, ended_at: dt.datetime | None) -> dt.datetime | None:
    """When the §8 monitoring after this dose ends (None: none required, in hospital until discharge, or an
    infusion still running when it counts from the end)."""
    if not step.monitor_hours:
        return None
    anchor = ended_at if step.monitor_from == FROM_END else started_at
    return None if anchor is None else anchor + dt.timedelta(hours=step.monitor_hours)
