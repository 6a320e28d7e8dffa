"""Agents and their phone numbers: every write goes through here.

`_number_move` is the only code that changes which agent a number belongs to; it writes the audit event.
Assignment locks the number rows (sorted, so two requests never deadlock) and then updates each row only if
its holder is still the one we read, so two requests grabbing one number never both win."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import Agent, PhoneNumber, Provider
from agents.phone import InvalidPhoneNumber, jurisdiction_for, normalize_e164
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import Conflict, DomainError, NumberInUse, Unprocessable
from wordcab_admin.kernel.telephony_providers import number_provider_names, registered_providers

Actor = AbstractBaseUser | AnonymousUser | None

AGENT_ID_RE = re.compile(r"^agent_[A-Za-z0-9][A-Za-z0-9_-]{0,57}$")
AGENT_FIELDS = (
    "name", "description", "instructions", "language", "voice", "max_duration", "record", "default_provider",
)  # fmt: skip
SIP_URI_RE = re.compile(r"^sips?:[^\s@]+@[^\s@]+$")


class InvalidNumber(DomainError):
    status, code = 400, "invalid_phone_number"


def number_normalize(raw: str, *, field: str) -> str:
    """E.164 or a 400 naming the field and the value that was sent."""
    try:
        return normalize_e164(raw)
    except InvalidPhoneNumber as exc:
        raise InvalidNumber(str(exc), field=field, value=str(raw)) from None


# Which providers can do what ------------------------------------------------------------------------------

# Providers that place calls but can host no customer's SIP trunk: the simulator has no trunks, and a `sip`
# number's own provider is the PBX (it only receives calls).
NOT_TRUNK_HOSTS = frozenset({Provider.SIMULATOR, Provider.SIP})


def trunk_provider_names() -> list[str]:
    """The carriers that can host a SIP trunk and place its calls (twilio, telnyx, plivo: those registered
    that place calls from phone numbers)."""
    return [
        p.name
        for p in registered_providers()
        if p.outbound and p.owns_numbers and p.name not in NOT_TRUNK_HOSTS
    ]


def calling_provider_names() -> list[str]:
    """The providers an agent's calls may go through by default (any that places calls from numbers)."""
    return [p.name for p in registered_providers() if p.outbound and p.owns_numbers]


def default_provider_checked(name: str) -> str:
    """An agent's default provider: blank (automatic) or one that places calls; else a 422 saying which."""
    name = (name or "").strip()
    if name and name not in calling_provider_names():
        raise Unprocessable(
            f"{name!r} cannot be an agent's default provider: it does not place calls. Leave it blank "
            f"(automatic) or use one of {', '.join(calling_provider_names())}.",
            field="default_provider",
            code="invalid_default_provider",
            value=name,
        )
    return name


# Agents ---------------------------------------------------------------------------------------------------


def _agent_snapshot(agent: Agent) -> dict:
    return {name: getattr(agent, name) for name in AGENT_FIELDS} | {"active": agent.is_active}


def agent_create(
    *,
    actor: Actor,
    name: str,
    agent_id: str | None = None,
    description: str = "",
    instructions: str = "",
    language: str = "en-US",
    voice: str = "",
    max_duration: int = 600,
    record: bool = False,
    active: bool = True,
    default_provider: str = "",
    phone_numbers: Sequence[str] | None = None,
) -> Agent:
    if agent_id is not None and not AGENT_ID_RE.match(agent_id):
        raise DomainError(
            f"{agent_id!r} is not a valid agent id: use agent_ followed by letters, digits, _ or - "
            "(at most 64 characters).",
            field="id",
            code="invalid_id",
            value=agent_id,
        )
    fields = dict(
        name=name,
        description=description,
        instructions=instructions,
        language=language,
        voice=voice,
        max_duration=max_duration,
        record=record,
        is_active=active,
        default_provider=default_provider_checked(default_provider),
    )
    if agent_id is not None:
        fields["public_id"] = agent_id
    with transaction.atomic():
        try:
            with transaction.atomic():
                agent = Agent.objects.create(**fields)
        except IntegrityError:
            raise Conflict(
                f"An agent with id {agent_id} already exists.", field="id", code="agent_exists"
            ) from None
        audit_record(
            actor=actor, action="agent.created", object_type="agent", object_id=agent.public_id,
            after=_agent_snapshot(agent),
        )  # fmt: skip
        if phone_numbers:
            agent_set_phone_numbers(agent=agent, actor=actor, numbers=phone_numbers)
    return agent


