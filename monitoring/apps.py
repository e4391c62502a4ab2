from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from monitoring import receivers  # noqa: F401
        from monitoring.audiences import monitoring_audiences
        from tracker.questions import register_audience_provider

        register_audience_provider(monitoring_audiences)

        from monitoring.export import monitoring_export
        from tracker.export import register_export_section

        register_export_section("monitoring", monitoring_export)
