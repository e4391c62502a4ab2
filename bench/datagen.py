"""Scale data for the benchmarks: `python bench/datagen.py [--patients 10000] [--days 100] [--database car_t_scale]`.

A regional cancer network: `--patients` patients in care teams of about 200 (50 teams for 10,000), ten
teams per center (centers in America/New_York and America/Chicago), each team with a nurse, a charge
nurse and a physician on a 12-hour on-call roster, plus one administrator. Two teams per center are
cellular-therapy teams (CAR T products of the seeded catalogue, weighted like US use); the others treat
with checkpoint inhibitors (pembrolizumab, nivolumab, nivolumab + ipilimumab, atezolizumab, durvalumab ...).

Up to `--days` days of check-ins per patient, ending at the benchmark clock: mostly normal readings, with
fevers, CRS and ICANS signs (more often in the first two weeks after infusion), and immune-related side
effects for checkpoint patients. 80% of patients log almost daily, 8% sporadically, 12% stopped some
days ago (they are the ones the evening reminder scan finds). Every check-in has its CheckinAssessment
(findings from the real rules engine for each kind of check-in); findings open and update alerts, which
the team acknowledges and resolves after realistic delays (escalating when nobody acknowledges in time),
each change an AlertEvent. CAR T courses have their driving and stay-nearby windows (extended after
neurologic findings); every patient with an active course has a ReminderState computed with the
product's own schedule rules.

The benchmark clock ("anchor") is the latest 21:00:30 America/New_York before now: just after the
evening scans last ran (escalations 21:00:00, reminders 20:59:45), when the second reminders of New York patients and the first ones of Chicago
patients (20:00 CT) fall due. It is stored in the table `bench_meta`; dashboard.py and scans.py run at it.

Loading goes around the per-check-in service: staff and rosters with bulk_create, everything else with
PostgreSQL COPY (psycopg 3) with foreign-key triggers off (session_replication_role = replica; the rows
are consistent by construction), then VACUUM ANALYZE, so the planner and visibility map look like a
database autovacuum has kept. The database is dropped, recreated and migrated (`manage.py migrate` in a
subprocess) first. Seeded: the same options give the same data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import sys
import time
import uuid
import zoneinfo
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    DB_10K,
    admin_connect,
    bench_env,
    header,
    load_average,
    migrate,
    recreate_database,
    setup_django,
    table,
)

UTC = dt.UTC
ET = zoneinfo.ZoneInfo("America/New_York")
CT = zoneinfo.ZoneInfo("America/Chicago")

CAR_T_MIX = [("yescarta", 30), ("breyanzi", 18), ("carvykti", 20), ("kymriah", 10), ("abecma", 9), ("tecartus", 8),
             ("aucatzyl", 5)]
# (products given together, weight); cycle length in days of the first product.
ICI_MIX = [(("pembrolizumab",), 46), (("nivolumab",), 20), (("nivolumab", "ipilimumab"), 7), (("atezolizumab",), 8),
           (("durvalumab",), 7), (("durvalumab", "tremelimumab"), 2), (("cemiplimab",), 4), (("avelumab",), 2),
           (("nivolumab_relatlimab",), 4)]
CYCLE_DAYS = {"pembrolizumab": 21, "nivolumab": 14, "atezolizumab": 21, "durvalumab": 28, "cemiplimab": 21,
              "avelumab": 14, "nivolumab_relatlimab": 28}
TEAM_NAMES = ["Cellular Therapy A", "Cellular Therapy B", "Thoracic Oncology", "Melanoma and Skin",
              "Genitourinary Oncology", "Head and Neck", "Gastrointestinal Oncology", "Breast Oncology",
              "Hepatobiliary", "Immunotherapy Clinic"]
FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
         "Jessica Thomas Sarah Charles Karen Maria Jose Ana Luis Carmen Daniel Nancy Paul Lisa Mark Betty Donald "
         "Sandra George Ashley Kenneth Emily Steven Donna Edward Michelle Brian Carol Ronald Amanda Anthony Melissa "
         "Kevin Deborah Jason Stephanie Matthew Rebecca Gary Sharon Timothy Laura Jorge Rosa Wei Mei Raj Priya").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
        "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
        "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
        "Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes "
        "Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard "
        "Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price "
        "Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Chen Wang Singh Shah").split()
RESOLUTION_NOTES = [
    "Called the patient; symptoms settled, advised to keep monitoring.",
    "Seen in the infusion center; labs normal.",
    "Sent to the emergency department; admitted for observation.",
    "Phone review with the physician; supportive care, recheck tomorrow.",
    "Started loperamide and fluids; reviewed at the next visit.",
    "Topical steroid prescribed; photo reviewed by dermatology.",
    "Tocilizumab given on the ward; improved.",
    "False alarm: thermometer error, repeat reading normal.",
]

# --- check-in kinds: (name, answers that differ from a quiet check-in) -----------------------------------
CAR_T_KINDS = {
    "quiet": {}, "lowgrade": {},
    "fever": {"temperature_c": 38.3, "chills": True},
    "fever_hypo": {"temperature_c": 38.6, "chills": True, "dizzy_or_fainting": True, "systolic_bp": 86,
                   "diastolic_bp": 50, "spo2": 90},
    "ice8": {"ice_score": 8, "ice_orientation": 3, "ice_naming": 2, "confusion": True},
    "seizure": {"ice_score": 5, "ice_orientation": 2, "ice_naming": 1, "ice_writing": 0, "consciousness": "wakes_to_voice",
                "seizure": True, "seizure_prolonged": False},
    "tremor": {"tremor": True},
    "tachy": {"heart_rate": 112, "fast_heartbeat": True},
    "fatigue": {"severe_fatigue": True},
    "drove": {"drove_since_last": True},
    "late_neuro": {"handwriting_change": True},
}
ICI_KINDS = {
    "quiet": {}, "lowgrade": {},
    "stools2": {"extra_stools": 2}, "stools5": {"extra_stools": 5, "abdominal_pain": "mild"},
    "multi": {"extra_stools": 5, "abdominal_pain": "mild", "rash_percent": 15, "cough": True},
    "fever": {"temperature_c": 38.2}, "rash15": {"rash_percent": 15}, "rash40": {"rash_percent": 40},
    "cough": {"cough": True}, "breath_rest": {"breathless": True, "breathless_at_rest": True, "spo2": 90},
    "yellow": {"yellow_skin_or_dark_urine": True}, "thirst": {"extreme_thirst_urination": True},
    "headache": {"severe_headache": True}, "fatigue": {"severe_fatigue": True},
    "infusion": {"chills": True, "flushing_itching": True},
}
# Per check-in probabilities (the rest is "quiet").
P_CAR_T_EARLY = {"lowgrade": 0.05, "fever": 0.06, "fever_hypo": 0.01, "ice8": 0.012, "seizure": 0.001, "tremor": 0.006,
                 "tachy": 0.008, "fatigue": 0.012}
P_CAR_T_LATE = {"lowgrade": 0.02, "fever": 0.008, "fever_hypo": 0.001, "ice8": 0.002, "tremor": 0.002, "tachy": 0.004,
                "fatigue": 0.006}
P_ICI = {"lowgrade": 0.01, "stools2": 0.015, "stools5": 0.004, "multi": 0.0008, "fever": 0.004, "rash15": 0.008,
         "rash40": 0.0008, "cough": 0.004, "breath_rest": 0.0003, "yellow": 0.001, "thirst": 0.001, "headache": 0.002,
         "fatigue": 0.004}

CAR_T_YES_NO = ["chills", "short_of_breath", "dizzy_or_fainting", "severe_nausea_vomiting_diarrhea", "fast_heartbeat",
                "severe_fatigue", "severe_muscle_joint_pain", "confusion", "agitation", "speech_trouble",
                "balance_loss", "tremor", "seizure", "focal_weakness", "on_oxygen"]
ICI_YES_NO = ["dizzy_or_fainting", "fast_heartbeat", "severe_fatigue", "confusion", "stool_blood_mucus",
              "rash_blisters_or_sores", "cough", "breathless", "chest_pain", "yellow_skin_or_dark_urine",
              "severe_headache", "vision_change", "extreme_thirst_urination", "muscle_weakness"]
CARVYKTI_YES_NO = ["handwriting_change", "slowed_movement", "personality_change", "coordination_loss",
                   "facial_numbness_droop", "leg_numbness_weakness"]
VITALS = ("temperature_c", "heart_rate", "systolic_bp", "diastolic_bp", "spo2")
ESCALATION_MINUTES = {4: 5, 3: 15, 2: 240}  # policy defaults: emergency 5 min, urgent 15, same-day 4 h


def anchor_now(now: dt.datetime | None = None) -> dt.datetime:
    """The latest 21:00:30 America/New_York at or before `now`."""
    local = (now or dt.datetime.now(UTC)).astimezone(ET)
    anchor = dt.datetime.combine(local.date(), dt.time(21, 0, 30), tzinfo=ET)
    if anchor > local:
        anchor = dt.datetime.combine(local.date() - dt.timedelta(days=1), dt.time(21, 0, 30), tzinfo=ET)
    return anchor.astimezone(UTC)


def pick(rng: random.Random, weighted: list):
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for item, w in weighted:
        x -= w
        if x < 0:
            return item
    return weighted[-1][0]


def pick_kind(rng: random.Random, probs: dict) -> str:
    x = rng.random()
    for name, p in probs.items():
        x -= p
        if x < 0:
            return name
    return "quiet"


# ---------------------------------------------------------------------------------------------- COPY


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def fmt(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, uuid.UUID)):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    if isinstance(value, (list, dict)):
        return _esc(json.dumps(value, ensure_ascii=False))
    return _esc(str(value))


class Copy:
    """COPY ... FROM STDIN on its own connection, written in ~1 MB chunks."""

    def __init__(self, conn, model, columns: list[str] | None = None):
        self.model = model
        self.table = model._meta.db_table
        self.columns = columns or [f.column for f in model._meta.concrete_fields]
        self.conn, self.buffer, self.size, self.rows = conn, [], 0, 0

    def __enter__(self):
        self.cursor = self.conn.cursor()
        cols = ", ".join(f'"{c}"' for c in self.columns)
        self._cm = self.cursor.copy(f'COPY "{self.table}" ({cols}) FROM STDIN')
        self.copy = self._cm.__enter__()
        return self

    def line(self, text: str) -> None:
        self.buffer.append(text)
        self.size += len(text)
        self.rows += 1
        if self.size > 1_000_000:
            self.flush()

    def row(self, values: dict) -> None:
        self.line("\t".join(fmt(values.get(c)) for c in self.columns) + "\n")

    def flush(self) -> None:
        if self.buffer:
            self.copy.write("".join(self.buffer))
            self.buffer, self.size = [], 0

    def __exit__(self, *exc):
        if exc[0] is None:
            self.flush()
        self._cm.__exit__(*exc)
        self.cursor.close()


def copy_rows(conn, model, rows: list[dict]) -> int:
    if not rows:
        return 0
    columns = [f.column for f in model._meta.concrete_fields]
    missing = [f.column for f in model._meta.concrete_fields if f.column not in rows[0] and not f.null]
    if missing:
        raise ValueError(f"{model.__name__}: no value for NOT NULL columns {missing}")
    with Copy(conn, model, columns) as c:
        for row in rows:
            c.row(row)
    return len(rows)


def bulk_connection(database: str):
    conn = admin_connect(database)
    conn.autocommit = False
    conn.execute("SET session_replication_role = replica")  # no FK / audit triggers during the load
    conn.execute("SET synchronous_commit = off")
    return conn


# ---------------------------------------------------------------------------------------------- generator


class Generator:
    def __init__(self, args, anchor: dt.datetime):
        self.args, self.anchor, self.rng = args, anchor, random.Random(args.seed)
        # The escalation scan (every 30 s) last ran 30 s before the clock, the reminder scan (every minute)
        # at 20:59:45: the 21:00 reminder steps are due at the clock.
        self.last_scan = anchor - dt.timedelta(seconds=30)
        self.last_reminder_scan = anchor - dt.timedelta(seconds=45)
        self.ids = defaultdict(int)
        self.counts = defaultdict(int)
        self.offsets = {}
        self._eval_cache, self._tail_cache, self._instr_cache = {}, {}, {}

    # -- ids, uuids, time ------------------------------------------------------------------------------
    def next_id(self, key: str) -> int:
        self.ids[key] += 1
        return self.ids[key]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def utc(self, tz: zoneinfo.ZoneInfo, day: dt.date, minute: int) -> dt.datetime:
        key = (tz.key, day)
        offset = self.offsets.get(key)
        if offset is None:
            offset = self.offsets[key] = dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()
        return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=UTC) - offset

    # -- the rules engine, once per kind of check-in ---------------------------------------------------
    def evaluate(self, klass: str, product: str, kind: str, early: bool, window: bool) -> tuple[int, list[dict], str]:
        key = (klass, product if product == "carvykti" else "", kind, early, window)
        hit = self._eval_cache.get(key)
        if hit is not None:
            return hit
        from monitoring.rules import CheckinInput, EvaluationContext, TherapyContext, evaluate, highest_urgency

        answers = self.answers(klass, kind, ice=early, driving=window, carvykti=product == "carvykti")
        vitals = {"temperature_c": 36.8, "heart_rate": 78}
        if klass == "car_t":
            vitals |= {"systolic_bp": 122, "diastolic_bp": 76, "spo2": 97}
        overrides = (CAR_T_KINDS if klass == "car_t" else ICI_KINDS)[kind]
        vitals |= {k: v for k, v in overrides.items() if k in VITALS}
        fields = set(CheckinInput.__dataclass_fields__)
        values = {k: v for k, v in (answers | vitals).items() if k in fields and v not in ("",)}
        ci = CheckinInput(recorded_at=self.anchor, **values)
        if klass == "car_t":
            days = 5 if early else (40 if product == "carvykti" else 60)
            therapies = (TherapyContext(product, "car_t", days),)
        else:
            last = 0 if kind == "infusion" else 10
            therapies = (TherapyContext("pembrolizumab", "checkpoint", 60, last),)
        findings = evaluate(ci, EvaluationContext(therapies=therapies, driving_window_active=window))
        dicts = [f.to_dict() for f in findings]
        hit = (int(highest_urgency(findings)),
               [d | {"_urgency": int(f.urgency), "_neuro": is_neuro(f)} for d, f in zip(dicts, findings, strict=True)],
               fmt(dicts))
        self._eval_cache[key] = hit
        return hit

    def instruction(self, findings_key: tuple, findings: list[dict], phone: str, language: str) -> str:
        key = (findings_key, phone, language)
        text = self._instr_cache.get(key)
        if text is None:
            from django.utils import translation
            from django.utils.translation import gettext

            from monitoring.rules import Finding, Urgency
            from monitoring.rules import patient_instruction as compose

            objs = [Finding(condition=f["condition"], title=f["title"], min_grade=f["min_grade"],
                            grading_system=f["grading_system"], urgency=Urgency(f["_urgency"]),
                            patient_instruction=f["patient_instruction"], staff_rationale=f["staff_rationale"],
                            rule_id=f["rule_id"], source=f["source"]) for f in findings]
            with translation.override(language):
                text = self._instr_cache[key] = compose(objs, phone, translate=gettext)
        return text

    @staticmethod
    def answers(klass: str, kind: str, *, ice: bool, driving: bool, carvykti: bool, incomplete: bool = False) -> dict:
        a: dict = {}
        if klass == "car_t":
            a.update(dict.fromkeys(CAR_T_YES_NO, False))
            a["consciousness"] = "alert"
            if ice:
                a.update(ice_orientation=4, ice_naming=3, ice_command=1, ice_writing=1, ice_counting=1, ice_score=10)
            if driving:
                a["drove_since_last"] = False
            if carvykti:
                a.update(dict.fromkeys(CARVYKTI_YES_NO, False))
            overrides = CAR_T_KINDS[kind]
            if incomplete:
                a["consciousness"] = ""
        else:
            a.update(dict.fromkeys(ICI_YES_NO, False))
            a.update(extra_stools=0, abdominal_pain="none", rash_percent=0)
            overrides = ICI_KINDS[kind]
            if incomplete:
                a["rash_percent"] = None
        a.update({k: v for k, v in overrides.items() if k not in VITALS})
        return a

    def tail(self, klass, kind, ice, driving, carvykti, incomplete, fixed_columns) -> str:
        key = (klass, kind, ice, driving, carvykti, incomplete)
        text = self._tail_cache.get(key)
        if text is None:
            a = self.answers(klass, kind, ice=ice, driving=driving, carvykti=carvykti, incomplete=incomplete)
            for blank in ("consciousness", "abdominal_pain", "note"):
                a.setdefault(blank, "")
            text = self._tail_cache[key] = "\t".join(fmt(a.get(c)) for c in fixed_columns)
        return text


def is_neuro(finding) -> bool:
    from monitoring.rules.driving import is_neurologic

    return bool(is_neurologic(finding))


def lognormal_minutes(rng: random.Random, median: float, sigma: float, cap: float) -> float:
    return min(cap, median * math.exp(rng.gauss(0, sigma)))


ACK_MEDIAN = {4: (3, 0.6), 3: (8, 0.8), 2: (90, 0.9), 1: (14 * 60, 0.5)}  # minutes: median, log-sd
RESOLVE_HOURS = {4: (6, 0.6), 3: (8, 0.9), 2: (24, 0.8), 1: (36, 0.6)}
SLOW_CONDITIONS = {"diarrhea_colitis", "rash", "endocrine", "hepatitis", "carvykti_late_neuro"}


def simulate_alerts(g: Generator, patient: dict, abnormal: list[tuple], team: dict) -> dict:
    """Alerts of one patient from their abnormal check-ins (time order), with events, as the services
    would have written them: one unresolved alert per condition; acknowledged and resolved by the team;
    escalated step by step while nobody acknowledges; reopened when it gets worse after acknowledgement."""
    rng = g.rng
    current: dict[str, dict] = {}
    alerts, events, links, neuro_dates = [], [], [], []
    nurse, physician = team["nurse"], team["physician"]

    def event(alert, kind, at, **kw):
        events.append({"id": g.next_id("alertevent"), "alert_id": alert["id"], "kind": kind, "at": at,
                       "actor_id": kw.get("actor"), "old_status": kw.get("old_status", ""),
                       "new_status": kw.get("new_status", ""), "old_urgency": kw.get("old_urgency"),
                       "new_urgency": kw.get("new_urgency"), "checkin_id": kw.get("checkin"),
                       "note": kw.get("note", ""), "call_with": "", "call_outcome": ""})  # no calls generated

    def plan(alert, since):
        """When the team will acknowledge and resolve it, counted from `since` (opened or reopened)."""
        u = alert["urgency"]
        median, sigma = ACK_MEDIAN[u]
        alert["_ack"] = since + dt.timedelta(minutes=lognormal_minutes(rng, median, sigma, 3 * 24 * 60))
        hours, sigma = RESOLVE_HOURS[u]
        if alert["condition"] in SLOW_CONDITIONS:
            hours *= 4
        alert["_resolve"] = alert["_ack"] + dt.timedelta(hours=lognormal_minutes(rng, hours, sigma, 14 * 24))
        alert["_since"] = since
        alert["escalation_level"] = 0

    def escalate_until(alert, until):
        """The escalation scan's steps while nobody acknowledged: since + k * delay, up to `until`."""
        delay = ESCALATION_MINUTES.get(alert["urgency"])
        if not delay:
            return
        level = alert["escalation_level"]
        while level < 50:
            step = alert["_since"] + dt.timedelta(minutes=delay * (level + 1))
            if step >= alert["_ack"] or step > until:
                break
            level += 1
            chain = ["primary_nurse", "charge_nurse", "physician"][min(level, 2)]
            event(alert, "escalated", step, old_status="open", new_status="open", old_urgency=alert["urgency"],
                  new_urgency=alert["urgency"], note=f"Not acknowledged in time: step {level} ({chain}).")
            alert["updated_at"] = max(alert["updated_at"], step)
        alert["escalation_level"] = level

    def close(alert):
        """Write what happened up to the clock: escalations, acknowledgement, resolution."""
        u = alert["urgency"]
        escalate_until(alert, g.last_scan)
        if alert["_ack"] > g.anchor:  # nobody has acknowledged it yet
            delay = ESCALATION_MINUTES.get(u)
            alert["status"] = "open"
            alert["next_escalation_at"] = (alert["_since"] + dt.timedelta(minutes=delay * (alert["escalation_level"] + 1))
                                           if delay else None)
            return
        alert.update(status="acknowledged", acknowledged_at=alert["_ack"], acknowledged_by_id=nurse,
                     next_escalation_at=None, updated_at=max(alert["updated_at"], alert["_ack"]))
        event(alert, "acknowledged", alert["_ack"], actor=nurse, old_status="open", new_status="acknowledged",
              old_urgency=u, new_urgency=u)
        if alert["_resolve"] <= g.anchor:
            who = nurse if rng.random() < 0.7 else physician
            note = rng.choice(RESOLUTION_NOTES)
            alert.update(status="resolved", resolved_at=alert["_resolve"], resolved_by_id=who, resolution_note=note,
                         updated_at=alert["_resolve"])
            event(alert, "resolved", alert["_resolve"], actor=who, old_status="acknowledged", new_status="resolved",
                  old_urgency=u, new_urgency=u, note=note)

    for at, checkin_id, checkin_uuid, assessment_id, findings, local_date in abnormal:
        for f in findings:
            if f["_neuro"]:
                neuro_dates.append(local_date)
            u = f["_urgency"]
            entry = {"checkin": checkin_uuid, "recorded_at": at.isoformat(), "urgency": f["urgency"],
                     "rule_id": f["rule_id"], "source": f["source"], "rationale": f["staff_rationale"],
                     "rationale_messages": f["rationale_messages"], "values": f["evidence"]}
            alert = current.get(f["condition"])
            if alert is not None and at >= alert["_resolve"]:
                close(alert)
                alert = None
            if alert is None:
                alert = {"id": g.next_id("alert"), "uuid": g.uuid(), "patient_id": patient["id"],
                         "condition": f["condition"], "status": "open", "urgency": u, "min_grade": f["min_grade"],
                         "grading_system": f["grading_system"], "title": f["title"], "rationale": f["staff_rationale"],
                         "rationale_messages": [f["rationale_messages"]],
                         "patient_instruction": f["patient_instruction"], "rule_ids": [f["rule_id"]],
                         "sources": [f["source"]], "evidence": [entry], "first_checkin_id": checkin_id,
                         "last_checkin_id": checkin_id, "opened_at": at, "updated_at": at, "acknowledged_at": None,
                         "acknowledged_by_id": None, "resolved_at": None, "resolved_by_id": None,
                         "resolution_note": "", "escalation_level": 0, "next_escalation_at": None}
                plan(alert, at)
                current[f["condition"]] = alert
                alerts.append(alert)
                event(alert, "opened", at, new_status="open", new_urgency=u, checkin=checkin_id, note=f["staff_rationale"])
            else:
                old_u = alert["urgency"]
                alert["evidence"].append(entry)
                alert["rule_ids"] = sorted({*alert["rule_ids"], f["rule_id"]})
                alert["sources"] = sorted({*alert["sources"], f["source"]})
                alert["last_checkin_id"], alert["updated_at"] = checkin_id, at
                alert["rationale"] = f["staff_rationale"] + "\n\nEarlier: " + alert["rationale"]
                alert["rationale_messages"] = [f["rationale_messages"], *alert["rationale_messages"]]
                if (f["min_grade"] or 0) > (alert["min_grade"] or 0):
                    alert["min_grade"], alert["title"] = f["min_grade"], f["title"]
                acknowledged = at >= alert["_ack"]
                kind, old_status = "evidence", ("acknowledged" if acknowledged else "open")
                if u > old_u:
                    if acknowledged:
                        # Worse than what the nurse took on: it needs a person again (reopened).
                        escalate_until(alert, alert["_ack"])
                        event(alert, "acknowledged", alert["_ack"], actor=nurse, old_status="open",
                              new_status="acknowledged", old_urgency=old_u, new_urgency=old_u)
                        kind = "reopened"
                    else:
                        escalate_until(alert, at)
                        kind = "urgency_raised"
                    alert.update(urgency=u, title=f["title"], patient_instruction=f["patient_instruction"],
                                 grading_system=f["grading_system"])
                    plan(alert, at)
                event(alert, kind, at, old_status=old_status, new_status="open" if kind != "evidence" else old_status,
                      old_urgency=old_u, new_urgency=alert["urgency"], checkin=checkin_id, note=f["staff_rationale"])
            links.append((assessment_id, alert["id"]))
    for alert in current.values():
        close(alert)
    for alert in alerts:
        for key in [k for k in alert if k.startswith("_")]:
            del alert[key]
    return {"alerts": alerts, "events": events, "links": links, "neuro_dates": neuro_dates}


