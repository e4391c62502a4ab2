"""Connections from the records layer: give every CAR T course its windows."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from monitoring.services.windows import windows_ensure
from tracker.models import TreatmentCourse


@receiver(post_save, sender=TreatmentCourse, dispatch_uid="monitoring.course_windows")
def course_windows(sender, instance, **kwargs) -> None:
    windows_ensure(course=instance)
