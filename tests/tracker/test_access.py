"""Who may see and write what, through the full stack (APIClient and the Django test client).

Maria (`patient`) is on team A with a CAR T course; Robert (`other_patient`) is on team B on
pembrolizumab. Each row of the tables below is one role signing in.
"""

from decimal import Decimal

import pytest
from django.test import Client

from monitoring.services.intake import checkin_submit
from tests.factories import CaregiverLinkFactory, CourseFactory, PatientFactory, UserFactory
from tracker.models import CheckIn, Role, Therapy

ROLES = [
    "anonymous", "patient", "other_patient", "caregiver", "nurse", "other_nurse", "charge_nurse", "physician",
    "admin",
]
# Which of the two patients (Maria on team A, Robert on team B) each role may see.
SEES = {
    "patient": {"maria"},
    "other_patient": {"robert"},
    "caregiver": {"maria"},
    "nurse": {"maria"},
    "other_nurse": {"robert"},
    "charge_nurse": {"maria"},
    "physician": {"maria"},
    "admin": {"maria", "robert"},
}
SEES_MARIA = [role for role in ROLES if "maria" in SEES.get(role, set())]
DOES_NOT_SEE_MARIA = [role for role in ROLES if role != "anonymous" and "maria" not in SEES[role]]
ENTERED_ROLE = {
    "patient": "patient", "caregiver": "caregiver", "nurse": "staff", "charge_nurse": "staff",
    "physician": "staff", "admin": "staff",
}


def user_for(request, role):
    """The signed-in user for a role name of the tables (None for anonymous)."""
    if role == "anonymous":
        return None
    if role == "patient":
        return request.getfixturevalue("patient").user
    if role == "other_patient":
        return request.getfixturevalue("other_patient").user
    if role == "admin":
        return request.getfixturevalue("admin_user")
    return request.getfixturevalue(role)


def page_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def people(patient, other_patient, caregiver, nurse, other_nurse, charge_nurse, physician, admin_user):
    """Both patients' records exist for every test of the matrix, whoever signs in."""
    return {"maria": patient, "robert": other_patient}


@pytest.fixture
def checkins(people, nurse, other_nurse):
    return {
        "maria": checkin_submit(patient=people["maria"], entered_by=nurse, channel="api",
                                values={"temperature_c": Decimal("37.1")}).checkin,
        "robert": checkin_submit(patient=people["robert"], entered_by=other_nurse, channel="api",
                                 values={"temperature_c": Decimal("36.9")}).checkin,
    }


# --- API: check-ins -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_checkin_list_shows_only_the_checkins_each_role_may_see(request, as_user, checkins, role):
    response = as_user(user_for(request, role)).get("/api/v1/checkins/")
    if role == "anonymous":
        assert response.status_code == 401
        assert response.json()["type"] == "not_authenticated"
        return
    assert response.status_code == 200
    seen = {row["id"] for row in response.json()["results"]}
    assert seen == {str(checkins[name].uuid) for name in SEES[role]}


@pytest.mark.parametrize("role", ROLES)
def test_checkin_detail_is_404_when_not_visible(request, as_user, checkins, role):
    client = as_user(user_for(request, role))
    for name, checkin in checkins.items():
        response = client.get(f"/api/v1/checkins/{checkin.uuid}/")
        if role == "anonymous":
            assert response.status_code == 401
        elif name in SEES[role]:
            assert response.status_code == 200
            assert response.json()["id"] == str(checkin.uuid)
        else:
            assert response.status_code == 404, (role, name)
            assert response.json()["type"] == "not_found"


