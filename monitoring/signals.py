"""Hooks from monitoring upward. Notifications connect here; monitoring never imports them. Sender, payload
and receivers of each: the table in tracker/signals.py."""

from django.dispatch import Signal

# Sent after commit, with alert_id=<int> and kind=<AlertEvent kind>.
alert_changed = Signal()

# Sent after the transaction that stored and graded a check-in committed, with checkin_id=<int>,
# patient_id=<int> and is_complete=<bool>.
checkin_recorded = Signal()

# Sent after the transaction that stored a batch of device readings committed, with
# patients=<dict[int, datetime]>: each patient with new readings and the earliest measured_at among them (grading
# resumes from there, so late and out-of-order readings are graded in time order).
readings_stored = Signal()
