"""The morning digest per care team, and notices when a driving or stay-nearby window ends."""

import datetime as dt
import zoneinfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from monitoring.dashboard import annotate_checkin_status
from monitoring.models import Alert, AlertStatus, Window
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


def window_ends_notify(*, now: dt.datetime | None = None) -> int:
    """Tell patient, caregivers and the team's nurse when a no-driving or stay-nearby window ends."""
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
            people = [u for u in [patient.user, *patient.caregivers.filter(is_active=True)] if u is not None]
            for user in people:
                for channel in patient_channels(user, patient):
                    notification_create(
                        dedup_key=f"window_end:{window.uuid}:user{user.pk}:{channel}", kind=NotificationKind.WINDOW_END,
                        channel=channel, patient=patient, recipient=user, language=user.preferred_language,
                        context={"for_patient": True, "window_kind": window.kind, "link": f"/patients/{patient.uuid}/"},
                    )
            for user in on_call(patient.care_team, ChainRole.PRIMARY_NURSE, now):
                notification_create(
                    dedup_key=f"window_end:{window.uuid}:user{user.pk}:inapp", kind=NotificationKind.WINDOW_END,
                    channel="inapp", patient=patient, recipient=user, language=user.preferred_language,
                    context={"for_patient": False, "window_kind": window.kind, "link": f"/patients/{patient.uuid}/"},
                )
            notified += 1
    return notified
