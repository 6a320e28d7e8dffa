"""Each audit event as a sentence a person reads, naming people, agents and numbers with links: "maria moved
+44 20 7946 0958 from Billing Support to Sales Outreach". The JSON (before → after) stays beside it for
whoever needs the detail.

One function per action, in SENTENCES (tests/compliance/test_audit_sentences.py finds every action the
code writes and fails on one without a sentence); an action without one still reads as a generic sentence.
The names are looked up in bulk for a page of events (`audit_sentences_attach`): a few queries per page,
whatever its length. Names are today's: an agent renamed since reads under its new name (its id is in the
link's title and in the JSON)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from agents.links import number_readable
from agents.models import Agent, PhoneNumber
from compliance.audit import SYSTEM_ACTOR
from compliance.models import AuditEvent, Jurisdiction


@dataclass(frozen=True)
class Ref:
    """Something a sentence names: its text, and the page it links to ("" for none)."""

    text: str
    url: str = ""
    title: str = ""


Part = Ref | str | int
Sentence = tuple[str, dict[str, Part]]  # a format string of {placeholders}, and what fills each


def _url(name: str, *args: Any, query: dict | None = None, anchor: str = "") -> str:
    """A page's address, or "" when the site has no such page (an app left out of the URLs)."""
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return url + (f"?{urlencode(query)}" if query else "") + (f"#{anchor}" if anchor else "")


@dataclass
class Names:
    """Today's names of what a page of events mentions, looked up once for the page."""

    agents: dict[str, Agent] = field(default_factory=dict)  # public id → agent
    numbers: dict[str, str] = field(default_factory=dict)  # public id → E.164, numbers still in the inventory
    users: dict[str, str] = field(default_factory=dict)  # username → full name (when they have one)
    jurisdictions: dict[str, str] = field(default_factory=dict)  # code → name

    def agent(self, public_id: str | None, hint: str = "") -> Ref:
        if not public_id:
            return Ref("no agent")
        agent = self.agents.get(public_id)
        if agent is None:  # gone since: its id, or the name the event kept
            return Ref(hint or public_id, title=public_id)
        return Ref(agent.name, _url("agents:detail", public_id), title=public_id)

    def number(self, public_id: str, e164: str = "") -> Ref:
        e164 = e164 or self.numbers.get(public_id, "")
        url = _url("numbers:detail", public_id) if public_id in self.numbers else ""
        return Ref(number_readable(e164) or public_id, url, title=e164 or public_id)

    def user(self, username: str | None) -> Ref:
        if not username:
            return Ref("someone")
        if username == SYSTEM_ACTOR:
            return Ref("The system")
        name = self.users.get(username) or username
        return Ref(name, _url("audit:list", query={"actor": username}), title=f"Everything {username} did")

    def jurisdiction(self, code: str | None) -> Ref:
        if not code:
            return Ref("every jurisdiction")
        name = self.jurisdictions.get(code.upper())
        text = f"{name} ({code})" if name else code
        return Ref(text, _url("compliance:jurisdiction", code) if name else "")


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _state(event: AuditEvent) -> dict:
    """The event's object as it was last: after, else before."""
    return _dict(event.after) or _dict(event.before)


def _days(days: Any) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def _listed(names: Iterable[str]) -> str:
    return ", ".join(names)


def _changed(event: AuditEvent, labels: dict[str, str]) -> list[str]:
    before, after = _dict(event.before), _dict(event.after)
    keys = [k for k in after if before.get(k) != after.get(k)] or list(after)
    return list(dict.fromkeys(labels.get(k, k.replace("_", " ")) for k in keys))


# Agents and numbers ------------------------------------------------------------------------------------------

AGENT_FIELD_LABELS = {
    "max_duration": "maximum call length", "record": "recording", "active": "status",
    "instructions": "instructions (prompt)",
}  # fmt: skip


def _agent_created(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} created the agent {agent}", {"agent": n.agent(e.object_id, _state(e).get("name", ""))}


def _agent_updated(e: AuditEvent, n: Names) -> Sentence:
    before, after = _dict(e.before), _dict(e.after)
    agent = n.agent(e.object_id, after.get("name", ""))
    if set(after) == {"name"}:
        return "{actor} renamed the agent “{old}” to {agent}", {
            "old": str(before.get("name", "")),
            "agent": agent,
        }
    return "{actor} changed {agent}: {fields}", {
        "agent": agent,
        "fields": _listed(_changed(e, AGENT_FIELD_LABELS)),
    }


