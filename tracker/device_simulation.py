"""Made-up device readings for the quick start's demo (`manage.py simulate_devices`): a temperature patch every
interval with small noise around 36.8 °C, a pulse oximeter's heart rate and SpO2 beside it, and, for one patient,
a fever that climbs to about 38.6 °C and stays (so the §10 sustained-fever rule fires in the demo).

Pure Python (no Django): the readings of a time range are a function of the patient's profile, the range and a
seed, so the tests can check the noise bounds, the fever's shape and the timestamps, and a resend of the same range
gives the same readings (the server deduplicates by device, type and measured_at)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

BASELINE_C = 36.8
TEMPERATURE_NOISE_C = 0.15  # each reading within ± this of the profile
FEVER_C = 38.6  # where the simulated fever settles (clinical-rules §1: fever is >= 38.0 °C)
FEVER_NOISE_C = 0.1
FEVER_CLIMB = dt.timedelta(minutes=20)  # from the baseline to FEVER_C, linearly
HEART_RATE = 76
HEART_RATE_NOISE = 5
HEART_RATE_PER_DEGREE = 10  # a fever raises the pulse about 10/min per °C
SPO2 = 97
SPO2_NOISE = 1


@dataclass(frozen=True)
class Wearer:
    """One simulated patient: their time zone (readings carry its offset), what they wear, and when (if ever) their
    fever starts. `seed` makes their noise their own and repeatable."""

    key: str
    time_zone: str
    patch: bool = True
    oximeter: bool = False
    fever_from: dt.datetime | None = None
    fever_climb: dt.timedelta = FEVER_CLIMB
    seed: int = 0


def grid(start: dt.datetime, end: dt.datetime, interval: dt.timedelta) -> list[dt.datetime]:
    """The moments in (start, end] on the interval's grid (multiples of it since the epoch), so two runs over the
    same range take the same moments."""
    step = interval.total_seconds()
    if step <= 0:
        raise ValueError("interval must be positive")
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    first = int((start - epoch).total_seconds() // step) + 1
    last = int((end - epoch).total_seconds() // step)
    return [epoch + dt.timedelta(seconds=n * step) for n in range(first, last + 1)]


def fever_profile(at: dt.datetime, fever_from: dt.datetime | None, climb: dt.timedelta = FEVER_CLIMB) -> float:
    """The temperature the patient's body is at, before noise: the baseline, then a linear climb over `climb`
    to FEVER_C, which it keeps."""
    if fever_from is None or at <= fever_from:
        return BASELINE_C
    share = min(1.0, (at - fever_from) / climb) if climb > dt.timedelta(0) else 1.0
    return BASELINE_C + (FEVER_C - BASELINE_C) * share


def _noise(rng: random.Random, bound: float) -> float:
    return rng.uniform(-bound, bound)


def readings_for(wearer: Wearer, moments: list[dt.datetime]) -> dict[str, list[dict]]:
    """Per device ("patch", "oximeter"): the readings at `moments`, in the ingest API's shape ({"type", "value",
    "unit", "measured_at": ISO-8601 with the wearer's offset})."""
    zone = ZoneInfo(wearer.time_zone)
    out: dict[str, list[dict]] = {"patch": [], "oximeter": []}
    for at in moments:
        rng = random.Random(f"{wearer.seed}:{wearer.key}:{int(at.timestamp())}")  # same moment, same reading
        body = fever_profile(at, wearer.fever_from, wearer.fever_climb)
        feverish = body >= FEVER_C - 0.05
        local = at.astimezone(zone).isoformat()
        if wearer.patch:
            noise = FEVER_NOISE_C if feverish else TEMPERATURE_NOISE_C
            out["patch"].append({"type": "temperature", "value": round(body + _noise(rng, noise), 2), "unit": "Cel",
                                 "measured_at": local})
        if wearer.oximeter:
            pulse = HEART_RATE + HEART_RATE_PER_DEGREE * max(0.0, body - BASELINE_C)
            out["oximeter"].append({"type": "heart_rate", "value": round(pulse + _noise(rng, HEART_RATE_NOISE)),
                                    "unit": "/min", "measured_at": local})
            out["oximeter"].append({"type": "spo2", "value": round(SPO2 + _noise(rng, SPO2_NOISE)), "unit": "%",
                                    "measured_at": local})
    return {device: readings for device, readings in out.items() if readings}
