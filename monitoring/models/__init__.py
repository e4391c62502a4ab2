"""What the clinic watches: graded alerts with their events, each check-in's assessment, center policy,
no-driving and stay-nearby windows, and scheduled follow-up questions."""

from .alerts import Alert, AlertEvent, AlertStatus, AlertView, CheckinAssessment
from .policy import PolicySetting
from .windows import DoseWindow, DoseWindowKind, FollowUp, RemonitorRequest, Window, WindowEvent, WindowKind

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "AlertView",
    "CheckinAssessment",
    "DoseWindow",
    "DoseWindowKind",
    "FollowUp",
    "PolicySetting",
    "RemonitorRequest",
    "Window",
    "WindowEvent",
    "WindowKind",
]