def agent_update(*, agent: Agent, actor: Actor, changes: dict) -> Agent:
    """Apply the given fields (any of AGENT_FIELDS, `active`, `phone_numbers`) atomically."""
    if "default_provider" in changes:
        changes = {**changes, "default_provider": default_provider_checked(changes["default_provider"])}
    with transaction.atomic():
        agent = Agent.objects.select_for_update().get(pk=agent.pk)
        before = _agent_snapshot(agent)
        for name in AGENT_FIELDS:
            if name in changes:
                setattr(agent, name, changes[name])
        if "active" in changes:
            agent.is_active = bool(changes["active"])
        after = _agent_snapshot(agent)
        if after != before:
            agent.save()
            changed = [k for k in after if after[k] != before[k]]
            action = "agent.updated"
            if changed == ["active"]:
                action = "agent.enabled" if agent.is_active else "agent.disabled"
            audit_record(
                actor=actor, action=action, object_type="agent", object_id=agent.public_id,
                before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
            )  # fmt: skip
        if "phone_numbers" in changes:
            agent_set_phone_numbers(agent=agent, actor=actor, numbers=changes["phone_numbers"])
    return agent


def agent_disable(*, agent: Agent, actor: Actor) -> Agent:
    """A disabled agent places no calls and its numbers answer with a polite hang-up; it keeps its numbers."""
    return agent_update(agent=agent, actor=actor, changes={"active": False})


def agent_enable(*, agent: Agent, actor: Actor) -> Agent:
    return agent_update(agent=agent, actor=actor, changes={"active": True})


# Which agent a number belongs to ---------------------------------------------------------------------------


def _holder_ids(agent_pks: Iterable[int | None]) -> dict[int, str]:
    pks = {pk for pk in agent_pks if pk is not None}
    return dict(Agent.objects.filter(pk__in=pks).values_list("pk", "public_id")) if pks else {}


def _number_move(
    *, number: PhoneNumber, to_agent: Agent | None, actor: Actor, holders: dict[int, str]
) -> None:
    """Point a (locked) number at `to_agent`; only if its holder is still the one read. Audited."""
    from_pk = number.agent_id
    to_pk = to_agent.pk if to_agent else None
    if from_pk == to_pk:
        return
    updated = PhoneNumber.objects.filter(pk=number.pk, agent_id=from_pk).update(
        agent_id=to_pk, updated_at=timezone.now()
    )
    if updated != 1:  # another transaction moved it between our read and our write
        current = PhoneNumber.objects.filter(pk=number.pk).values_list("agent_id", flat=True).first()
        raise _in_use(number.number, current)
    number.agent_id = to_pk
    before_id = holders.get(from_pk) if from_pk else None
    after_id = to_agent.public_id if to_agent else None
    audit_record(
        actor=actor,
        action="number.assigned" if to_agent else "number.unassigned",
        object_type="phone_number",
        object_id=number.public_id,
        before={"number": number.number, "agent_id": before_id},
        after={"number": number.number, "agent_id": after_id},
    )


def _agent_label(agent_pk: int | None) -> tuple[str, str]:
    """(public id, "Name (public id)") of an agent, as errors name it for people and programs alike."""
    row = Agent.objects.filter(pk=agent_pk).values_list("public_id", "name").first() if agent_pk else None
    if row is None:
        return "", "another agent"
    public_id, name = row
    return public_id, f"{name} ({public_id})"


def _in_use(e164: str, holder_pk: int | None, *, field: str = "phone_numbers") -> NumberInUse:
    """The 409 of a number another agent holds: its holder named (the API keeps `agent_id` for programs)."""
    holder_id, holder = _agent_label(holder_pk)
    return NumberInUse(
        f"{e164} is assigned to {holder}; unassign it there first.",
        field=field,
        number=e164,
        agent_id=holder_id or None,
    )


