"""The records domain: who people are, which therapy they had, and what they reported."""

from .audit import AuditEvent, TwoFactorState
from .centers import CareTeam, CareTeamMembership, Center
from .checkins import CheckIn
from .devices import (
    BodySite,
    Device,
    DeviceAssignment,
    DeviceCredential,
    DeviceKind,
    Reading,
    ReadingSummary,
    ReadingType,
    ReadingUnit,
)
from .doses import DoseAdministration
from .idempotency import IdempotencyRecord
from .invitations import DeliveryStatus, Invitation, InvitationLink
from .patients import CaregiverLink, Patient
from .therapies import Therapy, TreatmentCourse
from .users import ApiToken, EnrolmentCode, Role, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "BodySite",
    "CareTeam",
    "CareTeamMembership",
    "CaregiverLink",
    "Center",
    "CheckIn",
    "Device",
    "DeviceAssignment",
    "DeviceCredential",
    "DeviceKind",
    "DoseAdministration",
    "EnrolmentCode",
    "IdempotencyRecord",
    "DeliveryStatus",
    "Invitation",
    "InvitationLink",
    "Patient",
    "Reading",
    "ReadingSummary",
    "ReadingType",
    "ReadingUnit",
    "Role",
    "Therapy",
    "TreatmentCourse",
    "TwoFactorState",
    "User",
]
