"""Hooks from monitoring upward. Notifications connect here; monitoring never imports them. Sender, payload
and receivers of each: the table in tracker/signals.py."""

from django.dispatch import Signal

# Sent after commit, with alert_id=<int> and kind=<AlertEvent kind>.
alert_changed = Signal()

# Sent after the transaction that stored and graded a check-in committed, with checkin_id=<int>,
# patient_id=<int> and is_complete=<bool>.
checkin_recorded = Signal()