def _lock_or_create(
    e164: str, *, actor: Actor, provider: str = Provider.SIMULATOR, friendly_name: str = ""
) -> tuple[PhoneNumber, bool]:
    """The number's row, locked, and whether it was added now (unassigned, audited) because it was not in
    the inventory yet."""
    existing = PhoneNumber.objects.select_for_update().filter(number=e164).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row = PhoneNumber.objects.create(
                number=e164,
                provider=provider,
                jurisdiction=jurisdiction_for(e164),
                friendly_name=friendly_name,
            )
    except IntegrityError:  # someone added it a moment ago: theirs, locked
        return PhoneNumber.objects.select_for_update().get(number=e164), False
    audit_record(
        actor=actor, action="number.added", object_type="phone_number", object_id=row.public_id,
        after={"number": e164, "provider": provider, "agent_id": None},
    )  # fmt: skip
    return row, True


def agent_set_phone_numbers(*, agent: Agent, actor: Actor, numbers: Sequence[str]) -> list[PhoneNumber]:
    """Replace the agent's numbers with exactly `numbers`, all or nothing.

    A number held by another agent is a 409 naming the holder; numbers not yet in the inventory are added
    (provider `simulator`; add a number through /v1/numbers first to choose its provider)."""
    if isinstance(numbers, str) or not isinstance(numbers, Sequence):
        raise DomainError("phone_numbers must be a list of phone numbers.", field="phone_numbers")
    wanted = sorted({number_normalize(raw, field="phone_numbers") for raw in numbers})
    with transaction.atomic():
        list(
            Agent.objects.select_for_update().filter(pk=agent.pk).values_list("pk")
        )  # one change per agent at a time
        current = list(PhoneNumber.objects.select_for_update().filter(agent_id=agent.pk).order_by("number"))
        rows = {n.number: n for n in current}
        for e164 in wanted:
            if e164 not in rows:
                rows[e164], _ = _lock_or_create(e164, actor=actor)
        holders = _holder_ids(n.agent_id for n in rows.values())
        for e164 in wanted:
            holder = rows[e164].agent_id
            if holder is not None and holder != agent.pk:
                raise _in_use(e164, holder)
        holders[agent.pk] = agent.public_id
        for number in current:
            if number.number not in wanted:
                _number_move(number=number, to_agent=None, actor=actor, holders=holders)
        for e164 in wanted:
            _number_move(number=rows[e164], to_agent=agent, actor=actor, holders=holders)
    return [rows[e164] for e164 in wanted]


_UNSET = object()


def number_assign(
    *,
    number: PhoneNumber,
    agent: Agent | None,
    actor: Actor,
    move: bool = False,
    seen_holder: object = _UNSET,
) -> PhoneNumber:
    """Give the number to `agent` (None: unassign). Taking it from another agent needs `move=True`.

    `seen_holder` (an agent pk or None) is the holder the person saw when they chose: if it changed since,
    nothing is done and the change is refused, so a picker never overrides a move it did not show."""
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        holders = _holder_ids([locked.agent_id])
        if seen_holder is not _UNSET and locked.agent_id != seen_holder:
            now = _agent_label(locked.agent_id)[1] if locked.agent_id else "no agent"
            raise Conflict(
                f"{locked.number} changed meanwhile: it is now assigned to {now}. Reload and try again.",
                field="agent_id",
                code="number_changed",
            )
        if agent is not None and locked.agent_id not in (None, agent.pk) and not move:
            raise _in_use(locked.number, locked.agent_id, field="agent_id")
        _number_move(number=locked, to_agent=agent, actor=actor, holders=holders)
    return locked


# The number inventory --------------------------------------------------------------------------------------


def provider_check(provider: str) -> None:
    """A number's provider is one this deployment has (a telephony sub-package registered its name)."""
    names = number_provider_names()
    if provider not in names:
        raise DomainError(
            f"Unknown provider {provider!r}: use one of {', '.join(names)}.",
            field="provider",
            code="invalid_choice",
            value=provider,
        )


@dataclass(frozen=True)
class SipFields:
    sip_uri: str = ""
    sip_trunk: str = ""
    trunk_provider: str = ""  # the carrier hosting the trunk, which places its outbound calls


