"""Browser tests: Playwright for Python driving Debian's Chromium against Django's live server.
A missing browser is a failure, never a skip. Screenshots go to screenshots/ (git-ignored)."""

import pathlib

import pytest

SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
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
