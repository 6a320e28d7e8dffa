from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from calls.models import Call, Campaign
from wordcab_admin.roles import Capability, require


@require(Capability.VIEW)
def call_list(request: HttpRequest) -> HttpResponse:
    return render(request, "calls/list.html", {"calls": Call.objects.select_related("agent")[:100]})


@require(Capability.VIEW)
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "calls/campaigns.html", {"campaigns": Campaign.objects.select_related("agent")[:100]}
    )
