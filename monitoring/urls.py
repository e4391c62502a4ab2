from django.urls import path

from monitoring import checkin_views, views

urlpatterns = [
    path("patients/<uuid:patient_id>/", checkin_views.patient_home, name="patient-home"),
    path("patients/<uuid:patient_id>/checkin/", checkin_views.checkin_new, name="checkin-new"),
    path("patients/<uuid:patient_id>/checkins/<uuid:checkin_id>/", checkin_views.checkin_detail,
         name="checkin-detail"),
    path("staff/", views.dashboard, name="dashboard"),
    path("staff/alerts/", views.alert_inbox, name="alert-inbox"),
    path("staff/patients/<uuid:patient_id>/", views.staff_patient_detail, name="staff-patient-detail"),
    path("staff/courses/<uuid:course_id>/baseline-weight/", views.course_baseline_weight_page,
         name="course-baseline-weight"),
    path("staff/dose-windows/<uuid:dose_window_id>/clear/", views.dose_window_clear_page, name="dose-window-clear"),
    path("staff/alerts/<uuid:alert_id>/", views.alert_detail, name="alert-detail"),
    path("staff/alerts/<uuid:alert_id>/<str:action>/", views.alert_action, name="alert-action"),
]