def generate(args, anchor: dt.datetime) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from monitoring.models import Alert, AlertEvent, CheckinAssessment, Window, WindowEvent
    from monitoring.rules import Policy
    from monitoring.rules.driving import driving_window_end, proximity_window_end
    from monitoring.rules.engine import checkin_interval_days, next_expected_date
    from notifications.models import NotificationPreference, OnCallShift, PagingWebhook, ReminderState
    from tracker.models import (
        CaregiverLink,
        CareTeam,
        CareTeamMembership,
        Center,
        CheckIn,
        Patient,
        Role,
        Therapy,
        TreatmentCourse,
        User,
    )

    g = Generator(args, anchor)
    rng = g.rng
    policy = Policy()
    therapies = {t.code: t for t in Therapy.objects.all()}
    teams_n = args.teams or max(1, round(args.patients / 200))
    centers_n = max(1, math.ceil(teams_n / 10))
    timings = {}

    # -- staff side, with the ORM (small) -----------------------------------------------------------------
    t0 = time.monotonic()
    unusable = make_password(None)
    with transaction.atomic():
        centers = Center.objects.bulk_create([
            Center(name=f"Bench Regional Cancer Center {c + 1}", phone_24_7=f"(555) 01{c:01d}-{1000 + c:04d}"[:32],
                   time_zone="America/New_York" if c % 5 < 3 else "America/Chicago") for c in range(centers_n)])
        teams = CareTeam.objects.bulk_create([
            CareTeam(center=centers[t // 10], name=TEAM_NAMES[t % 10]) for t in range(teams_n)])
        staff, memberships = [], []
        for t in range(teams_n):
            for role in (Role.NURSE, Role.CHARGE_NURSE, Role.PHYSICIAN):
                staff.append(User(username=f"bench.t{t}.{role}", role=role, email=f"t{t}.{role}@example.org",
                                  phone=f"+1555{t:03d}{len(staff) % 10000:04d}", password=unusable,
                                  first_name=rng.choice(FIRST), last_name=rng.choice(LAST)))
        admin = User(username="bench.admin", role=Role.ADMIN, email="admin@example.org", password=unusable,
                     is_staff=True, first_name="Network", last_name="Administrator")
        staff = User.objects.bulk_create([*staff, admin])
        team_staff = []
        for t, team in enumerate(teams):
            nurse, charge, physician = staff[3 * t:3 * t + 3]
            team_staff.append({"nurse": nurse.pk, "charge": charge.pk, "physician": physician.pk, "team": team})
            memberships += [CareTeamMembership(team=team, user=u) for u in (nurse, charge, physician)]
        CareTeamMembership.objects.bulk_create(memberships)
        TOTPDevice.objects.bulk_create([TOTPDevice(user=u, name="phone", confirmed=True) for u in staff])
        NotificationPreference.objects.bulk_create([
            NotificationPreference(user=u, email=True, sms=u.role != Role.PHYSICIAN or rng.random() < 0.5)
            for u in staff if rng.random() < 0.4])
        PagingWebhook.objects.bulk_create([
            PagingWebhook(team=team, url=f"http://127.0.0.1:9/page/{t}", secret="bench-secret")
            for t, team in enumerate(teams) if t % 10 < 2 or rng.random() < 0.5])
        shifts = []
        first_day = (anchor - dt.timedelta(days=args.days + 1)).date()
        for t, team in enumerate(teams):
            tz = zoneinfo.ZoneInfo(team.center.time_zone)
            s = team_staff[t]
            for day_n in range(args.days + 3):
                day = first_day + dt.timedelta(days=day_n)
                for start_h, length in ((7, 12), (19, 12)):
                    starts = dt.datetime.combine(day, dt.time(start_h), tzinfo=tz)
                    ends = starts + dt.timedelta(hours=length)
                    for user_id, chain in ((s["nurse"], "primary_nurse"), (s["charge"], "charge_nurse"),
                                           (s["physician"], "physician")):
                        shifts.append(OnCallShift(team=team, user_id=user_id, role=chain, starts_at=starts,
                                                  ends_at=ends))
        OnCallShift.objects.bulk_create(shifts, batch_size=5000)
    timings["staff, rosters (ORM bulk_create)"] = time.monotonic() - t0
    with connection.cursor() as cur:
        for key, model in (("user", User), ("patient", Patient), ("course", TreatmentCourse), ("checkin", CheckIn),
                           ("assessment", CheckinAssessment), ("alert", Alert), ("alertevent", AlertEvent),
                           ("window", Window), ("windowevent", WindowEvent), ("link", CaregiverLink),
                           ("reminder", ReminderState), ("m2m", CheckinAssessment.alerts.through)):
            cur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{model._meta.db_table}"')
            g.ids[key] = cur.fetchone()[0]
    connection.close()

    # -- patients and their records, with COPY ---------------------------------------------------------------
    t0 = time.monotonic()
    today = anchor.astimezone(ET).date()
    window_start = today - dt.timedelta(days=args.days - 1)
    users, patients, links, courses, windows, window_events, reminders = [], [], [], [], [], [], []
    alerts, alert_events, m2m = [], [], []
    checkin_fields = [f.column for f in CheckIn._meta.concrete_fields]
    varying = ["id", "uuid", "patient_id", "entered_by_id", "entered_role", "channel", "recorded_at", "local_date",
               "submitted_at", "is_complete", "amends_id", "amendment_reason", "temperature_c", "temperature_entered",
               "temperature_unit", "heart_rate", "systolic_bp", "diastolic_bp", "spo2"]
    fixed = [c for c in checkin_fields if c not in varying]
    assessment_cols = ["id", "checkin_id", "urgency", "findings", "instruction", "evaluated_at"]
    conn_main = bulk_connection(args.database)
    conn_checkins = bulk_connection(args.database)
    conn_assess = bulk_connection(args.database)
    total = args.patients
    progress_every = max(1, total // 10)
    with Copy(conn_checkins, CheckIn, varying + fixed) as ck, Copy(conn_assess, CheckinAssessment, assessment_cols) as asm:
        for p in range(total):
            if p and p % progress_every == 0:
                print(f"  {p:,} patients, {ck.rows:,} check-ins, {time.monotonic() - t0:.0f} s", flush=True)
            t = p % teams_n
            team, center = teams[t], teams[t].center
            ts = team_staff[t]
            center_tz = zoneinfo.ZoneInfo(center.time_zone)
            tz = center_tz if rng.random() < 0.9 else (CT if center_tz is ET else ET)
            cellular = t % 10 < 2
            pid = g.next_id("patient")
            language = "es" if rng.random() < 0.1 else "en"
            has_user = rng.random() < 0.85
            user_id = None
            if has_user:
                user_id = g.next_id("user")
                users.append(_user_row(g, user_id, f"bench.p{pid}", Role.PATIENT, language, unusable, anchor))
            caregiver_id = None
            if rng.random() < (0.8 if cellular else 0.15):
                caregiver_id = g.next_id("user")
                users.append(_user_row(g, caregiver_id, f"bench.c{pid}", Role.CAREGIVER, language, unusable, anchor))
                links.append({"id": g.next_id("link"), "patient_id": pid, "user_id": caregiver_id,
                              "relationship": rng.choice(["spouse", "daughter", "son", "partner", "friend"]),
                              "created_at": anchor - dt.timedelta(days=200)})
            # Courses: start offset (days before today) and status.
            if cellular:
                product = pick(rng, CAR_T_MIX)
                products = (product,)
                if rng.random() < 0.06:
                    offset, status = rng.randint(150, 365), "completed"
                    end_day = today - dt.timedelta(days=offset) + dt.timedelta(days=120)
                elif rng.random() < 0.12:
                    offset, status, end_day = rng.randint(0, 13), "active", None
                else:
                    offset, status, end_day = rng.randint(14, 180), "active", None
                klass = "car_t"
            else:
                products = pick(rng, ICI_MIX)
                product = products[0]
                offset = rng.randint(14, 730)
                status, end_day = "active", None
                if rng.random() < 0.07:
                    status = "stopped"
                    end_day = today - dt.timedelta(days=rng.randint(1, max(1, min(offset - 1, args.days + 30))))
                klass = "checkpoint"
            start = today - dt.timedelta(days=offset)
            created_at = g.utc(tz, start - dt.timedelta(days=rng.randint(3, 20)), 9 * 60)
            mrn_center = t // 10
            patients.append({
                "id": pid, "uuid": g.uuid(), "center_id": center.pk, "care_team_id": team.pk, "user_id": user_id,
                "mrn": f"B{mrn_center:02d}{pid:08d}", "first_name": rng.choice(FIRST), "last_name": rng.choice(LAST),
                "date_of_birth": dt.date(rng.randint(1940, 2000), rng.randint(1, 12), rng.randint(1, 28)),
                "time_zone": tz.key, "preferred_language": language,
                "phone": f"+1555{rng.randint(0, 9999999):07d}" if rng.random() < 0.8 else "",
                "email": f"p{pid}@example.org" if rng.random() < 0.6 else "", "baseline_ice_score": 10,
                "temperature_unit": "",
                "created_at": created_at,
            })
            course_rows = []
            for code in products:
                therapy = therapies[code]
                last_dose = None
                if klass == "checkpoint":
                    cycle = CYCLE_DAYS.get(code, 21)
                    if code in ("ipilimumab",):
                        last_dose = min(start + dt.timedelta(days=63), end_day or today)
                    elif code == "tremelimumab":
                        last_dose = start
                    else:
                        last_day = end_day or today
                        last_dose = start + dt.timedelta(days=((last_day - start).days // cycle) * cycle)
                course_rows.append({
                    "id": g.next_id("course"), "uuid": g.uuid(), "patient_id": pid, "therapy_id": therapy.pk,
                    "care_team_id": team.pk, "start_date": start, "last_dose_date": last_dose, "status": status,
                    "tocilizumab_or_steroids_on": None, "created_at": created_at, "_therapy": therapy})
            # Adherence.
            r = rng.random()
            if r < 0.80:
                p_log, lapse = 0.95, None
            elif r < 0.92:
                p_log, lapse = 0.9, rng.randint(1, 60)
            else:
                p_log, lapse = 0.45, None
            habit = (rng.randint(450, 660) if r < 0.6 else rng.randint(660, 1020)) if rng.random() < 0.85 \
                else rng.randint(1020, 1350)
            first_day = max(start, window_start)
            last_day = end_day or today
            if lapse is not None:
                last_day = min(last_day, today - dt.timedelta(days=lapse))
            car = course_rows[0]["_therapy"]
            driving_days = car.driving_restriction_days if klass == "car_t" else None
            abnormal = []
            logged_days = []
            day = first_day
            while day <= last_day:
                since = (day - start).days
                if rng.random() < (0.98 if klass == "car_t" and since < 14 else p_log):
                    times = [habit + rng.randint(-40, 40)]
                    # A second reading the same day: twice-daily temperatures early after CAR T, and an
                    # evening recheck on about one day in three otherwise.
                    if rng.random() < (0.6 if klass == "car_t" and since < 14 else 0.3 if klass == "car_t" and since < 30
                                       else 0.32):
                        times.append(min(1350, times[0] + rng.randint(240, 600)))
                    for minute in times:
                        recorded = g.utc(tz, day, max(0, minute))
                        if recorded > anchor:
                            continue
                        early = klass == "car_t" and since < 14
                        window = klass == "car_t" and driving_days is not None and since < driving_days
                        if klass == "car_t":
                            probs = dict(P_CAR_T_EARLY if early else P_CAR_T_LATE)
                            if window:
                                probs["drove"] = 0.002
                            if product == "carvykti" and 20 <= since <= 100:
                                probs["late_neuro"] = 0.004
                        else:
                            probs = P_ICI
                            if course_rows[0]["last_dose_date"] and day == course_rows[0]["last_dose_date"]:
                                probs = P_ICI | {"infusion": 0.05}
                        kind = pick_kind(rng, probs)
                        carvykti_q = product == "carvykti" and 14 <= since <= 100 and since % 7 == 0
                        ice = klass == "car_t" and since <= 30
                        incomplete = kind == "quiet" and rng.random() < 0.03
                        urgency, findings, findings_text = g.evaluate(klass, product, kind, early, window)
                        cid = g.next_id("checkin")
                        cuuid = g.uuid()
                        entered_by, role, channel = _entered(rng, user_id, caregiver_id, ts["nurse"])
                        vit = _vitals(rng, klass, kind)
                        submitted = min(anchor, recorded + dt.timedelta(seconds=rng.randint(20, 400)))
                        head = [str(cid), cuuid, str(pid), str(entered_by), role, channel, recorded.isoformat(),
                                day.isoformat(), submitted.isoformat(), "f" if incomplete else "t", "\\N", ""]
                        ck.line("\t".join(head) + "\t" + vit + "\t"
                                + g.tail(klass, kind, ice, window, carvykti_q, incomplete, fixed) + "\n")
                        aid = g.next_id("assessment")
                        fkey = (klass, product if product == "carvykti" else "", kind, early, window)
                        phone = center.phone_24_7
                        asm.line(f"{aid}\t{cid}\t{urgency}\t{findings_text}\t"
                                 f"{fmt(g.instruction(fkey, findings, phone, language))}\t{submitted.isoformat()}\n")
                        if findings:
                            abnormal.append((recorded, cid, cuuid, aid, findings, day))
                        if not incomplete:
                            logged_days.append(day)
                        if rng.random() < 0.003:  # a correction stored as an amendment
                            aid2, cid2 = g.next_id("assessment"), g.next_id("checkin")
                            later = submitted + dt.timedelta(minutes=rng.randint(5, 90))
                            head = [str(cid2), g.uuid(), str(pid), str(entered_by), role, channel,
                                    recorded.isoformat(), day.isoformat(), later.isoformat(),
                                    "f" if incomplete else "t", str(cid), "Typed the wrong reading"]
                            ck.line("\t".join(head) + "\t" + _vitals(rng, klass, "quiet") + "\t"
                                    + g.tail(klass, kind, ice, window, carvykti_q, incomplete, fixed) + "\n")
                            asm.line(f"{aid2}\t{cid2}\t{urgency}\t{findings_text}\t"
                                     f"{fmt(g.instruction(fkey, findings, phone, language))}\t{later.isoformat()}\n")
                day += dt.timedelta(days=1)

            sim = simulate_alerts(g, patients[-1], abnormal, ts)
            alerts += sim["alerts"]
            alert_events += sim["events"]
            m2m += [{"id": g.next_id("m2m"), "checkinassessment_id": a, "alert_id": al} for a, al in sim["links"]]
            neuro = sorted(set(sim["neuro_dates"]))
            for course in course_rows:
                therapy = course.pop("_therapy")
                courses.append(course)
                if therapy.therapy_class != "car_t":
                    continue
                for kind_name, label_days in (("driving", therapy.driving_restriction_days),
                                              ("proximity", therapy.proximity_days)):
                    wid = g.next_id("window")
                    if kind_name == "driving":
                        ends = driving_window_end(start, label_days, None, neuro, policy.neuro_driving_extension_weeks * 7)
                        dates = [d.isoformat() for d in neuro]
                    else:
                        ends, dates = proximity_window_end(start, label_days, None), []
                    cleared = None
                    if kind_name == "driving" and dates and ends > today and rng.random() < 0.1:
                        cleared = today - dt.timedelta(days=rng.randint(0, 10))
                    windows.append({
                        "id": wid, "uuid": g.uuid(), "course_id": course["id"], "kind": kind_name, "starts_on": start,
                        "label_days": label_days, "center_days": None, "neuro_event_dates": dates, "ends_on": ends,
                        "cleared_on": cleared, "cleared_by_id": ts["physician"] if cleared else None,
                        "clearance_reason": "Neurology review: safe to drive." if cleared else "",
                        "end_notified_at": g.utc(tz, ends, 7 * 60) if ends <= today else None})
                    window_events.append({
                        "id": g.next_id("windowevent"), "window_id": wid, "kind": "created",
                        "at": course["created_at"], "actor_id": None, "old_ends_on": None,
                        "new_ends_on": label_end(start, label_days), "checkin_id": None,
                        "note": f"Label {label_days} days; center policy none (clinical-rules §3)."})
                    if ends != label_end(start, label_days):
                        window_events.append({
                            "id": g.next_id("windowevent"), "window_id": wid, "kind": "extended",
                            "at": g.utc(tz, neuro[-1], 12 * 60), "actor_id": None,
                            "old_ends_on": label_end(start, label_days), "new_ends_on": ends, "checkin_id": None,
                            "note": "Neurologic finding: no driving for 8 weeks after it (clinical-rules §3)."})
            # Reminder schedule, with the product's own rules, as the evening scans left it.
            rid = g.next_id("reminder")
            if status != "active":
                reminders.append({"id": rid, "patient_id": pid, "expected_on": end_day or today, "stage": 0,
                                  "next_due_at": None})
                continue
            car_t_days = [(today - start).days] if klass == "car_t" else []
            interval = checkin_interval_days(car_t_days, True, policy)
            recent = [d for d in logged_days if d >= today - dt.timedelta(days=60)]
            if lapse is not None and not recent:
                recent = []
            expected = next_expected_date(max(recent) if recent else None, today, interval)
            reminders.append(reminder_row(g, rid, pid, expected, tz, policy))
        print(f"  {total:,} patients, {ck.rows:,} check-ins, {time.monotonic() - t0:.0f} s; writing the rest",
              flush=True)
        counts = {"checkins": ck.rows, "assessments": asm.rows}
    conn_checkins.commit()
    conn_assess.commit()
    copy_rows(conn_main, User, users)
    copy_rows(conn_main, Patient, patients)
    copy_rows(conn_main, CaregiverLink, links)
    copy_rows(conn_main, TreatmentCourse, courses)
    copy_rows(conn_main, Alert, alerts)
    copy_rows(conn_main, AlertEvent, alert_events)
    copy_rows(conn_main, CheckinAssessment.alerts.through, m2m)
    copy_rows(conn_main, Window, windows)
    copy_rows(conn_main, WindowEvent, window_events)
    copy_rows(conn_main, ReminderState, reminders)
    conn_main.commit()
    timings["generate + COPY"] = time.monotonic() - t0
    for conn in (conn_main, conn_checkins, conn_assess):
        conn.close()
    counts.update(alerts=len(alerts), events=len(alert_events))
    return {"timings": timings, "counts": counts, "teams": teams_n, "centers": centers_n}


def label_end(start: dt.date, days: int) -> dt.date:
    return start + dt.timedelta(days=days)


def reminder_row(g: Generator, rid: int, pid: int, expected: dt.date, tz, policy) -> dict:
    """Where the minute scan (last run 30 s before the clock) left this patient: first reminder at the
    local reminder time, second an hour later, the nurse an hour after that (then expected next day)."""
    hour, minute = (int(x) for x in policy.reminder_local_time.split(":"))
    stage = 0
    while True:
        first = dt.datetime.combine(expected, dt.time(hour, minute), tzinfo=tz)
        steps = [first, first + dt.timedelta(minutes=policy.second_reminder_minutes),
                 first + dt.timedelta(minutes=policy.second_reminder_minutes + policy.missed_checkin_nurse_minutes)]
        stage = sum(1 for s in steps if s <= g.last_reminder_scan)
        if stage < 3:
            break
        expected += dt.timedelta(days=1)  # nurse told: expected again the next day
    return {"id": rid, "patient_id": pid, "expected_on": expected, "stage": stage,
            "next_due_at": steps[stage].astimezone(UTC)}


def _user_row(g: Generator, user_id: int, username: str, role: str, language: str, password: str, anchor) -> dict:
    return {"id": user_id, "password": password, "last_login": None, "is_superuser": False, "username": username,
            "first_name": "", "last_name": "", "email": f"{username}@example.org", "is_staff": False,
            "is_active": True, "date_joined": anchor - dt.timedelta(days=400), "uuid": g.uuid(), "role": role,
            "phone": f"+1555{g.rng.randint(0, 9999999):07d}", "preferred_language": language}


def _entered(rng: random.Random, user_id, caregiver_id, nurse_id) -> tuple[int, str, str]:
    r = rng.random()
    if user_id and (r < 0.85 or (r < 0.95 and not caregiver_id)):
        return user_id, "patient", "web" if rng.random() < 0.55 else "api"
    if caregiver_id and r < 0.95:
        return caregiver_id, "caregiver", "web" if rng.random() < 0.55 else "api"
    if caregiver_id and not user_id:
        return caregiver_id, "caregiver", "web"
    return nurse_id, "staff", "phone"


def _vitals(rng: random.Random, klass: str, kind: str) -> str:
    """temperature_c, temperature_entered, temperature_unit, heart_rate, systolic_bp, diastolic_bp, spo2"""
    over = (CAR_T_KINDS if klass == "car_t" else ICI_KINDS)[kind]
    if "temperature_c" in over:
        temp = over["temperature_c"]
    elif kind == "lowgrade":
        temp = round(rng.uniform(37.5, 37.9), 1)
    else:
        temp = round(min(37.4, max(35.8, rng.gauss(36.8, 0.3))), 1)
    if rng.random() < 0.85:
        entered, unit = round(temp * 9 / 5 + 32, 1), "F"
        temp = round((entered - 32) * 5 / 9, 1)
    else:
        entered, unit = temp, "C"
    hr = over.get("heart_rate", min(99, max(52, int(rng.gauss(78, 9)))))
    if klass == "car_t":
        if rng.random() < 0.85 or "systolic_bp" in over:
            sbp = over.get("systolic_bp", min(160, max(95, int(rng.gauss(122, 12)))))
            dbp = over.get("diastolic_bp", min(sbp - 20, max(55, int(rng.gauss(76, 8)))))
        else:
            sbp = dbp = None
        spo2 = over.get("spo2", min(100, max(93, int(rng.gauss(97, 1.3))))) if rng.random() < 0.9 else None
    else:
        if rng.random() > 0.6 and "heart_rate" not in over:
            hr = None
        sbp = dbp = None
        spo2 = over.get("spo2")
    return "\t".join(fmt(v) for v in (temp, entered, unit, hr, sbp, dbp, spo2))


def finish(database: str) -> dict[str, int]:
    """Sequences past the explicit ids, VACUUM ANALYZE, exact row counts."""
    with admin_connect(database) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'").fetchall()]
        with_id = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id'")}
        for name in tables:
            if name not in with_id:
                continue
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (f'"{name}"',)).fetchone()
            if seq and seq[0]:
                conn.execute(f"SELECT setval('{seq[0]}', GREATEST((SELECT MAX(id) FROM \"{name}\"), 1))")
        conn.execute("VACUUM (ANALYZE)")
        counts = {}
        for name in sorted(tables):
            counts[name] = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    counts["_size"] = size
    return counts


def write_meta(database: str, meta: dict) -> None:
    with admin_connect(database) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        for key, value in meta.items():
            conn.execute("INSERT INTO bench_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                         (key, str(value)))


SHOWN = ["tracker_user", "tracker_center", "tracker_careteam", "tracker_careteammembership", "tracker_patient",
         "tracker_caregiverlink", "tracker_treatmentcourse", "tracker_checkin", "monitoring_checkinassessment",
         "monitoring_checkinassessment_alerts", "monitoring_alert", "monitoring_alertevent", "monitoring_window",
         "monitoring_windowevent", "notifications_reminderstate", "notifications_oncallshift",
         "notifications_pagingwebhook", "notifications_notificationpreference", "otp_totp_totpdevice"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=100, help="days of check-in history per patient (default 100)")
    parser.add_argument("--teams", type=int, default=0, help="care teams (default: one per 200 patients)")
    parser.add_argument("--database", default=DB_10K, help=f"database to (re)create (default {DB_10K})")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.database in ("postgres", "car_t_tracker", "car_t_bench", "template0", "template1"):
        parser.error(f"refusing to recreate {args.database}")

    started = time.monotonic()
    anchor = anchor_now()
    header(f"datagen: {args.patients:,} patients, up to {args.days} days of check-ins, database {args.database}, "
           f"clock {anchor.astimezone(ET):%Y-%m-%d %H:%M:%S %Z} (seed {args.seed})")
    env = bench_env(args.database)
    recreate_database(args.database)
    t0 = time.monotonic()
    migrate(env)
    migrate_s = time.monotonic() - t0
    setup_django(env)
    result = generate(args, anchor)
    t0 = time.monotonic()
    counts = finish(args.database)
    finish_s = time.monotonic() - t0
    write_meta(args.database, {"anchor": anchor.isoformat(), "patients": args.patients, "days": args.days,
                               "teams": result["teams"], "centers": result["centers"], "seed": args.seed,
                               "generated_at": dt.datetime.now(UTC).isoformat(), "complete": "yes"})
    total_s = time.monotonic() - started

    print(f"\n{result['centers']} centers, {result['teams']} care teams; database size {counts['_size']}")
    table(["table", "rows"], [[name, f"{counts.get(name, 0):,}"] for name in SHOWN])
    print()
    phases = [["migrate (subprocess)", f"{migrate_s:.1f}"]]
    phases += [[k, f"{v:.1f}"] for k, v in result["timings"].items()]
    phases += [["sequences + VACUUM ANALYZE + counts", f"{finish_s:.1f}"], ["total", f"{total_s:.1f}"]]
    table(["load phase", "seconds"], phases)
    rate = counts.get("tracker_checkin", 0) / max(result["timings"]["generate + COPY"], 1e-9)
    print(f"\n{rate:,.0f} check-ins (+ their assessments) per second through COPY; load average now {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
