"""monitoring.staff.format_time, the one formatter of every time on a staff page: the styles it writes out
directly give the same text as Django's date filter, in each language and zone, and name the zone in the hour a
clock change repeats, where the filter leaves it out."""

import datetime as dt
import random
import zoneinfo

import pytest
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation

from monitoring.staff import STYLES, format_time

ZONES = ["America/New_York", "America/Los_Angeles", "America/Puerto_Rico", "Europe/Madrid", "Asia/Kolkata",
         "Australia/Lord_Howe", "UTC"]


def moments(count: int = 400):
    """Moments through a year, both clock changes of each zone included, at odd seconds."""
    rng = random.Random(7)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [start + dt.timedelta(seconds=rng.randrange(366 * 86400)) for _ in range(count)]


def repeated_hour(local: dt.datetime) -> bool:
    """The wall-clock time happens twice (a clock change back), where Django's filter omits the zone."""
    naive = local.replace(tzinfo=None)
    return (naive.replace(fold=0, tzinfo=local.tzinfo).utcoffset()
            != naive.replace(fold=1, tzinfo=local.tzinfo).utcoffset())


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("zone", ZONES)
def test_the_written_styles_say_what_the_date_filter_says(language, zone):
    tz = zoneinfo.ZoneInfo(zone)
    with translation.override(language), timezone.override(tz):
        for moment in moments():
            local = timezone.localtime(moment, tz)
            if repeated_hour(local):
                continue
            for style, pattern in STYLES.items():
                assert format_time(moment, style) == date_filter(local, pattern), (moment, style)


def test_the_zone_is_named_in_the_hour_a_clock_change_repeats():
    new_york = zoneinfo.ZoneInfo("America/New_York")
    first = dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)  # 01:30 EDT, then an hour later 01:30 EST
    second = first + dt.timedelta(hours=1)
    with translation.override("en"), timezone.override(new_york):
        assert format_time(first) == "01:30 EDT"
        assert format_time(second) == "01:30 EST"
        assert format_time(second, "full") == "1 Nov 2026 01:30 EST"
        assert date_filter(timezone.localtime(second), STYLES["time"]) == "01:30 "  # what the filter alone says


def test_spanish_months_zone_given_none_and_other_patterns():
    madrid = zoneinfo.ZoneInfo("Europe/Madrid")
    moment = dt.datetime(2026, 1, 5, 23, 30, tzinfo=dt.UTC)
    with translation.override("es"):
        assert format_time(moment, "datetime", zone=madrid) == "6 Ene 00:30 CET"
        assert format_time(moment, "j/n/Y", zone=madrid) == "6/1/2026"  # any other pattern: the filter
    assert format_time(None) == "" and format_time("") == ""
    assert format_time(dt.date(2026, 1, 5), "j M") == "5 Jan"
