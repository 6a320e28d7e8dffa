"""The audit log reads as sentences naming people, agents and numbers, with links ("Maria moved +44 20 7946
0958 from Billing Support to Sales Outreach."), the JSON on demand. Every action the code writes has a
sentence: the actions are found in the source, so a new one without a sentence fails here."""

import ast
import csv
import io
from pathlib import Path

import pytest
from django.test import Client

from agents import services as agent_services
from compliance.audit_sentences import (
    FAMILIES,
    SENTENCES,
    _generic,
    audit_names,
    audit_sentence,
    audit_sentence_text,
    sentence_for,
)
from compliance.models import AuditEvent
from tests.factories import AgentFactory, PhoneNumberFactory, UserFactory
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.roles import Role

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = [
    "agents",
    "compliance",
    "calls",
    "recordings",
    "campaigns",
    "telephony",
    "live",
    "wordcab_admin",
]


# --- the actions the code writes, found in the source ---------------------------------------------------------


def _strings(node: ast.AST, assigned: dict[str, list[ast.AST]]) -> list[str]:
    """The action names an expression may take: constants, both sides of `a if c else b`, the constants
    assigned to a variable in the same function, and an f-string's constant prefix followed by `*`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, assigned) + _strings(node.orelse, assigned)
    if isinstance(node, ast.Name):
        return [s for value in assigned.get(node.id, []) for s in _strings(value, assigned)]
    if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
        return [f"{node.values[0].value}*"]
    return []


def _actions_in(tree: ast.AST) -> set[str]:
    found = set()
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
        assigned: dict[str, list[ast.AST]] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                found.update(
                    s for k in node.keywords if k.arg == "action" for s in _strings(k.value, assigned)
                )
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "action":
                        found.update(_strings(value, assigned))
    return {action for action in found if "." in action}  # audit actions are `thing.verb`


def written_actions() -> set[str]:
    actions = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts or "client" in path.parts:
                continue  # the Python client only reads the log
            actions |= _actions_in(ast.parse(path.read_text(), filename=str(path)))
    return actions


def test_the_source_scan_finds_the_actions_the_code_writes():
    actions = written_actions()
    # one of each way an action is written: a constant, `a if c else b`, a variable, an f-string, a dict key
    for action in ("number.added", "user.reactivated", "user.deactivated", "agent.enabled", "agent.updated",
                   "campaign.*", "recording.deleted"):  # fmt: skip
        assert action in actions, action
    assert len(actions) >= 35


def test_every_action_the_code_writes_has_a_sentence():
    missing = sorted(
        action
        for action in written_actions()
        if action not in SENTENCES and not any(action.startswith(prefix) for prefix in FAMILIES)
    )
    assert missing == [], f"audit actions without a sentence in compliance/audit_sentences.py: {missing}"


# --- each sentence, from events shaped as the code writes them -------------------------------------------------


@pytest.fixture
def cast_of_names(db):
    """Maria (an operator with a full name), two agents and a number, as the sentences name them."""
    maria = UserFactory(username="maria", first_name="Maria", role=Role.OPERATOR)
    billing = AgentFactory(public_id="agent_billing", name="Billing Support")
    sales = AgentFactory(public_id="agent_sales", name="Sales Outreach")
    number = PhoneNumberFactory(public_id="num_london", number="+442079460958", agent=sales)
    return {"maria": maria, "billing": billing, "sales": sales, "number": number}


def event(action, object_type, object_id, *, actor="maria", before=None, after=None) -> AuditEvent:
    return AuditEvent(actor_label=actor, action=action, object_type=object_type, object_id=object_id,
                      before=before, after=after)  # fmt: skip


NUMBER = {"number": "+442079460958"}
OPENER = {"jurisdiction": "US-CA", "agent_id": None, "language": "en-US", "text": "This call is recorded.",
          "audio_source": "synthesized", "audio_sha256": "a" * 64}  # fmt: skip
KEY = {"user": "maria", "name": "zapier", "prefix": "wck_abcdefgh"}
HOOK = {"url": "https://hooks.example.com/wc", "events": ["call.ended", "recording.ready"], "description": "",
        "enabled": True}  # fmt: skip

EXAMPLES = [
    (event("agent.created", "agent", "agent_billing", after={"name": "Billing Support"}),
     "Maria created the agent Billing Support."),
    (event("agent.updated", "agent", "agent_billing", before={"name": "Billing"}, after={"name": "Billing Support"}),
     "Maria renamed the agent “Billing” to Billing Support."),
    (event("agent.updated", "agent", "agent_billing", before={"language": "en-US", "max_duration": 600},
           after={"language": "fr-FR", "max_duration": 300}),
     "Maria changed Billing Support: language, maximum call length."),
    (event("agent.disabled", "agent", "agent_billing"), "Maria disabled the agent Billing Support."),
    (event("agent.enabled", "agent", "agent_billing"), "Maria enabled the agent Billing Support."),
    (event("number.added", "phone_number", "num_london", after={**NUMBER, "provider": "twilio", "agent_id": None}),
     "Maria added +44 20 7946 0958 to the inventory (twilio)."),
    (event("number.assigned", "phone_number", "num_london", before={**NUMBER, "agent_id": "agent_billing"},
           after={**NUMBER, "agent_id": "agent_sales"}),
     "Maria moved +44 20 7946 0958 from Billing Support to Sales Outreach."),
    (event("number.assigned", "phone_number", "num_london", before={**NUMBER, "agent_id": None},
           after={**NUMBER, "agent_id": "agent_sales"}),
     "Maria assigned +44 20 7946 0958 to Sales Outreach."),
    (event("number.unassigned", "phone_number", "num_london", before={**NUMBER, "agent_id": "agent_sales"},
           after={**NUMBER, "agent_id": None}),
     "Maria unassigned +44 20 7946 0958 from Sales Outreach."),
    (event("number.updated", "phone_number", "num_london", before={"friendly_name": "", "sip_uri": ""},
           after={"friendly_name": "London office", "sip_uri": ""}),
     "Maria renamed +44 20 7946 0958 to “London office”."),
    (event("number.released", "phone_number", "num_gone",
           before={"number": "+14155550111", "provider": "simulator", "agent_id": "agent_billing"}),
     "Maria released +1 415-555-0111 from the inventory; Billing Support lost it."),
    (event("consent_opener.created", "consent_opener", "7", after=OPENER),
     "Maria added the consent opener for California (US-CA) (every agent, en-US)."),
    (event("consent_opener.updated", "consent_opener", "7", before=OPENER,
           after={**OPENER, "text": "We record.", "audio_sha256": "b" * 64}),
     "Maria changed the consent opener for California (US-CA) (every agent, en-US): text, audio."),
    (event("consent_opener.deleted", "consent_opener", "7", before={**OPENER, "agent_id": "agent_sales"}),
     "Maria deleted the consent opener for California (US-CA) (Sales Outreach, en-US)."),
    (event("jurisdiction.updated", "jurisdiction", "US-CA", before={"calling_hours": "08:00-21:00", "source": "a"},
           after={"calling_hours": "09:00-20:00", "source": "a"}),
     "Maria changed the rules of California (US-CA): calling hours."),
    (event("retention_policy.created", "retention_policy", "ret_1",
           after={"agent_id": "agent_sales", "jurisdiction": "GB", "days": 30}),
     "Maria set recordings of Sales Outreach in United Kingdom (GB) to be kept 30 days."),
    (event("retention_policy.updated", "retention_policy", "ret_1",
           before={"agent_id": "agent_sales", "jurisdiction": None, "days": 30},
           after={"agent_id": "agent_sales", "jurisdiction": None, "days": 1}),
     "Maria changed how long recordings of Sales Outreach are kept: 30 days → 1 day."),
    (event("retention_policy.deleted", "retention_policy", "ret_1",
           before={"agent_id": None, "jurisdiction": "US-CA", "days": 7}),
     "Maria removed the retention policy of recordings in California (US-CA) (7 days): the default applies."),
    (event("legal_hold.placed", "legal_hold", "hold_1",
           after={"target": "agent", "agent_id": "agent_billing", "reason": "Case 42"}),
     "Maria placed a legal hold on every call of Billing Support: “Case 42”."),
    (event("legal_hold.released", "legal_hold", "hold_1", before={"target": "call", "call_id": "call_9"},
           after={"target": "call", "call_id": "call_9"}),
     "Maria released the legal hold on call call_9."),
    (event("legal_hold.placed", "legal_hold", "hold_2",
           after={"target": "phone_number", "phone_number": "+442079460958", "reason": "Subpoena"}),
     "Maria placed a legal hold on every call with +44 20 7946 0958: “Subpoena”."),
    (event("do_not_call.added", "do_not_call", "+442079460958", after={"number": "+442079460958", "reason": "asked"}),
     "Maria added +44 20 7946 0958 to the do-not-call list: “asked”."),
    (event("do_not_call.removed", "do_not_call", "+442079460958", before={"number": "+442079460958"}),
     "Maria removed +44 20 7946 0958 from the do-not-call list."),
    (event("do_not_call.opted_out", "do_not_call", "+442079460958", actor="system",
           after={"number": "+442079460958", "opt_out_call_id": "call_7", "said": "stop calling me"}),
     "The caller at +44 20 7946 0958 asked not to be called again during call call_7: “stop calling me”."),
    (event("do_not_call.imported", "do_not_call_import", "list.csv",
           after={"file": "list.csv", "rows": 3, "accepted": 2, "rejected": 1}),
     "Maria imported list.csv into the do-not-call list: 2 added, 1 rejected."),
    (event("call.placed", "call", "call_1", after={"agent_id": "agent_sales", "phone_number": "+14155550123"}),
     "Maria placed a call from Sales Outreach to +1 415-555-0123."),
    (event("call.hung_up", "call", "call_1", before={"status": "in_progress"}), "Maria hung up call call_1."),
    (event("call.listen_started", "call", "call_1"), "Maria started listening to call call_1."),
    (event("call.listen_stopped", "call", "call_1", after={"from": "…", "to": "…", "seconds": 42.5}),
     "Maria listened to call call_1 for 42.5 s."),
    (event("call.whispered", "call", "call_1", after={"text": "offer the Tuesday slot"}),
     "Maria whispered to the agent of call call_1: “offer the Tuesday slot”."),
    (event("call.supervisor_mode", "call", "call_1", before={"mode": "none"}, after={"mode": "takeover"}),
     "Maria took call call_1 over from its agent."),
    (event("recording.played", "call", "call_1"), "Maria played the recording of call call_1."),
    (event("recording.downloaded", "call", "call_1"), "Maria downloaded the recording of call call_1."),
    (event("recording.deleted", "call", "call_1", actor="system", after={"retention": {"days": 30}}),
     "The system deleted the recording of call call_1, kept 30 days by its retention."),
    (event("campaign.created", "campaign", "camp_1",
           after={"name": "June renewals", "agent_id": "agent_sales", "file": "june.csv"}),
     "Maria created the campaign June renewals for Sales Outreach from june.csv."),
    (event("campaign.started", "campaign", "camp_1", after={"name": "June renewals"}),
     "Maria started the campaign June renewals."),
    (event("campaign.paused", "campaign", "camp_1", actor="system",
           after={"status": "paused", "reason": "the agent was disabled"}),
     "The system paused the campaign camp_1: the agent was disabled."),
    (event("campaign.cancelled", "campaign", "camp_1", after={"name": "June renewals"}),
     "Maria cancelled the campaign June renewals."),
    (event("api_key.created", "api_key", "3", after=KEY), "Maria created their API key “zapier” (wck_abcdefgh…)."),
    (event("api_key.revoked", "api_key", "3", actor="ada", after={**KEY, "active": False}),
     "ada revoked Maria's API key “zapier” (wck_abcdefgh…)."),
    (event("auth.api_key_locked_out", "address", "10.0.0.9", actor="system",
           after={"failures": 10, "lockout_seconds": 900}),
     "10 unknown API keys came from 10.0.0.9: it is locked out for 15 minutes."),
    (event("auth.sign_in_failed", "user", "maria", actor="system", after={"ip_address": "10.0.0.9"}),
     "A sign-in as Maria failed (from 10.0.0.9)."),
    (event("auth.locked_out", "user", "maria", actor="system",
           after={"ip_address": "10.0.0.9", "failures": 10, "cool_off_seconds": 900}),
     "Sign-ins as Maria from 10.0.0.9 were locked out for 15 minutes after 10 failures."),
    (event("user.created", "user", "maria", actor="ada", after={"username": "maria", "role": "operator"}),
     "ada added Maria as operator."),
    (event("user.created", "user", "admin", actor="system", after={"role": "admin", "first_admin": True}),
     "The first admin, admin, was created at installation."),
    (event("user.role_changed", "user", "maria", actor="ada", before={"role": "viewer"}, after={"role": "operator"}),
     "ada changed Maria's role from viewer to operator."),
    (event("user.one_time_password_issued", "user", "maria", actor="ada"),
     "ada issued Maria a new one-time password."),
    (event("user.deactivated", "user", "maria", actor="ada"),
     "ada deactivated Maria: their sessions and API keys stopped working."),
    (event("user.reactivated", "user", "maria", actor="ada"), "ada reactivated Maria."),
    (event("provider_credential.set", "provider_credential", "twilio.auth_token", actor="ada",
           after={"provider": "twilio", "provider_label": "Twilio", "key": "auth_token", "label": "Auth token",
                  "source": "value", "env_name": ""}),
     "ada stored a new Twilio Auth token (encrypted)."),
    (event("provider_credential.cleared", "provider_credential", "telnyx.api_key", actor="ada",
           before={"provider": "telnyx", "provider_label": "Telnyx", "key": "api_key", "label": "API key",
                   "source": "environment", "env_name": "TELNYX_KEY"}),
     "ada cleared the stored Telnyx API key."),
    (event("webhook_endpoint.created", "webhook_endpoint", "whk_1", after=HOOK),
     "Maria added the webhook endpoint https://hooks.example.com/wc for call.ended, recording.ready."),
    (event("webhook_endpoint.disabled", "webhook_endpoint", "whk_1", before=HOOK, after={**HOOK, "enabled": False}),
     "Maria disabled the webhook endpoint https://hooks.example.com/wc."),
    (event("webhook_endpoint.enabled", "webhook_endpoint", "whk_1", before={**HOOK, "enabled": False}, after=HOOK),
     "Maria enabled the webhook endpoint https://hooks.example.com/wc."),
    (event("webhook_endpoint.deleted", "webhook_endpoint", "whk_1", before=HOOK),
     "Maria deleted the webhook endpoint https://hooks.example.com/wc."),
    (event("webhook_delivery.replayed", "webhook_delivery", "dlv_1", before={"status": "failed", "attempts": 9},
           after={"status": "pending", "event_id": "evt_1", "event_type": "call.ended", "endpoint_id": "whk_1"}),
     "Maria replayed the webhook call.ended evt_1."),
]  # fmt: skip


def test_every_sentence_has_an_example_here():
    exemplified = {e.action for e, _ in EXAMPLES}
    assert set(SENTENCES) - exemplified == set()


@pytest.mark.parametrize(("audit_event", "sentence"), EXAMPLES, ids=[e.action for e, _ in EXAMPLES])
def test_each_action_reads_as_a_sentence(cast_of_names, ada, audit_event, sentence):
    names = audit_names([audit_event])
    assert audit_sentence_text(audit_event, names) == sentence


def test_names_and_numbers_link_to_their_pages(cast_of_names):
    moved = EXAMPLES[6][0]
    html = audit_sentence(moved, audit_names([moved]))
    assert html == (
        '<a href="/audit/?actor=maria" title="Everything maria did">Maria</a> moved '
        '<a href="/numbers/num_london/" title="+442079460958">+44 20 7946 0958</a> from '
        '<a href="/agents/agent_billing/" title="agent_billing">Billing Support</a> to '
        '<a href="/agents/agent_sales/" title="agent_sales">Sales Outreach</a>.'
    )


def test_what_is_gone_is_named_without_a_link_and_what_people_typed_is_escaped(cast_of_names):
    released = event("number.released", "phone_number", "num_gone",
                     before={"number": "+14155550111", "agent_id": "agent_deleted"})  # fmt: skip
    html = audit_sentence(released, audit_names([released]))
    assert '<span title="+14155550111">+1 415-555-0111</span>' in html
    assert '<span title="agent_deleted">agent_deleted</span> lost it' in html
    hold = event("legal_hold.placed", "legal_hold", "hold_3",
                 after={"target": "call", "call_id": "call_1", "reason": "<script>x</script>"})  # fmt: skip
    assert "&lt;script&gt;x&lt;/script&gt;" in audit_sentence(hold, audit_names([hold]))


def test_an_action_without_a_sentence_still_reads_as_one(cast_of_names):
    unknown = event("widget.frobbed", "widget", "w_1")
    assert sentence_for("widget.frobbed") is _generic
    assert audit_sentence_text(unknown, audit_names([unknown])) == "Maria did “widget.frobbed” to widget w_1."
    assert sentence_for("campaign.rewound") is FAMILIES["campaign."]  # a new campaign verb reads as one


# --- on the pages ------------------------------------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_audit_log_shows_a_real_move_as_a_sentence_with_the_json_on_demand(cast_of_names, carol):
    c = cast_of_names
    agent_services.number_assign(number=c["number"], agent=c["billing"], actor=c["maria"], move=True)
    html = signed_in(carol).get("/audit/").content.decode()
    assert (
        '<a href="/audit/?actor=maria" title="Everything maria did">Maria</a> moved '
        '<a href="/numbers/num_london/" title="+442079460958">+44 20 7946 0958</a> from '
        '<a href="/agents/agent_sales/" title="agent_sales">Sales Outreach</a> to '
        '<a href="/agents/agent_billing/" title="agent_billing">Billing Support</a>.'
    ) in html
    details = html[html.index('<details class="audit-detail">') : html.index("</details>")]
    assert "number.assigned" in details
    assert "&quot;agent_id&quot;: &quot;agent_sales&quot;" in details  # the JSON, one click away


def test_the_export_carries_the_sentence_beside_the_json(cast_of_names, carol):
    c = cast_of_names
    agent_services.number_assign(number=c["number"], agent=None, actor=c["maria"])
    export = signed_in(carol).get("/audit/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[-1]["summary"] == "Maria unassigned +44 20 7946 0958 from Sales Outreach."
    assert rows[-1]["action"] == "number.unassigned"  # the columns programs read are unchanged


def test_the_audit_page_names_everything_in_a_few_queries_whatever_its_length(
    cast_of_names, carol, django_assert_max_num_queries
):
    client = signed_in(carol)
    client.get("/audit/")  # warm the session and role caches
    for index in range(60):
        agent = AgentFactory(public_id=f"agent_{index}")
        number = PhoneNumberFactory(agent=agent)
        audit_record(actor=cast_of_names["maria"], action="number.assigned", object_type="phone_number",
                     object_id=number.public_id, before={"number": number.number, "agent_id": None},
                     after={"number": number.number, "agent_id": agent.public_id})  # fmt: skip
    with django_assert_max_num_queries(12):
        assert client.get("/audit/").status_code == 200
