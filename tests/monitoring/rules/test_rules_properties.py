"""Property tests over the whole engine (clinical-rules §1-§4): monotone urgency, robustness, units."""

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from monitoring.rules import (
    CheckinInput,
    EvaluationContext,
    Policy,
    TherapyContext,
    Urgency,
    c_to_f,
    evaluate,
    f_to_c,
    followups,
    highest_urgency,
    patient_instruction,
)
from monitoring.rules.types import ABDOMINAL_PAIN_LEVELS, CONSCIOUSNESS_LEVELS

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
PRODUCTS = {
    "car_t": ["yescarta", "kymriah", "tecartus", "breyanzi", "abecma", "carvykti", "aucatzyl"],
    "checkpoint": [
        "pembrolizumab",
        "nivolumab",
        "cemiplimab",
        "atezolizumab",
        "avelumab",
        "durvalumab",
        "ipilimumab",
        "tremelimumab",
        "nivolumab_relatlimab",
    ],
}

BOOL_FIELDS = [f.name for f in dataclasses.fields(CheckinInput) if f.type in ("bool | None",)]
# numeric field -> (strategy of valid values, direction that is worse: +1 up, -1 down, bounds)
NUMERIC = {
    "temperature_c": (st.floats(34.0, 42.5).map(lambda t: round(t, 1)), +1, 34.0, 43.0),
    "heart_rate": (st.integers(30, 200), +1, 30, 250),
    "systolic_bp": (st.integers(50, 200), -1, 40, 250),
    "diastolic_bp": (st.integers(30, 130), 0, 30, 130),
    "spo2": (st.integers(70, 100), -1, 50, 100),
    "ice_score": (st.integers(0, 10), -1, 0, 10),
    "ice_orientation": (st.integers(0, 4), -1, 0, 4),
    "ice_naming": (st.integers(0, 3), -1, 0, 3),
    "ice_command": (st.integers(0, 1), -1, 0, 1),
    "ice_writing": (st.integers(0, 1), -1, 0, 1),
    "ice_counting": (st.integers(0, 1), -1, 0, 1),
    "capd_score": (st.integers(0, 32), +1, 0, 32),
    "extra_stools": (st.integers(0, 15), +1, 0, 30),
    "rash_percent": (st.integers(0, 100), +1, 0, 100),
}
ORDINAL = {"consciousness": CONSCIOUSNESS_LEVELS, "abdominal_pain": ABDOMINAL_PAIN_LEVELS}


def maybe(s):
    return st.none() | s


# Mostly-quiet values near the thresholds, so that worsening one input often crosses a limit.
QUIET = {
    "temperature_c": st.integers(360, 379).map(lambda t: t / 10),
    "heart_rate": st.integers(60, 100),
    "systolic_bp": st.integers(90, 140),
    "diastolic_bp": st.integers(60, 90),
    "spo2": st.integers(92, 100),
    "ice_score": st.integers(7, 10),
    "ice_orientation": st.integers(3, 4),
    "ice_naming": st.integers(2, 3),
    "ice_command": st.just(1),
    "ice_writing": st.just(1),
    "ice_counting": st.just(1),
    "capd_score": st.integers(0, 8),
    "extra_stools": st.integers(0, 6),
    "rash_percent": st.integers(0, 30),
    "consciousness": st.sampled_from(CONSCIOUSNESS_LEVELS[:2]),
    "abdominal_pain": st.sampled_from(ABDOMINAL_PAIN_LEVELS[:2]),
}
FULL = {name: spec[0] for name, spec in NUMERIC.items()}
FULL.update({name: st.sampled_from(levels) for name, levels in ORDINAL.items()})
FULL.update({name: st.booleans() for name in BOOL_FIELDS})
ALL_FIELDS = sorted(FULL)
# Built once: creating strategies inside the composite would re-validate them on every example.
QUIET_MAYBE = {name: maybe(st.just(False) if name in BOOL_FIELDS else QUIET[name]) for name in ALL_FIELDS}
FULL_MAYBE = {name: maybe(FULL[name]) for name in ALL_FIELDS}
PICK_FIELDS = st.lists(st.sampled_from(ALL_FIELDS), max_size=3, unique=True)


@st.composite
def checkins(draw, recorded_at=st.just(NOW)):
    """A mostly quiet check-in (each answer None or unremarkable) with 0-3 answers from the full range."""
    fields = {name: draw(QUIET_MAYBE[name]) for name in ALL_FIELDS}
    for name in draw(PICK_FIELDS):
        fields[name] = draw(FULL_MAYBE[name])
    return CheckinInput(recorded_at=draw(recorded_at), **fields)


