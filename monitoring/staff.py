"""What every staff page shares: only staff may open it (others get 404), it speaks the staff member's
language, and every time on it is the center's clock with the zone's abbreviation ("14:05 EST"), 24-hour.

One formatter (`format_time`, the `staff_time` template filter) is used by every staff template and by the
dashboard rows, which are worked out in Python."""

import datetime as dt
import functools
import zoneinfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3

from tracker.language import reader_language
from tracker.models import Center

# Every style is 24-hour and names the zone; the date parts follow the active language ("12 feb").
STYLES = {"time": "H:i T", "seconds": "H:i:s T", "datetime": "j M H:i T", "full": "j M Y H:i T"}


def staff_zone(user) -> zoneinfo.ZoneInfo:
    """The time zone of the staff member's center (her care teams'; an administrator without a team: the
    first center's). One query, two for an administrator without a team."""
    name = (Center.objects.filter(care_teams__memberships__user=user).order_by("pk")
            .values_list("time_zone", flat=True).first())
    if name is None:
        name = Center.objects.order_by("pk").values_list("time_zone", flat=True).first()
    return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)


SESSION_ZONE = "staff_time_zone"


def request_zone(request) -> zoneinfo.ZoneInfo:
    """`staff_zone` of the signed-in staff member, kept in her session after the first page (the session is
    read, and saved, on every request anyway): a page costs no query for it."""
    session = getattr(request, "session", None)
    name = session.get(SESSION_ZONE) if session is not None else None
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    zone = staff_zone(request.user)
    if session is not None:
        session[SESSION_ZONE] = zone.key
    return zone


def _month(local: dt.datetime) -> str:
    return MONTHS_3[local.month].title()  # as Django's "M": "Feb", "Ene"


# The styles written out directly: Django's date filter reads its format string on every call (about 30 µs; a
# dashboard of 200 rows formats 400-600 times). The same text as the filter, but the zone is named in the
# hour a clock change repeats too ("01:30 EDT", then "01:30 EST"), where the filter leaves it out.
_WRITTEN = {
    STYLES["time"]: lambda t: f"{t.hour:02d}:{t.minute:02d} {t.tzname()}",
    STYLES["seconds"]: lambda t: f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} {t.tzname()}",
    STYLES["datetime"]: lambda t: f"{t.day} {_month(t)} {t.hour:02d}:{t.minute:02d} {t.tzname()}",
    STYLES["full"]: lambda t: f"{t.day} {_month(t)} {t.year:04d} {t.hour:02d}:{t.minute:02d} {t.tzname()}",
}


def format_time(value, style: str = "time", zone=None) -> str:
    """`value` on the center's clock (the active time zone unless `zone` is given), e.g. "14:05 EST",
    "12 Feb 14:05 EST"; "" for None."""
    if value is None or value == "":
        return ""
    pattern = STYLES.get(style, style)
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        local = timezone.localtime(value, zone)
        written = _WRITTEN.get(pattern)
        return written(local) if written else date_filter(local, pattern)
    return date_filter(value, pattern)


def render_staff(request, template: str, context: dict, *, zone=None, status: int = 200):
    """Render a staff page with every time on the center's clock: the patient's center for a page about
    one patient (`zone`), else the staff member's center."""
    with timezone.override(zone or request_zone(request)):
        return render(request, template, context, status=status)


def staff_page(view):
    """Signed-in staff only (anyone else: 404), in the staff member's preferred language unless she picked
    one with the switch in the footer (the language cookie), like the patient pages."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff_member:
            raise Http404
        with translation.override(reader_language(request)):
            request.LANGUAGE_CODE = translation.get_language()
            return view(request, *args, **kwargs)

    return wrapped
