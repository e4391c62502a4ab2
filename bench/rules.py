"""Benchmark of the clinical rules engine: `python bench/rules.py`.

Evaluates a realistic mix of check-ins (mostly quiet days, some fevers, a few emergencies, checkpoint
patients with mild side effects, Carvykti late-neuro questions, trends over recent check-ins) and prints
the median and p99 time per evaluation and the evaluations per second.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitoring.rules import CheckinInput, EvaluationContext, TherapyContext, evaluate  # noqa: E402

NOW = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)

QUIET = dict(
    temperature_c=36.9,
    heart_rate=78,
    systolic_bp=122,
    diastolic_bp=76,
    spo2=97,
    on_oxygen=False,
    chills=False,
    short_of_breath=False,
    dizzy_or_fainting=False,
    severe_nausea_vomiting_diarrhea=False,
    fast_heartbeat=False,
    severe_fatigue=False,
    severe_muscle_joint_pain=False,
    confusion=False,
    agitation=False,
    speech_trouble=False,
    balance_loss=False,
    tremor=False,
    consciousness="alert",
    seizure=False,
    seizure_prolonged=False,
    focal_weakness=False,
    ice_score=10,
    drove_since_last=False,
)
QUIET_ICI = dict(
    temperature_c=36.8,
    heart_rate=72,
    extra_stools=0,
    stool_blood_mucus=False,
    abdominal_pain="none",
    diarrhea_limits_selfcare=False,
    rash_percent=0,
    rash_blisters_or_sores=False,
    cough=False,
    breathless=False,
    breathless_at_rest=False,
    chest_pain=False,
    yellow_skin_or_dark_urine=False,
    right_belly_pain=False,
    easy_bruising=False,
    severe_headache=False,
    vision_change=False,
    severe_fatigue=False,
    dizzy_or_fainting=False,
    extreme_thirst_urination=False,
    muscle_weakness=False,
)


def history(n: int, **overrides) -> tuple[CheckinInput, ...]:
    return tuple(
        CheckinInput(recorded_at=NOW - timedelta(hours=12 * (i + 1)), **{**QUIET, **overrides}) for i in range(n)
    )


def cases() -> list[tuple[CheckinInput, EvaluationContext, int]]:
    """(check-in, context, weight)"""
    yescarta = (TherapyContext("yescarta", "car_t", 5),)
    carvykti = (TherapyContext("carvykti", "car_t", 40),)
    pembro = (TherapyContext("pembrolizumab", "checkpoint", 60, 10),)
    nivo_today = (TherapyContext("nivolumab", "checkpoint", 30, 0),)
    recent = history(3)
    rising = tuple(
        CheckinInput(recorded_at=NOW - timedelta(hours=6 * (i + 1)), temperature_c=t, heart_rate=h)
        for i, (t, h) in enumerate(((37.5, 92), (37.2, 85), (36.9, 78)))
    )
    ctx_car = EvaluationContext(therapies=yescarta, recent=recent)
    ctx_car_trend = EvaluationContext(therapies=yescarta, recent=rising)
    ctx_carv = EvaluationContext(therapies=carvykti, recent=recent, driving_window_active=True)
    ctx_ici = EvaluationContext(therapies=pembro, recent=history(3, **QUIET_ICI))
    ctx_ici_inf = EvaluationContext(therapies=nivo_today)
    c = lambda **kw: CheckinInput(recorded_at=NOW, **{**QUIET, **kw})  # noqa: E731
    i = lambda **kw: CheckinInput(recorded_at=NOW, **{**QUIET_ICI, **kw})  # noqa: E731
    return [
        (c(), ctx_car, 40),
        (i(), ctx_ici, 25),
        (c(temperature_c=38.3), ctx_car, 6),
        (c(temperature_c=38.6, dizzy_or_fainting=True, systolic_bp=86, spo2=90), ctx_car, 2),
        (c(ice_score=8, confusion=True), ctx_car, 2),
        (c(ice_score=5, consciousness="wakes_to_voice", seizure=True), ctx_car, 1),
        (c(temperature_c=37.8, heart_rate=99), ctx_car_trend, 4),
        (c(handwriting_change=True, tremor=True, drove_since_last=True), ctx_carv, 2),
        (i(extra_stools=2), ctx_ici, 8),
        (i(extra_stools=5, rash_percent=15, cough=True), ctx_ici, 4),
        (i(chills=True, flushing_itching=True), ctx_ici_inf, 2),
        (CheckinInput(recorded_at=NOW), ctx_car, 4),
    ]


def main(n: int = 50_000, seed: int = 1) -> None:
    rng = random.Random(seed)
    mix = cases()
    population = [(ci, cx) for ci, cx, w in mix for _ in range(w)]
    work = [rng.choice(population) for _ in range(n)]
    for ci, cx in work[:2000]:  # warm-up
        evaluate(ci, cx)
    clock = time.perf_counter_ns
    samples = [0] * n
    total_start = clock()
    for k, (ci, cx) in enumerate(work):
        t0 = clock()
        evaluate(ci, cx)
        samples[k] = clock() - t0
    total_ns = clock() - total_start
    samples.sort()
    median_us = statistics.median(samples) / 1000
    p99_us = samples[int(0.99 * (n - 1))] / 1000
    eps = n / (total_ns / 1e9)
    findings = sum(len(evaluate(ci, cx)) for ci, cx in work[:1000])
    print(f"rules engine benchmark ({n} evaluations, {len(mix)} check-in kinds, python {sys.version.split()[0]})")
    print(f"{'metric':<28}{'value':>12}")
    print(f"{'median µs / evaluation':<28}{median_us:>12.2f}")
    print(f"{'p99 µs / evaluation':<28}{p99_us:>12.2f}")
    print(f"{'evaluations / second':<28}{eps:>12,.0f}")
    print(f"{'findings / evaluation (avg)':<28}{findings / 1000:>12.2f}")


if __name__ == "__main__":
    main()