def test_checkin_detail_of_an_unknown_id_is_404(as_user, admin_user):
    response = as_user(admin_user).get("/api/v1/checkins/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404


# --- API: patients -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_patient_list_shows_only_the_patients_each_role_may_see(request, as_user, people, role):
    response = as_user(user_for(request, role)).get("/api/v1/patients/")
    if role == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    assert {row["id"] for row in response.json()} == {str(people[name].uuid) for name in SEES[role]}


@pytest.mark.parametrize("role", ROLES)
def test_patient_detail_is_404_when_not_visible(request, as_user, people, role):
    client = as_user(user_for(request, role))
    for name, patient in people.items():
        response = client.get(f"/api/v1/patients/{patient.uuid}/")
        if role == "anonymous":
            assert response.status_code == 401
        elif name in SEES[role]:
            assert response.status_code == 200
            assert response.json()["mrn"] == patient.mrn
        else:
            assert response.status_code == 404, (role, name)


# --- API: writing check-ins ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_checkin_for_a_named_patient_is_accepted_only_from_those_who_see_them(request, as_user, people, role):
    maria = people["maria"]
    response = as_user(user_for(request, role)).post(
        "/api/v1/checkins/", {"patient": str(maria.uuid), "temperature": "37.3"}, format="json"
    )
    if role == "anonymous":
        assert response.status_code == 401
        assert not CheckIn.objects.exists()
    elif role in SEES_MARIA:
        assert response.status_code == 201, response.json()
        stored = CheckIn.objects.get(uuid=response.json()["id"])
        assert stored.patient == maria
        assert stored.entered_role == ENTERED_ROLE[role]
    else:
        assert response.status_code == 400
        assert "patient" in response.json()["fields"]
        assert not CheckIn.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_amending_a_checkin_is_allowed_only_for_those_who_see_it(request, as_user, checkins, role):
    original = checkins["maria"]
    before = CheckIn.objects.count()
    response = as_user(user_for(request, role)).post(
        f"/api/v1/checkins/{original.uuid}/amend/", {"reason": "Misread the thermometer", "temperature": "37.6"},
        format="json",
    )
    if role == "anonymous":
        assert response.status_code == 401
    elif role in ("patient", "caregiver"):
        # The nurse entered this check-in (a phone call): only staff correct it; the patient and her
        # caregiver see it but get 403 naming the check-in (tests/security/test_amendment_rights.py).
        assert response.status_code == 403, response.json()
        assert response.json()["type"] == "permission_denied" and list(response.json()["fields"]) == ["id"]
    elif role in SEES_MARIA:
        assert response.status_code == 201, response.json()
        assert response.json()["amends"] == str(original.uuid)
        assert CheckIn.objects.count() == before + 1
        return
    else:
        assert response.status_code == 404
        assert response.json()["type"] == "not_found"
    assert CheckIn.objects.count() == before


# --- Pages -------------------------------------------------------------------------------------------------

PAGES = ["patient-home", "checkin-new", "checkin-detail"]


def page_url(page, patient, checkin):
    if page == "patient-home":
        return f"/patients/{patient.uuid}/"
    if page == "checkin-new":
        return f"/patients/{patient.uuid}/checkin/"
    return f"/patients/{patient.uuid}/checkins/{checkin.uuid}/"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_patient_pages_show_only_visible_patients(request, checkins, people, role, page):
    client = page_client(user_for(request, role))
    for name in ("maria", "robert"):
        url = page_url(page, people[name], checkins[name])
        response = client.get(url)
        if role == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
            assert f"next={url}" in response["Location"].replace("%2F", "/")
        elif name in SEES[role]:
            assert response.status_code == 200, (role, name, url)
        else:
            assert response.status_code == 404, (role, name, url)


def test_checkin_page_of_one_patient_does_not_show_another_patients_checkin(admin_user, people, checkins):
    client = page_client(admin_user)
    response = client.get(f"/patients/{people['robert'].uuid}/checkins/{checkins['maria'].uuid}/")
    assert response.status_code == 404


@pytest.mark.parametrize("role", DOES_NOT_SEE_MARIA)
def test_posting_the_checkin_page_for_an_invisible_patient_is_404_and_stores_nothing(request, people, role):
    client = page_client(user_for(request, role))
    response = client.post(f"/patients/{people['maria'].uuid}/checkin/", {"temperature": "37.0"})
    assert response.status_code == 404
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("role", ROLES)
def test_staff_patient_list_page_is_for_staff_only(request, people, role):
    response = page_client(user_for(request, role)).get("/staff/patients/")
    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        return
    if role in ("patient", "other_patient", "caregiver"):
        assert response.status_code == 404
        return
    assert response.status_code == 200
    listed = {p.uuid for p in response.context["patients"]}
    assert listed == {people[name].uuid for name in SEES[role]}
    body = response.content.decode()
    for name, patient in people.items():
        assert (patient.mrn in body) == (name in SEES[role])


@pytest.mark.parametrize("role", ROLES)
def test_me_endpoint_needs_a_signed_in_user(request, people, as_user, role):
    response = as_user(user_for(request, role)).get("/api/v1/me/")
    assert response.status_code == (401 if role == "anonymous" else 200)


# --- Edge cases of patients_visible_to ------------------------------------------------------------------------

def test_caregiver_linked_to_nobody_sees_nothing(as_user, checkins):
    lonely = UserFactory(role=Role.CAREGIVER)
    client = as_user(lonely)
    assert client.get("/api/v1/checkins/").json()["results"] == []
    assert client.get("/api/v1/patients/").json() == []
    assert client.get(f"/api/v1/checkins/{checkins['maria'].uuid}/").status_code == 404
    response = client.post("/api/v1/checkins/", {"temperature": "37.0"}, format="json")
    assert response.status_code == 400
    assert "patient" in response.json()["fields"]
    page = page_client(lonely).get("/")
    assert page.status_code == 200
    assert list(page.context["patients"]) == []
    assert "No patient is linked to your account yet" in page.content.decode()


def test_caregiver_sees_only_the_patients_linked_to_them(as_user, caregiver, people, team_a):
    third = PatientFactory(care_team=team_a)
    CourseFactory(patient=third)
    CaregiverLinkFactory(patient=third)  # someone else's relative
    ids = {row["id"] for row in as_user(caregiver).get("/api/v1/patients/").json()}
    assert ids == {str(people["maria"].uuid)}


@pytest.mark.parametrize("role", ["patient", "caregiver", "nurse", "admin"])
def test_inactive_user_sees_nothing_through_the_api(request, as_user, checkins, role):
    user = user_for(request, role)
    user.is_active = False
    user.save()
    client = as_user(user)
    assert client.get("/api/v1/checkins/").json()["results"] == []
    assert client.get("/api/v1/patients/").json() == []
    assert client.get(f"/api/v1/checkins/{checkins['maria'].uuid}/").status_code == 404
    assert client.get(f"/api/v1/patients/{checkins['maria'].patient.uuid}/").status_code == 404
    response = client.post(
        "/api/v1/checkins/", {"patient": str(checkins["maria"].patient.uuid), "temperature": "37.0"}, format="json"
    )
    assert response.status_code == 400
    assert CheckIn.objects.count() == 2


def test_inactive_user_token_is_refused(api, patient):
    from tracker.models import ApiToken

    _token, key = ApiToken.issue(patient.user)
    patient.user.is_active = False
    patient.user.save()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get("/api/v1/checkins/")
    assert response.status_code == 401
    assert response.json()["type"] == "authentication_failed"


@pytest.mark.parametrize("role", ["patient", "nurse"])
def test_inactive_user_is_sent_to_the_login_page(request, people, checkins, role):
    user = user_for(request, role)
    client = page_client(user)
    user.is_active = False
    user.save()
    for url in (f"/patients/{people['maria'].uuid}/", f"/patients/{people['maria'].uuid}/checkin/", "/staff/patients/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")


def test_staff_sees_another_teams_patient_whose_course_is_assigned_to_their_team(
    as_user, nurse, other_nurse, people, checkins, team_a
):
    robert = people["robert"]
    CourseFactory(patient=robert, therapy=Therapy.objects.get(code="kymriah"), care_team=team_a)
    client = as_user(nurse)
    assert {row["id"] for row in client.get("/api/v1/patients/").json()} == {
        str(people["maria"].uuid), str(robert.uuid),
    }
    assert client.get(f"/api/v1/patients/{robert.uuid}/").status_code == 200
    assert client.get(f"/api/v1/checkins/{checkins['robert'].uuid}/").status_code == 200
    listed = {row["id"] for row in client.get("/api/v1/checkins/").json()["results"]}
    assert str(checkins["robert"].uuid) in listed
    response = client.post("/api/v1/checkins/", {"patient": str(robert.uuid), "temperature": "37.0"}, format="json")
    assert response.status_code == 201
    assert page_client(nurse).get(f"/patients/{robert.uuid}/").status_code == 200
    staff_page = page_client(nurse).get("/staff/patients/")
    assert robert.uuid in {p.uuid for p in staff_page.context["patients"]}
    # Team B still sees him; team A's course does not hand Maria to team B.
    other = {row["id"] for row in as_user(other_nurse).get("/api/v1/patients/").json()}
    assert other == {str(robert.uuid)}


def test_patient_listed_once_even_with_several_courses_on_the_team(as_user, nurse, people, team_a):
    maria = people["maria"]
    CourseFactory(patient=maria, therapy=Therapy.objects.get(code="kymriah"), care_team=team_a)
    ids = [row["id"] for row in as_user(nurse).get("/api/v1/patients/").json()]
    assert ids == [str(maria.uuid)]


# --- Lists that grow: query counts ---------------------------------------------------------------------------

@pytest.mark.parametrize("count", [2, 25])
def test_patient_list_query_count_does_not_grow_with_patients(
    as_user, nurse, team_a, django_assert_max_num_queries, count
):
    for _ in range(count):
        CourseFactory(patient=PatientFactory(care_team=team_a))
    client = as_user(nurse)
    with django_assert_max_num_queries(5):  # +1: the audit row
        response = client.get("/api/v1/patients/")
    assert len(response.json()) == count


@pytest.mark.parametrize("count", [2, 25])
def test_staff_patient_page_query_count_does_not_grow_with_patients(
    nurse, team_a, django_assert_max_num_queries, count
):
    for _ in range(count):
        CourseFactory(patient=PatientFactory(care_team=team_a))
    client = page_client(nurse)
    # A fixed ceiling well below the number of rows (the page's base template may add a query or two).
    with django_assert_max_num_queries(9):  # +1: the audit row
        response = client.get("/staff/patients/")
    assert response.status_code == 200
    assert len(response.context["patients"]) == count