def _sip_fields(provider: str, sip_uri: str, sip_trunk: str, trunk_provider: str = "") -> SipFields:
    sip_uri, sip_trunk = (sip_uri or "").strip(), (sip_trunk or "").strip()
    trunk_provider = (trunk_provider or "").strip()
    if provider != Provider.SIP:
        if sip_uri or sip_trunk or trunk_provider:
            field_name = "sip_uri" if sip_uri else "sip_trunk" if sip_trunk else "trunk_provider"
            raise DomainError(
                "sip_uri, sip_trunk and trunk_provider are only for numbers with provider sip.",
                field=field_name,
            )
        return SipFields()
    if sip_uri and not SIP_URI_RE.match(sip_uri):
        raise DomainError(
            f"{sip_uri!r} is not a SIP URI (sip:user@host).",
            field="sip_uri",
            code="invalid_sip_uri",
            value=sip_uri,
        )
    return SipFields(sip_uri, sip_trunk, _trunk_provider_checked(trunk_provider))


def _trunk_provider_checked(name: str) -> str:
    """Blank (the number only receives calls) or a carrier that can place the trunk's calls; else a 422
    that says what to do."""
    hosts = trunk_provider_names()
    if not name or name in hosts:
        return name
    why = "it cannot place calls" if name in number_provider_names() else "there is no such provider"
    raise Unprocessable(
        f"trunk_provider {name!r} cannot place this SIP number's outbound calls ({why}). Set it to the "
        f"carrier that hosts your SIP trunk ({', '.join(hosts) or 'none is installed'}) and give that "
        "provider its credentials, or leave it blank to keep the number inbound-only.",
        field="trunk_provider",
        code="trunk_provider_cannot_originate",
        value=name,
    )


def number_add(
    *,
    actor: Actor,
    number: str,
    provider: str = Provider.SIMULATOR,
    agent: Agent | None = None,
    friendly_name: str = "",
    sip_uri: str = "",
    sip_trunk: str = "",
    trunk_provider: str = "",
) -> PhoneNumber:
    e164 = number_normalize(number, field="number")
    provider_check(provider)
    sip = _sip_fields(provider, sip_uri, sip_trunk, trunk_provider)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = PhoneNumber.objects.create(
                    number=e164,
                    provider=provider,
                    friendly_name=friendly_name,
                    jurisdiction=jurisdiction_for(e164),
                    sip_uri=sip.sip_uri,
                    sip_trunk=sip.sip_trunk,
                    trunk_provider=sip.trunk_provider,
                )
        except IntegrityError:
            raise Conflict(
                f"{e164} is already in the inventory.", field="number", code="number_exists", number=e164
            ) from None
        audit_record(
            actor=actor, action="number.added", object_type="phone_number", object_id=row.public_id,
            after={"number": e164, "provider": provider, "agent_id": None},
        )  # fmt: skip
        if agent is not None:
            _number_move(number=row, to_agent=agent, actor=actor, holders={})
    return row


def numbers_bulk_add(*, actor: Actor, items: Sequence[dict]) -> list[PhoneNumber]:
    """Add many numbers, all or nothing: the first invalid or existing number stops the whole batch."""
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        e164 = number_normalize(item.get("number", ""), field=f"numbers.{index}.number")
        if e164 in seen:
            raise DomainError(
                f"{e164} appears twice (items {seen[e164]} and {index}).",
                field=f"numbers.{index}.number", code="duplicate", value=item.get("number"),
            )  # fmt: skip
        seen[e164] = index
    with transaction.atomic():
        return [number_add(actor=actor, **item) for item in items]


NUMBER_EDITABLE = ("friendly_name", "sip_uri", "sip_trunk", "trunk_provider")


def number_update(
    *,
    number: PhoneNumber,
    actor: Actor,
    friendly_name: str | None = None,
    sip_uri: str | None = None,
    sip_trunk: str | None = None,
    trunk_provider: str | None = None,
) -> PhoneNumber:
    with transaction.atomic():
        row = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        before = {name: getattr(row, name) for name in NUMBER_EDITABLE}
        if friendly_name is not None:
            row.friendly_name = friendly_name.strip()
        sip = _sip_fields(
            row.provider,
            row.sip_uri if sip_uri is None else sip_uri,
            row.sip_trunk if sip_trunk is None else sip_trunk,
            row.trunk_provider if trunk_provider is None else trunk_provider,
        )
        row.sip_uri, row.sip_trunk, row.trunk_provider = sip.sip_uri, sip.sip_trunk, sip.trunk_provider
        after = {name: getattr(row, name) for name in NUMBER_EDITABLE}
        if after != before:
            row.save(update_fields=[*NUMBER_EDITABLE, "updated_at"])
            audit_record(
                actor=actor, action="number.updated", object_type="phone_number", object_id=row.public_id,
                before=before, after=after,
            )  # fmt: skip
    return row


