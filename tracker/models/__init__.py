"""The records domain: who people are, which therapy they had, and what they reported."""

from .audit import AuditEvent
from .centers import CareTeam, CareTeamMembership, Center
from .checkins import CheckIn
from .patients import CaregiverLink, Patient
from .therapies import Therapy, TreatmentCourse
from .tokens import ApiToken
from .users import Role, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "CareTeam",
    "CareTeamMembership",
    "CaregiverLink",
    "Center",
    "CheckIn",
    "Patient",
    "Role",
    "Therapy",
    "TreatmentCourse",
    "User",
]