def _agent_enabled(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} enabled the agent {agent}", {"agent": n.agent(e.object_id)}


def _agent_disabled(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} disabled the agent {agent}", {"agent": n.agent(e.object_id)}


def _number(e: AuditEvent, n: Names) -> Ref:
    return n.number(e.object_id, str(_state(e).get("number", "")))


def _number_added(e: AuditEvent, n: Names) -> Sentence:
    provider = _dict(e.after).get("provider")
    text = "{actor} added {number} to the inventory" + (" ({provider})" if provider else "")
    return text, {"number": _number(e, n), "provider": str(provider or "")}


def _number_assigned(e: AuditEvent, n: Names) -> Sentence:
    from_id, to_id = _dict(e.before).get("agent_id"), _dict(e.after).get("agent_id")
    parts: dict[str, Part] = {"number": _number(e, n), "to": n.agent(to_id)}
    if from_id:
        return "{actor} moved {number} from {from} to {to}", parts | {"from": n.agent(from_id)}
    return "{actor} assigned {number} to {to}", parts


def _number_unassigned(e: AuditEvent, n: Names) -> Sentence:
    from_id = _dict(e.before).get("agent_id")
    return "{actor} unassigned {number} from {from}", {"number": _number(e, n), "from": n.agent(from_id)}


NUMBER_FIELD_LABELS = {"friendly_name": "name", "sip_uri": "SIP URI", "sip_trunk": "SIP trunk"}


def _number_updated(e: AuditEvent, n: Names) -> Sentence:
    changed = _changed(e, NUMBER_FIELD_LABELS)
    if changed == ["name"]:
        name = str(_dict(e.after).get("friendly_name", ""))
        return "{actor} renamed {number} to “{name}”", {"number": _number(e, n), "name": name}
    return "{actor} changed {number}'s {fields}", {
        "number": _number(e, n),
        "fields": _listed(changed) or "settings",
    }


def _number_released(e: AuditEvent, n: Names) -> Sentence:
    holder = _dict(e.before).get("agent_id")
    parts: dict[str, Part] = {"number": _number(e, n)}
    if holder:
        return "{actor} released {number} from the inventory; {agent} lost it", parts | {
            "agent": n.agent(holder)
        }
    return "{actor} released {number} from the inventory", parts


# Compliance --------------------------------------------------------------------------------------------------


def _opener(e: AuditEvent, n: Names) -> Ref:
    state = _state(e)
    agent = state.get("agent_id")
    whose = n.agent(agent).text if agent else "every agent"
    text = f"the consent opener for {n.jurisdiction(state.get('jurisdiction')).text} ({whose}, {state.get('language', '')})"
    if e.action == "consent_opener.deleted":
        return Ref(text)
    return Ref(text, _url("compliance:opener-edit", e.object_id))


OPENER_FIELD_LABELS = {"audio_source": "audio", "audio_sha256": "audio", "agent_id": "agent"}


def _opener_created(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} added {opener}", {"opener": _opener(e, n)}


def _opener_updated(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} changed {opener}: {fields}", {
        "opener": _opener(e, n),
        "fields": _listed(_changed(e, OPENER_FIELD_LABELS)),
    }


def _opener_deleted(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} deleted {opener}", {"opener": _opener(e, n)}


JURISDICTION_FIELD_LABELS = {"calling_days_note": "note", "needs_review": "legal review flag"}


def _jurisdiction_updated(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} changed the rules of {jurisdiction}: {fields}", {
        "jurisdiction": n.jurisdiction(e.object_id),
        "fields": _listed(_changed(e, JURISDICTION_FIELD_LABELS)),
    }


def _retention_scope(state: dict, n: Names) -> tuple[str, dict[str, Part]]:
    agent, code = state.get("agent_id"), state.get("jurisdiction")
    if agent and code:
        return "recordings of {agent} in {jurisdiction}", {
            "agent": n.agent(agent),
            "jurisdiction": n.jurisdiction(code),
        }
    if agent:
        return "recordings of {agent}", {"agent": n.agent(agent)}
    return "recordings in {jurisdiction}", {"jurisdiction": n.jurisdiction(code)}


def _retention_created(e: AuditEvent, n: Names) -> Sentence:
    scope, parts = _retention_scope(_state(e), n)
    return "{actor} set " + scope + " to be kept {days}", parts | {"days": _days(_dict(e.after).get("days"))}


