from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tracker import audit  # noqa: F401 (records failed sign-ins: user_login_failed)
        from tracker.reading_storage import partitions_ensure_after_migrate

        # Every `migrate` (make run, the test database, a deploy) makes today's and the coming days' partitions of
        # the device readings, between the hourly runs of the beat task.
        post_migrate.connect(partitions_ensure_after_migrate, sender=self,
                             dispatch_uid="tracker.reading_partitions_after_migrate")
