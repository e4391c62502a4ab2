"""The FHIR boundary of the readings API: an R4 Bundle of Observations (`Content-Type: application/fhir+json`)
mapped to the same reading items as the plain JSON body, so one validation and one store serve both. No FHIR
library: this subset (vital signs with a LOINC code, a UCUM valueQuantity and an effectiveDateTime) is a few
dictionary look-ups, and fhir.resources (R4B/R5 only) is not installed.

| LOINC | reading |
|---|---|
| 8310-5 body temperature | temperature |
| 8867-4 heart rate | heart_rate |
| 59408-5, 2708-6 oxygen saturation | spo2 |
| 85354-9 blood pressure panel, components 8480-6 / 8462-4 | systolic / diastolic (two readings, one index) |

Each entry maps to readings carrying the entry's index; an entry that cannot be mapped is refused by that index,
naming the FHIR element. A single Observation (not in a Bundle) is taken as a Bundle of one."""

from tracker.readings import MAX_BATCH, Refusal

LOINC = "http://loinc.org"
SIMPLE_CODES = {"8310-5": "temperature", "8867-4": "heart_rate", "59408-5": "spo2", "2708-6": "spo2"}
BP_PANEL = "85354-9"
BP_COMPONENTS = {"8480-6": "systolic", "8462-4": "diastolic"}
REFUSED_STATUSES = {"entered-in-error", "cancelled", "registered", "preliminary"}


class BundleShapeError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _loinc_codes(concept) -> list[str]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return []
    return [str(c["code"]) for c in concept["coding"]
            if isinstance(c, dict) and c.get("system") == LOINC and isinstance(c.get("code"), str)]


def _quantity(element) -> tuple[object, object]:
    quantity = element.get("valueQuantity") if isinstance(element, dict) else None
    if not isinstance(quantity, dict):
        return None, None
    return quantity.get("value"), quantity.get("code")


def _entry_items(index: int, resource) -> list[tuple[int, dict | Refusal]]:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        return [(index, Refusal(index, "resource", "Only Observation resources are read."))]
    if resource.get("status") in REFUSED_STATUSES:
        return [(index, Refusal(index, "status", "Only final, amended or corrected observations are stored."))]
    measured_at = resource.get("effectiveDateTime")
    codes = _loinc_codes(resource.get("code"))
    if BP_PANEL in codes:
        items: list[tuple[int, dict | Refusal]] = []
        for component in resource.get("component") or []:
            kinds = [BP_COMPONENTS[c] for c in _loinc_codes(component.get("code") if isinstance(component, dict)
                                                            else None) if c in BP_COMPONENTS]
            if kinds:
                value, unit = _quantity(component)
                items.append((index, {"type": kinds[0], "value": value, "unit": unit, "measured_at": measured_at}))
        return items or [(index, Refusal(index, "component", "A blood pressure panel needs its 8480-6 or 8462-4 "
                                                             "component."))]
    kind = next((SIMPLE_CODES[c] for c in codes if c in SIMPLE_CODES), None)
    if kind is None:
        return [(index, Refusal(index, "code", "No LOINC code this API reads (8310-5, 8867-4, 59408-5, 2708-6, "
                                               "85354-9)."))]
    value, unit = _quantity(resource)
    return [(index, {"type": kind, "value": value, "unit": unit, "measured_at": measured_at})]


def bundle_items(data) -> list[tuple[int, dict | Refusal]]:
    """(entry index, reading item or the refusal of the entry) for each reading the Bundle holds."""
    if isinstance(data, dict) and data.get("resourceType") == "Observation":
        data = {"resourceType": "Bundle", "entry": [{"resource": data}]}
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise BundleShapeError("resourceType", "Send a FHIR Bundle of Observations.")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise BundleShapeError("entry", "A Bundle's entry is a list.")
    if not 1 <= len(entries) <= MAX_BATCH:
        raise BundleShapeError("entry", f"Send 1 to {MAX_BATCH} entries in a Bundle.")
    items: list[tuple[int, dict | Refusal]] = []
    for index, entry in enumerate(entries):
        items.extend(_entry_items(index, entry.get("resource") if isinstance(entry, dict) else None))
    return items
