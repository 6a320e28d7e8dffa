from django.urls import include, path

from agents import views

agent_patterns = ([path("", views.agent_list, name="list")], "agents")
number_patterns = ([path("", views.number_list, name="list")], "numbers")

urlpatterns = [
    path("agents/", include(agent_patterns)),
    path("numbers/", include(number_patterns)),
]
