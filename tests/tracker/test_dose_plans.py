"""Planned doses and the restart rule (tracker.dose_plans, clinical-rules §8): pure functions, table-driven."""

import datetime as dt
import zoneinfo

import pytest

from tracker.catalogue import all_therapies, t_cell_therapies
from tracker.dose_plans import (
    FROM_END,
    LABEL,
    POLICY,
    RESTART_POLICY_GRACE_DAYS,
    UNVERIFIED,
    DoseSchedule,
    GivenDose,
    monitoring_ends,
    planned_doses,
    restart_proposal,
)

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
SCHEDULES = {entry["code"]: DoseSchedule.from_json(entry["dose_schedule"]) for entry in t_cell_therapies()}


def at(zone, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


# --- The catalogue's templates (clinical-rules §8 table) ----------------------------------------------------------

@pytest.mark.parametrize(("code", "steps"), [
    ("teclistamab", [("su1", 0, 48), ("su2", 3, 48), ("first_treatment", 6, 48), ("weekly", 13, 0)]),
    ("talquetamab_weekly", [("su1", 0, 48), ("su2", 3, 48), ("first_treatment", 6, 48), ("weekly", 13, 0)]),
    ("talquetamab_q2w", [("su1", 0, 48), ("su2", 3, 48), ("su3", 6, 48), ("first_treatment", 9, 48),
                         ("every_2_weeks", 23, 0)]),
    ("elranatamab", [("su1", 0, 48), ("su2", 3, 24), ("first_treatment", 7, 0), ("treatment", None, 0)]),
    ("linvoseltamab", [("su1", 0, 24), ("su2", 7, 24), ("first_full", 14, 0), ("treatment", None, 0)]),
    ("epcoritamab_dlbcl", [("su1", 0, 0), ("su2", 7, 0), ("first_full", 14, 24), ("treatment", None, 0)]),
    ("epcoritamab_fl", [("su1", 0, 24), ("su2", 7, 24), ("su3", 14, 24), ("first_full", 21, 24),
                        ("treatment", None, 0)]),
    ("glofitamab", [("obinutuzumab", 0, 0), ("su1", 7, 24), ("su2", 14, 0), ("c2d1", None, 0),
                    ("treatment", None, 0)]),
    ("mosunetuzumab", [("su1", 0, 24), ("su2", 7, 24), ("c1d15", 14, 24), ("c2d1", None, 24),
                       ("treatment", None, 0)]),
    ("tarlatamab", [("su1", 0, 24), ("first_treatment", 7, 24), ("d15", 14, 0), ("every_2_weeks", 28, 0)]),
    ("tebentafusp", [("su1", 0, 16), ("su2", 7, 16), ("first_treatment", 14, 16), ("weekly", 21, 0)]),
    ("blinatumomab", [("infusion_c1", 0, 216), ("infusion_c2", None, 48), ("infusion_cycle", None, 0),
                      ("infusion_restart", None, 48)]),
    ("afamitresgene", [("infusion", 0, 168)]),
    ("lifileucel", [("infusion", 0, None)]),
])
def test_each_section_8_product_has_the_table_s_steps_days_and_monitoring_hours(code, steps):
    schedule = SCHEDULES[code]
    assert [(s.code, s.day_offset, s.monitor_hours) for s in schedule.steps] == steps


@pytest.mark.parametrize(("code", "step", "status"), [
    ("glofitamab", "su1", UNVERIFIED),  # a Swiss label
    ("epcoritamab_fl", "su1", POLICY), ("epcoritamab_fl", "first_full", POLICY),
    ("mosunetuzumab", "su1", POLICY), ("mosunetuzumab", "c2d1", POLICY),
    ("blinatumomab", "infusion_restart", POLICY),
    ("teclistamab", "su1", LABEL), ("epcoritamab_dlbcl", "first_full", LABEL),
])
def test_monitoring_marked_unverified_or_policy_where_section_8_says_so(code, step, status):
    assert SCHEDULES[code].step(step).monitor_status == status


def test_every_section_8_product_marks_the_driving_rule_unverified_and_has_source_and_label_date():
    for entry in t_cell_therapies():
        markers = {(m["topic"], m["status"]) for m in entry["label_markers"]}
        assert ("driving", UNVERIFIED) in markers, entry["code"]
        assert entry["label_facts_unverified"] is True
        assert "§8" in entry["source"] and "§8" in entry["label_facts"] and "2025" in entry["label_date"]
    classes = {e["code"]: e["therapy_class"] for e in all_therapies()}
    assert classes["afamitresgene"] == classes["lifileucel"] == "tcr_til"
    assert classes["teclistamab"] == "t_cell_engager"


def test_mosunetuzumab_records_the_route_and_blinatumomab_is_a_continuous_infusion():
    assert SCHEDULES["mosunetuzumab"].route == "iv"
    assert SCHEDULES["blinatumomab"].continuous_infusion is True
    assert SCHEDULES["tebentafusp"].step("su1").monitor_from == FROM_END
    assert SCHEDULES["tarlatamab"].step("su1").nearby_hours == 48


def test_schedules_survive_the_json_round_trip():
    for schedule in SCHEDULES.values():
        assert DoseSchedule.from_json(schedule.as_json()) == schedule
    assert DoseSchedule.from_json({}) is None


# --- Planned doses -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("zone", "first", "expected"), [
    # New York: daylight saving time starts on 8 March 2026 (02:00 -> 03:00). The planned doses keep 09:00 local.
    (NEW_YORK, at(NEW_YORK, 2026, 3, 5, 9, 0),
     [("su1", dt.date(2026, 3, 5), "14:00"), ("su2", dt.date(2026, 3, 8), "13:00"),
      ("first_treatment", dt.date(2026, 3, 11), "13:00"), ("weekly", dt.date(2026, 3, 18), "13:00")]),
    # New York: DST ends on 1 November 2026.
    (NEW_YORK, at(NEW_YORK, 2026, 10, 29, 23, 30),
     [("su1", dt.date(2026, 10, 29), "03:30"), ("su2", dt.date(2026, 11, 1), "04:30"),
      ("first_treatment", dt.date(2026, 11, 4), "04:30"), ("weekly", dt.date(2026, 11, 11), "04:30")]),
    # Madrid: summer time starts on 29 March 2026 (02:00 -> 03:00).
    (MADRID, at(MADRID, 2026, 3, 26, 8, 0),
     [("su1", dt.date(2026, 3, 26), "07:00"), ("su2", dt.date(2026, 3, 29), "06:00"),
      ("first_treatment", dt.date(2026, 4, 1), "06:00"), ("weekly", dt.date(2026, 4, 8), "06:00")]),
    # Madrid: summer time ends on 25 October 2026; a dose at 00:30 local is on the local day, not the UTC one.
    (MADRID, at(MADRID, 2026, 10, 23, 0, 30),
     [("su1", dt.date(2026, 10, 23), "22:30"), ("su2", dt.date(2026, 10, 26), "23:30"),
      ("first_treatment", dt.date(2026, 10, 29), "23:30"), ("weekly", dt.date(2026, 11, 5), "23:30")]),
])
def test_planned_doses_fall_on_local_dates_at_the_first_dose_s_wall_clock_across_dst(zone, first, expected):
    plans = planned_doses(SCHEDULES["teclistamab"], first, zone)
    got = [(p.step_code, p.date, p.planned_start.astimezone(dt.UTC).strftime("%H:%M")) for p in plans]
    assert got == expected
    assert {p.planned_start.astimezone(zone).time() for p in plans} == {first.time()}