def number_release(*, number: PhoneNumber, actor: Actor) -> None:
    """Remove the number from the inventory (and from its agent). Past calls keep the number as text."""
    with transaction.atomic():
        row = PhoneNumber.objects.select_for_update().filter(pk=number.pk).first()
        if row is None:
            return
        holder = _holder_ids([row.agent_id]).get(row.agent_id) if row.agent_id else None
        audit_record(
            actor=actor, action="number.released", object_type="phone_number", object_id=row.public_id,
            before={"number": row.number, "provider": row.provider, "agent_id": holder}, after=None,
        )  # fmt: skip
        row.delete()


# Bulk assignment (the numbers page): preview first, nothing saved until confirmed -------------------------


class RowState:
    NEW = "new"  # not in the inventory: added (and assigned, when an agent is chosen)
    ASSIGN = "assign"  # in the inventory, unassigned: assigned
    ALREADY = "already"  # already this agent's (or, with no agent, in the inventory): nothing to do
    RENAME = "rename"  # already this agent's (or in the inventory): only its name changes, to the file's
    HELD = "held"  # another agent's: skipped, or moved when asked
    INVALID = "invalid"  # not a phone number, or a name too long: skipped
    DUPLICATE = "duplicate"  # listed twice: the first one counts


TO_SAVE = (RowState.NEW, RowState.ASSIGN, RowState.RENAME)
NAME_MAX_LENGTH = PhoneNumber._meta.get_field("friendly_name").max_length


@dataclass
class PlanRow:
    row: int
    raw: str
    state: str
    number: str = ""
    name: str = ""  # the name the file gives it ("" when none)
    current_name: str = ""  # its name today, when the file gives another
    holder: Agent | None = None  # who holds it today, when another agent does
    message: str = ""


@dataclass
class BulkPlan:
    agent: Agent | None  # None: the numbers are added to the inventory, unassigned
    provider: str = Provider.SIMULATOR
    rows: list[PlanRow] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for r in self.rows if r.state == state)

    @property
    def conflicts(self) -> list[PlanRow]:
        return [r for r in self.rows if r.state in (RowState.HELD, RowState.INVALID, RowState.DUPLICATE)]

    @property
    def held(self) -> list[PlanRow]:
        return [r for r in self.rows if r.state == RowState.HELD]

    @property
    def assignable(self) -> list[PlanRow]:
        return [r for r in self.rows if r.state in TO_SAVE]

    @property
    def actionable(self) -> list[PlanRow]:
        """What the confirmation posts: every row that changes something, held ones too (moved if asked)."""
        return [r for r in self.rows if r.state in (*TO_SAVE, RowState.HELD)]


def _plan_row(
    row: int, raw: str, e164: str, name: str, current: PhoneNumber | None, agent: Agent | None
) -> PlanRow:
    """What happens to one number: `current` is its row in the inventory (None: not there yet)."""
    renamed = bool(name) and current is not None and current.friendly_name != name
    fields = {"row": row, "raw": raw, "number": e164, "name": name}
    if renamed:
        fields["current_name"] = current.friendly_name
    if current is None:
        return PlanRow(state=RowState.NEW, **fields)
    if agent is None:  # adding to the inventory only: a number already there keeps its agent
        return PlanRow(state=RowState.RENAME if renamed else RowState.ALREADY, holder=current.agent, **fields)
    if current.agent_id is None:
        return PlanRow(state=RowState.ASSIGN, **fields)
    if current.agent_id == agent.pk:
        return PlanRow(state=RowState.RENAME if renamed else RowState.ALREADY, **fields)
    return PlanRow(state=RowState.HELD, holder=current.agent, **fields)


