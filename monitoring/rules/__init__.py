"""Clinical rules engine of CAR T Tracker: pure Python, standard library only, no Django.

Thresholds come from the project's clinical rules document (clinical-rules.md, kept beside the repository
with the shared project notes, sections §1-§10); every finding cites its section in ``source``, and each
sub-rule's docstring quotes the line it implements. Staff rationale is data (messages.py): message keys with
parameters, translated where it is shown.
"""

from .engine import (
    evaluate,
    followups,
    highest_urgency,
    instruction_messages,
    instruction_messages_from_stored,
    merge_findings,
    patient_instruction,
    render_instruction,
)
from .policy import POLICY_FIELDS, Policy
from .types import (
    CheckinInput,
    EvaluationContext,
    Finding,
    FollowUp,
    TherapyContext,
    Urgency,
    c_to_f,
    f_to_c,
)

__all__ = [
    "CheckinInput",
    "EvaluationContext",
    "Finding",
    "FollowUp",
    "POLICY_FIELDS",
    "Policy",
    "TherapyContext",
    "Urgency",
    "c_to_f",
    "evaluate",
    "f_to_c",
    "followups",
    "highest_urgency",
    "instruction_messages",
    "instruction_messages_from_stored",
    "merge_findings",
    "patient_instruction",
    "render_instruction",
]
