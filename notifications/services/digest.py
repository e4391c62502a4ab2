"""The morning digest per care team, and notices when a driving or stay-nearby window ends: the CAR T windows
(clinical-rules §3, dates) and those after T-cell engager doses (§8, hour-precise: no driving, tarlatamab's stay
within 1 hour of care)."""

import datetime as dt
import zoneinfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from monitoring.dashboard import annotate_checkin_status
from monitoring.models import Alert, AlertStatus, DoseWindow, DoseWindowKind, Window
from monitoring.rules.policy import parse_local_time
from monitoring.selectors import policy_for_center
from notifications.models import DigestRun, NotificationKind
from notifications.services.outbox import notification_create
from notifications.services.routing import ChainRole, channels_for, on_call, patient_channels
from tracker.models import CareTeam, Patient, Role, User
from tracker.models.therapies import CourseStatus


def team_summary(team: CareTeam, today: dt.date, policy) -> dict:
    alerts = Alert.objects.filter(patient__care_team=team).exclude(status=AlertStatus.RESOLVED).aggregate(
        total=Count("pk"), emergencies=Count("pk", filter=Q(urgency=4)), urgents=Count("pk", filter=Q(urgency=3)))
    missed = annotate_checkin_status(Patient.objects.filter(care_team=team)).filter(Q(missed=True)).count()
    ending = Window.objects.filter(
        course__care_team=team, course__status=CourseStatus.ACTIVE, cleared_on__isnull=True,
        ends_on__gte=today, ends_on__lte=today + dt.timedelta(days=policy.window_ending_notice_days)).count()
    return {"open_alerts": alerts["total"], "emergencies": alerts["emergencies"], "urgents": alerts["urgents"],
            "missed": missed, "windows_ending": ending, "link": "/staff/patients/"}


def digests_send_due(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    sent = 0
    for team in CareTeam.objects.select_related("center"):
        policy = policy_for_center(team.center)
        local = timezone.localtime(now, zoneinfo.ZoneInfo(team.center.time_zone))
        hour, minute = parse_local_time(policy.digest_local_time)
        if (local.hour, local.minute) < (hour, minute):
            continue
        try:
            with transaction.atomic():
                run = DigestRun.objects.create(team=team, local_date=local.date(),
                                               summary=team_summary(team, local.date(), policy))
                members = User.objects.filter(team_memberships__team=team, is_active=True,
                                              role__in=[Role.NURSE, Role.CHARGE_NURSE, Role.PHYSICIAN]).distinct()
                for user in members:
                    for channel in channels_for(user, urgency=None):
                        if channel == "sms":
                            continue
                        notification_create(
                            dedup_key=f"digest:{team.uuid}:{run.local_date}:user{user.pk}:{channel}",
                            kind=NotificationKind.DIGEST, channel=channel, recipient=user,
                            language=user.preferred_language, context=run.summary,
                        )
                sent += 1
        except IntegrityError:
            continue  # today's digest for this team exists already
    return sent


# A dose window that ended longer ago than this gets no notice (the scan was down for longer, or the window
# ended before notices existed): telling someone days later that a restriction ended helps no one. Policy.
DOSE_WINDOW_END_NOTICE_WITHIN = dt.timedelta(hours=24)  # policy


def _tell_window_end(patient: Patient, uuid, kind: str, now: dt.datetime) -> None:
    """The notices that a window ended: the patient and caregivers on their channels, the team's nurse in-app."""
    people = [u for u in [patient.user, *patient.caregivers.filter(is_active=True)] if u is not None]
    for user in people:
        for channel in patient_channels(user, patient):
            notification_create(
                dedup_key=f"window_end:{uuid}:user{user.pk}:{channel}", kind=NotificationKind.WINDOW_END,
                channel=channel, patient=patient, recipient=user, language=user.preferred_language,
                context={"for_patient": True, "window_kind": kind, "link": f"/patients/{patient.uuid}/"},
            )
    for user in on_call(patient.care_team, ChainRole.PRIMARY_NURSE, now):
        notification_create(
            dedup_key=f"window_end:{uuid}:user{user.pk}:inapp", kind=NotificationKind.WINDOW_END,
            channel="inapp", patient=patient, recipient=user, language=user.preferred_language,
            context={"for_patient": False, "window_kind": kind, "link": f"/patients/{patient.uuid}/"},
        )


def window_ends_notify(*, now: dt.datetime | None = None) -> int:
    """Tell patient, caregivers and the team's nurse when a no-driving or stay-nearby window ends (CAR T and
    after T-cell engager doses), once each. Returns how many windows were told of."""
    now = now or timezone.now()
    notified = 0
    candidates = Window.objects.filter(end_notified_at__isnull=True, cleared_on__isnull=True,
                                       course__status=CourseStatus.ACTIVE,
                                       ends_on__lte=(now + dt.timedelta(days=1)).date())
    for window in candidates.select_related("course__patient__center", "course__patient__care_team",
                                            "course__patient__user"):
        patient = window.course.patient
        if window.ends_on > timezone.localtime(now, patient.tz).date():
            continue
        with transaction.atomic():
            if not Window.objects.filter(pk=window.pk, end_notified_at__isnull=True).update(end_notified_at=now):
                continue
            _tell_window_end(patient, window.uuid, window.kind, now)
            notified += 1
    return notified + dose_window_ends_notify(now=now)


def dose_window_ends_notify(*, now: dt.datetime) -> int:
    """The no-driving and stay-nearby windows after doses (clinical-rules §8) that closed within the last
    DOSE_WINDOW_END_NOTICE_WITHIN: told once each (claimed by a conditional UPDATE). One still covered by another
    window of its kind in force for the patient (a neurologic finding, the next dose) is marked without a notice:
    the restriction has not ended."""
    notified = 0
    kinds = (DoseWindowKind.DRIVING, DoseWindowKind.NEARBY)
    candidates = (DoseWindow.objects.filter(
        kind__in=kinds, end_notified_at__isnull=True, cleared_at__isnull=True, withdrawn_at__isnull=True,
        course__status=CourseStatus.ACTIVE, closes_at__lte=now, closes_at__gt=now - DOSE_WINDOW_END_NOTICE_WITHIN)
        .select_related("course__patient__center", "course__patient__care_team", "course__patient__user"))
    for window in candidates:
        patient = window.course.patient
        with transaction.atomic():
            if not DoseWindow.objects.filter(pk=window.pk, end_notified_at__isnull=True).update(end_notified_at=now):
                continue
            if DoseWindow.objects.in_force(now).filter(course__patient=patient, kind=window.kind).exists():
                continue
            _tell_window_end(patient, window.uuid, window.kind, now)
            notified += 1
    return notified
