"""Agent and number pages. Reads for every role; every POST needs OPERATE and goes through agents.services."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from agents import bulk, selectors, services
from agents.forms import AgentCreateForm, AgentForm, BulkAssignForm, NumberAddForm, NumberEditForm
from agents.links import agent_link, number_link, number_readable
from agents.models import Agent, PhoneNumber, Provider
from agents.phone import InvalidPhoneNumber, normalize_e164
from wordcab_admin.kernel.confirm import confirm_page, confirmed
from wordcab_admin.kernel.errors import DomainError, NotFound, NumberInUse
from wordcab_admin.kernel.public_url import public_url
from wordcab_admin.kernel.roles import Capability, require
from wordcab_admin.kernel.telephony_providers import number_provider_choices

FIELD_ALIASES = {"id": "agent_id", "agent_id": "agent", "phone_numbers": "number", "numbers": "numbers"}


def _form_error(form: forms.Form, exc: DomainError, message: str | None = None) -> None:
    name = FIELD_ALIASES.get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, message or exc.message)


def _existing_number_help(exc: DomainError) -> SafeString | None:
    """A number already in the inventory: where it is, and who holds it, linked (the fix is there)."""
    if exc.code != "number_exists":
        return None
    number = PhoneNumber.objects.select_related("agent").filter(number=exc.extra.get("number", "")).first()
    if number is None:
        return None
    holder = format_html(", assigned to {}", agent_link(number.agent)) if number.agent else ", unassigned"
    return format_html("{} is already in the inventory{}: open it to change it.", number_link(number), holder)


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
def agent_detail(
    request: HttpRequest,
    agent_id: str,
    edit_form: AgentForm | None = None,
    number_attempt: dict | None = None,
    status: int | None = None,
) -> HttpResponse:
    """The agent's page. `number_attempt` is a refused "Assign number": what was typed (kept in the form),
    why it was refused, and the agent holding the number (offered: move it here)."""
    agent = _agent_or_404(agent_id)
    context = {
        "agent": agent,
        "numbers": agent.phone_numbers.all(),
        "form": edit_form or AgentForm.for_agent(agent),
        "unassigned": PhoneNumber.objects.filter(agent__isnull=True).order_by("number")[:500],
        "providers": number_provider_choices(),
        "attempt": number_attempt or {},
    }
    return render(request, "agents/detail.html", context, status=status or (400 if edit_form else 200))


@require_POST
@require(Capability.OPERATE)
def agent_edit(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent = _agent_or_404(agent_id)
    form = AgentForm(request.POST)
    if form.is_valid():
        try:
            services.agent_update(agent=agent, actor=request.user, changes=form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
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
    """Give the agent a number: one from the unassigned list, or a new one typed in. A number another agent
    holds is refused, naming the holder and offering to move it here (`move=yes` with the holder it showed
    as `seen`: the person read who loses it)."""
    agent = _agent_or_404(agent_id)
    picked, typed = request.POST.get("number", "").strip(), request.POST.get("new_number", "").strip()
    raw = picked or typed
    provider = request.POST.get("provider") or Provider.SIMULATOR
    attempt = {"picked": picked, "typed": typed, "provider": provider}
    try:
        try:
            e164 = normalize_e164(raw)
        except InvalidPhoneNumber as exc:
            raise DomainError(str(exc), field="number") from None
        existing = PhoneNumber.objects.select_related("agent").filter(number=e164).first()
        if existing is None:
            number = services.number_add(actor=request.user, number=e164, provider=provider, agent=agent)
            done = format_html("{} added; it now reaches {}.", number_link(number), agent.name)
        else:
            done = _number_take(request, number=existing, agent=agent)
    except NumberInUse as exc:
        holder = Agent.objects.filter(public_id=exc.extra.get("agent_id") or "").first()
        attempt |= {"error": exc.message, "number": exc.extra.get("number", ""), "holder": holder}
        return agent_detail(request, agent_id, number_attempt=attempt, status=409)
    except DomainError as exc:
        attempt["error"] = exc.message
        return agent_detail(request, agent_id, number_attempt=attempt, status=400)
    messages.success(request, done)
    return redirect(reverse("agents:detail", kwargs={"agent_id": agent.public_id}) + "#numbers")


def _number_take(request: HttpRequest, *, number: PhoneNumber, agent: Agent) -> SafeString:
    """Give an existing number to `agent`: from no one, or (asked with `move=yes`) from the holder shown."""
    if number.agent_id == agent.pk:
        return format_html("{} already reaches {}.", number_link(number), agent.name)
    if request.POST.get("move") != "yes":
        services.number_assign(number=number, agent=agent, actor=request.user)
        return format_html("{} now reaches {}.", number_link(number), agent.name)
    seen = Agent.objects.filter(public_id=request.POST.get("seen", "")).first()
    services.number_assign(
        number=number, agent=agent, actor=request.user, move=True, seen_holder=seen.pk if seen else None
    )
    return _moved(number, seen, agent)


def _moved(number: PhoneNumber, from_agent: Agent | None, to_agent: Agent | None) -> SafeString:
    """What a number's move did, in words: "Moved +1 415-555-0122 from Billing to Sales."."""
    if from_agent == to_agent:
        return format_html("No change: {} stays with {}.", number_link(number), agent_link(to_agent))
    if from_agent is None:
        return format_html("Assigned {} to {}.", number_link(number), agent_link(to_agent))
    if to_agent is None:
        return format_html("Unassigned {} from {}.", number_link(number), agent_link(from_agent))
    return format_html(
        "Moved {} from {} to {}.", number_link(number), agent_link(from_agent), agent_link(to_agent)
    )


