"""The snippets of DESIGN.md and the README, run verbatim against a live server: real HTTP, a real Celery
worker, the simulator carrier, down to the recording's bytes parsing as a WAV file.

The snippets are kept here as DESIGN.md writes them and run with `exec`; the README must show the same code
(the same statements, as `ast` parses them: `ruff format` lays out the README's Python blocks its own way),
so the documentation cannot drift from what was run. `call_abc123` is the documentation's call id: the test
gives the call it placed that id once the call has ended (ids are opaque strings to a client)."""

from __future__ import annotations

import ast
import io
import re
import wave
from pathlib import Path

from agents.models import Agent
from calls.models import Call
from wordcab_admin.client import Call as CallObject

ROOT = Path(__file__).resolve().parents[2]
PLACE = """call = client.agents.calls.create(agent_id="agent_abc", phone_number="+14155551234",
    context={"customer_name": "Jane Doe"}, max_duration=300, record=True,
    idempotency_key="reminder-2026-04-16-user-55123")"""
ASSIGN = """client.agents.update(agent_id="agent_abc", phone_numbers=["+14155559999"])"""
DOWNLOAD = """call = client.calls.get("call_abc123"); audio = client.calls.download_recording(call.id)"""
DOWNLOAD_IF_RECORDED = """if call.recording_url: audio = client.calls.download_recording(call.id)"""


def run(snippet: str, names: dict) -> dict:
    exec(snippet, names)  # noqa: S102 -- the documented snippet, word for word
    return names


def statements(code: str) -> list[str]:
    return [ast.dump(node) for node in ast.parse(code).body]


def readme_python_statements() -> set[str]:
    section = (ROOT / "README.md").read_text().partition("## Use it from Python")[2].partition("\n## ")[0]
    blocks = re.findall(r"^```python\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    return {statement for block in blocks for statement in statements(block)}


def test_the_readme_shows_the_snippets_that_this_test_runs():
    shown = readme_python_statements()
    for snippet in (PLACE, ASSIGN, DOWNLOAD, DOWNLOAD_IF_RECORDED):
        assert set(statements(snippet)) <= shown, f"README.md's 'Use it from Python' lacks:\n{snippet}"


def test_the_documented_snippets_place_a_recorded_call_reassign_numbers_and_download_a_wav(
    client_for, alice, agent, celery_worker_thread, quick_calls
):
    names = {"client": client_for(alice)}

    call = run(PLACE, names)["call"]
    assert isinstance(call, CallObject)
    assert (call.agent_id, call.phone_number, call.direction) == ("agent_abc", "+14155551234", "outbound")
    assert (call.context, call.max_duration, call.record) == ({"customer_name": "Jane Doe"}, 300, True)
    assert call.raw["id"] == call.id
    assert call.id.startswith("call_")

    again = run(PLACE, {"client": names["client"]})["call"]
    assert again.id == call.id  # the same key and body: the same call
    assert Call.objects.count() == 1

    run(ASSIGN, names)
    assert sorted(
        Agent.objects.get(public_id="agent_abc").phone_numbers.values_list("number", flat=True)
    ) == ["+14155559999"]

    ended = names["client"].calls.wait_for(call.id, timeout=60, recording=True)
    assert (ended.status, ended.end_reason, ended.error) == ("completed", "hangup", None)
    assert ended.recording_url == f"/v1/calls/{call.id}/recording"
    Call.objects.filter(public_id=call.id).update(public_id="call_abc123")

    audio = run(DOWNLOAD, names)["audio"]
    assert names["call"].id == "call_abc123"
    with wave.open(io.BytesIO(audio), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 2)  # 8 kHz; the agent and the callee
        talk_seconds = wav.getnframes() / wav.getframerate()
    assert abs(talk_seconds - ended.duration) <= 1.5

    names["audio"] = None
    assert run(DOWNLOAD_IF_RECORDED, names)["audio"] == audio
