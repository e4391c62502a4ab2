from django.urls import path

from monitoring.api import checkins, readings, views

urlpatterns = [
    path("checkins/", checkins.CheckInListCreateView.as_view(), name="api-checkins"),
    path("checkins/<uuid:id>/amend/", checkins.CheckInAmendView.as_view(), name="api-checkin-amend"),
    # Device readings (clinical-rules §10): signed in with the device's key, not a person's.
    path("readings/", readings.ReadingBatchView.as_view(), name="api-readings"),
    path("alerts/", views.AlertListView.as_view(), name="api-alerts"),
    path("alerts/<uuid:id>/", views.AlertDetailView.as_view(), name="api-alert-detail"),
    path("alerts/<uuid:id>/acknowledge/", views.AlertAcknowledgeView.as_view(), name="api-alert-acknowledge"),
    path("alerts/<uuid:id>/resolve/", views.AlertResolveView.as_view(), name="api-alert-resolve"),
    path("alerts/<uuid:id>/calls/", views.AlertCallView.as_view(), name="api-alert-calls"),
    path("patients/<uuid:id>/windows/", views.PatientWindowsView.as_view(), name="api-patient-windows"),
    path("windows/<uuid:id>/clear/", views.WindowClearView.as_view(), name="api-window-clear"),
    path("dose-windows/<uuid:id>/clear/", views.DoseWindowClearView.as_view(), name="api-dose-window-clear"),
]
