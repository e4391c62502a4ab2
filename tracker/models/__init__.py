"""The records domain: who people are, which therapy they had, and what they reported."""

from .audit import AuditEvent, TwoFactorState
from .centers import CareTeam, CareTeamMembership, Center
from .checkins import CheckIn
from .doses import DoseAdministration
from .idempotency import IdempotencyRecord
from .invitations import DeliveryStatus, Invitation, InvitationLink
from .patients import CaregiverLink, Patient
from .therapies import Therapy, TreatmentCourse
from .tokens import ApiToken, EnrolmentCode
from .users import Role, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "CareTeam",
    "CareTeamMembership",
    "CaregiverLink",
    "Center",
    "CheckIn",
    "DoseAdministration",
    "EnrolmentCode",
    "IdempotencyRecord",
    "DeliveryStatus",
    "Invitation",
    "InvitationLink",
    "Patient",
    "Role",
    "Therapy",
    "TreatmentCourse",
    "TwoFactorState",
    "User",
]
