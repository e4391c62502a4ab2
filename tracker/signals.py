"""The hooks from the records layer upward. Monitoring connects to `checkin_recorded` and grades the
check-in inside the same transaction; receivers return their assessment, which the caller shows. Before a
person's check-in is stored, `checkin_time_limits` asks monitoring how far back it may be dated (the
center's policy), so the records layer needs no import of monitoring."""

from django.dispatch import Signal

# Sent with checkin=<CheckIn>, inside the transaction that saved it, with checkin.patient locked and its
# active courses loaded (tracker.selectors.patient_for_checkin). A receiver that fails rolls the check-in
# back, so a check-in is never stored ungraded.
checkin_recorded = Signal()

# Sent with patient=<Patient> before a check-in or a correction entered by a person is stored, to ask how far
# back it may be dated (tracker.checkin_time). Monitoring answers from the center's policy:
# {"max_age_hours": int}. The lowest answer holds.
checkin_time_limits = Signal()

# Sent with invitation=<Invitation> inside the transaction that issued it (an enrolment, a resend), so the
# message is written with the accounts or not at all. Notifications writes the outbox row and answers
# {"channel": "sms" | "email" | ""} ("" when the person has no way to be reached). The message's link is
# made when it is sent (tracker.invitations.invitation_link_mint): the outbox row holds no secret.
invitation_issued = Signal()

# Sent with invitation_uuids=[...] by the enrolment list: notifications answers {uuid: "pending" | "sent" |
# "failed"}, the delivery status of each invitation's message.
invitation_delivery = Signal()

# Sent with user=<User> when someone asked for a password reset for an active account with a usable password
# and an email address (nothing is sent for an address no account uses). Notifications writes an email
# outbox row; the reset link is made when it is sent (tracker.passwords.password_reset_link).
password_reset_requested = Signal()

# Sent with patient=<Patient> when the patient's home page is shown (to the patient, a caregiver or staff);
# each receiver answers a dict the page adds to its context. Monitoring answers {"open_assessment": the
# assessment of the latest check-in whose most urgent alert no one on the care team has acknowledged yet, or
# None}: what to do stays at the top of the page until then.
patient_home_shown = Signal()

# Sent with patient=<Patient> by the check-in page, to ask which questions a pending follow-up is waiting on
# (a re-ask the tracker scheduled after an earlier check-in). Monitoring answers {"fields": [...]}. The "I feel
# the same as usual" check-in asks those explicitly and never fills them with the usual answer.
checkin_questions_pending = Signal()
