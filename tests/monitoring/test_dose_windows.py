"""Windows keyed to each recorded dose of a T-cell engager (clinical-rules §8): hour-precise monitoring, no
driving through the step-up schedule and 48 h after it, tarlatamab's stay-nearby, blinatumomab while the infusion
runs, re-monitoring after grade 2 CRS / ICANS, neurologic findings, corrections; in New York across the
2026-11-01 daylight-saving change (clocks go back from 02:00 EDT to 01:00 EST)."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from monitoring.models import DoseWindow, DoseWindowKind, RemonitorRequest, WindowEvent
from monitoring.rules import dose_windows as rules
from monitoring.services.dose_windows import dose_window_clear, dose_windows_after_findings, dose_windows_in_force
from tests.factories import CheckInFactory, CourseFactory, PatientFactory
from tracker.dose_services import dose_correct, dose_record
from tracker.models import DoseAdministration, Therapy

NY = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC
H = dt.timedelta(hours=1)


def ny(month, day, hour, minute=0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=NY)


def plus(moment: dt.datetime, hours: int) -> dt.datetime:
    """`hours` real hours later (Python adds wall-clock hours to a time in a zone: not across a DST change)."""
    return moment.astimezone(UTC) + hours * H


@pytest.fixture
def engager(team_a):
    def make(code: str, *, start=dt.date(2026, 10, 20)):
        patient = PatientFactory(care_team=team_a)
        return CourseFactory(patient=patient, therapy=Therapy.objects.get(code=code), start_date=start)
    return make


@pytest.fixture
def record(nurse, django_capture_on_commit_callbacks):
    """record(course, step, start, end=None, setting=..., kept=...) at a moment just after `end or start`."""

    def _record(course, step, start, end=None, *, setting="infusion_center", kept=False, at=None):
        values = {"step_code": step, "started_at": start, "ended_at": end, "setting": setting,
                  "kept_for_monitoring": kept}
        if course.therapy.code == "mosunetuzumab":
            values["route"] = "iv"
        with time_machine.travel(at or (end or start) + dt.timedelta(minutes=1), tick=False), \
                django_capture_on_commit_callbacks(execute=True):
            return dose_record(course=course, values=values, recorded_by=nurse)
    return _record


def windows(course, kind=None):
    rows = DoseWindow.objects.filter(course=course, withdrawn_at__isnull=True).select_related("dose")
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows.order_by("opens_at", "id"))


def open_at(course, moment, kind):
    with time_machine.travel(moment, tick=False):
        return [w for w in dose_windows_in_force(course.patient) if w.kind == kind and w.course_id == course.pk]


# --- teclistamab: 48 h after each of SU1, SU2, first treatment dose; driving until 48 h after the last --------

def test_teclistamab_monitoring_counts_real_hours_across_the_dst_change(engager, record):
    course = engager("teclistamab")
    su1 = record(course, "su1", ny(10, 30, 10), ny(10, 30, 10, 5), setting="inpatient", kept=True)
    [monitor] = windows(course, DoseWindowKind.MONITORING)
    assert monitor.dose == su1 and monitor.supervised and monitor.reason == rules.R_MONITOR_AFTER_DOSE
    # 48 real hours from 10:00 EDT on Friday is 09:00 EST on Sunday (the clocks went back an hour).
    assert monitor.closes_at == plus(ny(10, 30, 10), 48)
    assert monitor.closes_at.astimezone(NY).strftime("%a %H:%M %Z") == "Sun 09:00 EST"
    assert open_at(course, ny(11, 1, 8, 59), DoseWindowKind.MONITORING)
    assert not open_at(course, ny(11, 1, 9, 0), DoseWindowKind.MONITORING)
    # No driving from SU1 on, open-ended while the step-up schedule runs (SU2 and the first treatment dose due).
    [driving] = windows(course, DoseWindowKind.DRIVING)
    assert driving.dose == su1 and driving.closes_at is None
    assert open_at(course, ny(11, 20, 12), DoseWindowKind.DRIVING)
    assert WindowEvent.objects.filter(dose_window__course=course, kind="created").count() == 2


def test_teclistamab_driving_ends_48_hours_after_the_last_step_up_schedule_dose(engager, record):
    course = engager("teclistamab")
    record(course, "su1", ny(10, 26, 9), ny(10, 26, 9, 5))
    record(course, "su2", ny(10, 29, 9), ny(10, 29, 9, 5))
    last = record(course, "first_treatment", ny(11, 1, 9), ny(11, 1, 9, 5))  # EST
    assert len(windows(course, DoseWindowKind.MONITORING)) == 3
    [driving] = windows(course, DoseWindowKind.DRIVING)
    assert driving.closes_at == plus(ny(11, 1, 9, 5), 48)
    assert driving.closes_at.astimezone(NY).strftime("%a %d %H:%M") == "Tue 03 09:05"
    assert open_at(course, ny(11, 3, 9, 4), DoseWindowKind.DRIVING)
    assert not open_at(course, ny(11, 3, 9, 5), DoseWindowKind.DRIVING)
    # Its audit trail: created by SU1 (open-ended through SU2), moved to its end by the first treatment dose.
    assert list(driving.events.values_list("kind", "new_closes_at")) == [("created", None),
                                                                         ("moved", driving.closes_at)]
    assert driving.dose.step_code == "su1" and last.pk


def test_a_center_may_lengthen_the_driving_window_but_never_shorten_it():
    dose = rules.DoseFact(1, "su1", dt.datetime(2026, 1, 1, tzinfo=UTC), None, step_up=True)
    longer = rules.dose_windows([dose], last_step_up_code="su1", continuous_infusion=False, driving_hours=72)
    shorter = rules.dose_windows([dose], last_step_up_code="su1", continuous_infusion=False, driving_hours=24)
    assert [w.closes_at for w in longer if w.kind == rules.DRIVING] == [plus(dose.started_at, 72)]
    assert [w.closes_at for w in shorter if w.kind == rules.DRIVING] == [plus(dose.started_at, 48)]


# --- elranatamab: 48 h after SU1, 24 h after SU2 --------------------------------------------------------------

def test_elranatamab_48_hours_after_su1_and_24_after_su2(engager, record):
    course = engager("elranatamab")
    record(course, "su1", ny(10, 28, 8))
    record(course, "su2", ny(10, 31, 20))
    first, second = windows(course, DoseWindowKind.MONITORING)
    assert first.closes_at - first.opens_at == 48 * H and second.closes_at - second.opens_at == 24 * H
    # 24 real hours after 20:00 EDT Saturday is 19:00 EST Sunday.
    assert second.closes_at.astimezone(NY).strftime("%a %H:%M") == "Sun 19:00"
    assert not open_at(course, ny(11, 1, 19, 0), DoseWindowKind.MONITORING)


# --- tarlatamab: 24 h monitoring and 48 h near care with a caregiver from the start of d1 and d8 ----------------

def test_tarlatamab_stay_near_care_for_48_hours_from_each_infusion_start(engager, record):
    course = engager("tarlatamab")
    record(course, "su1", ny(10, 25, 11), ny(10, 25, 12))
    record(course, "first_treatment", ny(11, 1, 0, 30), ny(11, 1, 1, 30))  # starts EDT, before the change
    nearby = windows(course, DoseWindowKind.NEARBY)
    assert [w.closes_at - w.opens_at for w in nearby] == [48 * H, 48 * H]
    assert nearby[1].opens_at == ny(11, 1, 0, 30) and nearby[1].closes_at.astimezone(NY).strftime("%a %H:%M") == \
        "Mon 23:30"
    assert all(w.reason == rules.R_NEARBY for w in nearby)
    record(course, "d15", ny(11, 8, 11), ny(11, 8, 12))  # day 15: no monitoring, no nearby rule
    assert len(windows(course, DoseWindowKind.NEARBY)) == 2


# --- tebentafusp: 16 h after the END of each of the first 3 infusions ------------------------------------------

def test_tebentafusp_monitoring_counts_from_the_end_of_the_infusion(engager, record):
    course = engager("tebentafusp")
    record(course, "su1", ny(10, 31, 14), ny(10, 31, 14, 30))
    [monitor] = windows(course, DoseWindowKind.MONITORING)
    assert monitor.opens_at == ny(10, 31, 14) and monitor.closes_at == plus(ny(10, 31, 14, 30), 16)
    assert monitor.reason == rules.R_MONITOR_AFTER_END
    assert monitor.closes_at.astimezone(NY).strftime("%a %H:%M") == "Sun 05:30"  # 06:30 EDT would be wrong


# --- blinatumomab: no driving while the infusion runs --------------------------------------------------------

def test_blinatumomab_no_driving_while_the_infusion_runs_and_a_correction_ends_it(engager, record, nurse,
                                                                                   django_capture_on_commit_callbacks):
    course = engager("blinatumomab")
    running = record(course, "infusion_c1", ny(10, 20, 9))
    [driving] = windows(course, DoseWindowKind.DRIVING)
    assert driving.closes_at is None and driving.reason == rules.R_DRIVING_INFUSION
    [monitor] = windows(course, DoseWindowKind.MONITORING)
    assert monitor.closes_at == plus(ny(10, 20, 9), 216)
    assert open_at(course, ny(11, 2, 9), DoseWindowKind.DRIVING)
    with time_machine.travel(ny(11, 3, 9), tick=False), django_capture_on_commit_callbacks(execute=True):
        dose_correct(original=running, changes={"ended_at": ny(11, 2, 18)}, reason="Infusion ended",
                     recorded_by=nurse)
    [driving] = windows(course, DoseWindowKind.DRIVING)
    assert driving.closes_at == ny(11, 2, 18) and driving.dose.corrects == running
    assert not open_at(course, ny(11, 2, 18), DoseWindowKind.DRIVING)
    assert list(driving.events.values_list("kind", flat=True)) == ["created", "moved"]


def test_blinatumomab_a_restart_4_real_hours_or_more_after_a_stop_opens_monitoring_again(engager, record):
    """§8: monitored again after any interruption of 4 h or more; derived from the stop (the end of one infusion
    record) and the next start, in real hours: across the DST change 3 h 15 min on the wall clock is 4 h 15 min."""
    course = engager("blinatumomab")
    record(course, "infusion_c1", ny(10, 20, 9), ny(10, 31, 12))  # cycle 1 (216 h monitored), stopped Saturday
    short = record(course, "infusion_cycle", plus(ny(10, 31, 12), 3.99), ny(11, 1, 0, 30))  # a bag change
    assert not any(w.dose == short for w in windows(course, DoseWindowKind.MONITORING))
    restart = record(course, "infusion_cycle", ny(11, 1, 3, 45))  # EST: 4 h 15 min after 00:30 EDT
    [again] = [w for w in windows(course, DoseWindowKind.MONITORING) if w.dose == restart]
    assert again.reason == rules.R_MONITOR_AFTER_INTERRUPTION
    assert again.opens_at == ny(11, 1, 3, 45) and again.closes_at == plus(ny(11, 1, 3, 45), 48)  # policy 48 h
    assert open_at(course, plus(ny(11, 1, 3, 45), 47), DoseWindowKind.MONITORING)
    assert not open_at(course, plus(ny(11, 1, 3, 45), 48), DoseWindowKind.MONITORING)


@pytest.mark.parametrize(("gap_minutes", "opens"), [(239, False), (240, True)])
def test_blinatumomab_the_interruption_rule_at_its_edge(gap_minutes, opens):
    stop = dt.datetime(2026, 10, 21, 12, tzinfo=UTC)
    doses = [rules.DoseFact(key=1, step_code="infusion_c1", started_at=stop - 48 * H, ended_at=stop,
                            monitor_hours=216),
             rules.DoseFact(key=2, step_code="infusion_cycle", started_at=stop + gap_minutes * dt.timedelta(minutes=1),
                            ended_at=None, monitor_hours=None)]
    specs = rules.dose_windows(doses, last_step_up_code=None, continuous_infusion=True, restart_monitor_hours=48)
    assert any(s.dose_key == 2 and s.kind == rules.MONITORING for s in specs) is opens


# --- corrections move the windows; neurologic findings; re-monitoring --------------------------------------

def test_correcting_a_dose_time_moves_its_windows(engager, record, nurse, django_capture_on_commit_callbacks):
    course = engager("teclistamab")
    su1 = record(course, "su1", ny(10, 30, 10), ny(10, 30, 10, 5))
    with time_machine.travel(ny(10, 31, 9), tick=False), django_capture_on_commit_callbacks(execute=True):
        fixed = dose_correct(original=su1, changes={"started_at": ny(10, 30, 8), "ended_at": ny(10, 30, 8, 5)},
                             reason="Wrong time", recorded_by=nurse)
    [monitor] = windows(course, DoseWindowKind.MONITORING)
    assert monitor.dose == fixed and monitor.opens_at == ny(10, 30, 8) and monitor.closes_at == plus(ny(10, 30, 8), 48)
    event = monitor.events.get(kind="moved")
    assert event.old_closes_at == plus(ny(10, 30, 10), 48) and event.new_closes_at == monitor.closes_at
    assert DoseWindow.objects.filter(course=course).count() == 2  # moved, not duplicated


def test_a_neurologic_finding_reopens_no_driving_until_a_physician_clears_it(engager, record, physician):
    course = engager("teclistamab")
    record(course, "su1", ny(10, 20, 9))
    record(course, "su2", ny(10, 23, 9))
    record(course, "first_treatment", ny(10, 26, 9))
    assert not open_at(course, ny(11, 2, 12), DoseWindowKind.DRIVING)
    checkin = CheckInFactory(patient=course.patient, recorded_at=ny(11, 2, 12))
    icans = type("F", (), {"condition": "icans", "min_grade": 1})()
    with time_machine.travel(ny(11, 2, 12), tick=False):
        dose_windows_after_findings(courses=[course], checkin=checkin, findings=[icans])
    [neuro] = open_at(course, ny(11, 20, 12), DoseWindowKind.DRIVING)
    assert neuro.checkin == checkin and neuro.reason == rules.R_DRIVING_NEURO and neuro.closes_at is None
    with time_machine.travel(ny(11, 21, 12), tick=False):
        dose_window_clear(window=neuro, user=physician, reason="Neurology review: resolved")
    assert not open_at(course, ny(11, 22, 12), DoseWindowKind.DRIVING)
    assert list(neuro.events.values_list("kind", flat=True)) == ["extended", "cleared"]


def test_grade_2_crs_sends_the_next_dose_back_to_step_up_monitoring(engager, record):
    course = engager("teclistamab")
    record(course, "su1", ny(10, 20, 9))
    record(course, "su2", ny(10, 23, 9))
    record(course, "first_treatment", ny(10, 26, 9))
    checkin = CheckInFactory(patient=course.patient, recorded_at=ny(10, 29, 12))
    crs1 = type("F", (), {"condition": "crs", "min_grade": 1})()
    dose_windows_after_findings(courses=[course], checkin=checkin, findings=[crs1])
    assert not RemonitorRequest.objects.filter(course=course).exists()
    crs2 = type("F", (), {"condition": "crs", "min_grade": 2})()
    dose_windows_after_findings(courses=[course], checkin=checkin, findings=[crs2])
    weekly = record(course, "weekly", ny(11, 2, 9), setting="inpatient", kept=True)
    [again] = windows(course, DoseWindowKind.REMONITOR)
    assert again.dose == weekly and again.closes_at == plus(ny(11, 2, 9), 48) and again.supervised
    assert RemonitorRequest.objects.get(course=course).consumed_by == weekly
    record(course, "weekly", ny(11, 9, 9))  # only the next dose
    assert len(windows(course, DoseWindowKind.REMONITOR)) == 1


def test_no_windows_for_a_free_named_dose_of_a_course_without_a_template(team_a, record):
    course = CourseFactory(patient=PatientFactory(care_team=team_a), start_date=dt.date(2026, 10, 1))
    record(course, "cycle 1 day 1", ny(10, 20, 9))
    assert DoseAdministration.objects.filter(course=course).count() == 1
    assert not DoseWindow.objects.filter(course=course).exists()


def test_the_api_lets_a_physician_record_the_neurologic_finding_resolved(engager, record, physician, nurse, as_user):
    course = engager("teclistamab")
    record(course, "su1", ny(10, 20, 9))
    checkin = CheckInFactory(patient=course.patient, recorded_at=ny(11, 2, 12))
    icans = type("F", (), {"condition": "icans", "min_grade": 1})()
    dose_windows_after_findings(courses=[course], checkin=checkin, findings=[icans])
    neuro = DoseWindow.objects.get(course=course, checkin=checkin)
    url = f"/api/v1/dose-windows/{neuro.uuid}/clear/"
    assert as_user(physician).post(url, {"reason": ""}, format="json").status_code == 400
    assert as_user(nurse).post(url, {"reason": "Looks fine"}, format="json").status_code == 403
    neuro.refresh_from_db()
    assert neuro.cleared_at is None
    response = as_user(physician).post(url, {"reason": "Examined: resolved"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["clearance_reason"] == "Examined: resolved"
    assert neuro.events.filter(kind="cleared", actor=physician).exists()


# --- check-ins every 12 h for 72 h after each step-up or first full dose (§8, policy) -------------------------

def test_check_ins_are_due_every_12_hours_for_72_hours_after_a_step_up_dose():
    su2 = rules.DoseFact(1, "su2", dt.datetime(2026, 10, 31, 14, tzinfo=UTC), None, step_up=True)
    due = rules.dose_checkin_due
    start = su2.started_at
    assert due([su2], None, start + H, interval_hours=12, period_hours=72) == (plus(start, 12), plus(start, 72))
    checked = start + 20 * H
    assert due([su2], checked, start + 21 * H, interval_hours=12, period_hours=72)[0] == checked + 12 * H
    assert due([su2], None, start + 13 * H, interval_hours=12, period_hours=72)[0] < start + 13 * H  # overdue
    assert due([su2], start + 65 * H, start + 66 * H, interval_hours=12, period_hours=72)[0] == plus(start, 72)
    assert due([su2], None, start + 72 * H, interval_hours=12, period_hours=72) is None
    weekly = rules.DoseFact(2, "weekly", start, None, step_up=False)
    assert due([weekly], None, start + H, interval_hours=12, period_hours=72) is None


def test_a_seizure_reported_in_a_check_in_reopens_no_driving_and_the_next_dose_is_monitored_again(engager, record):
    """Through the check-in service: ICANS (a seizure) after the step-up schedule ended."""
    from decimal import Decimal

    from monitoring.services.intake import checkin_submit

    course = engager("teclistamab")
    for step, day in (("su1", 20), ("su2", 23), ("first_treatment", 26)):
        record(course, step, ny(10, day, 9))
    patient = course.patient
    with time_machine.travel(ny(11, 2, 12), tick=False):
        checkin_submit(patient=patient, entered_by=patient.user, channel="api", recorded_at=ny(11, 2, 12),
                       values={"temperature_c": Decimal("37.0"), "temperature_entered": Decimal("37.0"),
                               "temperature_unit": "C", "seizure": True})
    [neuro] = open_at(course, ny(11, 30, 12), DoseWindowKind.DRIVING)
    assert neuro.reason == rules.R_DRIVING_NEURO and neuro.checkin.patient == patient
    assert RemonitorRequest.objects.get(course=course).condition == "icans"
    weekly = record(course, "weekly", ny(11, 3, 9))
    [again] = windows(course, DoseWindowKind.REMONITOR)
    assert again.dose == weekly and again.closes_at == plus(ny(11, 3, 9), 48)


def test_the_admin_lists_dose_windows_with_their_events(engager, record, admin_user):
    from django.urls import reverse

    from tests.monitoring.support import signed_in

    course = engager("teclistamab")
    record(course, "su1", ny(10, 20, 9))
    client = signed_in(admin_user)
    assert client.get(reverse("admin:monitoring_dosewindow_changelist")).status_code == 200
    window = DoseWindow.objects.filter(course=course).first()
    detail = client.get(reverse("admin:monitoring_dosewindow_change", args=[window.pk]))
    assert detail.status_code == 200 and "Opened by dose" in detail.content.decode()
    assert client.get(reverse("admin:monitoring_windowevent_changelist")).status_code == 200


def test_a_dose_and_the_windows_it_opens_are_stored_together_or_not_at_all(engager, record, monkeypatch):
    """The windows are worked out inside the dose's transaction: if that fails, the dose is not stored either
    (the caller gets the error and can retry), so a recorded dose never stands without its windows."""
    import monitoring.receivers

    course = engager("teclistamab")
    record(course, "su1", ny(10, 20, 9), ny(10, 20, 9, 5), setting="inpatient", kept=True)
    assert windows(course, DoseWindowKind.MONITORING)

    def broken(**kwargs):
        raise RuntimeError("window computation failed")

    monkeypatch.setattr(monitoring.receivers, "dose_windows_recompute", broken)
    with pytest.raises(RuntimeError):
        record(course, "su2", ny(10, 23, 9), ny(10, 23, 9, 5))
    assert not DoseAdministration.objects.filter(course=course, step_code="su2").exists()
