"""The one hook from the records layer upward. Monitoring connects to `checkin_recorded` and grades
the check-in inside the same transaction; receivers return their assessment, which the caller shows."""

from django.dispatch import Signal

# Sent with checkin=<CheckIn>, inside the transaction that saved it, with checkin.patient locked and its
# active courses loaded (tracker.selectors.patient_for_checkin). A receiver that fails rolls the check-in
# back, so a check-in is never stored ungraded.
checkin_recorded = Signal()
