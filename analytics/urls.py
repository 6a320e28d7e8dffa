from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("analytics/", views.analytics_page, name="index"),
    path("analytics/export.csv", views.analytics_export, name="export"),
]