def _retention_updated(e: AuditEvent, n: Names) -> Sentence:
    scope, parts = _retention_scope(_state(e), n)
    before, after = _dict(e.before).get("days"), _dict(e.after).get("days")
    if before == after:
        return "{actor} changed the retention policy of " + scope, parts
    return "{actor} changed how long " + scope + " are kept: {before} → {after}", parts | {
        "before": _days(before),
        "after": _days(after),
    }


def _retention_deleted(e: AuditEvent, n: Names) -> Sentence:
    scope, parts = _retention_scope(_dict(e.before), n)
    return "{actor} removed the retention policy of " + scope + " ({days}): the default applies", parts | {
        "days": _days(_dict(e.before).get("days"))
    }


def _call(public_id: str | None) -> Ref:
    if not public_id:
        return Ref("a call")
    return Ref(f"call {public_id}", _url("calls:detail", public_id))


def _campaign(public_id: str, name: str = "") -> Ref:
    return Ref(name or public_id, _url("campaigns:detail", public_id), title=public_id)


def _hold_target(state: dict, n: Names) -> Part:
    target = state.get("target")
    if target == "call":
        return _call(state.get("call_id"))
    if target == "agent":
        return Ref(f"every call of {n.agent(state.get('agent_id')).text}", n.agent(state.get("agent_id")).url)
    if target == "campaign":
        campaign = _campaign(str(state.get("campaign_id", "")))
        return Ref(f"the campaign {campaign.text}", campaign.url)
    return f"every call with {number_readable(str(state.get('phone_number', '')))}"


def _hold_placed(e: AuditEvent, n: Names) -> Sentence:
    state = _dict(e.after)
    return "{actor} placed a {hold} on {target}: “{reason}”", {
        "hold": Ref("legal hold", _url("compliance:holds"), title=e.object_id),
        "target": _hold_target(state, n),
        "reason": str(state.get("reason", "")),
    }


def _hold_released(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} released the {hold} on {target}", {
        "hold": Ref("legal hold", _url("compliance:holds"), title=e.object_id),
        "target": _hold_target(_state(e), n),
    }


def _listed_number(e164: str) -> Ref:
    return Ref(number_readable(e164), _url("do_not_call:list", query={"q": e164}), title=e164)


def _dnc_added(e: AuditEvent, n: Names) -> Sentence:
    reason = str(_dict(e.after).get("reason") or "")
    text = "{actor} added {number} to the do-not-call list" + (": “{reason}”" if reason else "")
    return text, {"number": _listed_number(e.object_id), "reason": reason}


def _dnc_removed(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} removed {number} from the do-not-call list", {"number": _listed_number(e.object_id)}


