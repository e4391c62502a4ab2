"""Check-in reminders at each patient's local reminder time (center policy), a second reminder, then the
team's nurse. Daily through the CAR T daily period (clinical-rules §3), then every `checkin_interval_days`.
Times are built in the patient's IANA zone, so daylight-saving changes neither skip nor repeat a day; the
de-duplication key (patient, expected date, stage, recipient, channel) makes a repeated scan harmless.

In the 72 h after a step-up or first full dose of a T-cell engager (clinical-rules §8, policies
dose_checkin_interval_hours / dose_checkin_period_hours) check-ins are due every 12 h: the state then works on
a slot (`dose_slot_at`, an exact time, in the de-duplication key instead of the date) with the same stages;
a complete check-in after `dose_slot_from` answers it, and a missed or skipped slot moves to the next one.
None while the patient is in hospital or kept for monitoring (a supervised dose window): that slot is skipped.

The scan works in batches (`reminders_advance_due`): each batch claims up to BATCH_SIZE due rows with
SELECT ... FOR UPDATE SKIP LOCKED (a concurrent scan skips them, so nothing is sent twice) and advances
them in one transaction with a fixed number of queries, whatever the batch size. A batch that fails is
rolled back whole and its rows are advanced one transaction each (`reminder_advance`), so one patient's
error costs only that patient's step, logged at ERROR; the row stays due and is tried again next tick."""

import datetime as dt
import logging
import time
import zoneinfo
from collections import Counter, defaultdict

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from monitoring.models import DoseWindow, DoseWindowKind
from monitoring.rules.policy import parse_local_time
from monitoring.selectors import (
    dose_checkin_facts,
    dose_checkin_slot_of,
    next_checkin_expected,
    next_checkins_expected,
    policy_for_center,
)
from notifications.models import ChainRole, NotificationKind, ReminderState
from notifications.services.batches import batch_with_fallback, scan_in_batches
from notifications.services.outbox import notifications_create_many
from notifications.services.routing import channels_for, patient_channels
from notifications.services.scan_cache import ScanCache
from tracker.models import CaregiverLink, CheckIn, Patient
from tracker.models.therapies import CourseStatus

logger = logging.getLogger(__name__)

Stage = ReminderState.Stage

BATCH_SIZE = 500
# One tick (beat runs the scan every 60 s) advances at most this many rows and starts no batch after this
# many seconds, so ticks do not pile up behind a huge backlog; what is left is due at the next tick.
# At about 1.5 ms a row, 40 s is some 25,000 rows: the whole evening peak of 100,000 patients (~10,500).
TICK_MAX_ROWS = 50_000
TICK_MAX_SECONDS = 40.0


