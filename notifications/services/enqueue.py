"""Handing work to a worker, in one place. Every hand-off happens after commit (the worker must find the
rows) and may fail: the broker is down or hung. A failure is logged, never raised to the web request, and
nothing is lost, because the database says what is due and the beat scans find it (the outbox sweep
sends pending rows and notifies alerts nobody was told about; the reminder scan reschedules).

After one failure this process stops trying for BROKER_RETRY_SECONDS, so a hung broker costs one
socket timeout per process and interval, not one per request."""

import logging
import time
from collections.abc import Callable

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

BROKER_RETRY_SECONDS = 10.0
BROKER_ERRORS = (BrokerError, ConnectionError, OSError, TimeoutError)
_broker_down_until = 0.0


def broker_marked_down() -> bool:
    return time.monotonic() < _broker_down_until


def publish(task_name: str, *args, what: str, queue: str | None = None) -> bool:
    """Send the task registered as `task_name` (notifications/tasks.py, registered in every process by
    NotificationsConfig.ready) now, to `queue` (default: the default queue, see CELERY_TASK_QUEUES). Services
    name the task and never import the task module: the tasks import the services. True if the broker took
    it; False (logged) if it is down or was recently."""
    global _broker_down_until
    if broker_marked_down():
        logger.warning("Broker unavailable (recent failure); %s waits for the scans", what)
        return False
    try:
        task = current_app.tasks[task_name]
        if queue:
            task.apply_async(args, queue=queue)
        else:
            task.delay(*args)
    except BROKER_ERRORS as exc:
        _broker_down_until = time.monotonic() + BROKER_RETRY_SECONDS
        logger.warning("Broker unavailable; %s waits for the scans: %r", what, exc)
        return False
    return True


def publish_on_commit(task_name: str, *args, what: str, if_broker_down: Callable[[], None] | None = None) -> None:
    """`publish` once the current transaction commits; `if_broker_down` runs instead when it cannot."""

    def _send() -> None:
        if not publish(task_name, *args, what=what) and if_broker_down is not None:
            if_broker_down()

    transaction.on_commit(_send, robust=True)


def reset_for_tests() -> None:
    global _broker_down_until
    _broker_down_until = 0.0
