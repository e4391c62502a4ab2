"""Silence of a streaming device during a risk period (clinical-rules §10): "a device expected to stream (during
the post-dose or post-infusion risk period) that sends nothing for 30 minutes → same-day task for the nurse and a
reminder to the patient; 2 h → urgent (policy). A 'device back' event closes the silence alert."

Which devices are expected to stream: an open assignment of a patch or worn oximeter (tracker STREAMING_KINDS).
Which periods are risk periods (`in_risk_period`):
- after CAR T: the stay-near-the-center window of the course (clinical-rules §3, `Window` kind proximity: 2 weeks
  after infusion by the label, longer by center policy), the period in which CRS and ICANS start (§1: almost none
  after day 14). TCR/TIL courses have no such window yet, so they have no silence watch;
- after a T-cell engager dose (§8): the dose windows for monitoring after a dose, step-up monitoring again and
  stay within 1 hour of care, when not supervised (a supervised window is spent in hospital or under the care
  team's watch; home monitoring starts when it ends). The no-driving window does not count: it can run for weeks
  after a neurologic finding and says nothing about CRS risk.
A date window is compared with the UTC date widened by a day on each side (the patient's zone is not read by
the scan's query), so a risk period is watched up to a day longer, never shorter.

The scan (notifications/services/device_silence.py) finds what is due in batches; this module records it: the
`DeviceSilence` row per silence and the patient's `device_silence` alert (one per patient: each silent device is
an evidence entry), and closes them with a `device_back` event when readings resume (`silence_close_resumed`,
called by readings grading and by the scan)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from monitoring.models import Alert, AlertStatus, DeviceSilence, DoseWindow, DoseWindowKind, Window, WindowKind
from monitoring.rules import Policy
from monitoring.rules.streams import DEVICE_SILENCE, device_silence
from monitoring.services.alerts import FindingRecord, alert_close_device_back, alerts_record_findings
from tracker.models import DeviceAssignment, Patient
from tracker.models.devices import STREAMING_KINDS
from tracker.models.therapies import CourseStatus

RISK_DOSE_WINDOWS = (DoseWindowKind.MONITORING, DoseWindowKind.REMONITOR, DoseWindowKind.NEARBY)
DEVICE_BACK_NOTE = "Device back: readings resumed"


def in_risk_period(now: dt.datetime) -> Exists | Q:
    """For a DeviceAssignment query: the patient is in a risk period at `now` (see the module's docstring)."""
    today = now.date()
    proximity = Window.objects.filter(
        course__patient=OuterRef("patient_id"), course__status=CourseStatus.ACTIVE, kind=WindowKind.PROXIMITY,
        starts_on__lte=today + dt.timedelta(days=1), ends_on__gt=today - dt.timedelta(days=1),
    ).filter(Q(cleared_on__isnull=True) | Q(cleared_on__gt=today - dt.timedelta(days=1)))
    after_dose = DoseWindow.objects.in_force(now).filter(course__patient=OuterRef("patient_id"),
                                                        kind__in=RISK_DOSE_WINDOWS, supervised=False)
    return Exists(proximity) | Exists(after_dose)


def silent_since():
    """When an assignment's device was last heard from: its last reading received, or when it was put on."""
    return Coalesce("last_received_at", "started_at")


def streaming_assignments():
    return DeviceAssignment.objects.filter(ended_at__isnull=True, device__kind__in=sorted(STREAMING_KINDS))


def _label(assignment: DeviceAssignment) -> str:
    device = assignment.device
    return f"{device.maker} {device.model_name} #{device.serial}"


@dataclass(frozen=True)
class SilentDevice:
    """An assignment whose device has been silent `since` (loaded with its device and patient, its row held by the
    caller: the scan's claim), its open silence if any, and its center's policy."""

    assignment: DeviceAssignment
    since: dt.datetime
    open_silence: DeviceSilence | None
    policy: Policy


def silences_record(*, silent: Sequence[SilentDevice], now: dt.datetime) -> list[DeviceSilence | None]:
    """Raise (or make urgent) the silence of each device, in a fixed number of queries however many: the alerts
    through `alerts_record_findings` (one per patient, each device an evidence entry, in order), one INSERT of the
    new `DeviceSilence` rows, one UPDATE of those raised to urgent. Returns each one's silence, in order: None
    when it is not due, the open silence unchanged when it has already raised this stage. The caller holds the
    patients' locks."""
    results: list[DeviceSilence | None] = [None] * len(silent)
    due: list[tuple[int, SilentDevice, DeviceSilence.Stage]] = []
    records: list[FindingRecord] = []
    for index, item in enumerate(silent):
        finding = device_silence(_label(item.assignment), item.since, now, item.policy)
        if finding is None:
            continue
        stage = DeviceSilence.Stage.URGENT if finding.rule_id.endswith("_urgent") else DeviceSilence.Stage.SAME_DAY
        before = item.open_silence
        if before is not None and before.stage >= stage and before.silent_since == item.since:
            results[index] = before
            continue
        device = {"stream_rule": "device_silence", "device": _label(item.assignment), "silent_since": item.since,
                  "silent_minutes": finding.evidence["silent_minutes"]}
        records.append(FindingRecord(patient=item.assignment.patient, finding=finding, policy=item.policy,
                                     device=device))
        due.append((index, item, stage))
    alerts = alerts_record_findings(records=records, now=now)
    opened: list[DeviceSilence] = []
    raised: list[DeviceSilence] = []
    for (index, item, stage), alert in zip(due, alerts, strict=True):
        silence = item.open_silence
        if silence is None:
            silence = DeviceSilence(assignment=item.assignment, patient=item.assignment.patient, alert=alert,
                                    silent_since=item.since, stage=stage, opened_at=now,
                                    escalated_at=now if stage == DeviceSilence.Stage.URGENT else None)
            opened.append(silence)
        else:
            silence.stage, silence.alert, silence.escalated_at = stage, alert, now
            raised.append(silence)
        results[index] = silence
    if opened:
        DeviceSilence.objects.bulk_create(opened)
    if len(raised) == 1:
        raised[0].save(update_fields=["stage", "alert", "escalated_at"])
    elif raised:
        DeviceSilence.objects.bulk_update(raised, ["stage", "alert", "escalated_at"])
    return results


def silence_end(*, silences: Sequence[DeviceSilence], reason: str, now: dt.datetime) -> list[int]:
    """End these silences; close each patient's silence alert when none of their devices is silent any more.
    Returns the ids of the alerts closed."""
    if not silences:
        return []
    DeviceSilence.objects.filter(pk__in=[s.pk for s in silences]).update(ended_at=now, end_reason=reason)
    patients = {s.patient_id for s in silences}
    still = set(DeviceSilence.objects.filter(patient_id__in=patients, ended_at__isnull=True)
                .values_list("patient_id", flat=True))
    closed = []
    for alert in Alert.objects.filter(patient_id__in=patients - still, condition=DEVICE_SILENCE).exclude(
            status=AlertStatus.RESOLVED):
        note = DEVICE_BACK_NOTE if reason == DeviceSilence.EndReason.DEVICE_BACK else \
            str(DeviceSilence.EndReason(reason).label)
        alert_close_device_back(alert=alert, note=note, now=now)
        closed.append(alert.pk)
    return closed


def silence_close_resumed(*, patient: Patient, now: dt.datetime | None = None) -> list[int]:
    """Readings of the patient were stored: end each silence whose device has sent since it went silent (a
    `device_back` event closes the alert). One query when no device of the patient is silent."""
    now = now or timezone.now()
    back = [s for s in DeviceSilence.objects.filter(patient=patient, ended_at__isnull=True).select_related("assignment")
            if (s.assignment.last_received_at or s.silent_since) > s.silent_since]
    return silence_end(silences=back, reason=DeviceSilence.EndReason.DEVICE_BACK, now=now)