wild_checkins = st.builds(CheckinInput, recorded_at=st.just(NOW) | st.none(), **FULL_MAYBE)


therapies = st.sampled_from(["car_t", "checkpoint"]).flatmap(
    lambda cls: st.builds(
        TherapyContext,
        product=st.sampled_from(PRODUCTS[cls]),
        therapy_class=st.just(cls),
        days_since_start=st.integers(0, 400),
        days_since_last_dose=maybe(st.integers(0, 60)) if cls == "checkpoint" else st.none(),
    )
)

policies = st.builds(
    Policy,
    systolic_bp_min=st.integers(80, 110),
    spo2_min=st.integers(88, 96),
    heart_rate_max=st.integers(90, 130),
    hr_persist_readings=st.integers(1, 4),
    trend_temp_readings=st.integers(2, 4),
    trend_symptom_days=st.integers(1, 3),
    trend_urgency=st.sampled_from(["none", "routine", "same-day", "urgent", "emergency"]),
) | st.just(Policy())


GAPS = st.lists(st.floats(0.5, 40.0), max_size=4)
ONE_IN_TEN = st.integers(0, 9)
# Earlier check-ins only matter through the fields the history rules read (trends, persistence, ICE).
HISTORY_FIELDS = ("temperature_c", "heart_rate", "ice_score", "extra_stools", "rash_percent")


@st.composite
def recent_checkins(draw):
    gaps = draw(GAPS)
    out, hours = [], 0.0
    for g in gaps:
        hours += g
        fields = {n: draw(FULL_MAYBE[n]) for n in HISTORY_FIELDS}
        fields["confusion"] = draw(FULL_MAYBE["confusion"])
        when = NOW - timedelta(hours=hours) if draw(ONE_IN_TEN) else None
        out.append(CheckinInput(recorded_at=when, **fields))
    return tuple(out)


contexts = st.builds(
    EvaluationContext,
    therapies=st.lists(therapies, min_size=0, max_size=3).map(tuple),
    baseline_ice=maybe(st.integers(0, 10)),
    patient_age_years=maybe(st.integers(1, 95)),
    received_tocilizumab_or_steroids=st.booleans(),
    recent=recent_checkins(),
    policy=policies,
    driving_window_active=st.booleans(),
)

FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(checkins(st.just(NOW) | st.none()) | wild_checkins, contexts)
def test_evaluate_never_raises_on_valid_input(checkin, ctx):
    """§1-§4: any valid check-in (all None included) evaluates, and the outputs are well formed."""
    findings = evaluate(checkin, ctx)
    assert len({f.condition for f in findings}) == len(findings)
    assert [f.urgency for f in findings] == sorted((f.urgency for f in findings), reverse=True)
    for f in findings:
        f.to_dict()
    patient_instruction(findings, "555-0100")
    followups(checkin, ctx)


@FAST
@given(contexts)
def test_all_none_checkin_yields_no_finding(ctx):
    """§1-§4: unanswered questions never alert. Unanswered questions never alert."""
    ctx = dataclasses.replace(ctx, recent=())
    assert evaluate(CheckinInput(), ctx) == []
    assert evaluate(CheckinInput(recorded_at=NOW), ctx) == []


def worsen(draw, checkin):
    """Return (field, worse check-in) changing one input toward 'sicker'."""
    candidates = [n for n in BOOL_FIELDS if getattr(checkin, n) is not True]
    candidates += [n for n, spec in NUMERIC.items() if spec[1] and getattr(checkin, n) is not None]
    candidates += [n for n, levels in ORDINAL.items() if getattr(checkin, n) in levels[:-1]]
    assume(candidates)
    name = draw(st.sampled_from(candidates))
    value = getattr(checkin, name)
    if name in NUMERIC:
        _, direction, lo, hi = NUMERIC[name]
        if isinstance(value, float):
            step = draw(st.floats(0.1, 3.0).map(lambda x: round(x, 1)))
        else:
            step = draw(st.integers(1, 40))
        new = value + direction * step
        new = min(hi, max(lo, new))
        if isinstance(value, float):
            new = round(new, 1)
    elif name in ORDINAL:
        levels = ORDINAL[name]
        new = draw(st.sampled_from(levels[levels.index(value) + 1 :]))
    else:
        new = True
    return name, dataclasses.replace(checkin, **{name: new})


