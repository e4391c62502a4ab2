from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tracker import accounts, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", accounts.two_factor, name="two-factor"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("patients/<uuid:patient_id>/", views.patient_home, name="patient-home"),
    path("patients/<uuid:patient_id>/checkin/", views.checkin_new, name="checkin-new"),
    path("patients/<uuid:patient_id>/checkins/<uuid:checkin_id>/", views.checkin_detail, name="checkin-detail"),
    path("staff/patients/", views.staff_patients, name="staff-patients"),
    path("", include("monitoring.urls")),
    path("api/v1/", include("tracker.api.urls")),
    path("api/v1/", include("monitoring.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so the Content Security Policy holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "tracker.views.not_found"
handler500 = "tracker.views.server_error"
