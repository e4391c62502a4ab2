from django.urls import path

from monitoring import views

urlpatterns = [
    path("staff/alerts/<uuid:alert_id>/", views.alert_detail, name="alert-detail"),
    path("staff/alerts/<uuid:alert_id>/<str:action>/", views.alert_action, name="alert-action"),
]
