"""Every signal of the project, in one place. A signal is used only where a lower layer must tell a higher
one something it cannot import (tracker → monitoring → notifications); each is named for a fact that has
happened. Everything else is a plain call: a check-in is stored and graded by
monitoring.services.intake, which the check-in API and page call directly; notifications records what became
of an invitation's message on the invitation (tracker.invitations.invitation_delivery_record), and the
enrolment list reads it there.

| signal | defined in | sent by, when | payload | receivers |
|---|---|---|---|---|
| `invitation_issued` | tracker.signals | tracker.invitations, inside the transaction that issued the invitation (an enrolment, a resend) | `invitation=<Invitation>` | notifications.receivers.on_invitation_issued writes the outbox row and answers `{"channel": "sms" \\| "email" \\| ""}` |
| `password_reset_requested` | tracker.signals | tracker.passwords, when a reset was asked for an active account with a usable password and an email address | `user=<User>` | notifications.receivers.on_password_reset_requested writes the email outbox row |
| `dose_recorded` | tracker.signals | tracker.dose_services.dose_record, inside the transaction that stores the dose (its windows commit with it) | `course_id=<int>, dose_id=<int>` | monitoring.receivers.on_dose_changed recomputes the course's dose windows (clinical-rules §8); notifications.receivers.on_dose_changed reschedules the patient's reminders after commit (12-hourly check-ins after a step-up or first full dose) |
| `dose_corrected` | tracker.signals | tracker.dose_services.dose_correct, inside the transaction that stores the correction | `course_id=<int>, dose_id=<int>, corrects_id=<int>` | monitoring.receivers.on_dose_changed recomputes the course's dose windows (they move with the dose); notifications.receivers.on_dose_changed reschedules the reminders |
| `checkin_recorded` | monitoring.signals | monitoring.services.intake, after the transaction that stored and graded the check-in committed | `checkin_id=<int>, patient_id=<int>, is_complete=<bool>, moves_reminders=<bool>` (complete, and the first complete one of its local date) | notifications.receivers.on_checkin_recorded hands the reminder reschedule to a worker (when `moves_reminders`) |
| `readings_stored` | monitoring.signals | monitoring.services.readings, after the transaction that stored a batch of device readings committed | `patients=<dict[int, datetime]>` (patient id → earliest new measured_at), `urgent=<frozenset[int]>` (the patients, when the batch held a reading past a stream rule's limit) | notifications.receivers.on_readings_stored marks the patients' grading markers (monitoring.models.StreamGrading) and hands each patient's grading to a worker, `readings_grade_task` (clinical-rules §10), on the `readings` queue, or the default queue ahead of that backlog for an urgent patient |
| `alert_changed` | monitoring.signals | monitoring.services.alerts, after the transaction that opened, updated, acknowledged or resolved an alert committed | `alert_id=<int>, kind=<AlertEvent kind>` | notifications.receivers.on_alert_changed hands the alert's notifications to a worker |

Django's own `post_save` of TreatmentCourse is received by monitoring.receivers.course_windows (the course's
windows) and notifications.receivers.on_course_saved (its reminders); `user_login_failed` by
tracker.audit.record_failed_sign_in."""

from django.dispatch import Signal

# The message is written with the accounts or not at all; the link is made when it is sent
# (tracker.invitations.invitation_link_mint): the outbox row holds no secret.
invitation_issued = Signal()

# Nothing is sent for an address no account uses; the reset link is made when the email is sent
# (tracker.passwords.password_reset_link).
password_reset_requested = Signal()

# A dose of a course was recorded / corrected (clinical-rules §8: windows are keyed to each dose). Sent on commit.
dose_recorded = Signal()
dose_corrected = Signal()
