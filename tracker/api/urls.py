from django.urls import path

from tracker.api import devices, doses, views

# The check-in list, recording and correction: monitoring/api/urls.py.
urlpatterns = [
    path("ping/", views.PingView.as_view(), name="api-ping"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("checkins/<uuid:id>/", views.CheckInDetailView.as_view(), name="api-checkin-detail"),
    path("patients/", views.PatientListView.as_view(), name="api-patients"),
    path("patients/<uuid:id>/", views.PatientDetailView.as_view(), name="api-patient-detail"),
    path("patients/<uuid:id>/export/", views.PatientExportView.as_view(), name="api-patient-export"),
    # A patient's connected devices (clinical-rules §10): the actions of the staff page's Devices section.
    path("patients/<uuid:id>/devices/", devices.PatientDevicesView.as_view(), name="api-patient-devices"),
    path("patients/<uuid:id>/devices/<uuid:device_id>/assign/", devices.DeviceAssignView.as_view(),
         name="api-device-assign"),
    path("patients/<uuid:id>/devices/<uuid:device_id>/end/", devices.DeviceEndView.as_view(), name="api-device-end"),
    path("patients/<uuid:id>/devices/<uuid:device_id>/keys/", devices.DeviceKeyIssueView.as_view(),
         name="api-device-keys"),
    path("patients/<uuid:id>/devices/<uuid:device_id>/keys/<str:prefix>/revoke/",
         devices.DeviceKeyRevokeView.as_view(), name="api-device-key-revoke"),
    path("therapies/", views.TherapyListView.as_view(), name="api-therapies"),
    path("courses/<uuid:id>/doses/", doses.CourseDosesView.as_view(), name="api-course-doses"),
    path("courses/<uuid:id>/doses/<uuid:dose_id>/corrections/", doses.DoseCorrectionView.as_view(),
         name="api-dose-corrections"),
]
