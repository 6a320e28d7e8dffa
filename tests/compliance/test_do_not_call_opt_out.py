"""A caller who says "take me off your list" during a call: the agent runtime reports it through the seam
(`AgentRuntime.opt_out`) and the other party's number goes on the list with the call's id, audited.

The demo runtime has no speech understanding (it echoes the caller), so the seam is driven directly here,
and through a real Twilio media stream by a runtime that opts out on a key press."""

import pytest
from asgiref.sync import async_to_sync

from calls.models import CallStatus, Direction
from compliance.do_not_call import do_not_call_entry, do_not_call_opt_out
from compliance.models import AuditEvent, DoNotCall, DoNotCallSource
from telephony.runtime import AgentRuntime, CallInfo, runtime_for
from telephony.runtime.demo import DemoRuntime
from telephony.runtime.opt_out import opt_out_requested
from tests.factories import AgentFactory, CallFactory, DoNotCallFactory
from tests.telephony.test_media_stream import FakeTwilio, run

OPTED_OUT_MARK = "opted_out"
# The seam runs its database work through channels' database_sync_to_async, which closes a connection it
# finds inside a transaction (as a test's would be): tests that go through it commit for real.
through_the_seam = pytest.mark.django_db(transaction=True)


class SilentOutlet:
    """Where a runtime's audio goes when no carrier is listening: kept, to look at."""

    def __init__(self):
        self.sent: list[tuple[str, object]] = []

    async def send_audio(self, ulaw: bytes) -> None:
        self.sent.append(("audio", len(ulaw)))

    async def send_mark(self, name: str) -> None:
        self.sent.append(("mark", name))

    async def clear(self) -> None:
        self.sent.append(("clear", None))


def runtime_of(call) -> AgentRuntime:
    """The configured runtime (the demo's by default) for `call`, as the media endpoint makes it."""
    info = CallInfo(
        call_id=call.public_id,
        agent_id=call.agent.public_id,
        agent_name=call.agent.name,
        language="en-US",
        direction=call.direction,
    )
    return runtime_for(call=info, outlet=SilentOutlet())


@through_the_seam
def test_an_outbound_callee_who_opts_out_is_listed_with_the_call_and_their_words():
    call = CallFactory(direction=Direction.OUTBOUND, from_number="+14155559999", to_number="+14155550123")
    runtime = runtime_of(call)
    assert isinstance(runtime, DemoRuntime)  # the default runtime has the hook too

    entry = async_to_sync(runtime.opt_out)(said="Please take me off your list")

    assert entry == do_not_call_entry("+14155550123")
    assert entry.source == DoNotCallSource.OPT_OUT
    assert entry.call_public_id == call.public_id
    assert entry.added_by is None
    assert entry.reason == "Asked during the call: “Please take me off your list”"
    assert do_not_call_entry("+14155559999") is None  # our own number is not listed


@through_the_seam
def test_an_inbound_caller_who_opts_out_is_listed_by_their_from_number():
    call = CallFactory(direction=Direction.INBOUND, from_number="+12125550188", to_number="+14155559999")
    async_to_sync(runtime_of(call).opt_out)(said="Do not call me")
    assert list(DoNotCall.objects.values_list("number", "call_public_id")) == [
        ("+12125550188", call.public_id)
    ]


@through_the_seam
def test_an_opt_out_is_audited_as_the_systems_with_the_call_and_what_was_said():
    call = CallFactory(to_number="+14155550123")
    async_to_sync(runtime_of(call).opt_out)(said="Stop calling me")
    event = AuditEvent.objects.get(action="do_not_call.opted_out")
    assert (event.actor, event.actor_label, event.object_id, event.before) == (
        None,
        "system",
        "+14155550123",
        None,
    )
    assert event.after == {
        "number": "+14155550123",
        "reason": "Asked during the call: “Stop calling me”",
        "source": "opt_out",
        "added_by": None,
        "call_id": call.public_id,
        "opt_out_call_id": call.public_id,
        "said": "Stop calling me",
    }


@through_the_seam
def test_a_listed_number_that_opts_out_again_keeps_its_entry_and_the_request_is_still_audited():
    DoNotCallFactory(number="+14155550123", reason="Complaint", source=DoNotCallSource.CSV)
    call = CallFactory(to_number="+14155550123")
    entry = async_to_sync(runtime_of(call).opt_out)(said="take me off your list")
    assert (entry.reason, entry.source, entry.call_public_id) == ("Complaint", "csv", "")
    assert DoNotCall.objects.count() == 1
    event = AuditEvent.objects.get(action="do_not_call.opted_out")
    assert event.before["reason"] == "Complaint"
    assert event.after["opt_out_call_id"] == call.public_id


@through_the_seam
def test_an_anonymous_caller_cannot_be_listed_and_the_runtime_goes_on():
    call = CallFactory(direction=Direction.INBOUND, from_number="", to_number="+14155559999")
    assert async_to_sync(runtime_of(call).opt_out)(said="Do not call me") is None
    assert not DoNotCall.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_the_service_reads_the_number_as_people_type_it_and_cuts_long_words_to_fit():
    entry = do_not_call_opt_out(number="(415) 555-0123", call_public_id="call_x", said="no " * 200)
    assert entry.number == "+14155550123"
    assert len(entry.reason) == 300
    assert entry.reason.endswith("…”")


@pytest.mark.parametrize(
    "said",
    [
        "Take me off your list.",
        "Please remove my number from your calling list",
        "Can you take me off of your list please",
        "Do not call me again",
        "don’t call me anymore",
        "Stop calling me!",
        "Never call this number again",
        "Put me on your do-not-call list",
        "I want to opt out",
        "No more calls, thanks",
        "I don't want any more of your calls",
    ],
)
def test_the_words_of_an_opt_out_are_recognized(said):
    assert opt_out_requested(said)


@pytest.mark.parametrize(
    "said",
    [
        "Call me back tomorrow",
        "Don't call me before nine",
        "Stop calling me at work, call my cell",
        "Yes, the appointment on Tuesday is fine",
        "Who is calling?",
        "Take me to the list of options",
    ],
)
def test_everyday_words_are_not_taken_for_an_opt_out(said):
    assert not opt_out_requested(said)


class OptOutOnKeyRuntime(AgentRuntime):
    """A runtime that opts the caller out when they press 9, then says so with a mark."""

    async def dtmf(self, digit: str) -> None:
        if digit == "9":
            await self.opt_out(said="(pressed 9 to opt out)")
            await self.outlet.send_mark(OPTED_OUT_MARK)


@through_the_seam
def test_a_runtime_on_a_live_twilio_stream_lists_the_callee_with_the_call(
    settings, twilio_token, recording_store, uploads_in_place
):
    settings.AGENT_RUNTIME = f"{__name__}.OptOutOnKeyRuntime"
    agent = AgentFactory(public_id="agent_media", name="Media bot")
    call = CallFactory(agent=agent, provider="twilio", status=CallStatus.RINGING, to_number="+14155550123")

    async def scenario():
        twilio = FakeTwilio(agent.public_id)
        await twilio.connect()
        await twilio.start(call)
        await twilio.send(
            {"event": "dtmf", "streamSid": "MZ0001", "dtmf": {"track": "inbound_track", "digit": "9"}}
        )
        await twilio.until_mark(OPTED_OUT_MARK)
        await twilio.stop()

    run(scenario())
    entry = do_not_call_entry("+14155550123")
    assert (entry.source, entry.call_public_id) == (DoNotCallSource.OPT_OUT, call.public_id)
    assert AuditEvent.objects.filter(action="do_not_call.opted_out", object_id="+14155550123").exists()
