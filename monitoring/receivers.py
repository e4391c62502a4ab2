"""Connections from the records layer: grade every check-in; give every CAR T course its windows."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from monitoring.patient_pages import open_assessment
from monitoring.selectors import policy_for_center
from monitoring.services.assessment import checkin_assess, followup_fields_pending
from monitoring.services.windows import windows_ensure
from tracker.models import TreatmentCourse
from tracker.signals import checkin_questions_pending, checkin_recorded, checkin_time_limits, patient_home_shown


@receiver(checkin_recorded, dispatch_uid="monitoring.assess_checkin")
def assess_checkin(sender, checkin, **kwargs) -> dict:
    return checkin_assess(checkin=checkin)


@receiver(checkin_time_limits, dispatch_uid="monitoring.checkin_time_limits")
def checkin_time_policy(sender, patient, **kwargs) -> dict:
    """How far back the patient's center lets a check-in be dated (policy checkin_max_age_hours)."""
    return {"max_age_hours": policy_for_center(patient.center).checkin_max_age_hours}


@receiver(post_save, sender=TreatmentCourse, dispatch_uid="monitoring.course_windows")
def course_windows(sender, instance, **kwargs) -> None:
    windows_ensure(course=instance)


@receiver(patient_home_shown, dispatch_uid="monitoring.patient_home")
def patient_home(sender, patient, **kwargs) -> dict:
    """What to do, kept at the top until the care team has acknowledged the alert."""
    return {"open_assessment": open_assessment(patient)}


@receiver(checkin_questions_pending, dispatch_uid="monitoring.checkin_questions_pending")
def questions_pending(sender, patient, **kwargs) -> dict:
    """What the patient's pending follow-ups wait on: the short check-in must ask it, not assume it."""
    return {"fields": followup_fields_pending(patient)}
