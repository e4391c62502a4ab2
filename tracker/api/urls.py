from django.urls import path

from tracker.api import views

urlpatterns = [
    path("ping/", views.PingView.as_view(), name="api-ping"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("checkins/", views.CheckInListCreateView.as_view(), name="api-checkins"),
    path("checkins/<uuid:id>/", views.CheckInDetailView.as_view(), name="api-checkin-detail"),
    path("checkins/<uuid:id>/amend/", views.CheckInAmendView.as_view(), name="api-checkin-amend"),
    path("patients/", views.PatientListView.as_view(), name="api-patients"),
    path("patients/<uuid:id>/", views.PatientDetailView.as_view(), name="api-patient-detail"),
    path("patients/<uuid:id>/export/", views.PatientExportView.as_view(), name="api-patient-export"),
    path("therapies/", views.TherapyListView.as_view(), name="api-therapies"),
]
