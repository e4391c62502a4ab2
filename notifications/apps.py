from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notifications import receivers, tasks  # noqa: F401 (tasks: registered by name in every process)
        from notifications.export import notifications_export
        from tracker.export import register_export_section

        register_export_section("notifications", notifications_export)