def _move_question(number: PhoneNumber, from_agent: Agent, to_agent: Agent | None) -> tuple[str, str]:
    """(question, consequence) before a number leaves the agent who holds it."""
    readable = number_readable(number.number)
    if to_agent is None:
        return (
            f"Unassign {readable} from {from_agent.name}?",
            f"{from_agent.name} loses it: calls to {readable} will hear a polite message and be hung up.",
        )
    return (
        f"Move {readable} from {from_agent.name} to {to_agent.name}?",
        f"{from_agent.name} loses it: calls to {readable} will reach {to_agent.name} instead.",
    )


@require_POST
@require(Capability.OPERATE)
def agent_number_remove(request: HttpRequest, agent_id: str, number_id: str) -> HttpResponse:
    agent = _agent_or_404(agent_id)
    number = _number_or_404(number_id)
    agent_url = reverse("agents:detail", kwargs={"agent_id": agent.public_id}) + "#numbers"
    if not confirmed(request):
        question, consequence = _move_question(number, agent, None)
        return confirm_page(
            request, title="Unassign a number", question=question, consequence=consequence,
            action=request.path, fields={}, confirm_label="Unassign it", cancel_url=agent_url,
        )  # fmt: skip
    try:
        services.number_assign(number=number, agent=None, actor=request.user, seen_holder=agent.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _moved(number, agent, None))
    return redirect(agent_url)


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
                trunk_provider=data["trunk_provider"],
            )
        except DomainError as exc:
            _form_error(form, exc, _existing_number_help(exc))
        else:
            to = format_html(" and assigned to {}", agent_link(number.agent)) if number.agent_id else ""
            messages.success(request, format_html("{} added{}.", number_readable(number.number), to))
            return redirect("numbers:detail", number_id=number.public_id)
    return _numbers_page(request, add_form=form, status=400)


