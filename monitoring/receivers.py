"""Connections from the records layer: grade every check-in; give every CAR T course its windows."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from monitoring.services.assessment import checkin_assess
from monitoring.services.windows import windows_ensure
from tracker.models import TreatmentCourse
from tracker.signals import checkin_recorded


@receiver(checkin_recorded, dispatch_uid="monitoring.assess_checkin")
def assess_checkin(sender, checkin, **kwargs) -> dict:
    return checkin_assess(checkin=checkin)


@receiver(post_save, sender=TreatmentCourse, dispatch_uid="monitoring.course_windows")
def course_windows(sender, instance, **kwargs) -> None:
    windows_ensure(course=instance)
