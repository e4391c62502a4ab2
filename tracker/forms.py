"""Forms of the enrolment page: one form for the patient, course and contact details, and a small formset of
caregivers (zero or more; a blank caregiver block is ignored). Labels and messages are translated, so the
errors name the field in the reader's language."""

import datetime as dt
import re
import zoneinfo
from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tracker.enrolment import Enrolment, Person, mrn_error, mrn_taken
from tracker.models import CareTeam, Therapy
from tracker.models.therapies import TherapyClass

# The zones most patients of a US center live in, first; every other IANA zone follows.
COMMON_TIME_ZONES = [
    ("America/New_York", _("Eastern time")),
    ("America/Chicago", _("Central time")),
    ("America/Denver", _("Mountain time")),
    ("America/Phoenix", _("Arizona (no daylight saving)")),
    ("America/Los_Angeles", _("Pacific time")),
    ("America/Anchorage", _("Alaska time")),
    ("Pacific/Honolulu", _("Hawaii time")),
    ("America/Puerto_Rico", _("Atlantic time (Puerto Rico)")),
]
LANGUAGES = [("en", "English"), ("es", "Español")]
PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ().-]+$")
START_DAYS_BACK, START_DAYS_AHEAD = 365, 90


def time_zone_choices(default_zone: str | None):
    """The center's zone as the first choice (the default), then common zones, then all the others."""
    common = {zone for zone, _label in COMMON_TIME_ZONES}
    first = (_("%(zone)s (the center's time zone)") % {"zone": default_zone}) if default_zone \
        else _("The center's time zone")
    others = sorted(zone for zone in zoneinfo.available_timezones() if zone not in common and "/" in zone
                    and not zone.startswith(("Etc/", "SystemV/", "US/")))
    return [
        ("", first),
        (_("Common"), [(zone, f"{label} — {zone}") for zone, label in COMMON_TIME_ZONES]),
        (_("All time zones"), [(zone, zone.replace("_", " ")) for zone in others]),
    ]


