from django.urls import path

from tracker.api import doses, views

# The check-in list, recording and correction: monitoring/api/urls.py.
urlpatterns = [
    path("ping/", views.PingView.as_view(), name="api-ping"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("checkins/<uuid:id>/", views.CheckInDetailView.as_view(), name="api-checkin-detail"),
    path("patients/", views.PatientListView.as_view(), name="api-patients"),
    path("patients/<uuid:id>/", views.PatientDetailView.as_view(), name="api-patient-detail"),
    path("patients/<uuid:id>/export/", views.PatientExportView.as_view(), name="api-patient-export"),
    path("therapies/", views.TherapyListView.as_view(), name="api-therapies"),
    path("courses/<uuid:id>/doses/", doses.CourseDosesView.as_view(), name="api-course-doses"),
    path("courses/<uuid:id>/doses/<uuid:dose_id>/corrections/", doses.DoseCorrectionView.as_view(),
         name="api-dose-corrections"),
]
