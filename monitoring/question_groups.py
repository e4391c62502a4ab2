"""Question groups monitoring adds to the check-in form (tracker.questions.register_question_group_provider), for
the pages that show the questions. The check-in itself is stored with the groups its context gives
(monitoring.services.context.CheckinContext.question_groups), from the same rule."""

from django.utils import timezone

from monitoring.rules.policy import Policy
from monitoring.selectors import driving_windows, policy_for_center
from monitoring.services.context import ended_interferon_courses, last_dose, monitoring_extra_groups
from tracker.selectors import active_courses


def monitoring_question_groups(patient) -> set[str]:
    today = timezone.localtime(timezone.now(), patient.tz).date()
    courses = active_courses(patient)
    # The center's policy is read only when it matters (a Carvykti course: its late-neurotoxicity days).
    # A finished interferon course's mood questions (clinical-rules §9, up to 6 months after the last dose).
    ended = ended_interferon_courses().filter(patient=patient).values_list("therapy__code", last_dose()).first()
    policy = (policy_for_center(patient.center) if ended or any(c.therapy.code == "carvykti" for c in courses)
              else Policy())
    return monitoring_extra_groups(today=today, courses=courses, driving_windows=driving_windows(patient), policy=policy,
                                   ended_interferon=ended)
