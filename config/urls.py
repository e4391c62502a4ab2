from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tracker import accounts, device_views, dose_views, enrolment_views, offline, passwords, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", accounts.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", accounts.two_factor, name="two-factor"),
    # Setting a password: from an invitation (enrolment), and "Forgot your password?" (tracker/passwords.py).
    path("accounts/invitation/<str:token>/", passwords.invitation_accept_view, name="invitation-accept"),
    path("accounts/password/forgot/", passwords.ForgotPasswordView.as_view(), name="password_reset"),
    path("accounts/password/forgot/sent/", passwords.ForgotPasswordSentView.as_view(), name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", passwords.ResetPasswordView.as_view(),
         name="password_reset_confirm"),
    path("accounts/password/reset/done/", passwords.ResetPasswordDoneView.as_view(), name="password_reset_complete"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The installable patient app: the service worker at the root (its scope is the whole site), the manifest,
    # and the page with the emergency signs that the worker shows without a connection.
    path("sw.js", offline.service_worker, name="service-worker"),
    path("manifest.webmanifest", offline.web_manifest, name="web-manifest"),
    path("patients/<uuid:patient_id>/offline/", offline.checkin_offline, name="checkin-offline"),
    path("staff/patients/", views.staff_patients, name="staff-patients"),
    # Enrolment without the admin (coordinators and administrators: tracker/enrolment_views.py).
    path("staff/enrol/", enrolment_views.enrol_patient, name="enrol-patient"),
    path("staff/enrolments/", enrolment_views.enrolments, name="enrolments"),
    path("staff/enrolments/<uuid:patient_id>/invite/", enrolment_views.invitation_resend_view, name="invitation-resend"),
    # The doses of a course (clinical-rules §8): record one, correct one (tracker/dose_views.py); listed on the
    # staff patient page.
    path("staff/courses/<uuid:course_id>/doses/", dose_views.course_doses_page, name="course-doses"),
    path("staff/courses/<uuid:course_id>/doses/<uuid:dose_id>/correct/", dose_views.dose_correction_page,
         name="dose-correction"),
    # A patient's connected devices (clinical-rules §10): register, assign, end, keys (tracker/device_views.py);
    # listed on the staff patient page.
    path("staff/patients/<uuid:patient_id>/devices/", device_views.patient_devices_page, name="patient-devices"),
    path("staff/patients/<uuid:patient_id>/devices/assign/", device_views.device_assign_view, name="device-assign"),
    path("staff/patients/<uuid:patient_id>/devices/<uuid:device_id>/end/", device_views.device_unassign_view,
         name="device-unassign"),
    path("staff/patients/<uuid:patient_id>/devices/<uuid:device_id>/keys/", device_views.device_key_issue_view,
         name="device-key-issue"),
    path("staff/patients/<uuid:patient_id>/devices/<uuid:device_id>/keys/<str:prefix>/revoke/",
         device_views.device_key_revoke_view, name="device-key-revoke"),
    path("", include("monitoring.urls")),  # the patient's home, check-in and result pages; staff pages
    path("", include("notifications.urls")),  # /health/, /health/ready/
    path("api/v1/", include("tracker.api.urls")),
    path("api/v1/", include("monitoring.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so the Content Security Policy holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "tracker.views.not_found"
handler500 = "tracker.views.server_error"
