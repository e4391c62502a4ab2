"""The Celery application. Settings come from Django settings with the CELERY_ prefix.

A worker keeps its database connection across tasks (CELERY_DB_REUSE_MAX). Before each task that
connection is checked, and after a task that hit a database error it is dropped if it no longer works, so
a PostgreSQL restart, failover or `pg_terminate_backend` costs one reconnect instead of every later task
failing on a dead connection while the process looks alive."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("car_t_tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(dispatch_uid="config.celery.check_connections")
def check_connections(**kwargs) -> None:
    """Replace a kept connection that died while the worker was idle (one `SELECT 1` per task)."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:  # an eager task inside a transaction (tests): not a kept connection
            continue
        if conn.connection is not None and not conn.is_usable():  # CONN_HEALTH_CHECKS, once per task
            conn.close()


@task_postrun.connect(dispatch_uid="config.celery.drop_broken_connections")
def drop_broken_connections(**kwargs) -> None:
    """After a task that hit a database error, drop the connection unless it still works."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue
        if conn.errors_occurred and not conn.is_usable():
            conn.close()