def clean_phone(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if not PHONE_CHARACTERS.match(value) or not 7 <= len(digits) <= 15:
        raise forms.ValidationError(_("Enter a phone number with its area code, for example (555) 010-0142."))
    return value


class EnrolmentForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    mrn = forms.CharField(label=_("MRN (medical record number)"), max_length=32)
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ChoiceField(label=_("Care team"))
    therapy = forms.ChoiceField(label=_("Therapy"))
    start_date = forms.DateField(
        label=_("Infusion date or first dose"), widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("CAR T: the day of the infusion. Checkpoint inhibitor: the day of the first dose."))
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False,
                                  help_text=_("Where the patient is staying: reminders come at their local time."))
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES, initial="en", widget=forms.RadioSelect,
                                 help_text=_("Messages and the patient's pages are in this language."))
    phone = forms.CharField(label=_("Mobile phone"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    email = forms.EmailField(label=_("Email"), required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, teams: list[CareTeam], therapies: list[Therapy], **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {str(team.uuid): team for team in teams}
        self.therapies = {therapy.code: therapy for therapy in therapies}
        by_center: dict[str, list] = {}
        for team in teams:
            by_center.setdefault(team.center.name, []).append((str(team.uuid), team.name))
        team_choices: list[tuple[str, object]] = list(by_center.items())
        if len(teams) != 1:
            team_choices = [("", _("Choose a care team")), *team_choices]
        cast(forms.ChoiceField, self.fields["team"]).choices = team_choices
        classes = dict(TherapyClass.choices)
        grouped: dict[str, list] = {}
        for therapy in therapies:
            grouped.setdefault(str(classes.get(therapy.therapy_class, therapy.therapy_class)), []).append(
                (therapy.code, f"{therapy.brand_name} ({therapy.generic_name})"))
        cast(forms.ChoiceField, self.fields["therapy"]).choices = [("", _("Choose a therapy")), *grouped.items()]
        zones = {team.center.time_zone for team in teams}
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = time_zone_choices(zones.pop() if len(zones) == 1 else None)
        for name, message in (("team", _("Choose one of your care teams.")), ("therapy", _("Choose a therapy from the list.")),
                              ("time_zone", _("Choose a time zone from the list."))):
            self.fields[name].error_messages["invalid_choice"] = message

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()

    def clean_mrn(self):
        return self.cleaned_data["mrn"].strip()

    def clean_phone(self):
        return clean_phone(self.cleaned_data["phone"])

    def clean_team(self):
        team = self.teams.get(self.cleaned_data["team"])
        if team is None:
            raise forms.ValidationError(_("Choose one of your care teams."))
        return team

    def clean_therapy(self):
        therapy = self.therapies.get(self.cleaned_data["therapy"])
        if therapy is None:
            raise forms.ValidationError(_("Choose a therapy from the list."))
        return therapy

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today or born < today - dt.timedelta(days=round(365.25 * 120)):
            raise forms.ValidationError(_("Enter a date of birth in the past (the year has four digits)."))
        return born

    def clean_start_date(self):
        start = self.cleaned_data["start_date"]
        today = timezone.localdate()
        if not today - dt.timedelta(days=START_DAYS_BACK) <= start <= today + dt.timedelta(days=START_DAYS_AHEAD):
            raise forms.ValidationError(_("Enter a date within the last year or the next 90 days."))
        return start

    def clean_time_zone(self):
        zone = self.cleaned_data.get("time_zone", "")
        if zone and zone not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Choose a time zone from the list."))
        return zone

    def clean(self):
        data = super().clean()
        team = data.get("team")
        if team and data.get("mrn") and mrn_taken(center=team.center, mrn=data["mrn"]):
            self.add_error("mrn", mrn_error(center=team.center, mrn=data["mrn"]))
        if "phone" in data and "email" in data and not data["phone"] and not data["email"]:
            self.add_error("phone", _("Give a mobile phone or an email address: the invitation to set a password "
                                      "goes there."))
        if team and not data.get("time_zone"):
            data["time_zone"] = team.center.time_zone
        return data

    def enrolment(self, caregivers: list[Person]) -> Enrolment:
        data = self.cleaned_data
        return Enrolment(
            team=data["team"], therapy=data["therapy"], start_date=data["start_date"], mrn=data["mrn"],
            date_of_birth=data["date_of_birth"], time_zone=data["time_zone"], language=data["language"],
            patient=Person(first_name=data["first_name"], last_name=data["last_name"], phone=data["phone"],
                           email=data["email"]),
            caregivers=caregivers,
        )


class CaregiverForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    relationship = forms.CharField(label=_("Relationship"), max_length=50, required=False,
                                   widget=forms.TextInput(attrs={"placeholder": _("for example: husband, daughter")}))
    phone = forms.CharField(label=_("Mobile phone"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    email = forms.EmailField(label=_("Email"), required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"}))

    def clean_phone(self):
        return clean_phone(self.cleaned_data["phone"])

    def clean(self):
        data = super().clean()
        if not self.has_changed():
            return data
        for name in ("first_name", "last_name"):
            if not (data.get(name) or "").strip() and name not in self.errors:
                self.add_error(name, _("This field is required."))
        if "phone" in data and "email" in data and not data["phone"] and not data["email"]:
            self.add_error("phone", _("Give a mobile phone or an email address: the invitation to set a password "
                                      "goes there."))
        return data

    def person(self) -> Person | None:
        if not self.has_changed():
            return None
        data = self.cleaned_data
        return Person(first_name=data["first_name"].strip(), last_name=data["last_name"].strip(),
                      phone=data["phone"], email=data["email"], relationship=data["relationship"].strip())


MAX_CAREGIVERS = 4
CaregiverFormSet = forms.formset_factory(CaregiverForm, extra=1, max_num=MAX_CAREGIVERS, validate_max=True,
                                         absolute_max=MAX_CAREGIVERS)