def test_steps_without_a_day_in_section_8_are_left_to_the_care_team():
    plans = planned_doses(SCHEDULES["glofitamab"], at(NEW_YORK, 2026, 1, 5, 10, 0), NEW_YORK)
    assert [(p.step_code, p.date.isoformat()) for p in plans] == [
        ("obinutuzumab", "2026-01-05"), ("su1", "2026-01-12"), ("su2", "2026-01-19")]


def test_a_repeating_step_is_planned_as_many_times_as_asked():
    plans = planned_doses(SCHEDULES["tarlatamab"], at(NEW_YORK, 2026, 1, 5, 10, 0), NEW_YORK, repeats=3)
    assert [p.date.isoformat() for p in plans if p.step_code == "every_2_weeks"] == [
        "2026-02-02", "2026-02-16", "2026-03-02"]


def test_planning_from_a_later_step_counts_days_from_that_step():
    plans = planned_doses(SCHEDULES["teclistamab"], at(NEW_YORK, 2026, 1, 10, 10, 0), NEW_YORK, from_step="su2")
    assert [(p.step_code, p.date.isoformat()) for p in plans] == [
        ("su2", "2026-01-10"), ("first_treatment", "2026-01-13"), ("weekly", "2026-01-20")]


# --- The restart rule --------------------------------------------------------------------------------------------

TECVAYLI_GIVEN = [GivenDose("su1", at(NEW_YORK, 2026, 1, 1, 9)), GivenDose("su2", at(NEW_YORK, 2026, 1, 4, 9)),
                  GivenDose("first_treatment", at(NEW_YORK, 2026, 1, 7, 9)),
                  GivenDose("weekly", at(NEW_YORK, 2026, 1, 14, 9))]


