"""Connections from the records layer: give every CAR T course its windows, and recompute a course's dose
windows (clinical-rules §8) when one of its doses is recorded or corrected."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from monitoring.services.dose_windows import dose_windows_recompute
from monitoring.services.windows import windows_ensure
from tracker.models import TreatmentCourse
from tracker.signals import dose_corrected, dose_recorded


@receiver(post_save, sender=TreatmentCourse, dispatch_uid="monitoring.course_windows")
def course_windows(sender, instance, **kwargs) -> None:
    windows_ensure(course=instance)


@receiver(dose_recorded, dispatch_uid="monitoring.dose_recorded_windows")
@receiver(dose_corrected, dispatch_uid="monitoring.dose_corrected_windows")
def on_dose_changed(sender, course_id, **kwargs) -> None:
    dose_windows_recompute(course_id=course_id)
