"""No-driving and stay-nearby windows after CAR T (clinical-rules §3). Pure date logic.

Convention: a window's ``end`` is the first day the restriction no longer applies. A 14-day label window
after an infusion on day D covers D .. D+13 and ends on D+14.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .messages import message
from .types import POLICY_SYSTEM, CheckinInput, EvaluationContext, Finding, Outcome, Urgency

SRC_LABEL = "clinical-rules §3 US labels (June 26, 2025 label change)"
SRC_AUCATZYL = "clinical-rules §3 Aucatzyl launch materials (unverified)"
SRC_DRIVING = "clinical-rules §3 driving window"

NEURO_EXTENSION_DAYS = 8 * 7  # §3: neurologic event -> at least 8 weeks after it (policy default)


@dataclass(frozen=True, slots=True)
class ProductLabel:
    driving_days: int
    proximity_days: int
    source: str
    verified: bool


# §3: label defaults per CAR T product (checkpoint inhibitors carry no such restriction).
LABEL_DEFAULTS: dict[str, ProductLabel] = {
    **{
        product: ProductLabel(driving_days=14, proximity_days=14, source=SRC_LABEL, verified=True)
        for product in ("abecma", "breyanzi", "carvykti", "kymriah", "tecartus", "yescarta")
    },
    "aucatzyl": ProductLabel(driving_days=56, proximity_days=28, source=SRC_AUCATZYL, verified=False),
}


def label_for(product: str) -> ProductLabel | None:
    return LABEL_DEFAULTS.get((product or "").strip().lower())


@dataclass(frozen=True, slots=True)
class WindowStatus:
    active: bool
    end: date
    days_left: int  # days until the end while active, else 0


def driving_window_end(
    infusion_date: date,
    label_days: int,
    center_days: int | None = None,
    neuro_event_dates: Iterable[date] = (),
    extension_days: int = NEURO_EXTENSION_DAYS,
    clinician_end: date | None = None,
) -> date:
    """First day driving is allowed again (§3).

    The center may lengthen the label period, never shorten it; each neurologic event pushes the end to at
    least event + ``extension_days`` (policy, default 8 weeks); a clinician may lengthen further with
    ``clinician_end`` (never shorten: use ``window_status(cleared_on=...)`` for an explicit clearance).
    """
    days = label_days if center_days is None or center_days < label_days else center_days
    end = infusion_date + timedelta(days=days)
    extension = timedelta(days=max(0, extension_days))
    for event_date in neuro_event_dates:
        end = max(end, event_date + extension)
    if clinician_end is not None and clinician_end > end:
        end = clinician_end
    return end


def proximity_window_end(infusion_date: date, label_days: int, center_days: int | None = None) -> date:
    """First day the patient may stay farther from the treating center (§3)."""
    days = label_days if center_days is None or center_days < label_days else center_days
    return infusion_date + timedelta(days=days)


def window_status(end_date: date, today: date, cleared_on: date | None = None) -> WindowStatus:
    """Active while today < end, unless a physician's explicit clearance (§3) took effect on or before today."""
    if cleared_on is not None and cleared_on <= today:
        return WindowStatus(active=False, end=end_date, days_left=0)
    left = (end_date - today).days
    if left <= 0:
        return WindowStatus(active=False, end=end_date, days_left=0)
    return WindowStatus(active=True, end=end_date, days_left=left)


proximity_status = window_status


def driving_status(
    product: str,
    infusion_date: date,
    today: date,
    *,
    center_days: int | None = None,
    neuro_event_dates: Iterable[date] = (),
    extension_weeks: int = 8,
    cleared_on: date | None = None,
) -> WindowStatus | None:
    """Convenience: status of the no-driving window for a catalogue product (None if it has no label)."""
    label = label_for(product)
    if label is None:
        return None
    end = driving_window_end(infusion_date, label.driving_days, center_days, neuro_event_dates, extension_weeks * 7)
    return window_status(end, today, cleared_on)


_NEURO_CONDITIONS = frozenset({"icans", "carvykti_late_neuro"})


def is_neurologic(finding: Finding) -> bool:
    """§3: findings that extend the no-driving window (ICANS any grade incl. seizure, Carvykti late finding)."""
    return finding.condition in _NEURO_CONDITIONS


_I_DROVE = (
    "Please do not drive or use heavy machinery yet. For some weeks after this treatment, sudden confusion, "
    "sleepiness, shaking or a seizure can come on without warning, even when you feel well, and put you and "
    "others in danger. Ask someone else to drive you. Call your care team now so they can talk it through "
    "with you."
)


def driving_finding(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """§3 "no driving or operating heavy machinery for 2 weeks after infusion" (the center's window): drove
    since the last check-in while the no-driving window is active -> urgent."""
    if not (checkin.drove_since_last and ctx.driving_window_active):
        return None
    outcome = Outcome(condition="driving", rule_id="driving.drove_in_window", urgency=Urgency.URGENT,
                      instruction=_I_DROVE, source=SRC_DRIVING, grading_system=POLICY_SYSTEM,
                      title="Drove during the no-driving window")
    why = message("Patient reports driving since the last check-in while the no-driving window is active")
    return outcome.finding((why,), {"drove_since_last": True})
