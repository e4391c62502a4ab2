"""Hooks from monitoring upward. Notifications connect here; monitoring never imports them."""

from django.dispatch import Signal

# Sent after the transaction commits, with alert_id=<int> and kind=<AlertEvent kind>.
alert_changed = Signal()
