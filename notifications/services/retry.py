"""Riding out a database restart inside a task: the failed connection is dropped and the step is tried
again a few times over some seconds. Only the database's connection errors are retried; the step must be
safe to repeat (claims and de-duplication keys make the outbox's steps so)."""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)
T = TypeVar("T")

CONNECTION_ERRORS = (OperationalError, InterfaceError)


def with_db_retry(step: Callable[[], T], *, what: str, pauses: tuple[float, ...] = (0.5, 1, 2, 4)) -> T:
    """Run step(); on a database connection error, drop the broken connections, wait and run it again.
    After the last pause the error is raised (the task fails visibly; the outbox sweep takes the work up)."""
    for pause in (*pauses, None):
        try:
            return step()
        except CONNECTION_ERRORS as exc:
            if pause is None or any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
                raise
            logger.warning("Database connection lost during %s (%s); trying again in %s s", what, exc, pause)
            for conn in connections.all(initialized_only=True):
                conn.close()
            time.sleep(pause)
    raise AssertionError("unreachable")