def local_datetime(day: dt.date, hhmm: str, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    hour, minute = parse_local_time(hhmm)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def reminder_reschedule(*, patient: Patient, now: dt.datetime | None = None) -> ReminderState | None:
    """Work out the next local date a check-in is expected and when its first reminder is due."""
    now = now or timezone.now()
    policy = policy_for_center(patient.center)
    slot = dose_checkin_slot_of(patient, dose_checkin_facts([patient], now, {patient.center_id: policy}), now,
                                policy)
    if slot is not None:
        state, _ = ReminderState.objects.update_or_create(patient=patient, defaults=_slot_fields(patient, slot))
        return state
    expected = next_checkin_expected(patient, now, policy)
    if expected is None:
        ReminderState.objects.filter(patient=patient).update(next_due_at=None, dose_slot_from=None,
                                                             dose_slot_at=None)
        return None
    due = local_datetime(expected, policy.reminder_local_time, patient.tz)
    state, _ = ReminderState.objects.update_or_create(
        patient=patient, defaults={"expected_on": expected, "stage": Stage.WAITING, "next_due_at": due,
                                   "dose_slot_from": None, "dose_slot_at": None})
    return state


def _slot_fields(patient: Patient, slot: tuple[dt.datetime, dt.datetime]) -> dict:
    """A state working on a 12-hourly slot after a dose: reminded at the slot's time."""
    since, due = slot
    return {"expected_on": timezone.localtime(due, patient.tz).date(), "stage": Stage.WAITING, "next_due_at": due,
            "dose_slot_from": since, "dose_slot_at": due}


def _slot_key(state: ReminderState) -> str:
    """What a reminder is for, in its de-duplication key: the local date, or the slot's time (UTC, no colons)."""
    if state.dose_slot_at is None:
        return str(state.expected_on)
    return state.dose_slot_at.astimezone(dt.UTC).strftime("slot%Y-%m-%dT%H%MZ")


# --- One batch of due rows ----------------------------------------------------------------------------------


def _logged_on_expected_date(states: list[ReminderState]) -> set[int]:
    """Ids of the states whose patient has a complete, current check-in on the expected date (one query)."""
    by_date: dict[dt.date, list[int]] = defaultdict(list)
    for state in states:
        by_date[state.expected_on].append(state.patient_id)
    match = Q()
    for day, patient_ids in by_date.items():
        match |= Q(local_date=day, patient_id__in=patient_ids)
    newer = CheckIn.objects.filter(amends=OuterRef("pk"))
    logged = set(CheckIn.objects.filter(match, is_complete=True).filter(~Exists(newer)).order_by()
                 .values_list("patient_id", "local_date").distinct())
    return {state.pk for state in states if (state.patient_id, state.expected_on) in logged}


def _reschedule_states(states: list[ReminderState], now: dt.datetime, cache: ScanCache,
                       slots: dict[int, tuple[dt.datetime, dt.datetime] | None]) -> None:
    """`reminder_reschedule` for locked states, in memory (the caller saves them). `slots`: state id -> the
    next 12-hourly slot after a dose (None or missing: the daily schedule)."""
    daily = []
    for state in states:
        slot = slots.get(state.pk)
        if slot is None:
            state.dose_slot_from = state.dose_slot_at = None
            daily.append(state)
        else:
            for name, value in _slot_fields(state.patient, slot).items():
                setattr(state, name, value)
    if not daily:
        return
    patients = [state.patient for state in daily]
    policies = cache.policies(p.center_id for p in patients)
    expected = next_checkins_expected(patients, now, policies)
    for state in daily:
        patient = state.patient
        day = expected[patient.pk]
        if day is None:
            state.next_due_at = None
        else:
            state.expected_on, state.stage = day, Stage.WAITING
            state.next_due_at = local_datetime(day, policies[patient.center_id].reminder_local_time, patient.tz)


def _patient_reminders(patient: Patient, expected_on: str, stage: int, caregivers: list, preferences) -> list:
    people = [u for u in [patient.user, *caregivers] if u is not None]
    rows = []
    for user in people:
        for channel in patient_channels(user, patient, preferences=preferences):
            rows.append(dict(
                dedup_key=f"reminder:{patient.uuid}:{expected_on}:{stage}:user{user.pk}:{channel}",
                kind=NotificationKind.REMINDER, channel=channel, patient=patient, recipient=user,
                language=patient.preferred_language if user.pk == patient.user_id else user.preferred_language,
                context={"link": f"/patients/{patient.uuid}/checkin/"},  # the address is read when sending
            ))
    return rows


def _nurse_notices(patient: Patient, expected_on: str, nurses: list, preferences) -> list:
    rows = []
    for user in nurses:
        for channel in channels_for(user, urgency=None, preferences=preferences):
            if channel == "sms":
                continue  # a missed check-in is not a page
            rows.append(dict(
                dedup_key=f"missed:{patient.uuid}:{expected_on}:user{user.pk}:{channel}",
                kind=NotificationKind.MISSED_CHECKIN, channel=channel, patient=patient, recipient=user,
                language=user.preferred_language,
                # a 12-hourly check-in after a dose (clinical-rules §8) is said so, not "today's"
                context={"link": f"/patients/{patient.uuid}/", "dose_slot": expected_on.startswith("slot")},
            ))
    return rows


def _advance_claimed(states: list[ReminderState], now: dt.datetime, cache: ScanCache) -> dict[int, str]:
    """Take one reminder step for each locked, due state (patient and patient.user loaded), inside the
    caller's transaction. Queries: a fixed number, whatever len(states). Returns state id -> outcome."""
    if not states:
        return {}
    policies = cache.policies(state.patient.center_id for state in states)
    # The 12-hourly check-ins after a dose (clinical-rules §8, policy): two queries for the whole batch.
    facts = dose_checkin_facts([s.patient for s in states], now, policies)

    def next_slot(state: ReminderState, after: dt.datetime | None = None):
        return dose_checkin_slot_of(state.patient, facts, now, policies[state.patient.center_id], after=after)

    slot_states = [s for s in states if s.dose_slot_at is not None]
    daily_states = [s for s in states if s.dose_slot_at is None]
    logged_ids = _logged_on_expected_date(daily_states) if daily_states else set()
    for state in slot_states:  # answered by a complete check-in since the slot's start (or no dose left)
        last = facts[state.patient_id][1] if state.patient_id in facts else None
        start = state.dose_slot_from or state.dose_slot_at
        if state.patient_id not in facts or (last is not None and start is not None and last > start):
            logged_ids.add(state.pk)
    # A daily schedule whose patient is now in a 12-hourly period after a dose moves to its slots.
    to_slots = {s.pk: slot for s in daily_states if s.pk not in logged_ids and s.stage == Stage.WAITING
                and (slot := next_slot(s)) is not None}
    logged = [s for s in states if s.pk in logged_ids or s.pk in to_slots]
    # In hospital or kept for monitoring after a dose (clinical-rules §8): no reminder and no missed-check-in
    # notice for that day (or 12-hourly slot); the patient is expected again the next day (the next slot).
    watched = [s for s in states if s.pk not in logged_ids and s.pk not in to_slots
               and getattr(s, "under_watch", False)]
    states_to_step = [s for s in states if s.pk not in logged_ids and s.pk not in to_slots and s not in watched]
    to_patient = [s for s in states_to_step if s.stage in (Stage.WAITING, Stage.FIRST_SENT)]
    to_nurse = [s for s in states_to_step if s.stage not in (Stage.WAITING, Stage.FIRST_SENT)]

    caregivers: dict[int, list] = defaultdict(list)
    if to_patient:
        links = (CaregiverLink.objects.filter(patient_id__in=[s.patient_id for s in to_patient], user__is_active=True)
                 .select_related("user").order_by("user_id"))
        for link in links:
            caregivers[link.patient_id].append(link.user)
    nurses = cache.on_call((s.patient.care_team_id for s in to_nurse), ChainRole.PRIMARY_NURSE) if to_nurse else {}
    people = [s.patient.user_id for s in to_patient if s.patient.user_id]
    people += [u.pk for s in to_patient for u in caregivers[s.patient_id]]
    people += [u.pk for users in nurses.values() for u in users]
    preferences = cache.preferences(people)

    outcomes: dict[int, str] = {}
    rows: list[dict] = []
    moved: list[ReminderState] = []  # slot states whose slot is over: on to the next slot (or the daily schedule)
    slots: dict[int, tuple[dt.datetime, dt.datetime] | None] = dict(to_slots)
    for state in to_patient + to_nurse:
        patient = state.patient
        policy = policies[patient.center_id]
        if state.dose_slot_at is not None:
            first = state.dose_slot_at
        else:
            first = local_datetime(state.expected_on, policy.reminder_local_time, patient.tz)
        second = first + dt.timedelta(minutes=policy.second_reminder_minutes)
        key = _slot_key(state)
        if state.stage == Stage.WAITING:
            rows += _patient_reminders(patient, key, 1, caregivers[patient.pk], preferences)
            state.stage, state.next_due_at = Stage.FIRST_SENT, second
            outcomes[state.pk] = "first reminder"
        elif state.stage == Stage.FIRST_SENT:
            rows += _patient_reminders(patient, key, 2, caregivers[patient.pk], preferences)
            state.stage = Stage.SECOND_SENT
            state.next_due_at = second + dt.timedelta(minutes=policy.missed_checkin_nurse_minutes)
            outcomes[state.pk] = "second reminder"
        else:
            rows += _nurse_notices(patient, key, nurses[patient.care_team_id], preferences)
            outcomes[state.pk] = "nurse told"
            if state.dose_slot_at is not None:
                slots[state.pk] = next_slot(state, after=state.dose_slot_at)
                moved.append(state)
                continue
            # Overdue patients are expected again the next day.
            state.expected_on = state.expected_on + dt.timedelta(days=1)
            state.stage = Stage.WAITING
            state.next_due_at = local_datetime(state.expected_on, policy.reminder_local_time, patient.tz)
    for state in watched:
        outcomes[state.pk] = "under watch"
        if state.dose_slot_at is not None:
            slots[state.pk] = next_slot(state, after=state.dose_slot_at)
            moved.append(state)
            continue
        policy = policies[state.patient.center_id]
        state.expected_on = max(state.expected_on, timezone.localtime(now, state.patient.tz).date()) + dt.timedelta(days=1)
        state.stage = Stage.WAITING
        state.next_due_at = local_datetime(state.expected_on, policy.reminder_local_time, state.patient.tz)
    for state in logged:
        if state.pk not in to_slots and state.patient_id in facts:
            slots[state.pk] = next_slot(state)
    if logged or moved:
        _reschedule_states(logged + moved, now, cache, slots)
        outcomes.update((state.pk, "to 12-hourly check-ins" if state.pk in to_slots else "logged")
                        for state in logged)
    notifications_create_many(rows)
    _save_states(states)
    return outcomes


def _save_states(states: list[ReminderState]) -> None:
    """Write expected_on, stage and next_due_at of many states in one UPDATE (three array parameters and
    the ids, rather than bulk_update's CASE per row and field; bulk_update on SQLite, the quick start)."""
    if connection.vendor != "postgresql":
        ReminderState.objects.bulk_update(states, ["expected_on", "stage", "next_due_at", "dose_slot_from",
                                                   "dose_slot_at"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(ReminderState._meta.db_table)} AS s "  # noqa: S608
            "SET expected_on = v.expected_on, stage = v.stage, next_due_at = v.next_due_at, "
            "dose_slot_from = v.dose_slot_from, dose_slot_at = v.dose_slot_at "
            "FROM unnest(%s::bigint[], %s::date[], %s::smallint[], %s::timestamptz[], %s::timestamptz[], "
            "%s::timestamptz[]) AS v(id, expected_on, stage, next_due_at, dose_slot_from, dose_slot_at) "
            "WHERE s.id = v.id",
            [[s.pk for s in states], [s.expected_on for s in states], [int(s.stage) for s in states],
             [s.next_due_at for s in states], [s.dose_slot_from for s in states],
             [s.dose_slot_at for s in states]])


def _watched_windows(now: dt.datetime):
    """Post-dose windows in force now in which the patient is in hospital or kept for monitoring (clinical-rules
    §8: monitored after the dose; home monitoring starts when it ends): no home check-in reminder then."""
    return DoseWindow.objects.in_force(now).filter(
        supervised=True, kind__in=(DoseWindowKind.MONITORING, DoseWindowKind.REMONITOR))


def _claim(now: dt.datetime, *, after: int = 0, limit: int = BATCH_SIZE, state_id: int | None = None):
    """Due rows, locked until the end of the transaction; rows another scan holds are skipped."""
    due = (ReminderState.objects.select_for_update(skip_locked=True, of=("self",))
           .select_related("patient__user").filter(next_due_at__lte=now)
           .annotate(under_watch=Exists(_watched_windows(now).filter(course__patient=OuterRef("patient_id")))))
    if state_id is not None:
        return list(due.filter(pk=state_id))
    return list(due.filter(pk__gt=after).order_by("pk")[:limit])


def reminder_advance(*, state_id: int, now: dt.datetime | None = None) -> str:
    """Take one due reminder step for one patient, in its own transaction. Returns what was done."""
    now = now or timezone.now()
    with transaction.atomic():
        states = _claim(now, state_id=state_id)
        if not states:
            return "not due"
        return _advance_claimed(states, now, ScanCache(now))[state_id]


def reminders_advance_batch(*, now: dt.datetime, after: int = 0, limit: int = BATCH_SIZE,
                            cache: ScanCache | None = None) -> tuple[list[int], dict[int, str]]:
    """Claim up to `limit` due rows with ids above `after` and take one step for each, in one transaction.
    If the batch fails, it is rolled back and each row is advanced in its own transaction instead; a row
    that fails alone is logged at ERROR and stays due. Returns (claimed ids in order, id -> outcome)."""
    cache = cache or ScanCache(now)
    claimed, outcomes = batch_with_fallback(
        claim=lambda: _claim(now, after=after, limit=limit),
        work=lambda states: _advance_claimed(states, now, cache),
        one=lambda state_id: reminder_advance(state_id=state_id, now=now),
        logger=logger, batch_name="Reminder batch", rows_name="rows", row_name="Reminder state")
    return claimed, {pk: outcome or "failed" for pk, outcome in outcomes.items()}


def reminders_advance_due(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE,
                          max_rows: int = TICK_MAX_ROWS, max_seconds: float = TICK_MAX_SECONDS) -> Counter:
    """One tick: batches in id order until nothing is due, `max_rows` rows were taken or `max_seconds` have
    passed (at least one batch runs). Each due row takes at most one step per tick, as when the rows due at
    the tick's start were advanced one by one. Returns the count of each outcome."""
    now = now or timezone.now()
    cache = ScanCache(now)
    started = time.monotonic()
    done, stopped_after = scan_in_batches(
        batch=lambda after, limit: reminders_advance_batch(now=now, after=after, limit=limit, cache=cache),
        batch_size=batch_size, max_seconds=max_seconds, max_rows=max_rows)
    outcomes = Counter(done.values())
    if stopped_after is not None:
        left = ReminderState.objects.filter(next_due_at__lte=now, pk__gt=stopped_after).count()
        if left:
            logger.warning("Reminder scan stopped after %s rows in %.0f s; %s rows wait for the next tick",
                           outcomes.total(), time.monotonic() - started, left)
    return outcomes


# --- Schedules for patients who have none ---------------------------------------------------------------------


def reminders_ensure_states(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Patients with an active course but no reminder schedule get one (in batches, like reminder_reschedule
    for each). Returns how many were looked at."""
    now = now or timezone.now()
    cache = ScanCache(now)
    missing = list(Patient.objects.filter(courses__status=CourseStatus.ACTIVE, reminder_state__isnull=True)
                   .distinct().order_by("pk"))
    for start in range(0, len(missing), batch_size):
        patients = missing[start:start + batch_size]
        policies = cache.policies(p.center_id for p in patients)
        expected = next_checkins_expected(patients, now, policies)
        new = [ReminderState(patient=p, expected_on=day, stage=Stage.WAITING,
                             next_due_at=local_datetime(day, policies[p.center_id].reminder_local_time, p.tz))
               for p in patients if (day := expected[p.pk]) is not None]
        # A schedule written meanwhile (a check-in's reschedule task) is as fresh as this one: keep it.
        ReminderState.objects.bulk_create(new, ignore_conflicts=True)
    return len(missing)
