"""Questions the tracker asks again on its own: grade 1 diarrhea on a checkpoint inhibitor (clinical-rules
§4, re-ask every 3 days) and weekly Carvykti late-neurotoxicity questions through day 100 (§2)."""

import datetime as dt
import html as html_lib

import time_machine
from django.utils import timezone

from monitoring.models import FollowUp
from tests.monitoring.support import CAR_T_NORMAL, asked_fields, infused, noon_utc, post_checkin, signed_in
from tracker.models import CheckIn

DIARRHEA_BANNER = "How is the diarrhea now? Please check in."
CARVYKTI_BANNER = "This week's questions about movement, handwriting and mood. Please check in."
CARVYKTI_FIELDS = ["handwriting_change", "slowed_movement", "personality_change", "coordination_loss",
                   "facial_numbness_droop", "leg_numbness_weakness"]
CARVYKTI_NO = {name: False for name in CARVYKTI_FIELDS}


def home(patient, user=None) -> str:
    response = signed_in(user or patient.user).get(f"/patients/{patient.uuid}/")
    assert response.status_code == 200
    return html_lib.unescape(response.content.decode())


# --- Checkpoint inhibitor: grade 1 diarrhea --------------------------------------------------------------------

def test_grade_1_diarrhea_schedules_a_reask_3_days_later(as_user, other_patient):
    """clinical-rules §4: < 4 stools above usual is grade 1 → routine, re-ask every 3 days (ASCO 2021)."""
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        body = post_checkin(as_user(other_patient.user), extra_stools=2).json()
    assert body["urgency"] == "routine"
    followup = FollowUp.objects.get(patient=other_patient)
    assert followup.kind == "irae_diarrhea_reask"
    assert followup.due_at == moment + dt.timedelta(days=3)
    assert followup.created_from == CheckIn.objects.get(uuid=body["id"])
    assert followup.answered_by is None
    assert followup.source.startswith("clinical-rules §4")


def test_grade_2_diarrhea_schedules_no_reask(as_user, other_patient):
    """clinical-rules §4: grade 2 is same-day (the team calls), not a re-ask."""
    post_checkin(as_user(other_patient.user), extra_stools=4)
    assert not FollowUp.objects.exists()


def test_reask_banner_shows_on_the_home_page_only_once_due(as_user, other_patient):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        post_checkin(as_user(other_patient.user), extra_stools=2)
        assert DIARRHEA_BANNER not in home(other_patient)
    with time_machine.travel(moment + dt.timedelta(days=3) - dt.timedelta(minutes=1), tick=False):
        assert DIARRHEA_BANNER not in home(other_patient)
    with time_machine.travel(moment + dt.timedelta(days=3), tick=False):
        body = home(other_patient)
        assert DIARRHEA_BANNER in body
        assert f'href="/patients/{other_patient.uuid}/checkin/"' in body


def test_answering_extra_stools_later_marks_the_reask_answered(as_user, other_patient):
    client = as_user(other_patient.user)
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        post_checkin(client, extra_stools=2)
    with time_machine.travel(moment + dt.timedelta(days=3, hours=2), tick=False):
        assert DIARRHEA_BANNER in home(other_patient)
        answer = post_checkin(client, extra_stools=0).json()
        assert DIARRHEA_BANNER not in home(other_patient)
    followup = FollowUp.objects.get()
    assert followup.answered_by == CheckIn.objects.get(uuid=answer["id"])


def test_checkin_without_the_stool_answer_leaves_the_reask_pending(as_user, other_patient):
    client = as_user(other_patient.user)
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        post_checkin(client, extra_stools=2)
    with time_machine.travel(moment + dt.timedelta(days=4), tick=False):
        post_checkin(client, temperature="36.9")
        assert DIARRHEA_BANNER in home(other_patient)
    assert FollowUp.objects.get().answered_by is None


def test_still_grade_1_schedules_the_next_reask(as_user, other_patient):
    client = as_user(other_patient.user)
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        post_checkin(client, extra_stools=2)
    later = moment + dt.timedelta(days=3, hours=1)
    with time_machine.travel(later, tick=False):
        post_checkin(client, extra_stools=1)
    pending = FollowUp.objects.get(answered_by__isnull=True)
    assert pending.due_at == later + dt.timedelta(days=3)
    assert FollowUp.objects.filter(answered_by__isnull=False).count() == 1


# --- Carvykti late neurotoxicity --------------------------------------------------------------------------------

