"""No-driving and stay-nearby windows (clinical-rules §3): created with each CAR T course, extended
after neurologic findings, ended by time or by a physician's clearance. Every change is a WindowEvent."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from monitoring.models import Window, WindowEvent, WindowKind
from monitoring.rules import driving
from monitoring.selectors import policy_for_center
from tracker.errors import InputError, NotAllowedError
from tracker.models import CheckIn, Role, TreatmentCourse, User
from tracker.models.therapies import CourseStatus, TherapyClass


def _compute_end(window: Window, policy) -> dt.date:
    if window.kind == WindowKind.DRIVING:
        return driving.driving_window_end(
            window.starts_on, window.label_days, window.center_days,
            [dt.date.fromisoformat(d) for d in window.neuro_event_dates],
            policy.neuro_driving_extension_weeks * 7,
        )
    return driving.proximity_window_end(window.starts_on, window.label_days, window.center_days)


def _center_days(kind: str, policy) -> int | None:
    return policy.center_driving_days if kind == WindowKind.DRIVING else policy.center_proximity_days


@transaction.atomic
def windows_ensure(*, course: TreatmentCourse) -> list[Window]:
    """Create the course's windows from the label (lengthened by center policy) if it has none yet."""
    therapy = course.therapy
    if therapy.therapy_class != TherapyClass.CAR_T:
        return []
    policy = policy_for_center(course.patient.center)
    windows = []
    for kind, label_days in ((WindowKind.DRIVING, therapy.driving_restriction_days),
                             (WindowKind.PROXIMITY, therapy.proximity_days)):
        if label_days is None:
            continue
        window = Window.objects.filter(course=course, kind=kind).first()
        if window is None:
            window = Window(course=course, kind=kind, starts_on=course.start_date, label_days=label_days,
                            center_days=_center_days(kind, policy))
            window.ends_on = _compute_end(window, policy)
            window.save()
            WindowEvent.objects.create(
                window=window, kind=WindowEvent.Kind.CREATED, new_ends_on=window.ends_on,
                note=f"Label {label_days} days; center policy {window.center_days or 'none'} (clinical-rules §3).",
            )
        windows.append(window)
    return windows


def _recompute(window: Window, policy, *, kind: str, user: User | None = None, checkin: CheckIn | None = None,
               note: str = "") -> None:
    old = window.ends_on
    window.ends_on = _compute_end(window, policy)
    window.save()
    if window.ends_on != old:
        WindowEvent.objects.create(window=window, kind=kind, actor=user, old_ends_on=old,
                                   new_ends_on=window.ends_on, checkin=checkin, note=note)


def windows_apply_center_policy(*, center, user: User | None) -> None:
    policy = policy_for_center(center)
    for window in Window.objects.select_for_update().filter(
        course__patient__center=center, course__status=CourseStatus.ACTIVE
    ):
        window.center_days = _center_days(window.kind, policy)
        _recompute(window, policy, kind=WindowEvent.Kind.POLICY, user=user,
                   note=f"Center length now {window.center_days or 'the label value'} days.")


def windows_extend_for_neuro(*, patient, checkin: CheckIn, policy) -> list[Window]:
    """A neurologic finding extends every active CAR T course's no-driving window (clinical-rules §3);
    a clearance given before the finding no longer holds."""
    changed = []
    day = checkin.local_date.isoformat()
    for window in Window.objects.select_for_update().filter(
        course__patient=patient, course__status=CourseStatus.ACTIVE, kind=WindowKind.DRIVING
    ):
        if day not in window.neuro_event_dates:
            window.neuro_event_dates = sorted([*window.neuro_event_dates, day])
        note = f"Neurologic finding on {day}: no driving for at least {policy.neuro_driving_extension_weeks} weeks after it."
        if window.cleared_on is not None and window.cleared_on <= checkin.local_date:
            WindowEvent.objects.create(
                window=window, kind=WindowEvent.Kind.EXTENDED, old_ends_on=window.ends_on, checkin=checkin,
                note=f"Clearance of {window.cleared_on} withdrawn by a new neurologic finding.",
            )
            window.cleared_on, window.cleared_by, window.clearance_reason = None, None, ""
        _recompute(window, policy, kind=WindowEvent.Kind.EXTENDED, checkin=checkin, note=note)
        changed.append(window)
    return changed


@transaction.atomic
def window_clear(*, window: Window, user: User, reason: str, on: dt.date | None = None) -> Window:
    """A physician ends the window early with a reason; audited."""
    if user.role != Role.PHYSICIAN:
        raise NotAllowedError("Only a physician can clear a patient to drive.")
    if not reason.strip():
        raise InputError("A clearance needs a reason.", fields={"reason": ["A clearance needs a reason."]})
    window = Window.objects.select_for_update().select_related("course__patient").get(pk=window.pk)
    patient_today = timezone.localtime(timezone.now(), window.course.patient.tz).date()
    window.cleared_on = on or patient_today
    window.cleared_by = user
    window.clearance_reason = reason.strip()
    window.save()
    WindowEvent.objects.create(window=window, kind=WindowEvent.Kind.CLEARED, actor=user,
                               old_ends_on=window.ends_on, new_ends_on=window.cleared_on, note=reason.strip())
    return window