@pytest.mark.parametrize(("new_date", "restart_at"), [
    (dt.date(2026, 1, 21), None),  # on time
    (dt.date(2026, 2, 11), None),  # 28 days after the last dose
    (dt.date(2026, 2, 12), "su2"),  # 29 days: clinical-rules §8, restart at SU2
    (dt.date(2026, 3, 11), "su2"),  # 56 days
    (dt.date(2026, 3, 12), "su1"),  # 57 days: more than 56, restart at SU1
])
def test_tecvayli_label_restart_counts_days_since_the_last_weekly_dose(new_date, restart_at):
    proposal = restart_proposal(SCHEDULES["teclistamab"], TECVAYLI_GIVEN, new_date, NEW_YORK)
    assert (proposal.restart_at if proposal else None) == restart_at
    if proposal:
        assert proposal.rule == "tecvayli" and proposal.status == LABEL and "§8" in proposal.reason
        assert proposal.planned[0].step_code == restart_at and proposal.planned[0].date == new_date


def test_tecvayli_restart_days_are_local_calendar_days_across_the_dst_change():
    # The last weekly dose late on 7 March 2026 (EST); 29 local days later is 5 April (EDT), 28 days 4 April.
    given = [GivenDose("weekly", at(NEW_YORK, 2026, 3, 7, 23, 30))]
    assert restart_proposal(SCHEDULES["teclistamab"], given, dt.date(2026, 4, 4), NEW_YORK) is None
    proposal = restart_proposal(SCHEDULES["teclistamab"], given, dt.date(2026, 4, 5), NEW_YORK)
    assert proposal.restart_at == "su2" and proposal.days_since_last == 29
    assert proposal.planned[0].planned_start.astimezone(NEW_YORK).time() == dt.time(23, 30)


@pytest.mark.parametrize(("code", "given", "new_date", "restart_at"), [
    # Elrexfio SU2 on 4 Jan; the first treatment dose is planned 4 days later (8 Jan).
    ("elranatamab", [("su1", (2026, 1, 1)), ("su2", (2026, 1, 4))], dt.date(2026, 1, 15), None),  # 7 days late
    ("elranatamab", [("su1", (2026, 1, 1)), ("su2", (2026, 1, 4))], dt.date(2026, 1, 16), "su1"),  # 8 days late
    # Glofitamab restarts at its first step-up dose, not at the obinutuzumab pretreatment.
    ("glofitamab", [("obinutuzumab", (2026, 1, 1)), ("su1", (2026, 1, 8))], dt.date(2026, 1, 31), "su1"),
    # Tarlatamab every 2 weeks: 14 + 7 days is on time by the policy, 14 + 8 is not.
    ("tarlatamab", [("every_2_weeks", (2026, 2, 1))], dt.date(2026, 2, 22), None),
    ("tarlatamab", [("every_2_weeks", (2026, 2, 1))], dt.date(2026, 2, 23), "su1"),
    # Madrid across the start of summer time (29 March 2026).
    ("tebentafusp", [("su1", (2026, 3, 20))], dt.date(2026, 4, 4), "su1"),
    ("tebentafusp", [("su1", (2026, 3, 20))], dt.date(2026, 4, 3), None),
    # A later dose with no planned interval, one infusion, continuous infusions: no restart rule applies.
    ("elranatamab", [("treatment", (2026, 1, 1))], dt.date(2026, 6, 1), None),
    ("afamitresgene", [("infusion", (2026, 1, 1))], dt.date(2026, 6, 1), None),
    ("blinatumomab", [("infusion_c1", (2026, 1, 1))], dt.date(2026, 6, 1), None),
])
def test_other_products_restart_by_the_center_policy(code, given, new_date, restart_at):
    zone = MADRID if code == "tebentafusp" else NEW_YORK
    doses = [GivenDose(step, at(zone, *day, 10)) for step, day in given]
    proposal = restart_proposal(SCHEDULES[code], doses, new_date, zone)
    assert (proposal.restart_at if proposal else None) == restart_at
    if proposal:
        assert proposal.status == POLICY and "policy" in proposal.reason.lower()
        assert proposal.days_late > RESTART_POLICY_GRACE_DAYS


def test_no_doses_no_restart():
    assert restart_proposal(SCHEDULES["teclistamab"], [], dt.date(2026, 1, 1), NEW_YORK) is None


def test_monitoring_ends_counts_from_the_start_or_from_the_end_of_the_infusion():
    start, end = at(NEW_YORK, 2026, 1, 1, 9), at(NEW_YORK, 2026, 1, 1, 11)
    assert monitoring_ends(SCHEDULES["teclistamab"].step("su1"), start, end) == start + dt.timedelta(hours=48)
    assert monitoring_ends(SCHEDULES["tebentafusp"].step("su1"), start, end) == end + dt.timedelta(hours=16)
    assert monitoring_ends(SCHEDULES["tebentafusp"].step("su1"), start, None) is None
    assert monitoring_ends(SCHEDULES["teclistamab"].step("weekly"), start, end) is None