def numbers_bulk_plan(
    *, agent: Agent | None, entries: Sequence[tuple], provider: str = Provider.SIMULATOR
) -> BulkPlan:
    """What assigning these (row, text[, name]) entries to `agent` (None: adding them to the inventory,
    unassigned) would do. Reads only."""
    plan = BulkPlan(agent=agent, provider=provider)
    normalized: list[tuple[int, str, str, str]] = []
    for row, raw, *rest in entries:
        name = " ".join((rest[0] if rest else "").split())
        try:
            e164 = normalize_e164(raw)
        except InvalidPhoneNumber as exc:
            plan.rows.append(PlanRow(row=row, raw=raw, state=RowState.INVALID, message=exc.reason))
            continue
        if len(name) > NAME_MAX_LENGTH:
            message = f"its name is longer than {NAME_MAX_LENGTH} characters"
            plan.rows.append(PlanRow(row=row, raw=raw, number=e164, state=RowState.INVALID, message=message))
            continue
        normalized.append((row, raw, e164, name))
    found = PhoneNumber.objects.filter(number__in=[e164 for _, _, e164, _ in normalized]).select_related(
        "agent"
    )
    existing = {n.number: n for n in found}
    first_row: dict[str, int] = {}
    for row, raw, e164, name in normalized:
        if e164 in first_row:
            message = f"same as row {first_row[e164]}"
            plan.rows.append(
                PlanRow(row=row, raw=raw, number=e164, state=RowState.DUPLICATE, message=message)
            )
            continue
        first_row[e164] = row
        plan.rows.append(_plan_row(row, raw, e164, name, existing.get(e164), agent))
    plan.rows.sort(key=lambda r: r.row)
    return plan


@dataclass
class BulkResult:
    assigned: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # new to the inventory (assigned too, when an agent is)
    renamed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, Agent]] = field(default_factory=list)  # (number, the agent who holds it)


def numbers_bulk_assign(
    *,
    agent: Agent | None,
    actor: Actor,
    numbers: Sequence[str],
    names: dict[str, str] | None = None,
    provider: str = Provider.SIMULATOR,
    move_held: bool = False,
) -> BulkResult:
    """Add the confirmed numbers that are new, give them all to `agent` (None: leave them where they are)
    and name them as `names` says (number, typed any way → name), in one transaction. A number another
    agent holds, or took meanwhile, is skipped, never stolen, unless `move_held`."""
    provider_check(provider)
    wanted_names = _names_checked(names or {})
    wanted = sorted({number_normalize(raw, field="numbers") for raw in numbers} | set(wanted_names))
    result = BulkResult()
    with transaction.atomic():
        rows: dict[str, PhoneNumber] = {}
        for e164 in wanted:
            rows[e164], added = _lock_or_create(
                e164, actor=actor, provider=provider, friendly_name=wanted_names.get(e164, "")
            )
            if added:
                result.added.append(e164)
        holders = _holder_ids(n.agent_id for n in rows.values())
        held_by = Agent.objects.in_bulk(list(holders))
        if agent is not None:
            holders[agent.pk] = agent.public_id
        for e164 in wanted:
            row = rows[e164]
            if agent is not None and row.agent_id not in (None, agent.pk) and not move_held:
                result.skipped.append((e164, held_by[row.agent_id]))
                continue
            name = wanted_names.get(e164, "")
            if name and row.friendly_name != name:
                number_update(number=row, actor=actor, friendly_name=name)
                result.renamed.append(e164)
            if agent is not None and row.agent_id != agent.pk:
                _number_move(number=row, to_agent=agent, actor=actor, holders=holders)
                result.assigned.append(e164)
    return result


def _names_checked(names: dict[str, str]) -> dict[str, str]:
    """{E.164: name} of {number as typed: name}, names with their spaces tidied; a name too long is refused
    (never cut)."""
    checked = {}
    for raw, name in names.items():
        e164, name = number_normalize(raw, field="numbers"), " ".join(name.split())
        if len(name) > NAME_MAX_LENGTH:
            raise DomainError(
                f"The name of {e164} is longer than {NAME_MAX_LENGTH} characters.",
                field="numbers",
                value=name,
            )
        checked[e164] = name
    return checked