CARVYKTI_START = dt.date(2026, 1, 5)


def test_carvykti_checkin_schedules_weekly_late_neuro_questions(as_user, team_a):
    """clinical-rules §2 Carvykti late neurotoxicity: ask weekly through day 100."""
    p = infused(team_a, "carvykti", start=CARVYKTI_START)
    day30 = noon_utc(CARVYKTI_START + dt.timedelta(days=30))
    with time_machine.travel(day30, tick=False):
        post_checkin(as_user(p.user), **CAR_T_NORMAL, **CARVYKTI_NO)
    followup = FollowUp.objects.get(patient=p)
    assert followup.kind == "carvykti_late_neuro_questions"
    assert followup.due_at == day30 + dt.timedelta(days=7)
    assert followup.source == "clinical-rules §2 Carvykti late neurotoxicity"

    with time_machine.travel(day30 + dt.timedelta(days=7), tick=False):
        assert CARVYKTI_BANNER in home(p)
        post_checkin(as_user(p.user), **CAR_T_NORMAL, **CARVYKTI_NO)
        assert CARVYKTI_BANNER not in home(p)
    followup.refresh_from_db()
    assert followup.answered_by is not None
    nxt = FollowUp.objects.get(patient=p, answered_by__isnull=True)
    assert nxt.due_at == day30 + dt.timedelta(days=14)


def test_carvykti_patient_30_days_after_infusion_gets_the_weekly_followup(as_user, team_a):
    """The brief's case, relative to today: course started 30 days ago."""
    from tests.monitoring.support import new_patient

    p = new_patient(team_a, "carvykti", start=timezone.localdate() - dt.timedelta(days=30))
    response = post_checkin(as_user(p.user), **CAR_T_NORMAL)
    assert response.status_code == 201
    followup = FollowUp.objects.get(patient=p)
    assert followup.kind == "carvykti_late_neuro_questions"
    assert followup.due_at == CheckIn.objects.get().recorded_at + dt.timedelta(days=7)


def test_carvykti_late_sign_is_an_urgent_finding(as_user, team_a):
    """clinical-rules §2: through day 100 any new late sign (e.g. smaller handwriting) → urgent."""
    p = infused(team_a, "carvykti", start=CARVYKTI_START)
    with time_machine.travel(noon_utc(CARVYKTI_START + dt.timedelta(days=45)), tick=False):
        body = post_checkin(as_user(p.user), **CAR_T_NORMAL, **{**CARVYKTI_NO, "handwriting_change": True}).json()
    assert body["urgency"] == "urgent"
    assert [f["rule_id"] for f in body["findings"]] == ["carvykti.late_neuro_sign"]
    assert [a["condition"] for a in body["alerts"]] == ["carvykti_late_neuro"]


def test_carvykti_questions_are_on_the_form_through_day_100_but_not_day_101(team_a):
    """clinical-rules §2: the late-neurotoxicity questions are asked through day 100."""
    p = infused(team_a, "carvykti", start=CARVYKTI_START)
    for day, shown in ((30, True), (100, True), (101, False)):
        with time_machine.travel(noon_utc(CARVYKTI_START + dt.timedelta(days=day)), tick=False):
            client = signed_in(p.user)  # weeks apart: a fresh sign-in each time
            html = html_lib.unescape(client.get(f"/patients/{p.uuid}/checkin/").content.decode())
        asked = asked_fields(html)
        for name in CARVYKTI_FIELDS:
            assert (name in asked) is shown, (day, name)
        assert ("Handwriting smaller or harder than usual" in html) is shown, day


def test_no_carvykti_followup_is_scheduled_after_day_100(as_user, team_a):
    p = infused(team_a, "carvykti", start=CARVYKTI_START)
    with time_machine.travel(noon_utc(CARVYKTI_START + dt.timedelta(days=101)), tick=False):
        post_checkin(as_user(p.user), **CAR_T_NORMAL)
    assert not FollowUp.objects.filter(patient=p).exists()


def test_yescarta_patient_gets_no_carvykti_questions_or_followups(as_user, patient):
    post_checkin(as_user(patient.user), **CAR_T_NORMAL)
    assert not FollowUp.objects.exists()
    html = signed_in(patient.user).get(f"/patients/{patient.uuid}/checkin/").content.decode()
    assert "handwriting_change" not in asked_fields(html)


# --- The "I feel the same as usual" check-in never answers what a follow-up waits on ------------------------------

