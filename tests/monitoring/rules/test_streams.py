"""Stream rules on device readings (clinical-rules §10, with §1 and §4 for what a sustained value means).

A skin-temperature *delta* (a change from a baseline) is never graded: the ingest accepts only absolute
temperatures, so no series here can carry one; °F readings arrive converted to °C (f_to_c)."""

from datetime import UTC, datetime, timedelta

import pytest

from monitoring.rules import EvaluationContext, Policy, TherapyContext, Urgency, f_to_c
from monitoring.rules.streams import (
    DIASTOLIC,
    HEART_RATE,
    SPO2,
    SYSTOLIC,
    TEMPERATURE,
    Point,
    Series,
    beyond_limit,
    evaluate_streams,
    sustained_run,
)

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
CAR_T = EvaluationContext(therapies=(TherapyContext("yescarta", "car_t", 3),))
CHECKPOINT = EvaluationContext(therapies=(TherapyContext("pembrolizumab", "checkpoint", 80, 5),))
LENALIDOMIDE = EvaluationContext(therapies=(TherapyContext("lenalidomide", "immunomodulator", 40, 0),))
TECLISTAMAB = EvaluationContext(therapies=(TherapyContext("teclistamab", "t_cell_engager", 4, 1),))
E, U, N = Urgency.EMERGENCY, Urgency.URGENT, Urgency.NONE


def series(kind, values, *, every=60, start=T0, offset=0.0, streams=True, skip=()):
    """Readings every `every` seconds from `start`, the i-th one left out when i is in `skip`."""
    points = tuple(Point(start + timedelta(seconds=every * i), float(v)) for i, v in enumerate(values)
                   if i not in skip)
    return Series(kind, "patch #1", points, expected_interval_seconds=every, temperature_offset_c=offset,
                  streams=streams)


def top(found):
    return max((f.urgency for f in found), default=N)


def fever(*args, **kw):
    return series(TEMPERATURE, *args, **kw)


# (series, context, expected urgency of the most urgent finding, expected conditions)
CASES = [
    pytest.param(fever([38.0] * 11), CAR_T, U, {"crs"}, id="38.0 for 10 min, every reading: urgent CRS (§1)"),
    pytest.param(fever([37.9] * 11), CAR_T, N, set(), id="37.9 for 10 min is not fever"),
    pytest.param(fever([38.4] * 10), CAR_T, N, set(), id="9 minutes is not sustained"),
    pytest.param(fever([38.4] * 9), CAR_T, N, set(), id="an 8-minute rise does not alert"),
    pytest.param(fever([37.2] * 5 + [39.5] + [37.2] * 10), CAR_T, N, set(), id="a single spike does not alert"),
    pytest.param(fever([37.0, 37.4, 37.8, 38.1, 38.3, 38.4, 38.4, 38.3, 38.2, 38.1, 38.0, 37.8, 37.6]), CAR_T, N, set(),
                 id="a rise over 38.0 for 7 minutes then down does not alert"),
    pytest.param(fever([38.4] * 13), CAR_T, U, {"crs"}, id="38.4 for 12 minutes alerts (wearables 4.4 trace a)"),
    pytest.param(fever([38.1] * 10), CAR_T, N, set(), id="38.1 for 9 minutes (trace c)"),
    pytest.param(fever([38.4] * 11, skip={2, 4, 6}), CAR_T, N, set(),
                 id="7 of 10 expected readings (70 %) does not alert"),
    pytest.param(fever([38.4] * 11, skip={2, 4}), CAR_T, U, {"crs"}, id="8 of 10 expected (80 %) alerts"),
    pytest.param(fever([f_to_c(100.4)] * 11), CAR_T, U, {"crs"}, id="100.4 °F converted upstream is fever"),
    pytest.param(fever([f_to_c(100.3)] * 11), CAR_T, N, set(), id="100.3 °F converted is not"),
    pytest.param(fever([37.6] * 11, offset=0.4), CAR_T, U, {"crs"}, id="skin 37.6 with a +0.4 offset is 38.0"),
    pytest.param(fever([37.6] * 11, offset=0.3), CAR_T, N, set(), id="skin 37.6 with a +0.3 offset is 37.9"),
    pytest.param(fever([38.0] * 11), CHECKPOINT, U, {"fever"}, id="checkpoint inhibitor: urgent fever (§4)"),
    pytest.param(fever([38.0] * 11), TECLISTAMAB, U, {"crs"}, id="T-cell engager: as after CAR T (§8)"),
    pytest.param(fever([38.6] * 11), LENALIDOMIDE, N, set(), id="a fever the check-in rules do not grade: nothing"),
    pytest.param(fever([38.6], streams=False), CAR_T, U, {"crs"}, id="one thermometer reading is enough (§10)"),
    pytest.param(fever([37.9], streams=False), CAR_T, N, set(), id="a thermometer reading of 37.9 is not"),
]


