"""The dashboard's rows as HTML in one pass (`monitoring/views.py` `_display_rows` works out each row's strings;
this places them). 200 rows of about 40 template nodes each were half of the page's time in the template
engine; here each value is escaped once and joined. The markup is what `_dashboard_rows.html` would render, and
the page's tests (text, links, forms, accessibility in a browser) read it the same way."""

from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from tracker.templatetags.tracker_tags import phone


def _labels() -> dict[str, str]:
    """The row labels, translated once per page and escaped."""
    texts = {
        "emergency": gettext("Emergency"), "missed": gettext("missed check-in"), "patient": gettext("Patient"),
        "open_alerts": gettext("Open alerts"), "new": gettext("New"), "acknowledged": gettext("acknowledged"),
        "acknowledge": gettext("Acknowledge"), "resolve_more": gettext("Resolve…"),
        "what_done": gettext("What was done"), "resolve": gettext("Resolve"), "therapy": gettext("Therapy"),
        "peak_title": gettext("Peak-risk window, days 0-14 (clinical-rules §1)"), "peak": gettext("peak risk"),
        "last": gettext("Last check-in"), "temp_hr": gettext("Temp · HR"),
        "fever": gettext("Fever: 38.0 °C or higher (clinical-rules §1)"), "driving": gettext("Driving"),
        "device": gettext("device"), "device_title": gettext("Latest reading from the patient's device (clinical-rules §10)"),
        "silent": gettext("device silent"),
        "silent_title": gettext("No reading from a worn device: the silence alert is open (clinical-rules §10)"),
    }
    return {name: str(esc(text)) for name, text in texts.items()}


def rows_markup(rows: list[dict], *, csrf_input: str, next_url: str) -> SafeString:
    """Every row's <tr>, or the one row saying no patient matches."""
    if not rows:
        return mark_safe(f'<tr><td colspan="6">{esc(gettext("No patients match."))}</td></tr>')  # noqa: S308
    t = _labels()
    hidden_next = f'<input type="hidden" name="next" value="{esc(next_url)}">'
    return mark_safe("\n  ".join(_row(r, t, csrf_input, hidden_next) for r in rows))  # noqa: S308 (escaped)


def _row(r: dict, t: dict[str, str], csrf_input: str, hidden_next: str) -> str:
    who = [f'<a class="name" href="{esc(r["url"])}">{esc(r["name"])}</a>']
    if r["emergency"]:
        who.append(f' <span class="pill urgency-emergency">{t["emergency"]}</span>')
    who.append(f'<br><small>{esc(r["mrn"])} · {esc(r["team"])}</small>\n      ')
    if r["missed"]:
        who.append(f'<br><span class="pill missed">{t["missed"]}</span>')
    who.append("\n      ")
    if r["tel"] or r["caregiver"]:
        who.append('<span class="calls">')
        if r["tel"]:
            who.append(f'<a class="call" href="{esc(r["tel"])}">{t["patient"]} {phone(r["phone"])}</a>')
        who.append("\n        ")
        caregiver = r["caregiver"]
        if caregiver:
            relationship = f' ({esc(caregiver["relationship"])})' if caregiver["relationship"] else ""
            who.append(f'<a class="call" href="{esc(caregiver["tel"])}">{esc(caregiver["name"])}{relationship} '
                       f'{phone(caregiver["phone"])}</a>')
        who.append("</span>")
    alerts = ("<ul class=\"row-alerts\">" + "".join(_alert(a, t, csrf_input, hidden_next) for a in r["alerts"])
              + "</ul>") if r["alerts"] else "—"
    therapy = str(esc(r["therapy"]))
    if r["day"]:
        day = esc(gettext("day %(day)s") % {"day": r["day"]})
        therapy = f"{therapy}<br><small>{day}</small>"
        if r["peak"]:
            therapy += f' <span class="pill peak" title="{t["peak_title"]}">{t["peak"]}</span>'
    last = esc(r["last_checkin"]) + (f'<br><small>{esc(r["last_checkin_at"])}</small>' if r["last_checkin_at"] else "")
    if r["temperature"]:
        fever = ' title="' + t["fever"] + '"' if r["fever"] else ""
        readings = f'<span class="{"fever" if r["fever"] else ""}"{fever}>{esc(r["temperature"])}</span>'
    else:
        readings = "—"
    readings += f' · {esc(r["heart_rate"])}'
    if r["device_temperature"]:
        stale = " stale" if r["device_silent"] else ""
        readings += (f'\n      <br><small class="device-reading{stale}" title="{t["device_title"]} '
                     f'{esc(r["device_measured"])}">{t["device"]} <span class="{"fever" if r["device_fever"] else ""}">'
                     f'{esc(r["device_temperature"])}</span> · {esc(r["device_age"])}</small>')
    if r["device_silent"]:
        readings += f'\n      <br><span class="pill device-silent" title="{t["silent_title"]}">{t["silent"]}</span>'
        if r["device_last"]:
            readings += f' <small>{esc(gettext("last reading %(age)s") % {"age": r["device_last"]})}</small>'
    return (f'<tr class="{esc(r["urgency_class"])}{" new" if r["new"] else ""}" data-patient="{esc(r["uuid"])}" '
            f'data-urgency="{esc(r["urgency"])}">\n'
            f'    <td class="who">{"".join(who)}</td>\n'
            f'    <td class="alerts" data-label="{t["open_alerts"]}">{alerts}</td>\n'
            f'    <td data-label="{t["therapy"]}">{therapy}</td>\n'
            f'    <td data-label="{t["last"]}">{last}</td>\n'
            f'    <td data-label="{t["temp_hr"]}">{readings}</td>\n'
            f'    <td data-label="{t["driving"]}">{esc(r["driving"])}</td>\n'
            f'  </tr>')


def _alert(a: dict, t: dict[str, str], csrf_input: str, hidden_next: str) -> str:
    uuid = esc(a["uuid"])
    new = f' <strong class="pill new">{t["new"]}</strong>' if a["new"] else ""
    taken = ""
    if a["acknowledged"]:
        who = (esc(gettext("acknowledged by %(name)s") % {"name": a["acknowledged_by"]}) if a["acknowledged_by"]
               else t["acknowledged"])
        taken = f" · {who}"
    acknowledge = (f'<form method="post" action="{esc(a["acknowledge_url"])}" class="inline">{csrf_input}\n'
                   f'          {hidden_next}<button type="submit" class="small primary">{t["acknowledge"]}</button>'
                   f'</form>') if a["acknowledge_url"] else ""
    return (f'\n      <li class="row-alert{" unseen" if a["new"] else ""}" data-alert="{uuid}">\n'
            f'        <span class="pill {esc(a["urgency_class"])}">{esc(a["urgency"])}</span>{new}\n'
            f'        <a href="{esc(a["url"])}">{esc(a["headline"])}</a>\n'
            f'        <br><small>{esc(gettext("opened %(time)s") % {"time": a["opened"]})}{taken}</small>\n'
            f'        <span class="actions">{acknowledge}\n'
            f'        <details class="resolve"><summary>{t["resolve_more"]}</summary>\n'
            f'          <form method="post" action="{esc(a["resolve_url"])}">{csrf_input}\n'
            f'            {hidden_next}\n'
            f'            <label for="note-{uuid}">{t["what_done"]}</label>\n'
            f'            <textarea id="note-{uuid}" name="note" rows="2" required></textarea>\n'
            f'            <button type="submit" class="small">{t["resolve"]}</button></form></details></span>\n'
            f'      </li>')
