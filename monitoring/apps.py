from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from monitoring import receivers  # noqa: F401
        from monitoring.question_groups import monitoring_question_groups
        from tracker.questions import register_question_group_provider

        register_question_group_provider(monitoring_question_groups)

        from monitoring.export import monitoring_export
        from tracker.export import register_export_section

        register_export_section("monitoring", monitoring_export)

        from monitoring.models import Alert, DoseWindow, Window
        from tracker.audit import register_url_patient

        def patient_of_alert(value):
            return Alert.objects.filter(uuid=value).values_list("patient_id", flat=True).first()

        def patient_of_window(value):
            return Window.objects.filter(uuid=value).values_list("course__patient_id", flat=True).first()

        def patient_of_dose_window(value):
            return DoseWindow.objects.filter(uuid=value).values_list("course__patient_id", flat=True).first()

        # The audit trail names the patient of an alert or window URL, also when the request was refused.
        for name, lookup in (("alert_id", patient_of_alert), ("alerts", patient_of_alert),
                             ("windows", patient_of_window), ("dose-windows", patient_of_dose_window),
                             ("dose_window_id", patient_of_dose_window)):
            register_url_patient(name, lookup)
