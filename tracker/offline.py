"""The patient pages as an installable web app that works without a connection.

- `/sw.js`: the service worker (static/js/sw.js), served from the site root so its scope covers the patient
  pages, with its configuration in front: the static files to cache at install (their current, hashed
  URLs) and a version that changes whenever they or the worker change.
- `/manifest.webmanifest`: name, icons, start page, standalone display.
- `/patients/<id>/offline/`: what the worker shows when there is no connection: the emergency signs of this
  patient's therapy with 911 and the center's 24/7 number (tap to call); `?saved=1` when a check-in has
  just been stored on the phone to be sent later. It needs the server to render, so the worker caches it
  while the patient is online.
"""

import hashlib
import json
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tracker import selectors
from tracker.emergency_signs import call_now_signs, emergency_signs
from tracker.http import SignedInRequest

SW_SOURCE = "js/sw.js"
PRECACHE = ("css/site.css", "js/offline.js", "vendor/htmx.min.js", "img/icon-192.png")


def _read_static(name: str) -> str:
    path = finders.find(name)
    if path:
        return Path(path).read_text(encoding="utf-8")
    with staticfiles_storage.open(name) as handle:
        return handle.read().decode("utf-8")


def _static_urls(names) -> list[str]:
    urls = []
    for name in names:
        try:
            urls.append(static(name))
        except ValueError:  # not collected (e.g. the vendor files of a checkout without `make install`)
            continue
    return urls


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    source = _read_static(SW_SOURCE)
    config = {
        "precache": _static_urls(PRECACHE),
        "staticUrl": static(""),
        "loginPath": reverse("login"),
        "logoutPath": reverse("logout"),
    }
    config["version"] = hashlib.sha256((source + json.dumps(config, sort_keys=True)).encode()).hexdigest()[:12]
    response = HttpResponse(f"self.SW_CONFIG = {json.dumps(config)};\n{source}",
                            content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # browsers check for a new worker on every visit
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def web_manifest(request: HttpRequest) -> HttpResponse:
    icons = [
        {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
    ]
    manifest = {
        "name": _("CAR T Tracker"),
        "short_name": "CAR T",
        "description": _("Check in from your phone after CAR T or immunotherapy."),
        "lang": get_language(),
        "start_url": reverse("home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b2e4f",
        "icons": icons,
    }
    return JsonResponse(manifest, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def checkin_offline(request: SignedInRequest, patient_id) -> HttpResponse:
    from tracker.views import activate_patient_language, visible_patient

    patient = visible_patient(request, patient_id)
    activate_patient_language(request, patient)
    question_groups = selectors.patient_question_groups(patient)
    return render(request, "tracker/checkin_offline.html", {
        "patient": patient,
        "saved": request.GET.get("saved") == "1",
        "emergency_signs": emergency_signs(question_groups),
        "call_now_signs": call_now_signs(question_groups),
    })
