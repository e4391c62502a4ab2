"""What the clinic watches: graded alerts with their events, each check-in's assessment, center policy,
no-driving and stay-nearby windows, scheduled follow-up questions, and what grading device readings keeps."""

from .alerts import Alert, AlertEvent, AlertStatus, AlertView, CheckinAssessment
from .policy import PolicySetting
from .streams import DeviceSilence, StreamGrading
from .windows import DoseWindow, DoseWindowKind, FollowUp, RemonitorRequest, Window, WindowEvent, WindowKind

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "AlertView",
    "CheckinAssessment",
    "DeviceSilence",
    "DoseWindow",
    "DoseWindowKind",
    "FollowUp",
    "PolicySetting",
    "RemonitorRequest",
    "StreamGrading",
    "Window",
    "WindowEvent",
    "WindowKind",
]
