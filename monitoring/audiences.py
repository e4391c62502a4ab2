"""Question groups monitoring adds to the check-in form (tracker.questions.register_audience_provider)."""

from django.utils import timezone

from monitoring.models import Window, WindowKind
from monitoring.services.policy import policy_for_center
from tracker.models.therapies import CourseStatus
from tracker.questions import CARVYKTI, DRIVING


def monitoring_audiences(patient) -> set[str]:
    today = timezone.localtime(timezone.now(), patient.tz).date()
    extra: set[str] = set()
    windows = Window.objects.filter(course__patient=patient, course__status=CourseStatus.ACTIVE,
                                    kind=WindowKind.DRIVING, ends_on__gt=today).exclude(cleared_on__lte=today)
    if windows.exists():
        extra.add(DRIVING)  # clinical-rules §3: check-ins inside the window ask the driving question
    carvykti_start = patient.courses.filter(status=CourseStatus.ACTIVE, therapy__code="carvykti").values_list(
        "start_date", flat=True).first()
    if carvykti_start is not None:
        limit = policy_for_center(patient.center).carvykti_late_neuro_days
        if (today - carvykti_start).days <= limit:
            extra.add(CARVYKTI)  # clinical-rules §2: late-neurotoxicity questions through day 100
    return extra
