from django.urls import include, path

from agents import views

agent_patterns = (
    [
        path("", views.agent_list, name="list"),
        path("create", views.agent_create, name="create"),
        path("<str:agent_id>/", views.agent_detail, name="detail"),
        path("<str:agent_id>/edit", views.agent_edit, name="edit"),
        path("<str:agent_id>/disable", views.agent_disable, name="disable"),
        path("<str:agent_id>/enable", views.agent_enable, name="enable"),
        path("<str:agent_id>/numbers/add", views.agent_number_add, name="number_add"),
        path(
            "<str:agent_id>/numbers/<str:number_id>/remove", views.agent_number_remove, name="number_remove"
        ),
    ],
    "agents",
)
number_patterns = (
    [
        path("", views.number_list, name="list"),
        path("add", views.number_add, name="add"),
        path("bulk/preview", views.number_bulk_preview, name="bulk_preview"),
        path("bulk/confirm", views.number_bulk_confirm, name="bulk_confirm"),
        path("<str:number_id>/", views.number_detail, name="detail"),
        path("<str:number_id>/assign", views.number_assign, name="assign"),
        path("<str:number_id>/edit", views.number_edit, name="edit"),
        path("<str:number_id>/release", views.number_release, name="release"),
    ],
    "numbers",
)

urlpatterns = [
    path("agents/", include(agent_patterns)),
    path("numbers/", include(number_patterns)),
]
