"""Health over HTTP, for the orchestrator and the monitoring system. No sign-in and no patient data: the
answer is the status and the names of the checks (with `Authorization: Bearer <HEALTH_TOKEN>`, also their
messages and counts). Liveness, which touches nothing, is `/api/v1/ping/`."""

import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from notifications.services.health import queue_health


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Everything queue health checks: 200 {"status": "ok", ...} or 503 {"status": "unhealthy",
    "problems": [...]}. For alerting a person; restarting the web process fixes none of it."""
    return _answer(request, queue_health())


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: this web process reaches its database (a broker outage is not a reason to stop serving:
    check-ins are kept and the outbox sweep delivers later)."""
    return _answer(request, queue_health(only=["database"]))


def _answer(request: HttpRequest, report: dict) -> JsonResponse:
    if not _detailed(request):
        report = {"status": report["status"], "problems": report["problems"],
                  "checks": {name: {"ok": check["ok"]} for name, check in report["checks"].items()}}
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def _detailed(request: HttpRequest) -> bool:
    token = settings.HEALTH_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

