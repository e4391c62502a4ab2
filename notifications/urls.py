from django.urls import path

from notifications import inbox_views, views

urlpatterns = [
    path("health/", views.health, name="health"),
    path("health/ready/", views.ready, name="health-ready"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/read/", inbox_views.inbox_read, name="inbox-read"),
    path("inbox/open/", inbox_views.inbox_open, name="inbox-open"),
]
