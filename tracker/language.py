"""Which language a signed-in reader's pages are in: the one picked with the footer switch (the language
cookie), else the person's own preferred language. Patient, caregiver and staff pages all follow it."""

from django.conf import settings
from django.utils import translation


def reader_language(request) -> str:
    picked = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    codes = {code for code, _ in settings.LANGUAGES}
    if picked in codes:
        return picked
    preferred = getattr(request.user, "preferred_language", "") or ""
    return preferred if preferred in codes else translation.get_language()