@require_POST
@require(Capability.OPERATE)
def number_assign(request: HttpRequest, number_id: str) -> HttpResponse:
    """The picker: choose an agent (or none) for a number; refused if it changed since the page was drawn.
    Taking a number from the agent who holds it asks first (`confirmed=yes`; static/js/app.js asks in a
    dialog, else this answers the question: a confirmation row, or a page without JavaScript)."""
    number = _number_or_404(number_id)
    chosen, seen = request.POST.get("agent", ""), request.POST.get("seen", "")
    agent = Agent.objects.filter(public_id=chosen).first() if chosen else None
    seen_agent = Agent.objects.filter(public_id=seen).first() if seen else None
    error, done = "", None
    if chosen and agent is None:
        error = f"No agent {chosen}."
    elif seen and seen_agent is None:
        error = "The agent shown for this number no longer exists. Reload the page."
    elif seen_agent is not None and agent != seen_agent and not confirmed(request):
        return _number_move_confirm(request, number=number, from_agent=seen_agent, to_agent=agent)
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
        else:
            done = _moved(number, seen_agent, agent)
    number = selectors.number_get(number.public_id)
    if _is_htmx(request):
        context = {"n": number, "agents": list(_picker_agents()), "done": done, "error": error}
        return render(request, "agents/_number_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(_next_url(request))


def _next_url(request: HttpRequest) -> str:
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("numbers:list")
    return next_url


def _number_move_confirm(
    request: HttpRequest, *, number: PhoneNumber, from_agent: Agent, to_agent: Agent | None
) -> HttpResponse:
    """Ask before the number leaves `from_agent`: in its row (htmx), or on a page of its own."""
    question, consequence = _move_question(number, from_agent, to_agent)
    fields = {"agent": to_agent.public_id if to_agent else "", "seen": from_agent.public_id}
    if _is_htmx(request):
        context = {
            "n": number,
            "agents": list(_picker_agents()),
            "ask": {"question": question, "consequence": consequence, "fields": fields},
        }
        return render(request, "agents/_number_row.html", context)
    return confirm_page(
        request,
        title="Move a number" if to_agent else "Unassign a number",
        question=question,
        consequence=consequence,
        action=request.path,
        fields={**fields, "next": _next_url(request)},
        confirm_label=f"Move it to {to_agent.name}" if to_agent else "Unassign it",
        cancel_url=_next_url(request),
    )


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
                "trunk_provider": number.trunk_provider,
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
    readable = number_readable(number.number)
    if not confirmed(request):
        holder = f"{number.agent.name} loses it, and calls" if number.agent else "Calls"
        return confirm_page(
            request, title="Release a number", question=f"Release {readable}?",
            consequence=f"It leaves the inventory. {holder} to it will no longer reach any agent here.",
            action=request.path, fields={}, confirm_label="Release it",
            cancel_url=reverse("numbers:detail", kwargs={"number_id": number.public_id}),
        )  # fmt: skip
    services.number_release(number=number, actor=request.user)
    if number.agent:
        messages.success(request, format_html("{} released; {} lost it.", readable, agent_link(number.agent)))
    else:
        messages.success(request, f"{readable} released.")
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
            chosen = form.cleaned_data["agent"]
            agent = Agent.objects.get(public_id=chosen) if chosen else None
            plan = services.numbers_bulk_plan(
                agent=agent, entries=entries, provider=form.cleaned_data["provider"]
            )
    if _is_htmx(request):
        return render(
            request, "agents/_bulk_preview.html", {"plan": plan, "bulk_form": form, "agents": agents}
        )
    return _numbers_page(request, bulk_form=form, plan=plan, status=200 if plan else 400)


def _confirmed_rows(text: str) -> tuple[list[str], dict[str, str]]:
    """The preview's confirmation: a line per number, `number` or `number<TAB>name`."""
    numbers, names = [], {}
    for line in text.splitlines():
        number, _, name = line.partition("\t")
        if number.strip():
            numbers.append(number.strip())
            if name.strip():
                names[number.strip()] = name
    return numbers, names


@require_POST
@require(Capability.OPERATE)
def number_bulk_confirm(request: HttpRequest) -> HttpResponse:
    """Step 2: save what the preview listed (state re-checked now; anything taken meanwhile is skipped).
    With no agent chosen, the numbers are added to the inventory, unassigned."""
    chosen = request.POST.get("agent", "")
    agent = Agent.objects.filter(public_id=chosen).first() if chosen else None
    if chosen and agent is None:
        messages.error(request, f"No agent {chosen}: choose another one.")
        return redirect("numbers:list")
    numbers, names = _confirmed_rows(request.POST.get("numbers", ""))
    try:
        result = services.numbers_bulk_assign(
            agent=agent,
            actor=request.user,
            numbers=numbers,
            names=names,
            provider=request.POST.get("provider") or Provider.SIMULATOR,
            move_held=request.POST.get("move_held") == "on",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("numbers:list")
    messages.success(request, _bulk_done(agent, result))
    for number, holder in result.skipped:
        messages.warning(
            request, format_html("{} skipped: held by {}.", number_readable(number), agent_link(holder))
        )
    return redirect("numbers:list")  # the whole list, as it was: the message says what changed


def _bulk_done(agent: Agent | None, result: services.BulkResult) -> SafeString:
    def count(items: list, what: str) -> str:
        return f"{len(items)} number{'' if len(items) == 1 else 's'} {what}"

    if agent is None:
        done = format_html("{} to the inventory, unassigned", count(result.added, "added"))
    else:
        done = format_html("{} to {}", count(result.assigned, "assigned"), agent_link(agent))
        if result.added:
            done = format_html("{} ({} new to the inventory)", done, len(result.added))
    if result.renamed:
        done = format_html("{}; {}", done, count(result.renamed, "renamed"))
    return format_html("{}.", done)
