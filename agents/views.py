from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agents.models import Agent, PhoneNumber
from wordcab_admin.roles import Capability, require


@require(Capability.VIEW)
def agent_list(request: HttpRequest) -> HttpResponse:
    return render(request, "agents/list.html", {"agents": Agent.objects.all()[:200]})


@require(Capability.VIEW)
def number_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "agents/numbers.html", {"numbers": PhoneNumber.objects.select_related("agent")[:500]}
    )
