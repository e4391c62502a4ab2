"""A batch of device readings from the ingest API (clinical-rules §10): stored in one transaction
(tracker.readings.readings_store), then, after it commits and only if something new was stored,
`monitoring.signals.readings_stored` with each patient's earliest new measured_at. Grading happens off the request
(notifications receives the signal and hands it to a worker)."""

import datetime as dt
from collections.abc import Sequence

from django.db import transaction

from monitoring.signals import readings_stored
from tracker.models import DeviceCredential, Reading
from tracker.readings import ReadingInput, Refusal, StoreResult, readings_store


def readings_ingest(*, credential: DeviceCredential, items: Sequence[ReadingInput], refused: Sequence[Refusal] = (),
                    received: int | None = None, received_at: dt.datetime) -> StoreResult:
    """Store the parsed `items` for the credential's device; `refused` are the readings refused while parsing
    (by index), `received` how many readings the batch held (default: items and refusals)."""
    with transaction.atomic():
        result = readings_store(device=credential.device, items=items, received_at=received_at)
    result.received = len(items) + len(refused) if received is None else received
    result.refused = sorted([*refused, *result.refused], key=lambda r: r.index)
    if result.earliest_new:
        patients = dict(result.earliest_new)
        transaction.on_commit(lambda: readings_stored.send(sender=Reading, patients=patients))
    return result
