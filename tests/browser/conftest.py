"""Browser tests: Playwright for Python driving Debian's Chromium against Django's live server.
A missing browser is a failure, never a skip. Screenshots go to screenshots/ (git-ignored)."""

import pathlib

import pytest

SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(width: int = 1280, height: int = 900, *, service_workers: str = "block"):
        """A page in a fresh context. The offline service worker is blocked unless a test asks for it
        (`service_workers="allow"`): its background fetches (it caches the offline page after sign-in) could
        otherwise still be running on the live server when the test's database is flushed."""
        context = browser.new_context(viewport={"width": width, "height": height}, service_workers=service_workers)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def tecvayli_patient(db):
    """Maria on teclistamab (clinical-rules §8), step-up dose 1 given three days ago in hospital; Ana, her nurse.
    Returns (patient, course)."""
    import datetime as dt

    from django.utils import timezone

    from tests.browser.support import NEW_YORK
    from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
    from tracker.catalogue import sync_catalogue
    from tracker.dose_services import dose_record
    from tracker.models import Role, Therapy

    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Myeloma")
    nurse = UserFactory(username="ana", role=Role.NURSE, teams=[team], first_name="Ana", last_name="Ruiz")
    maria = PatientFactory(care_team=team, first_name="Maria", last_name="Lopez",
                           user=UserFactory(username="maria", role=Role.PATIENT))
    today = timezone.localtime(timezone.now(), NEW_YORK).date()
    course = CourseFactory(patient=maria, therapy=Therapy.objects.get(code="teclistamab"),
                           start_date=today - dt.timedelta(days=3))
    su1 = dt.datetime.combine(today - dt.timedelta(days=3), dt.time(9, 0), tzinfo=NEW_YORK)
    dose_record(course=course, recorded_by=nurse, values={
        "step_code": "su1", "started_at": su1, "ended_at": su1 + dt.timedelta(minutes=5), "setting": "inpatient",
        "kept_for_monitoring": True, "route": ""})
    return maria, course