@pytest.mark.parametrize(("stream", "ctx", "urgency", "conditions"), CASES)
def test_fever_from_a_stream(stream, ctx, urgency, conditions):
    found = evaluate_streams([stream], ctx)
    assert top(found) == urgency
    assert {f.condition for f in found} == conditions


def test_coverage_edge_is_exact_at_79_and_80_percent():
    """Readings every 6 s: 100 expected in 10 minutes; 80 present alert, 79 do not."""
    def window(present):
        missing = set(range(1, 101 - present))  # the onset reading and the last `present` are there
        return fever([38.2] * 101, every=6, skip=missing)
    assert evaluate_streams([window(80)], CAR_T)
    assert not evaluate_streams([window(79)], CAR_T)


def test_evidence_names_the_readings_times_count_coverage_and_device():
    found = evaluate_streams([fever([37.5] * 3 + [38.3] * 15 + [37.6] * 2, skip={5})], CAR_T)
    (finding,) = found
    assert finding.rule_id == "crs.fever"  # the same rule and words as a typed fever
    evidence = finding.evidence
    assert evidence["stream_rule"] == "stream.fever"
    assert evidence["first_measured_at"] == T0 + timedelta(minutes=3)
    assert evidence["last_measured_at"] == T0 + timedelta(minutes=17)
    assert evidence["readings"] == 14
    assert evidence["coverage_percent"] == 90
    assert evidence["device"] == "patch #1"
    assert evidence["temperature_c"] == 38.3
    assert "Device readings from 2026-07-01 12:03 UTC to 2026-07-01 12:17 UTC (14 readings" in finding.staff_rationale


def test_offset_is_named_in_the_rationale_and_evidence():
    (finding,) = evaluate_streams([fever([37.7] * 11, offset=0.5)], CAR_T)
    assert finding.evidence["temperature_offset_c"] == 0.5
    assert finding.evidence["temperature_c"] == 38.2
    assert "its offset of +0.5 °C applied" in finding.staff_rationale


# SpO2 (§10): < 90 sustained 5 min emergency; < 92 (policy) as §4 pneumonitis after the policy minutes (10).
SPO2_CASES = [
    pytest.param([89] * 6, CAR_T, E, id="89 for 5 minutes: emergency"),
    pytest.param([89] * 5, CAR_T, N, id="89 for 4 minutes: not yet"),
    pytest.param([90] * 6, CAR_T, N, id="90 for 5 minutes: not below 90, and not yet 10 minutes below 92"),
    pytest.param([90] * 11, CAR_T, E, id="90 for 10 minutes: below the 92 % limit, as §4 pneumonitis"),
    pytest.param([91] * 11, CAR_T, E, id="91 for 10 minutes: emergency"),
    pytest.param([91] * 10, CAR_T, N, id="91 for 9 minutes: not yet"),
    pytest.param([92] * 30, CAR_T, N, id="92 is not below the limit"),
    pytest.param([89] * 6, LENALIDOMIDE, E, id="89 for 5 minutes whatever the therapy"),
    pytest.param([91] * 11, CHECKPOINT, E, id="91 on a checkpoint inhibitor: pneumonitis emergency (§4)"),
]


@pytest.mark.parametrize(("values", "ctx", "urgency"), SPO2_CASES)
def test_spo2_from_a_pulse_oximeter(values, ctx, urgency):
    assert top(evaluate_streams([series(SPO2, values)], ctx)) == urgency


def test_low_spo2_with_no_check_in_rule_is_its_own_condition():
    (finding,) = evaluate_streams([series(SPO2, [88] * 6)], LENALIDOMIDE)
    assert (finding.condition, finding.rule_id, finding.urgency) == ("low_oxygen", "stream.spo2_below_90", E)


def test_checkpoint_low_spo2_is_the_pneumonitis_alert():
    found = evaluate_streams([series(SPO2, [91] * 11)], CHECKPOINT)
    assert {f.condition for f in found} == {"pneumonitis"}


def test_sustained_fever_with_sustained_low_spo2_at_the_same_time_is_an_emergency():
    found = evaluate_streams([fever([38.5] * 11), series(SPO2, [91] * 11)], CAR_T)
    crs = next(f for f in found if f.condition == "crs")
    assert crs.urgency == E and crs.min_grade == 2