def _dnc_opted_out(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    said = str(after.get("said") or "")
    text = "The caller at {number} asked not to be called again during {call}" + (
        ": “{said}”" if said else ""
    )
    return text, {
        "number": _listed_number(e.object_id),
        "call": _call(after.get("opt_out_call_id")),
        "said": said,
    }


def _dnc_imported(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    return "{actor} imported {file} into the {list}: {accepted} added, {rejected} rejected", {
        "file": str(after.get("file", e.object_id)),
        "list": Ref("do-not-call list", _url("do_not_call:list")),
        "accepted": int(after.get("accepted") or 0),
        "rejected": int(after.get("rejected") or 0),
    }


# Calls, recordings, campaigns --------------------------------------------------------------------------------


def _call_placed(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    return "{actor} placed {call} from {agent} to {callee}", {
        "call": Ref("a call", _url("calls:detail", e.object_id), title=e.object_id),
        "agent": n.agent(after.get("agent_id")),
        "callee": number_readable(str(after.get("phone_number", ""))),
    }


def _call_hung_up(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} hung up {call}", {"call": _call(e.object_id)}


def _call_listen_started(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} started listening to {call}", {"call": _call(e.object_id)}


def _call_listen_stopped(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    return "{actor} listened to {call} for {seconds} s", {
        "call": _call(e.object_id),
        "seconds": str(after.get("seconds", "?")),
    }


def _call_whispered(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} whispered to the agent of {call}: “{text}”", {
        "call": _call(e.object_id),
        "text": str(_dict(e.after).get("text", "")),
    }


SUPERVISOR_MODES = {
    "barge": "{actor} barged in on {call}",
    "takeover": "{actor} took {call} over from its agent",
    "whisper-audio": "{actor} started whispering to the agent of {call} by voice",
}


def _call_supervisor_mode(e: AuditEvent, n: Names) -> Sentence:
    mode = str(_dict(e.after).get("mode", ""))
    return SUPERVISOR_MODES.get(mode, "{actor} handed {call} back to its agent"), {"call": _call(e.object_id)}


def _recording_played(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} played the recording of {call}", {"call": _call(e.object_id)}


def _recording_downloaded(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} downloaded the recording of {call}", {"call": _call(e.object_id)}


def _recording_deleted(e: AuditEvent, n: Names) -> Sentence:
    days = _dict(_dict(e.after).get("retention")).get("days")
    text = "{actor} deleted the recording of {call}" + (
        ", kept {days} by its retention" if days is not None else ""
    )
    return text, {"call": _call(e.object_id), "days": _days(days)}


def _campaign_created(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    return "{actor} created the campaign {campaign} for {agent} from {file}", {
        "campaign": _campaign(e.object_id, str(after.get("name", ""))),
        "agent": n.agent(after.get("agent_id")),
        "file": str(after.get("file") or "a file"),
    }


def _campaign_moved(e: AuditEvent, n: Names) -> Sentence:
    """campaign.started, .paused, .resumed, .cancelled (and whatever verb comes next)."""
    after = _dict(e.after)
    verb = e.action.partition(".")[2]
    reason = str(after.get("reason") or "")
    text = "{actor} " + verb.replace("_", " ") + " the campaign {campaign}" + (": {reason}" if reason else "")
    return text, {"campaign": _campaign(e.object_id, str(after.get("name", ""))), "reason": reason}


# Accounts and sign-ins ---------------------------------------------------------------------------------------


def _key(state: dict) -> str:
    name = state.get("name")
    prefix = f"({state.get('prefix', '')}…)"
    return f"“{name}” {prefix}" if name else prefix


def _api_key(e: AuditEvent, n: Names, verb: str) -> Sentence:
    state = _state(e)
    owner = state.get("user")
    if owner == e.actor_label:
        return "{actor} " + verb + " their API key {key}", {"key": _key(state)}
    return "{actor} " + verb + " {user}'s API key {key}", {"key": _key(state), "user": n.user(owner)}


def _api_key_created(e: AuditEvent, n: Names) -> Sentence:
    return _api_key(e, n, "created")


def _api_key_revoked(e: AuditEvent, n: Names) -> Sentence:
    return _api_key(e, n, "revoked")


def _minutes(seconds: Any) -> str:
    minutes = max(1, round((seconds or 0) / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def _api_key_locked_out(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    return "{failures} unknown API keys came from {address}: it is locked out for {minutes}", {
        "failures": int(after.get("failures") or 0),
        "address": e.object_id,
        "minutes": _minutes(after.get("lockout_seconds")),
    }


def _sign_in_failed(e: AuditEvent, n: Names) -> Sentence:
    address = _dict(e.after).get("ip_address")
    text = "A sign-in as {user} failed" + (" (from {address})" if address else "")
    return text, {"user": n.user(e.object_id), "address": str(address or "")}


def _locked_out(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    return "Sign-ins as {user} from {address} were locked out for {minutes} after {failures} failures", {
        "user": n.user(e.object_id),
        "address": str(after.get("ip_address") or "an unknown address"),
        "minutes": _minutes(after.get("cool_off_seconds")),
        "failures": int(after.get("failures") or 0),
    }


def _user_created(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    if after.get("first_admin"):
        return "The first admin, {user}, was created at installation", {"user": n.user(e.object_id)}
    return "{actor} added {user} as {role}", {
        "user": n.user(e.object_id),
        "role": str(after.get("role") or "no role"),
    }


def _user_role_changed(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} changed {user}'s role from {before} to {after}", {
        "user": n.user(e.object_id),
        "before": str(_dict(e.before).get("role") or "no role"),
        "after": str(_dict(e.after).get("role") or "no role"),
    }


def _user_one_time_password(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} issued {user} a new one-time password", {"user": n.user(e.object_id)}


def _user_deactivated(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} deactivated {user}: their sessions and API keys stopped working", {
        "user": n.user(e.object_id)
    }


def _user_reactivated(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} reactivated {user}", {"user": n.user(e.object_id)}


# Telephony providers' credentials (telephony/credentials.py: the value is never in the event) ---------------


def _provider_credential_ref(state: dict) -> Ref:
    provider = str(state.get("provider") or "")
    text = f"{state.get('provider_label') or provider} {state.get('label') or state.get('key', '')}".strip()
    return Ref(text, _url("provider_credentials") + (f"#provider-{provider}" if provider else ""))


def _provider_credential_set(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    credential = _provider_credential_ref(after)
    if after.get("source") == "environment":
        return "{actor} set the {credential} to be read from the environment variable {env_name}", {
            "credential": credential,
            "env_name": str(after.get("env_name") or ""),
        }
    return "{actor} stored a new {credential} (encrypted)", {"credential": credential}


def _provider_credential_cleared(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} cleared the stored {credential}", {"credential": _provider_credential_ref(_state(e))}


def _webhook_endpoint(e: AuditEvent) -> Ref:
    url = str(_state(e).get("url") or e.object_id)
    return Ref(
        url,
        _url("webhooks:detail", e.object_id) if e.action != "webhook_endpoint.deleted" else "",
        e.object_id,
    )


def _webhook_endpoint_created(e: AuditEvent, n: Names) -> Sentence:
    events = _dict(e.after).get("events") or []
    return "{actor} added the webhook endpoint {endpoint} for {events}", {
        "endpoint": _webhook_endpoint(e),
        "events": ", ".join(str(x) for x in events) or "no events",
    }


def _webhook_endpoint_enabled(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} enabled the webhook endpoint {endpoint}", {"endpoint": _webhook_endpoint(e)}


def _webhook_endpoint_disabled(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} disabled the webhook endpoint {endpoint}", {"endpoint": _webhook_endpoint(e)}


def _webhook_endpoint_deleted(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} deleted the webhook endpoint {endpoint}", {"endpoint": _webhook_endpoint(e)}


def _webhook_delivery_replayed(e: AuditEvent, n: Names) -> Sentence:
    after = _dict(e.after)
    endpoint_id = str(after.get("endpoint_id") or "")
    url = _url("webhooks:delivery", endpoint_id, e.object_id) if endpoint_id else ""
    return "{actor} replayed the webhook {event_type} {event}", {
        "event_type": str(after.get("event_type") or "event"),
        "event": Ref(str(after.get("event_id") or e.object_id), url, e.object_id),
    }


SENTENCES: dict[str, Callable[[AuditEvent, Names], Sentence]] = {
    "agent.created": _agent_created,
    "agent.updated": _agent_updated,
    "agent.enabled": _agent_enabled,
    "agent.disabled": _agent_disabled,
    "number.added": _number_added,
    "number.assigned": _number_assigned,
    "number.unassigned": _number_unassigned,
    "number.updated": _number_updated,
    "number.released": _number_released,
    "consent_opener.created": _opener_created,
    "consent_opener.updated": _opener_updated,
    "consent_opener.deleted": _opener_deleted,
    "jurisdiction.updated": _jurisdiction_updated,
    "retention_policy.created": _retention_created,
    "retention_policy.updated": _retention_updated,
    "retention_policy.deleted": _retention_deleted,
    "legal_hold.placed": _hold_placed,
    "legal_hold.released": _hold_released,
    "do_not_call.added": _dnc_added,
    "do_not_call.removed": _dnc_removed,
    "do_not_call.opted_out": _dnc_opted_out,
    "do_not_call.imported": _dnc_imported,
    "call.placed": _call_placed,
    "call.hung_up": _call_hung_up,
    "call.listen_started": _call_listen_started,
    "call.listen_stopped": _call_listen_stopped,
    "call.whispered": _call_whispered,
    "call.supervisor_mode": _call_supervisor_mode,
    "recording.played": _recording_played,
    "recording.downloaded": _recording_downloaded,
    "recording.deleted": _recording_deleted,
    "campaign.created": _campaign_created,
    "api_key.created": _api_key_created,
    "api_key.revoked": _api_key_revoked,
    "auth.api_key_locked_out": _api_key_locked_out,
    "auth.sign_in_failed": _sign_in_failed,
    "auth.locked_out": _locked_out,
    "user.created": _user_created,
    "user.role_changed": _user_role_changed,
    "user.one_time_password_issued": _user_one_time_password,
    "user.deactivated": _user_deactivated,
    "user.reactivated": _user_reactivated,
    "provider_credential.set": _provider_credential_set,
    "provider_credential.cleared": _provider_credential_cleared,
    "webhook_endpoint.created": _webhook_endpoint_created,
    "webhook_endpoint.enabled": _webhook_endpoint_enabled,
    "webhook_endpoint.disabled": _webhook_endpoint_disabled,
    "webhook_endpoint.deleted": _webhook_endpoint_deleted,
    "webhook_delivery.replayed": _webhook_delivery_replayed,
}
# A family whose last word is the verb: campaigns move by start, pause, resume, cancel (campaigns/services.py).
FAMILIES: dict[str, Callable[[AuditEvent, Names], Sentence]] = {"campaign.": _campaign_moved}


def _generic(e: AuditEvent, n: Names) -> Sentence:
    return "{actor} did “{action}” to {object_type} {object_id}", {
        "action": e.action,
        "object_type": e.object_type.replace("_", " "),
        "object_id": e.object_id,
    }


def sentence_for(action: str) -> Callable[[AuditEvent, Names], Sentence]:
    if action in SENTENCES:
        return SENTENCES[action]
    family = next((f for prefix, f in FAMILIES.items() if action.startswith(prefix)), None)
    return family or _generic


# Names, sentences ---------------------------------------------------------------------------------------------


def _mentioned(events: Iterable[AuditEvent]) -> tuple[set[str], set[str], set[str], set[str]]:
    """The agents (public ids), numbers (public ids), users (usernames) and jurisdictions events mention."""
    agents, numbers, users, codes = set(), set(), set(), set()
    for e in events:
        users.add(e.actor_label)
        states = [_dict(e.before), _dict(e.after)]
        if e.object_type == "agent":
            agents.add(e.object_id)
        elif e.object_type == "phone_number":
            numbers.add(e.object_id)
        elif e.object_type == "user":
            users.add(e.object_id)
        elif e.object_type == "jurisdiction":
            codes.add(e.object_id.upper())
        for state in states:
            if isinstance(state.get("agent_id"), str):
                agents.add(state["agent_id"])
            if isinstance(state.get("jurisdiction"), str) and state["jurisdiction"]:
                codes.add(state["jurisdiction"].upper())
            if isinstance(state.get("user"), str):
                users.add(state["user"])
    return agents, numbers, users, codes


def audit_names(events: Iterable[AuditEvent]) -> Names:
    """Today's names of everything `events` mention: at most four queries, whatever their number."""
    agents, numbers, users, codes = _mentioned(events)
    names = Names()
    if agents:
        names.agents = {
            a.public_id: a for a in Agent.objects.filter(public_id__in=agents).only("public_id", "name")
        }
    if numbers:
        names.numbers = dict(
            PhoneNumber.objects.filter(public_id__in=numbers).values_list("public_id", "number")
        )
    users.discard(SYSTEM_ACTOR)
    if users:
        model = get_user_model()
        field_name = model.USERNAME_FIELD
        for user in model.objects.filter(**{f"{field_name}__in": users}):
            names.users[user.get_username()] = user.get_full_name().strip()
    if codes:
        names.jurisdictions = dict(Jurisdiction.objects.filter(code__in=codes).values_list("code", "name"))
    return names


def _filled(event: AuditEvent, names: Names) -> Sentence:
    template, parts = sentence_for(event.action)(event, names)
    return template, {"actor": names.user(event.actor_label), **parts}


def _html(part: Part) -> SafeString:
    if isinstance(part, Ref):
        if part.url:
            return format_html('<a href="{}" title="{}">{}</a>', part.url, part.title, part.text)
        return (
            format_html('<span title="{}">{}</span>', part.title, part.text)
            if part.title
            else format_html("{}", part.text)
        )
    return format_html("{}", part)


def _text(part: Part) -> str:
    return part.text if isinstance(part, Ref) else str(part)


def audit_sentence(event: AuditEvent, names: Names) -> SafeString:
    """The event as a sentence, its names linked to their pages (HTML, escaped)."""
    template, parts = _filled(event, names)
    return format_html(template + ".", **{k: _html(v) for k, v in parts.items()})


def audit_sentence_text(event: AuditEvent, names: Names) -> str:
    """The same sentence as plain text (the CSV export)."""
    template, parts = _filled(event, names)
    return template.format(**{k: _text(v) for k, v in parts.items()}) + "."


def audit_sentences_attach(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """The events, each with `.sentence` (HTML), their names looked up once for all of them."""
    events = list(events)
    names = audit_names(events)
    for event in events:
        event.sentence = audit_sentence(event, names)
    return events
