"""Question groups monitoring adds to the check-in form (tracker.questions.register_question_group_provider)."""

from django.utils import timezone

from monitoring.selectors import driving_windows, policy_for_center
from tracker.questions import CARVYKTI, DRIVING
from tracker.selectors import active_courses


def monitoring_question_groups(patient) -> set[str]:
    today = timezone.localtime(timezone.now(), patient.tz).date()
    extra: set[str] = set()
    if any(w.is_active_on(today) for w in driving_windows(patient)):
        extra.add(DRIVING)  # clinical-rules §3: check-ins inside the window ask the driving question
    carvykti_start = next((c.start_date for c in active_courses(patient) if c.therapy.code == "carvykti"), None)
    if carvykti_start is not None:
        limit = policy_for_center(patient.center).carvykti_late_neuro_days
        if (today - carvykti_start).days <= limit:
            extra.add(CARVYKTI)  # clinical-rules §2: late-neurotoxicity questions through day 100
    return extra