@settings(
    max_examples=600,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(checkins(), contexts, st.data())
def test_worsening_any_single_input_never_lowers_urgency(checkin, ctx, data):
    """§1-§4 monotone: higher temperature, lower SpO2/BP/ICE, higher HR, worse consciousness, more stools,
    larger rash, a False->True sign: the highest urgency never goes down."""
    name, worse = worsen(data.draw, checkin)
    before = highest_urgency(evaluate(checkin, ctx))
    after = highest_urgency(evaluate(worse, ctx))
    assert after >= before, (name, getattr(checkin, name), getattr(worse, name), before, after)


@FAST
@given(st.integers(340, 430).map(lambda t: t / 10), contexts)
def test_celsius_and_converted_fahrenheit_grade_alike(celsius, ctx):
    """§1: a reading entered in °F (0.1 °F resolution) and converted grades like the °C reading."""
    via_f = f_to_c(c_to_f(celsius))
    assert via_f == celsius
    a = evaluate(CheckinInput(recorded_at=NOW, temperature_c=celsius), ctx)
    b = evaluate(CheckinInput(recorded_at=NOW, temperature_c=via_f), ctx)
    assert [f.to_dict() for f in a] == [f.to_dict() for f in b]


@FAST
@given(st.integers(950, 1070).map(lambda t: t / 10), contexts)
def test_fahrenheit_fever_threshold_is_100_4(fahrenheit, ctx):
    """§1: fever at >= 100.4 °F exactly as at >= 38.0 °C."""
    ctx = dataclasses.replace(
        ctx, therapies=(TherapyContext("yescarta", "car_t", 3),), recent=(), driving_window_active=False
    )
    findings = evaluate(CheckinInput(recorded_at=NOW, temperature_c=f_to_c(fahrenheit)), ctx)
    fever = any(f.rule_id == "crs.fever" for f in findings)
    assert fever == (fahrenheit >= 100.4 - 1e-9)


NORMAL = CheckinInput(
    recorded_at=NOW,
    **{name: False for name in BOOL_FIELDS},
    temperature_c=37.0,
    heart_rate=78,
    systolic_bp=120,
    diastolic_bp=75,
    spo2=97,
    consciousness="alert",
    ice_score=10,
    ice_orientation=4,
    ice_naming=3,
    ice_command=1,
    ice_writing=1,
    ice_counting=1,
    capd_score=0,
    extra_stools=0,
    abdominal_pain="none",
    rash_percent=0,
)


@FAST
@given(contexts)
def test_normal_checkin_yields_no_findings(ctx):
    """§1-§4: all signs False at 37.0 °C and normal readings -> nothing, with any history."""
    ctx = dataclasses.replace(ctx, policy=Policy())
    assert evaluate(NORMAL, ctx) == []
    assert highest_urgency(evaluate(NORMAL, ctx)) == Urgency.NONE


SWEEP_CONTEXTS = {
    "car_t_day5": EvaluationContext(therapies=(TherapyContext("yescarta", "car_t", 5),)),
    "car_t_after_toci": EvaluationContext(
        therapies=(TherapyContext("carvykti", "car_t", 30),), received_tocilizumab_or_steroids=True
    ),
    "child_car_t": EvaluationContext(therapies=(TherapyContext("kymriah", "car_t", 8),), patient_age_years=9),
    "checkpoint_infusion_day": EvaluationContext(therapies=(TherapyContext("nivolumab", "checkpoint", 20, 0),)),
    "checkpoint_late": EvaluationContext(therapies=(TherapyContext("ipilimumab", "checkpoint", 200, 30),)),
}
SWEEPS = {
    "temperature_c": [t / 10 for t in range(350, 425)],
    "heart_rate": list(range(40, 200)),
    "systolic_bp": list(range(200, 50, -1)),
    "spo2": list(range(100, 70, -1)),
    "ice_score": list(range(10, -1, -1)),
    "capd_score": list(range(0, 33)),
    "extra_stools": list(range(0, 16)),
    "rash_percent": list(range(0, 101)),
    "consciousness": list(CONSCIOUSNESS_LEVELS),
    "abdominal_pain": list(ABDOMINAL_PAIN_LEVELS),
}


def test_urgency_is_monotone_along_each_single_input_sweep():
    """§1-§4 monotone, exhaustively along each graded input from a normal check-in, in several contexts."""
    for ctx_name, ctx in SWEEP_CONTEXTS.items():
        for name, values in SWEEPS.items():
            last = Urgency.NONE
            for v in values:
                u = highest_urgency(evaluate(dataclasses.replace(NORMAL, **{name: v}), ctx))
                assert u >= last, (ctx_name, name, v, u, last)
                last = u