def quick(client, patient, **values):
    return client.post(f"/patients/{patient.uuid}/checkin/", {"same_as_usual": "1", "temperature": "36.8",
                                                               "temperature_unit": "C", **values})


def test_the_short_check_in_asks_the_stools_a_pending_diarrhea_reask_waits_on(as_user, other_patient):
    """A pending re-ask (clinical-rules §4) is not closed by the short check-in's usual "no extra stools": the
    question is on the short form, must be answered, and the answer given is what closes it."""
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        post_checkin(as_user(other_patient.user), extra_stools=2)
    with time_machine.travel(moment + dt.timedelta(days=3), tick=False):
        client = signed_in(other_patient.user)
        form = html_lib.unescape(client.get(f"/patients/{other_patient.uuid}/checkin/?quick=1").content.decode())
        assert "We need to ask about your stools today" in form
        assert 'id="extra_stools" name="extra_stools"' in form
        assert 'value="0"' not in form.split('id="extra_stools"')[1].split(">")[0]  # unanswered, no default

        refused = quick(client, other_patient)
        assert refused.status_code == 400
        assert ("Extra stools: please type how many, 0 if none. The care team asked about this again."
                in html_lib.unescape(refused.content.decode()))
        assert CheckIn.objects.count() == 1
        assert FollowUp.objects.get().answered_by is None

        assert quick(client, other_patient, extra_stools="1").status_code == 302
    answered = FollowUp.objects.get(answered_by__isnull=False)
    assert answered.answered_by.extra_stools == 1  # what was asked and answered, not a default
    assert answered.answered_by.abdominal_pain == "none" and answered.answered_by.is_complete


def test_the_short_check_in_asks_even_before_the_reask_is_due(as_user, other_patient):
    """Not due yet, the re-ask still waits on the stools: the usual answer would close it without asking."""
    post_checkin(as_user(other_patient.user), extra_stools=2)
    client = signed_in(other_patient.user)
    assert quick(client, other_patient).status_code == 400
    assert FollowUp.objects.get().answered_by is None


def test_without_a_pending_reask_the_short_check_in_counts_no_extra_stools(other_patient):
    client = signed_in(other_patient.user)
    form = client.get(f"/patients/{other_patient.uuid}/checkin/?quick=1").content.decode()
    assert 'name="extra_stools"' not in form
    assert quick(client, other_patient).status_code == 302
    assert CheckIn.objects.get().extra_stools == 0


def test_the_short_check_in_asks_this_weeks_carvykti_questions_yes_or_no(as_user, team_a):
    """clinical-rules §2: the weekly late-neurotoxicity questions are asked, not answered "no" by default."""
    p = infused(team_a, "carvykti", start=CARVYKTI_START)
    day30 = noon_utc(CARVYKTI_START + dt.timedelta(days=30))
    with time_machine.travel(day30, tick=False):
        post_checkin(as_user(p.user), **CAR_T_NORMAL, **CARVYKTI_NO)
    with time_machine.travel(day30 + dt.timedelta(days=7), tick=False):
        client = signed_in(p.user)
        form = html_lib.unescape(client.get(f"/patients/{p.uuid}/checkin/?quick=1").content.decode())
        for name in CARVYKTI_FIELDS:
            assert f'<input type="radio" name="{name}" value="1">' in form
            assert f'<input type="radio" name="{name}" value="0">' in form
        refused = quick(client, p, handwriting_change="0")
        assert refused.status_code == 400
        assert "Moving more slowly than usual: tap Yes or No." in html_lib.unescape(refused.content.decode())
        assert FollowUp.objects.get(patient=p, answered_by__isnull=True).created_from.recorded_at == day30

        assert quick(client, p, **{**{name: "0" for name in CARVYKTI_FIELDS}, "slowed_movement": "1"}).status_code == 302
    stored = CheckIn.objects.latest("recorded_at")
    assert stored.slowed_movement is True and stored.handwriting_change is False
    assert FollowUp.objects.get(patient=p, created_from__recorded_at=day30).answered_by == stored
    assert stored.assessment.urgency_label == "urgent"  # §2: any new finding is urgent


def test_the_short_check_in_leaves_the_ice_screen_unanswered(patient):
    """The caregiver's word and memory screen (clinical-rules §2) is never filled in with a normal score."""
    assert quick(signed_in(patient.user), patient).status_code == 302
    stored = CheckIn.objects.get()
    assert stored.ice_score is None and stored.ice_orientation is None
