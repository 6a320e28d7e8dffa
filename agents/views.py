"""Agent and number pages. Reads for every role; every POST needs OPERATE and goes through agents.services."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agents import bulk, selectors, services
from agents.forms import AgentCreateForm, AgentForm, BulkAssignForm, NumberAddForm, NumberEditForm
from agents.models import Agent, PhoneNumber, Provider
from agents.phone import InvalidPhoneNumber, normalize_e164
from wordcab_admin.kernel.errors import DomainError, NotFound
from wordcab_admin.kernel.public_url import public_url
from wordcab_admin.kernel.roles import Capability, require

FIELD_ALIASES = {"id": "agent_id", "agent_id": "agent", "phone_numbers": "number", "numbers": "numbers"}


def _form_error(form: forms.Form, exc: DomainError) -> None:
    name = FIELD_ALIASES.get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, exc.message)


def _agent_or_404(agent_id: str) -> Agent:
    try:
        return selectors.agent_get(agent_id)
    except NotFound:
        raise Http404(f"No agent {agent_id}") from None


def _number_or_404(number_id: str) -> PhoneNumber:
    try:
        return selectors.number_get(number_id)
    except NotFound:
        raise Http404(f"No number {number_id}") from None


def _picker_agents():
    return Agent.objects.order_by("name", "id").only("pk", "public_id", "name", "is_active")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# Agents ------------------------------------------------------------------------------------------------------


@require(Capability.VIEW)
def agent_list(request: HttpRequest, create_form: AgentCreateForm | None = None) -> HttpResponse:
    query = request.GET.get("q", "")
    page = Paginator(selectors.agent_search(query=query), 100).get_page(request.GET.get("page"))
    context = {
        "agents": page.object_list,
        "page": page,
        "query": query,
        "form": create_form or AgentCreateForm(),
    }
    if _is_htmx(request) and request.method == "GET":
        return render(request, "agents/_agent_rows.html", context)
    return render(request, "agents/list.html", context, status=400 if create_form else 200)


@require_POST
@require(Capability.OPERATE)
def agent_create(request: HttpRequest) -> HttpResponse:
    form = AgentCreateForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            agent = services.agent_create(actor=request.user, agent_id=data.pop("agent_id") or None, **data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Agent {agent.name} created.")
            return redirect("agents:detail", agent_id=agent.public_id)
    return agent_list(request, create_form=form)


@require(Capability.VIEW)
def agent_detail(request: HttpRequest, agent_id: str, edit_form: AgentForm | None = None) -> HttpResponse:
    agent = _agent_or_404(agent_id)
    context = {
        "agent": agent,
        "numbers": agent.phone_numbers.all(),
        "form": edit_form or AgentForm.for_agent(agent),
        "unassigned": PhoneNumber.objects.filter(agent__isnull=True).order_by("number")[:500],
        "providers": Provider.choices,
    }
    return render(request, "agents/detail.html", context, status=400 if edit_form else 200)


@require_POST
@require(Capability.OPERATE)
def agent_edit(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent = _agent_or_404(agent_id)
    form = AgentForm(request.POST)
    if form.is_valid():
        services.agent_update(agent=agent, actor=request.user, changes=form.cleaned_data)
        messages.success(request, "Saved.")
        return redirect("agents:detail", agent_id=agent.public_id)
    return agent_detail(request, agent_id, edit_form=form)


@require_POST
@require(Capability.OPERATE)
def agent_disable(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent = services.agent_disable(agent=_agent_or_404(agent_id), actor=request.user)
    messages.success(
        request, f"{agent.name} is disabled: it places no calls and its numbers answer with a polite hang-up."
    )
    return redirect("agents:detail", agent_id=agent.public_id)


@require_POST
@require(Capability.OPERATE)
def agent_enable(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent = services.agent_enable(agent=_agent_or_404(agent_id), actor=request.user)
    messages.success(request, f"{agent.name} is active again.")
    return redirect("agents:detail", agent_id=agent.public_id)


@require_POST
@require(Capability.OPERATE)
def agent_number_add(request: HttpRequest, agent_id: str) -> HttpResponse:
    """Give the agent a number: one from the unassigned list, or a new one typed in."""
    agent = _agent_or_404(agent_id)
    raw = (request.POST.get("number") or request.POST.get("new_number") or "").strip()
    provider = request.POST.get("provider") or Provider.SIMULATOR
    try:
        try:
            e164 = normalize_e164(raw)
        except InvalidPhoneNumber as exc:
            raise DomainError(str(exc), field="number") from None
        existing = PhoneNumber.objects.filter(number=e164).first()
        if existing is None:
            services.number_add(actor=request.user, number=e164, provider=provider, agent=agent)
        else:
            services.number_assign(number=existing, agent=agent, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{e164} now reaches {agent.name}.")
    return redirect(reverse("agents:detail", kwargs={"agent_id": agent.public_id}) + "#numbers")


@require_POST
@require(Capability.OPERATE)
def agent_number_remove(request: HttpRequest, agent_id: str, number_id: str) -> HttpResponse:
    agent = _agent_or_404(agent_id)
    number = _number_or_404(number_id)
    try:
        services.number_assign(number=number, agent=None, actor=request.user, seen_holder=agent.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{number.number} unassigned from {agent.name}.")
    return redirect(reverse("agents:detail", kwargs={"agent_id": agent.public_id}) + "#numbers")


# Numbers -----------------------------------------------------------------------------------------------------


def _numbers_page(
    request: HttpRequest, *, add_form=None, bulk_form=None, plan=None, status=200
) -> HttpResponse:
    query = request.GET.get("q", "")
    assigned = {"yes": True, "no": False}.get(request.GET.get("assigned", ""))
    numbers = selectors.number_search(query=query, assigned=assigned)
    page = Paginator(numbers, 100).get_page(request.GET.get("page"))
    agents = list(_picker_agents())
    context = {
        "page": page,
        "numbers": page.object_list,
        "query": query,
        "assigned": request.GET.get("assigned", ""),
        "agents": agents,
        "add_form": add_form or NumberAddForm(agents=agents),
        "bulk_form": bulk_form or BulkAssignForm(agents=agents),
        "plan": plan,
    }
    if _is_htmx(request) and request.method == "GET":
        return render(request, "agents/_number_table.html", context)
    return render(request, "agents/numbers.html", context, status=status)


@require(Capability.VIEW)
def number_list(request: HttpRequest) -> HttpResponse:
    return _numbers_page(request)


@require_POST
@require(Capability.OPERATE)
def number_add(request: HttpRequest) -> HttpResponse:
    form = NumberAddForm(request.POST, agents=_picker_agents())
    if form.is_valid():
        data = form.cleaned_data
        try:
            number = services.number_add(
                actor=request.user,
                number=data["number"],
                provider=data["provider"],
                agent=Agent.objects.filter(public_id=data["agent"]).first() if data["agent"] else None,
                friendly_name=data["friendly_name"],
                sip_uri=data["sip_uri"],
                sip_trunk=data["sip_trunk"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{number.number} added.")
            return redirect("numbers:detail", number_id=number.public_id)
    return _numbers_page(request, add_form=form, status=400)


@require_POST
@require(Capability.OPERATE)
def number_assign(request: HttpRequest, number_id: str) -> HttpResponse:
    """The picker: choose an agent (or none) for a number; refused if it changed since the page was drawn."""
    number = _number_or_404(number_id)
    chosen = request.POST.get("agent", "")
    seen = request.POST.get("seen", "")
    error = ""
    agent = Agent.objects.filter(public_id=chosen).first() if chosen else None
    seen_agent = Agent.objects.filter(public_id=seen).first() if seen else None
    if chosen and agent is None:
        error = f"No agent {chosen}."
    elif seen and seen_agent is None:
        error = "The agent shown for this number no longer exists. Reload the page."
    else:
        try:
            services.number_assign(
                number=number,
                agent=agent,
                actor=request.user,
                move=True,
                seen_holder=seen_agent.pk if seen_agent else None,
            )
        except DomainError as exc:
            error = exc.message
    number = selectors.number_get(number.public_id)
    if _is_htmx(request):
        context = {"n": number, "agents": list(_picker_agents()), "saved": not error, "error": error}
        return render(request, "agents/_number_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{number.number}: {number.agent.name if number.agent else 'unassigned'}.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("numbers:list")
    return redirect(next_url)


@require(Capability.VIEW)
def number_detail(
    request: HttpRequest, number_id: str, edit_form: NumberEditForm | None = None
) -> HttpResponse:
    number = _number_or_404(number_id)
    domain = settings.SIP_GATEWAY_DOMAIN
    context = {
        "n": number,
        "agents": list(_picker_agents()),
        "form": edit_form
        or NumberEditForm(
            initial={
                "friendly_name": number.friendly_name,
                "sip_uri": number.sip_uri,
                "sip_trunk": number.sip_trunk,
            }
        ),
        "sip": {
            "domain": domain,
            "uri": f"sip:{number.number}@{domain}",
            "agent_uri": f"sip:{number.agent.public_id}@{domain}" if number.agent else "",
            "voice_url": public_url(reverse("twilio-voice")),
        },
    }
    return render(request, "agents/number_detail.html", context, status=400 if edit_form else 200)


@require_POST
@require(Capability.OPERATE)
def number_edit(request: HttpRequest, number_id: str) -> HttpResponse:
    number = _number_or_404(number_id)
    form = NumberEditForm(request.POST)
    if form.is_valid():
        try:
            services.number_update(number=number, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("numbers:detail", number_id=number.public_id)
    return number_detail(request, number_id, edit_form=form)


@require_POST
@require(Capability.OPERATE)
def number_release(request: HttpRequest, number_id: str) -> HttpResponse:
    number = _number_or_404(number_id)
    services.number_release(number=number, actor=request.user)
    messages.success(request, f"{number.number} released.")
    return redirect("numbers:list")


@require_POST
@require(Capability.OPERATE)
def number_bulk_preview(request: HttpRequest) -> HttpResponse:
    """Step 1 of bulk assignment: show what would happen, row by row. Saves nothing."""
    agents = list(_picker_agents())
    form = BulkAssignForm(request.POST, request.FILES, agents=agents)
    plan = None
    if form.is_valid():
        try:
            upload = form.cleaned_data.get("file")
            entries = (  # the file is capped by its size, then read as a stream up to MAX_ROWS rows
                bulk.entries_from_upload(upload, max_bytes=settings.BULK_CSV_MAX_BYTES)
                if upload
                else bulk.entries_from_text(form.cleaned_data["numbers"])
            )
        except bulk.UnreadableFile as exc:
            form.add_error("file" if form.cleaned_data.get("file") else "numbers", str(exc))
        else:
            agent = Agent.objects.get(public_id=form.cleaned_data["agent"])
            plan = services.numbers_bulk_plan(
                agent=agent, entries=entries, provider=form.cleaned_data["provider"]
            )
    if _is_htmx(request):
        return render(
            request, "agents/_bulk_preview.html", {"plan": plan, "bulk_form": form, "agents": agents}
        )
    return _numbers_page(request, bulk_form=form, plan=plan, status=200 if plan else 400)


@require_POST
@require(Capability.OPERATE)
def number_bulk_confirm(request: HttpRequest) -> HttpResponse:
    """Step 2: assign the numbers the preview listed (state re-checked now; anything taken meanwhile is skipped)."""
    agent = Agent.objects.filter(public_id=request.POST.get("agent", "")).first()
    if agent is None:
        messages.error(request, "Choose an agent.")
        return redirect("numbers:list")
    numbers = [line.strip() for line in request.POST.get("numbers", "").splitlines() if line.strip()]
    try:
        result = services.numbers_bulk_assign(
            agent=agent,
            actor=request.user,
            numbers=numbers,
            provider=request.POST.get("provider") or Provider.SIMULATOR,
            move_held=request.POST.get("move_held") == "on",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("numbers:list")
    messages.success(request, f"{len(result.assigned)} number(s) assigned to {agent.name}.")
    for number, why in result.skipped:
        messages.warning(request, f"{number} skipped: {why}.")
    return redirect(reverse("numbers:list") + f"?q={agent.public_id}")