# Heart rate and systolic BP: the §1 limits (> 100/min, < 90 mmHg, center policy), sustained 10 min (policy).
VITALS_CASES = [
    pytest.param(HEART_RATE, [101] * 11, U, id="HR 101 for 10 minutes after CAR T: urgent"),
    pytest.param(HEART_RATE, [100] * 11, N, id="HR 100 is not above the limit"),
    pytest.param(HEART_RATE, [130] * 10, N, id="HR 130 for 9 minutes: not sustained"),
    pytest.param(SYSTOLIC, [89] * 11, U, id="systolic 89 for 10 minutes: urgent (sign without fever)"),
    pytest.param(SYSTOLIC, [90] * 11, N, id="systolic 90 is not below the limit"),
]


@pytest.mark.parametrize(("kind", "values", "urgency"), VITALS_CASES)
def test_heart_rate_and_blood_pressure(kind, values, urgency):
    assert top(evaluate_streams([series(kind, values)], CAR_T)) == urgency


def test_one_cuff_reading_is_enough_and_with_a_fever_is_an_emergency():
    cuff = series(SYSTOLIC, [85], streams=False, start=T0 + timedelta(minutes=5))
    assert top(evaluate_streams([cuff], CAR_T)) == U
    assert top(evaluate_streams([cuff, fever([38.3] * 11)], CAR_T)) == E


def test_center_policy_changes_minutes_and_coverage():
    policy = Policy(stream_fever_minutes=5, stream_coverage_percent=50)
    ctx = EvaluationContext(therapies=CAR_T.therapies, policy=policy)
    assert evaluate_streams([fever([38.2] * 6, skip={1, 2})], ctx)
    assert not evaluate_streams([fever([38.2] * 6, skip={1, 2})], CAR_T)


def test_the_run_goes_on_while_readings_stay_above():
    run = sustained_run(fever([38.2] * 40), lambda v: v >= 38.0, 10, 80)
    assert run is not None and run.count == 40 and run.last == T0 + timedelta(minutes=39)


def test_a_gap_inside_a_run_needs_fresh_coverage():
    # 38.5 at minute 0 then nothing until minutes 20-24: sustained in time, but 5 of 10 expected readings.
    stream = Series(TEMPERATURE, "p", (Point(T0, 38.5), *(Point(T0 + timedelta(minutes=m), 38.5)
                                                            for m in range(20, 25))), expected_interval_seconds=60)
    assert not evaluate_streams([stream], CAR_T)


@pytest.mark.parametrize(("minutes", "urgency"), [(29, None), (30, Urgency.SAME_DAY), (119, Urgency.SAME_DAY),
                                                  (120, Urgency.URGENT)])
def test_device_silence_edges(minutes, urgency):
    """§10: 30 minutes same-day, 2 h urgent (center policy)."""
    from monitoring.rules.streams import device_silence

    found = device_silence("patch #1", T0, T0 + timedelta(minutes=minutes, seconds=59), Policy())
    assert (found.urgency if found else None) == urgency
    if found:
        assert found.condition == "device_silence" and found.evidence["silent_minutes"] == minutes


@pytest.mark.parametrize(("kind", "value", "policy", "offset", "beyond"), [
    (TEMPERATURE, 37.9, Policy(), 0.0, False),
    (TEMPERATURE, 38.0, Policy(), 0.0, True),  # §1 fever >= 38.0 °C
    (TEMPERATURE, 37.5, Policy(), 0.5, True),  # the device's offset (policy) applied, as grading does
    (SPO2, 92, Policy(), 0.0, False),
    (SPO2, 91, Policy(), 0.0, True),  # §4 below the center limit (92)
    (SPO2, 93, Policy(spo2_min=94), 0.0, True),
    (SPO2, 89, Policy(spo2_min=88), 0.0, True),  # §10 < 90 % whatever the center's limit
    (HEART_RATE, 100, Policy(), 0.0, False),
    (HEART_RATE, 101, Policy(), 0.0, True),  # §1 > 100/min
    (SYSTOLIC, 90, Policy(), 0.0, False),
    (SYSTOLIC, 89, Policy(), 0.0, True),  # §1 < 90 mmHg
    (DIASTOLIC, 40, Policy(), 0.0, False),  # no rule grades it alone
])
def test_a_single_reading_past_a_limit_puts_its_batch_ahead(kind, value, policy, offset, beyond):
    assert beyond_limit(kind, value, policy, temperature_offset_c=offset) is beyond
