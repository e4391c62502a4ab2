"""A batch of device readings from the ingest API (clinical-rules §10): stored in one transaction
(tracker.readings.readings_store), then, after it commits and only if something new was stored,
`monitoring.signals.readings_stored` with each patient's earliest new measured_at and the patients whose batch
held a reading past a limit (`urgent`: their grading goes ahead of the ordinary readings' backlog). Grading
happens off the request (notifications receives the signal and hands it to a worker)."""

import datetime as dt
from collections.abc import Sequence

from django.db import transaction

from monitoring.rules import Policy
from monitoring.rules.streams import TEMPERATURE, beyond_limit
from monitoring.selectors import policies_of_patients
from monitoring.services.stream_grading import RULE_TYPES
from monitoring.signals import readings_stored
from tracker.models import Device, DeviceCredential, Reading, ReadingType
from tracker.readings import ReadingInput, Refusal, StoreResult, canonical_value, readings_store

DEFAULTS = Policy()  # the fever limit is §1's, the same for every center


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
        urgent = frozenset(patients) if _past_a_limit(credential.device, items, patients) else frozenset()
        transaction.on_commit(lambda: readings_stored.send(sender=Reading, patients=patients, urgent=urgent))
    return result


def _past_a_limit(device: Device, items: Sequence[ReadingInput], patient_ids) -> bool:
    """Does the batch hold a reading past a stream rule's limit (`beyond_limit`) under the defaults or the
    policy of any of its patients' centers? No query for a batch of temperatures (the limit is §1's, not a
    policy); one for other vitals."""
    values = [(RULE_TYPES[ReadingType(item.type)], canonical_value(item.type, item.value, item.unit))
              for item in items if item.type in RULE_TYPES]
    offset = float(device.temperature_offset_c or 0)
    if any(kind == TEMPERATURE and beyond_limit(kind, value, DEFAULTS, temperature_offset_c=offset)
           for kind, value in values):
        return True
    others = [(kind, value) for kind, value in values if kind != TEMPERATURE]
    if not others:
        return False
    policies = policies_of_patients(patient_ids)
    return any(beyond_limit(kind, value, policy) for kind, value in others for policy in policies)
